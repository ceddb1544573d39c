package desk

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// stale answers a change to a ticket that changed since the agent's page
// was loaded (and the form does not say "send anyway"): the ticket page
// again, what is new marked, the agent's text kept. It reports whether it
// answered.
func (h *Handler) stale(w http.ResponseWriter, r *http.Request, a *agentCtx) bool {
	if r.PostFormValue("force") != "" {
		return false
	}
	t, msgs, evs, orgs, err := h.loadTicket(a, r.PathValue("key"))
	if err != nil {
		return false // the action itself answers
	}
	seenN, err := strconv.ParseInt(r.PostFormValue("seen"), 10, 64)
	if err != nil || seenN == t.Updated.UnixNano() {
		return false
	}
	v := h.ticketView(a, t, msgs, evs, orgs, time.Unix(0, seenN))
	v.Stale, v.Draft, v.DraftNote = true, r.PostFormValue("text"), r.PostFormValue("internal") != ""
	v.PendingForm = map[string]string{}
	for k, vals := range r.PostForm {
		if k != "csrf" && k != "seen" && len(vals) > 0 {
			v.PendingForm[k] = vals[0]
		}
	}
	h.render(w, http.StatusConflict, "ticket", v)
	return true
}

// answer turns the domain's outcome into the next page: back to the
// ticket, with the refusal's reason when it refused.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, a *agentCtx, key string, err error) {
	var ref *ticket.RefusedError
	switch {
	case err == nil:
		if h.opts.Queued != nil {
			h.opts.Queued()
		}
		http.Redirect(w, r, h.TicketPath(key)+"?done=1", http.StatusSeeOther)
	case errors.As(err, &ref):
		h.log.Info("desk: action refused", "ticket", key, "agent", a.Agent, "reason", ref.Reason)
		t, msgs, evs, orgs, lerr := h.loadTicket(a, key)
		if lerr != nil {
			h.problem(w, http.StatusUnprocessableEntity, a.T, a.T.Refused, ref.Reason)
			return
		}
		v := h.ticketView(a, t, msgs, evs, orgs, time.Time{})
		v.Problem = ref.Reason
		h.render(w, http.StatusUnprocessableEntity, "ticket", v)
	case errors.Is(err, store.ErrNotFound):
		h.notFound(w, r, a)
	default:
		h.serverError(w, r, a.T, err)
	}
}

// visibleKey checks that the agent may act on ticket key (404 otherwise,
// exactly as for a ticket that does not exist).
func (h *Handler) visibleKey(a *agentCtx, key string) (*store.Ticket, error) {
	var t *store.Ticket
	err := h.store.View(func(tx store.Tx) error {
		var err error
		t, err = tx.Ticket(strings.ToUpper(key))
		if err == nil && !a.visible(t) {
			err = store.ErrNotFound
		}
		return err
	})
	return t, err
}

// reply posts a public answer (with files) or an internal note through
// the domain: the same events and mail as the CLI's comment.
func (h *Handler) reply(w http.ResponseWriter, r *http.Request, a *agentCtx) {
	t, err := h.visibleKey(a, r.PathValue("key"))
	if err != nil {
		h.answer(w, r, a, r.PathValue("key"), err)
		return
	}
	if h.stale(w, r, a) {
		return
	}
	var files []store.Attachment
	if r.MultipartForm != nil {
		for _, fh := range r.MultipartForm.File["files"] {
			at, err := h.storeFile(fh)
			if err != nil {
				h.serverError(w, r, a.T, err)
				return
			}
			files = append(files, at)
		}
	}
	internal := r.PostFormValue("internal") != ""
	_, err = h.opts.Engine.DeskComment(r.Context(), t.Key, a.Agent, r.PostFormValue("text"), internal, files)
	if err == nil {
		h.log.Info("desk: comment added", "ticket", t.Key, "agent", a.Agent, "internal", internal, "files", len(files))
	}
	h.answer(w, r, a, t.Key, err)
}

// storeFile stores an uploaded file as a blob.
func (h *Handler) storeFile(fh *multipart.FileHeader) (store.Attachment, error) {
	f, err := fh.Open()
	if err != nil {
		return store.Attachment{}, err
	}
	defer f.Close()
	hash, n, err := h.store.PutBlob(io.LimitReader(f, maxUploadBytes))
	if err != nil {
		return store.Attachment{}, err
	}
	ct := fh.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	name := fh.Filename
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	return store.Attachment{Filename: name, ContentType: ct, Size: n, Blob: hash}, nil
}

// do runs one change on the ticket: each is the mail command (or CLI
// verb) of the same name, through the domain.
func (h *Handler) do(w http.ResponseWriter, r *http.Request, a *agentCtx) {
	t, err := h.visibleKey(a, r.PathValue("key"))
	if err != nil {
		h.answer(w, r, a, r.PathValue("key"), err)
		return
	}
	if h.stale(w, r, a) {
		return
	}
	err = h.act(r, a, t, r.PostFormValue("op"), r.PostFormValue("arg"))
	h.answer(w, r, a, t.Key, err)
}

// act runs op with arg on t as the signed-in agent.
func (h *Handler) act(r *http.Request, a *agentCtx, t *store.Ticket, op, arg string) error {
	ctx, e := r.Context(), h.opts.Engine
	arg = strings.TrimSpace(arg)
	var err error
	switch op {
	case "status", "priority", "organization":
		_, err = e.Command(ctx, t.Key, a.Agent, op, []string{arg})
	case "assign":
		if arg == "me" {
			arg = a.Agent
		}
		_, err = e.Command(ctx, t.Key, a.Agent, "assign", []string{arg})
	case "resolve":
		_, err = e.Command(ctx, t.Key, a.Agent, "resolve", nil)
	case "participant-add", "participant-remove":
		_, err = e.Command(ctx, t.Key, a.Agent, "participant", []string{strings.TrimPrefix(op, "participant-"), arg})
	case "held-publish", "held-discard": // desk/held.go
		_, err = e.Command(ctx, t.Key, a.Agent, "held", []string{strings.TrimPrefix(op, "held-"), arg})
	case "merge":
		into, ierr := h.visibleKey(a, arg)
		if ierr != nil {
			return &ticket.RefusedError{Reason: "no ticket " + arg}
		}
		_, err = e.Merge(ctx, t.Key, into.Key, a.Agent)
	case "spam", "block":
		if !a.isAdmin(t.Project) {
			return &ticket.RefusedError{Reason: "only admins of " + t.Project + " may do that"}
		}
		if op == "spam" {
			_, err = e.MarkSpam(ctx, t.Key, a.Agent)
		} else {
			err = e.BlockSender(ctx, t.Project, t.Reporter, a.Agent)
		}
	default:
		return &ticket.RefusedError{Reason: "unknown action"}
	}
	if err == nil {
		h.log.Info("desk: ticket changed", "ticket", t.Key, "agent", a.Agent, "op", op)
	}
	return err
}
