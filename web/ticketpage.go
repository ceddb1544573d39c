package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/quote"
	"github.com/ticketgate/ticketgate/store"
)

// deniedError says why a link leads nowhere. The visitor only ever sees
// the one 404 page; the reason is for the log, where it answers "the
// customer says their link does not work".
type deniedError struct {
	reason string
	ticket string // empty when the token is unknown
}

func (e *deniedError) Error() string { return "link denied: " + e.reason }

// resolveLink checks a link token and loads its ticket within tx. Every
// handler acting on a ticket through a link goes through it, so they all
// refuse the same links.
func resolveLink(tx store.Tx, token string, now time.Time) (*store.Token, *store.Ticket, error) {
	tok, err := tx.Token(token)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, &deniedError{reason: "unknown token"}
	}
	if err != nil {
		return nil, nil, err
	}
	switch {
	case tok.Kind != store.TokenLink:
		// A reply token leaks through reply addresses and Message-IDs to
		// anyone the customer forwards mail to; it must not open the page.
		return nil, nil, &deniedError{reason: "token of kind " + tok.Kind, ticket: tok.Ticket}
	case tok.Revoked:
		return nil, nil, &deniedError{reason: "revoked", ticket: tok.Ticket}
	case !tok.Valid(now):
		return nil, nil, &deniedError{reason: "expired " + tok.Expires.UTC().Format(time.RFC3339), ticket: tok.Ticket}
	}
	t, err := tx.Ticket(tok.Ticket)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, &deniedError{reason: "ticket gone", ticket: tok.Ticket}
	}
	if err != nil {
		return nil, nil, err
	}
	if t.Project != tok.Project {
		return nil, nil, &deniedError{reason: "token project " + tok.Project + " does not match ticket", ticket: tok.Ticket}
	}
	if t.Internal() {
		// No customer page for an internal ticket (issue 17), whatever
		// link reached someone.
		return nil, nil, &deniedError{reason: "internal ticket", ticket: tok.Ticket}
	}
	return tok, t, nil
}

// public reports whether a customer may see m. Internal messages never;
// nor automatic mail recorded on the ticket (out-of-office replies, our
// own mail come back, bounces, rejected mail), which is bookkeeping, not
// conversation. Notes are internal by definition even if a record forgot
// to say so.
func public(m *store.Message) bool {
	if m.Internal {
		return false
	}
	switch m.Kind {
	case "auto", "loop", "bounce", "rejected", "note":
		return false
	}
	return true
}

func (s *server) ticketPage(w http.ResponseWriter, r *http.Request) {
	var (
		tok  *store.Token
		t    *store.Ticket
		msgs []*store.Message
	)
	err := s.store.View(func(tx store.Tx) error {
		var err error
		if tok, t, err = resolveLink(tx, r.PathValue("token"), s.opts.Now()); err != nil {
			return err
		}
		msgs, err = tx.TicketMessages(t.Key)
		return err
	})
	var denied *deniedError
	switch {
	case errors.As(err, &denied):
		if denied.ticket == "" {
			// Anyone can try tokens; that is noise, not news.
			s.log.Debug("ticket link denied", "reason", denied.reason)
		} else {
			s.log.Info("ticket link denied", "ticket", denied.ticket, "reason", denied.reason)
		}
		s.notFound(w, r)
		return
	case err != nil:
		s.log.Error("ticket link: read store", "err", err)
		s.serverError(w, r, fault.IsTemporary(err))
		return
	}
	v := s.ticketView(tok, t, msgs)
	v.Done = formatDone(v.T, r.URL.Query().Get("done"))
	s.renderTicket(w, v)
}

type timeView struct {
	ISO  string // for <time datetime>
	Text string
}

type attachmentView struct {
	Name string
	Size string
	// URL downloads it; empty when its file is gone (retention).
	URL          string
	downloadable bool
}

