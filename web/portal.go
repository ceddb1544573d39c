package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/internal/download"
	"github.com/ticketgate/ticketgate/redact"
	"github.com/ticketgate/ticketgate/store"
)

// maxReplyBytes bounds a reply typed into the page.
const maxReplyBytes = 64 << 10

// csrfToken binds a form to the link it was served under: an attacker's
// page cannot know it without the link token, which only the recipient has.
func (s *server) csrfToken(link string) string {
	m := hmac.New(sha256.New, s.opts.Secret)
	m.Write([]byte("csrf\x00" + link))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *server) csrfOK(r *http.Request, link string) bool {
	if len(s.opts.Secret) == 0 {
		return false
	}
	got := r.PostFormValue("csrf")
	return hmac.Equal([]byte(got), []byte(s.csrfToken(link)))
}

// linkPath is the page's own path under base_url.
func (s *server) linkPath(token string) string {
	return s.prefix + "/t/" + token
}

// resolvePost checks a POST to a link: the token is valid and the form
// carries its CSRF token. It writes the error page itself.
func (s *server) resolvePost(w http.ResponseWriter, r *http.Request) (*store.Token, *store.Ticket, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxReplyBytes+4096)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "form too large", http.StatusRequestEntityTooLarge)
		return nil, nil, false
	}
	token := r.PathValue("token")
	var tok *store.Token
	var t *store.Ticket
	err := s.store.View(func(tx store.Tx) error {
		var err error
		tok, t, err = resolveLink(tx, token, s.opts.Now())
		return err
	})
	if !s.answerResolve(w, r, err) {
		return nil, nil, false
	}
	if !s.csrfOK(r, token) {
		s.log.Warn("form post without a valid CSRF token", "ticket", t.Key)
		tx := s.lang.forTag(t.Language)
		s.problem(w, http.StatusForbidden, tx, tx.ErrorTitle, tx.FormExpired)
		return nil, nil, false
	}
	return tok, t, true
}

// answerResolve writes the page for a failed link lookup; it reports
// whether the lookup succeeded.
func (s *server) answerResolve(w http.ResponseWriter, r *http.Request, err error) bool {
	var denied *deniedError
	switch {
	case err == nil:
		return true
	case errors.As(err, &denied):
		if denied.ticket != "" {
			s.log.Info("ticket link denied", "ticket", denied.ticket, "reason", denied.reason)
		}
		s.notFound(w, r)
	default:
		s.log.Error("ticket link: read store", "err", err)
		s.serverError(w, r, fault.IsTemporary(err))
	}
	return false
}

// reply posts a public comment as the link's recipient, through the same
// path as mail.
func (s *server) reply(w http.ResponseWriter, r *http.Request) {
	tok, t, ok := s.resolvePost(w, r)
	if !ok {
		return
	}
	text := strings.TrimSpace(r.PostFormValue("text"))
	tx := s.lang.forTag(t.Language)
	if text == "" || !utf8.ValidString(text) {
		s.problem(w, http.StatusBadRequest, tx, tx.ErrorTitle, tx.EmptyReply)
		return
	}
	if err := s.opts.Reply(r.Context(), tok, text); err != nil {
		s.log.Error("reply from the ticket page failed", "ticket", t.Key, "err", err)
		s.serverError(w, r, fault.IsTemporary(err))
		return
	}
	s.log.Info("reply posted from the ticket page", "ticket", t.Key)
	http.Redirect(w, r, s.linkPath(tok.Token)+"?done=reply", http.StatusSeeOther)
}

// closeTicket lets a customer close their own request.
func (s *server) closeTicket(w http.ResponseWriter, r *http.Request) {
	tok, t, ok := s.resolvePost(w, r)
	if !ok {
		return
	}
	if err := s.opts.Close(r.Context(), tok); errors.Is(err, ErrLinkRefused) {
		s.log.Info("close from the ticket page refused", "ticket", t.Key, "err", err)
		s.notFound(w, r)
		return
	} else if err != nil {
		s.log.Error("close from the ticket page failed", "ticket", t.Key, "err", err)
		s.serverError(w, r, fault.IsTemporary(err))
		return
	}
	s.log.Info("request closed from the ticket page", "ticket", t.Key)
	http.Redirect(w, r, s.linkPath(tok.Token)+"?done=close", http.StatusSeeOther)
}

