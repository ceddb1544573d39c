package desk

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/internal/download"
	"github.com/ticketgate/ticketgate/redact"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

type attachmentView struct {
	Name, Size, URL string
}

type messageView struct {
	ID         uint64
	Author     string
	When       string
	ISO        string
	Kind       string
	Ours       bool
	Internal   bool
	Held       string
	Discarded  bool
	Unverified bool
	Text       string
	SrcDoc     string
	Cut        bool
	Raw        string
	Auto       string
	Attach     []attachmentView
	// New marks a message that arrived after the page the agent acted on
	// (the stale-page warning).
	New bool
}

type historyView struct {
	When, Kind, Actor, Text string
}

type optionView struct {
	Value, Label string
	Selected     bool
}

type ticketView struct {
	T       *texts
	A       *agentCtx
	Title   string
	Base    string
	Key     string
	Subject string
	Project string
	Status  string
	Ticket  *store.Ticket
	Created string
	Updated string
	Closed  string
	// Seen is the version of the ticket this page shows (its Updated), sent
	// back with every form: a change to a newer ticket is warned about.
	Seen        string
	Messages    []messageView
	History     []historyView
	Statuses    []optionView
	Priorities  []optionView
	Staff       []optionView
	Orgs        []optionView
	Admin       bool
	Notice      string
	Problem     string
	Stale       bool
	Draft       string
	DraftNote   bool
	PendingForm map[string]string
}

// loadTicket reads a ticket the agent may see, with its messages and
// events; store.ErrNotFound for one they may not (the same answer as for
// one that does not exist).
func (h *Handler) loadTicket(a *agentCtx, key string) (*store.Ticket, []*store.Message, []*store.Event, []*store.Organization, error) {
	var (
		t    *store.Ticket
		msgs []*store.Message
		evs  []*store.Event
		orgs []*store.Organization
	)
	err := h.store.View(func(tx store.Tx) error {
		var err error
		if t, err = tx.Ticket(strings.ToUpper(key)); err != nil {
			return err
		}
		if !a.visible(t) {
			return fmt.Errorf("ticket %s of another project: %w", t.Key, store.ErrNotFound)
		}
		if msgs, err = tx.TicketMessages(t.Key); err != nil {
			return err
		}
		if evs, err = tx.Events(t.Key); err != nil {
			return err
		}
		orgs, err = tx.Organizations(t.Project)
		return err
	})
	return t, msgs, evs, orgs, err
}

func (h *Handler) ticketPage(w http.ResponseWriter, r *http.Request, a *agentCtx) {
	t, msgs, evs, orgs, err := h.loadTicket(a, r.PathValue("key"))
	if errors.Is(err, store.ErrNotFound) {
		h.notFound(w, r, a)
		return
	}
	if err != nil {
		h.serverError(w, r, a.T, err)
		return
	}
	v := h.ticketView(a, t, msgs, evs, orgs, time.Time{})
	if r.URL.Query().Get("done") != "" {
		v.Notice = a.T.Done
	}
	h.render(w, http.StatusOK, "ticket", v)
}

func (h *Handler) ticketView(a *agentCtx, t *store.Ticket, msgs []*store.Message, evs []*store.Event, orgs []*store.Organization, seen time.Time) *ticketView {
	p := a.project(t.Project)
	tx := a.T
	base := h.TicketPath(t.Key)
	v := &ticketView{T: tx, A: a, Base: base, Key: t.Key, Subject: strings.TrimSpace(t.Subject), Project: p.Name, Ticket: t,
		Status: t.Status, Created: tx.Date(t.Created), Updated: tx.Date(t.Updated), Seen: strconv.FormatInt(t.Updated.UnixNano(), 10),
		Admin: a.isAdmin(t.Project)}
	if v.Project == "" {
		v.Project = p.Key
	}
	if !t.Closed.IsZero() {
		v.Closed = tx.Date(t.Closed)
	}
	v.Title = "[" + t.Key + "] " + v.Subject + " – " + tx.Desk
	for _, st := range ticket.Statuses(p) {
		v.Statuses = append(v.Statuses, optionView{Value: st, Label: st, Selected: st == t.Status})
	}
	for _, pr := range ticket.Priorities() {
		v.Priorities = append(v.Priorities, optionView{Value: pr, Label: pr, Selected: pr == t.Priority})
	}
	v.Staff = append(v.Staff, optionView{Value: "nobody", Label: tx.Nobody, Selected: t.Assignee == ""})
	for _, s := range staffOf(p) {
		v.Staff = append(v.Staff, optionView{Value: s, Label: s, Selected: strings.EqualFold(s, t.Assignee)})
	}
	for _, o := range orgs {
		v.Orgs = append(v.Orgs, optionView{Value: o.Name, Label: o.Name, Selected: o.Name == t.Organization})
	}
	for _, m := range msgs {
		v.Messages = append(v.Messages, h.messageView(tx, p, t, m, seen))
	}
	for _, e := range evs {
		text := ""
		if h.opts.DescribeEvent != nil {
			text = h.opts.DescribeEvent(e)
		}
		v.History = append(v.History, historyView{When: tx.Date(e.Time), Kind: e.Kind.String(), Actor: e.Actor, Text: text})
	}
	return v
}