type messageView struct {
	Author string
	// Ours marks the project's own messages, set apart on the page.
	Ours   bool
	When   timeView
	Body   []segment
	Quoted []segment
	// HTML is the sanitised body of a message that came without text.
	HTML  template.HTML
	Empty bool
	// Cut: the text was cut at inbound.max_text_bytes.
	Cut         bool
	Attachments []attachmentView
	// Internal and Note are shown in the agent view only.
	Internal bool
	Note     string
	// Unverified: nothing proved who sent it (anyone with the ticket
	// number or a Message-ID of the thread could have).
	Unverified bool
	// PGP tags: came encrypted, its signature check (issue 19).
	PGP []string
	// Images: HTML shows embedded pictures from our origin.
	Images bool
}

type ticketView struct {
	T *texts
	// Token and CSRF drive the forms; Forms is false where the page is
	// read-only (another ticket seen through /my, the agent view).
	Token, CSRF, Base string
	Forms             bool
	CanReply          bool
	CanClose          bool
	Muted             bool
	Agent             bool
	Done              string
	Title             string
	Project           string
	Key               string
	Subject           string
	Status            string
	// Type is the request type ("" when the project has none).
	Type      string
	Opened    timeView
	Updated   *timeView
	ReplyHint string
	LinkNote  string
	Messages  []messageView
	// History is the ticket's history, oldest first (agent view only).
	History []historyView
	// Offer lists who the ticket was offered to, their answer and
	// whether they saw it (agent view only; issue 18).
	Offer      []offerAgentView
	OfferLabel string
	// Images: a message shows embedded pictures from our origin (the
	// page's policy then allows them).
	Images bool
}

// historyView is one history event as the agent view shows it.
type historyView struct {
	When              timeView
	Kind, Actor, Text string
}

func (s *server) ticketView(tok *store.Token, t *store.Ticket, msgs []*store.Message) *ticketView {
	tx := s.lang.forTag(t.Language)
	project := s.projectName(t.Project)
	v := &ticketView{
		T:         tx,
		Project:   project,
		Key:       t.Key,
		Subject:   strings.TrimSpace(t.Subject),
		Status:    s.statusName(tx, t),
		Type:      t.Type,
		Opened:    s.timeView(tx, t.Created),
		ReplyHint: fmt.Sprintf(tx.ReplyHint, t.Key),
		LinkNote:  tx.LinkPersonal,
	}
	if v.Subject == "" {
		v.Subject = tx.NoSubject
	}
	v.Title = "[" + t.Key + "] " + v.Subject + " – " + project
	// Minutes are what the page shows; an update within the same minute as
	// the opening is no news.
	if t.Updated.Truncate(time.Minute).After(t.Created.Truncate(time.Minute)) {
		u := s.timeView(tx, t.Updated)
		v.Updated = &u
	}
	if !tok.Expires.IsZero() {
		v.LinkNote = fmt.Sprintf(tx.LinkExpires, tx.Date(tok.Expires))
	}
	v.Token, v.Base = tok.Token, s.linkPath(tok.Token)
	if len(s.opts.Secret) > 0 && tok.Kind == store.TokenLink {
		v.Forms, v.CSRF = true, s.csrfToken(tok.Token)
		v.CanReply = s.opts.Reply != nil
		v.CanClose = s.opts.Close != nil && s.opts.CanClose != nil && s.opts.CanClose(t.Project, t.Status)
	}
	v.Muted = slices.Contains(t.Muted, tok.Recipient)
	for _, m := range msgs {
		if public(m) {
			var imgURL func(int) string
			if t.Key == tok.Ticket {
				// The image route serves the link's own ticket only.
				imgURL = func(idx int) string { return fmt.Sprintf("%s/img/%d/%d", v.Base, m.ID, idx) }
			}
			mv := s.messageView(tx, project, m, imgURL)
			v.Images = v.Images || mv.Images
			for i := range mv.Attachments {
				if mv.Attachments[i].downloadable {
					mv.Attachments[i].URL = fmt.Sprintf("%s/att/%d/%d", v.Base, m.ID, i)
				}
			}
			v.Messages = append(v.Messages, mv)
		}
	}
	return v
}