// attachment serves one attachment as a download, never rendered on our
// origin: a hostile HTML or SVG file must not run as our page.
func (s *server) attachment(w http.ResponseWriter, r *http.Request) {
	s.serveAttachment(w, r, s.linkTicket(r), public)
}

// agentAttachment downloads any attachment of the agent link's ticket,
// internal notes' included.
func (s *server) agentAttachment(w http.ResponseWriter, r *http.Request) {
	s.serveAttachment(w, r, s.agentLinkTicket(r), anyMessage)
}

// linkTicket resolves the request's customer link to its ticket.
func (s *server) linkTicket(r *http.Request) func(store.Tx) (*store.Ticket, error) {
	return func(tx store.Tx) (*store.Ticket, error) {
		_, t, err := resolveLink(tx, r.PathValue("token"), s.opts.Now())
		return t, err
	}
}

// agentLinkTicket resolves the request's agent link to its ticket.
func (s *server) agentLinkTicket(r *http.Request) func(store.Tx) (*store.Ticket, error) {
	return func(tx store.Tx) (*store.Ticket, error) {
		_, t, err := s.agentLink(tx, r.PathValue("token"))
		return t, err
	}
}

// anyMessage: an agent link sees every message, internal notes too.
func anyMessage(*store.Message) bool { return true }

// agentLink resolves an agent link and checks that its agent is still
// staff of the ticket's project in the config in force (a removed agent's
// links stop working at the reload).
func (s *server) agentLink(tx store.Tx, token string) (*store.Token, *store.Ticket, error) {
	tok, t, err := resolveAgentLink(tx, token, s.opts.Now())
	if err != nil {
		return nil, nil, err
	}
	if s.opts.IsStaff == nil || !s.opts.IsStaff(t.Project, tok.Recipient) {
		return nil, nil, &deniedError{reason: "the link's agent is no longer on the project", ticket: t.Key}
	}
	return tok, t, nil
}

// serveAttachment sends attachment {idx} of message {msg} when resolve
// accepts the link and the message is on its ticket and visible. It is
// always a download, never rendered on our origin: the bytes are the
// sender's.
func (s *server) serveAttachment(w http.ResponseWriter, r *http.Request, resolve func(store.Tx) (*store.Ticket, error), visible func(*store.Message) bool) {
	a, key, f, ok := s.openAttachment(w, r, "attachment", resolve, visible)
	if !ok {
		return
	}
	defer f.Close()
	project, _, _ := strings.Cut(key, "-")
	if re := s.keyPattern(project); re != nil && redact.TextLike(a.ContentType, a.Filename) {
		// Support keys are secrets (issue 17): the file streams through
		// redaction; the stored file stays whole.
		download.Headers(w.Header(), a.Filename, -1)
		w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'")
		if err := redact.Attachment(w, f, re, a.ContentType, a.Filename); err != nil {
			s.log.Warn("attachment download cut short", "blob", a.Blob, "project", project, "err", err)
		}
		return
	}
	download.Headers(w.Header(), a.Filename, f.Size())
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'")
	http.ServeContent(w, r, "", s.opts.Now(), f)
}