// staffOf lists a project's agents and admins, once each.
func staffOf(p *config.Project) []string {
	var out []string
	for _, s := range append(append([]string(nil), p.Agents...), p.Admins...) {
		s = strings.ToLower(s)
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (h *Handler) messageView(tx *texts, p *config.Project, t *store.Ticket, m *store.Message, seen time.Time) messageView {
	mv := messageView{ID: m.ID, Kind: m.Kind, Internal: m.Internal || m.Kind == "note", Held: m.Held, Discarded: m.Discarded, Unverified: m.Unverified,
		Text: m.Text, Cut: m.TextCut, Auto: m.Auto}
	when := m.Received
	if when.IsZero() {
		when = m.Date
	}
	mv.When, mv.ISO = tx.Date(when), when.UTC().Format(time.RFC3339)
	mv.New = !seen.IsZero() && when.After(seen)
	name := strings.TrimSpace(m.FromName)
	switch {
	case name != "" && m.From != "":
		mv.Author = name + " <" + m.From + ">"
	case m.From != "":
		mv.Author = m.From
	default:
		mv.Author = "?"
	}
	mv.Ours = m.Direction == "out" || p.IsStaff(m.From)
	if strings.TrimSpace(m.HTML) != "" {
		mv.SrcDoc = srcdoc(h.policy, h.store, m.HTML, m.Attach)
	}
	if m.Raw != "" {
		mv.Raw = fmt.Sprintf("%s/raw/%d", h.TicketPath(t.Key), m.ID)
	}
	for i, at := range m.Attach {
		name := strings.TrimSpace(at.Filename)
		if name == "" {
			name = "attachment-" + strconv.Itoa(i+1)
		}
		av := attachmentView{Name: name, Size: size(at.Size)}
		if at.Blob != "" {
			av.URL = fmt.Sprintf("%s/att/%d/%d", h.TicketPath(t.Key), m.ID, i)
		}
		mv.Attach = append(mv.Attach, av)
	}
	return mv
}

func size(n int64) string {
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<20:
		return strconv.FormatInt(n/1024, 10) + " KB"
	default:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	}
}

// message finds message {msg} of the agent's ticket {key}.
func (h *Handler) message(a *agentCtx, r *http.Request) (*store.Message, error) {
	id, err := strconv.ParseUint(r.PathValue("msg"), 10, 64)
	if err != nil {
		return nil, store.ErrNotFound
	}
	var m *store.Message
	err = h.store.View(func(tx store.Tx) error {
		t, err := tx.Ticket(strings.ToUpper(r.PathValue("key")))
		if err != nil {
			return err
		}
		if !a.visible(t) {
			return store.ErrNotFound
		}
		if m, err = tx.Message(id); err != nil {
			return err
		}
		if m.Ticket != t.Key {
			return store.ErrNotFound
		}
		return nil
	})
	return m, err
}

// attachment downloads one attachment; never rendered on our origin.
func (h *Handler) attachment(w http.ResponseWriter, r *http.Request, a *agentCtx) {
	m, err := h.message(a, r)
	idx, err2 := strconv.Atoi(r.PathValue("idx"))
	if err != nil || err2 != nil || idx < 0 || idx >= len(m.Attach) || m.Attach[idx].Blob == "" {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			h.serverError(w, r, a.T, err)
			return
		}
		h.notFound(w, r, a)
		return
	}
	at := m.Attach[idx]
	var redacted func(io.Writer, io.Reader, *regexp.Regexp) error
	if redact.TextLike(at.ContentType, at.Filename) {
		redacted = func(dst io.Writer, src io.Reader, re *regexp.Regexp) error {
			return redact.Attachment(dst, src, re, at.ContentType, at.Filename)
		}
	}
	h.serveBlob(w, r, a, at.Blob, at.Filename, redacted, m.Ticket)
}

// raw downloads a message as it was received, support keys redacted.
func (h *Handler) raw(w http.ResponseWriter, r *http.Request, a *agentCtx) {
	m, err := h.message(a, r)
	if err != nil || m.Raw == "" {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			h.serverError(w, r, a.T, err)
			return
		}
		h.notFound(w, r, a)
		return
	}
	h.serveBlob(w, r, a, m.Raw, fmt.Sprintf("%s-%d.eml", m.Ticket, m.ID), redact.Message, m.Ticket)
}

// serveBlob serves a stored file as a download. Support keys are secrets
// (issue 17): in a project with support_keys.pattern the bytes stream
// through redacted (the raw message through redact.Message, a text-like
// attachment through redact.Attachment; nil: a binary file, served as
// it is); the file on disk stays whole.
func (h *Handler) serveBlob(w http.ResponseWriter, r *http.Request, a *agentCtx, blob, name string,
	redacted func(io.Writer, io.Reader, *regexp.Regexp) error, ticketKey string) {
	project := ""
	var re *regexp.Regexp
	if pk, _, ok := store.SplitTicketKey(ticketKey); ok {
		project = pk
	}
	if p := h.opts.Config().Project(project); p != nil {
		re = p.KeyPattern()
	}
	f, err := h.store.OpenBlob(blob)
	if err != nil {
		if errors.Is(err, store.ErrBlobDamaged) {
			h.log.Error("desk: file not served: it is damaged; restore it from a backup", "blob", blob, "err", err)
		}
		h.notFound(w, r, a)
		return
	}
	defer f.Close()
	if re != nil && redacted != nil {
		download.Headers(w.Header(), name, -1)
		w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'")
		if err := redacted(w, f, re); err != nil {
			h.log.Warn("desk: download cut short", "blob", blob, "project", project, "err", err)
		}
		return
	}
	download.Headers(w.Header(), name, f.Size())
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'")
	http.ServeContent(w, r, "", h.opts.Now(), f)
}