// messageView shows m; imgURL gives the address of its attachment idx as
// a picture on our origin (nil: pictures by name only).
func (s *server) messageView(tx *texts, project string, m *store.Message, imgURL func(idx int) string) messageView {
	// An agent's answer is support's, however it was sent (mail, desk,
	// CLI): set apart like the project's own messages and signed with
	// the agent's name "via" the project.
	agent := m.From != "" && s.opts.IsStaff != nil && s.opts.IsStaff(m.Project, m.From)
	mv := messageView{Ours: m.Direction == "out" || agent, Unverified: m.Unverified, Cut: m.TextCut, PGP: pgpTags(tx.Lang, m)}
	switch {
	case agent:
		name := strings.TrimSpace(m.FromName)
		if name == "" {
			name = m.From
		}
		mv.Author = name + " via " + project
	case mv.Ours:
		// Mail the project itself sent is signed by the project.
		mv.Author = project
	case strings.TrimSpace(m.FromName) != "":
		mv.Author = strings.TrimSpace(m.FromName)
	case m.From != "":
		mv.Author = m.From
	default:
		mv.Author = tx.UnknownSender
	}
	when := m.Received
	if when.IsZero() {
		when = m.Date
	}
	if !when.IsZero() {
		mv.When = s.timeView(tx, when)
	}
	if imgURL != nil && strings.Contains(strings.ToLower(m.HTML), "cid:") {
		// An HTML mail with embedded pictures is shown as HTML, so they
		// appear where the sender put them.
		if out, inline := sanitizeHTML(s.policy, tx, m.HTML, m.Attach, imgURL); inline {
			mv.HTML, mv.Images = template.HTML(out), true
		}
	}
	if mv.HTML != "" {
		// Shown above.
	} else if strings.TrimSpace(m.Text) == "" && strings.TrimSpace(m.HTML) != "" {
		// The sanitiser's output is the only HTML from mail that reaches
		// the page; template.HTML marks it as already safe.
		out, _ := sanitizeHTML(s.policy, tx, m.HTML, m.Attach, nil)
		mv.HTML = template.HTML(out)
	} else {
		body, quoted := quote.Fold(m.Text)
		mv.Body, mv.Quoted = linkify(body), linkify(quoted)
	}
	for _, a := range m.Attach {
		name := strings.TrimSpace(a.Filename)
		if name == "" {
			name = tx.UnnamedAttachment
		}
		mv.Attachments = append(mv.Attachments, attachmentView{Name: name, Size: tx.Size(a.Size), downloadable: a.Blob != ""})
	}
	mv.Empty = len(mv.Body) == 0 && mv.HTML == "" && len(mv.Attachments) == 0
	return mv
}

// renderTicket renders a ticket page; one showing embedded pictures
// allows images from our origin, and nothing more.
func (s *server) renderTicket(w http.ResponseWriter, v *ticketView) {
	if v.Images {
		w.Header().Set("Content-Security-Policy", pageImagesCSP)
	}
	s.render(w, http.StatusOK, "ticket", v)
}

func (s *server) timeView(tx *texts, t time.Time) timeView {
	return timeView{ISO: t.UTC().Format(time.RFC3339), Text: tx.Date(t)}
}

func (s *server) projectName(key string) string {
	if s.opts.ProjectName != nil {
		if name := strings.TrimSpace(s.opts.ProjectName(key)); name != "" {
			return name
		}
	}
	return key
}

func (s *server) statusName(tx *texts, t *store.Ticket) string {
	status := t.Status
	if s.opts.VisibleStatus != nil {
		status = s.opts.VisibleStatus(t.Project, status)
	}
	if s.opts.StatusName != nil {
		if name := strings.TrimSpace(s.opts.StatusName(t.Project, status)); name != "" {
			return name
		}
	}
	return tx.Status(status)
}