// openAttachment finds attachment {idx} of message {msg} when resolve
// accepts the link and the message is on its ticket and visible, and
// opens its file; it returns the attachment and the ticket's key. When it
// cannot, it has answered (the one 404, or what the link's failure asks)
// and ok is false. what names the file in the answer and the log
// ("attachment", "picture").
func (s *server) openAttachment(w http.ResponseWriter, r *http.Request, what string, resolve func(store.Tx) (*store.Ticket, error), visible func(*store.Message) bool) (a store.Attachment, ticket string, f store.BlobReader, ok bool) {
	msgID, err1 := strconv.ParseUint(r.PathValue("msg"), 10, 64)
	idx, err2 := strconv.Atoi(r.PathValue("idx"))
	if err1 != nil || err2 != nil {
		s.notFound(w, r)
		return a, "", nil, false
	}
	err := s.store.View(func(tx store.Tx) error {
		t, err := resolve(tx)
		if err != nil {
			return err
		}
		m, err := tx.Message(msgID)
		if err != nil || m.Ticket != t.Key || !visible(m) || idx < 0 || idx >= len(m.Attach) || m.Attach[idx].Blob == "" {
			return &deniedError{reason: "no such " + what, ticket: t.Key}
		}
		a, ticket = m.Attach[idx], t.Key
		return nil
	})
	if !s.answerResolve(w, r, err) {
		return a, "", nil, false
	}
	f, err = s.store.OpenBlob(a.Blob)
	if err != nil {
		if errors.Is(err, store.ErrBlobDamaged) {
			s.log.Error(what+" not served: its file is damaged; restore it from a backup", "blob", a.Blob, "err", err)
		}
		s.notFound(w, r)
		return a, "", nil, false
	}
	return a, ticket, f, true
}

// keyPattern is project's support_keys.pattern, nil when it has none.
func (s *server) keyPattern(project string) *regexp.Regexp {
	if s.opts.KeyPattern == nil {
		return nil
	}
	return s.opts.KeyPattern(project)
}

// myView lists a customer's requests.
type myView struct {
	T       *texts
	Title   string
	Project string
	Items   []myItem
}

type myItem struct {
	Key, Subject, Status, URL string
}

// my lists every request of the project that the link's recipient reported
// or follows, each viewable through the same link.
func (s *server) my(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	var tok *store.Token
	var home *store.Ticket
	var items []myItem
	err := s.store.View(func(tx store.Tx) error {
		var err error
		if tok, home, err = resolveLink(tx, token, s.opts.Now()); err != nil {
			return err
		}
		org, err := tx.OrganizationOf(home.Project, tok.Recipient)
		if err != nil {
			return err
		}
		return tx.ForEachTicket(home.Project, func(t *store.Ticket) bool {
			if !t.Internal() && (involved(t, tok.Recipient) || sharedWith(t, org)) {
				tx := s.lang.forTag(home.Language)
				items = append(items, myItem{Key: t.Key, Subject: t.Subject, Status: s.statusName(tx, t), URL: s.linkPath(token) + "/my/" + url.PathEscape(t.Key)})
			}
			return true
		})
	})
	if !s.answerResolve(w, r, err) {
		return
	}
	tx := s.lang.forTag(home.Language)
	project := s.projectName(home.Project)
	s.render(w, http.StatusOK, "my", &myView{T: tx, Title: tx.MyRequests + " – " + project, Project: project, Items: items})
}

// myTicket shows another request of the same customer through their link.
func (s *server) myTicket(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	var tok *store.Token
	var t *store.Ticket
	var msgs []*store.Message
	err := s.store.View(func(tx store.Tx) error {
		var err error
		var home *store.Ticket
		if tok, home, err = resolveLink(tx, token, s.opts.Now()); err != nil {
			return err
		}
		org, err := tx.OrganizationOf(home.Project, tok.Recipient)
		if err != nil {
			return err
		}
		if t, err = tx.Ticket(r.PathValue("key")); err != nil || t.Project != home.Project || t.Internal() ||
			!(involved(t, tok.Recipient) || sharedWith(t, org)) {
			return &deniedError{reason: "not the recipient's ticket", ticket: home.Key}
		}
		msgs, err = tx.TicketMessages(t.Key)
		return err
	})
	if !s.answerResolve(w, r, err) {
		return
	}
	v := s.ticketView(tok, t, msgs)
	// Forms act on the link's own ticket; another ticket is read-only
	// here (its own mails carry its own link).
	v.Forms = false
	s.renderTicket(w, v)
}

// sharedWith reports whether t is shared with org.
func sharedWith(t *store.Ticket, org *store.Organization) bool {
	return org != nil && t.Organization != "" && strings.EqualFold(t.Organization, org.Name)
}

func involved(t *store.Ticket, addr string) bool {
	if strings.EqualFold(t.Reporter, addr) {
		return true
	}
	for _, p := range t.Participants {
		if strings.EqualFold(p.Address, addr) {
			return true
		}
	}
	return false
}

// agentView shows an agent the whole ticket, internal notes included,
// read-only, through the per-agent link in internal notifications.
func (s *server) agentView(w http.ResponseWriter, r *http.Request) {
	var t *store.Ticket
	var msgs []*store.Message
	var evs []*store.Event
	var tok *store.Token
	var offer *store.Offer
	err := s.store.View(func(tx store.Tx) error {
		var err error
		if tok, t, err = s.agentLink(tx, r.PathValue("token")); err != nil {
			return err
		}
		if msgs, err = tx.TicketMessages(t.Key); err != nil {
			return err
		}
		if s.opts.DescribeEvent != nil {
			if evs, err = tx.Events(t.Key); err != nil {
				return err
			}
		}
		if offer, err = tx.Offer(t.Key); errors.Is(err, store.ErrNotFound) {
			offer, err = nil, nil
		}
		return err
	})
	if !s.answerResolve(w, r, err) {
		return
	}
	if s.opts.Desk != nil && s.opts.Desk.SignedIn(r, t.Project) {
		http.Redirect(w, r, s.opts.Desk.TicketPath(t.Key), http.StatusSeeOther)
		return
	}
	v := s.ticketView(tok, t, nil)
	v.Forms, v.Agent = false, true
	pt := pageTextsFor(v.T)
	v.Offer, v.OfferLabel = offerAgents(pt, offer), pt.OfferedTo
	for _, e := range evs {
		v.History = append(v.History, historyView{When: s.timeView(v.T, e.Time), Kind: e.Kind.String(), Actor: e.Actor, Text: s.opts.DescribeEvent(e)})
	}
	for _, m := range msgs {
		mv := s.messageView(v.T, v.Project, m, func(idx int) string { return fmt.Sprintf("%s/a/%s/img/%d/%d", s.prefix, tok.Token, m.ID, idx) })
		v.Images = v.Images || mv.Images
		mv.Internal = m.Internal || !public(m)
		if m.Direction == "out" || m.From != "" {
			mv.Author = strings.TrimSpace(m.FromName + " <" + m.From + ">")
		}
		if m.Auto != "" {
			mv.Note = m.Auto
		}
		for i := range mv.Attachments {
			if mv.Attachments[i].downloadable {
				mv.Attachments[i].URL = fmt.Sprintf("%s/a/%s/att/%d/%d", s.prefix, tok.Token, m.ID, i)
			}
		}
		v.Messages = append(v.Messages, mv)
	}
	s.renderTicket(w, v)
}

// resolveAgentLink checks an agent link (/a/<token>) and loads its ticket:
// the page and its downloads refuse the same links.
func resolveAgentLink(tx store.Tx, token string, now time.Time) (*store.Token, *store.Ticket, error) {
	tok, err := tx.Token(token)
	if err != nil || tok.Kind != store.TokenAgent || !tok.Valid(now) {
		return nil, nil, &deniedError{reason: "not a valid agent link"}
	}
	t, err := tx.Ticket(tok.Ticket)
	if err != nil {
		return nil, nil, &deniedError{reason: "ticket gone", ticket: tok.Ticket}
	}
	return tok, t, nil
}

func formatDone(tx *texts, done string) string {
	switch done {
	case "reply":
		return tx.ReplySent
	case "close":
		return tx.ClosedNotice
	case "mute":
		return tx.MutedBody
	}
	return ""
}
