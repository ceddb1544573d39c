package ticket

import (
	"context"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/store"
)

// Issue 17: request types and internal tickets — the commands (#type,
// #publish, #requester), the admin API's visibility change and tickets
// opened from the CLI.

// accessCommand runs #type, #publish and #requester.
func (e *Engine) accessCommand(tx store.Tx, p *config.Project, t *store.Ticket, c decide.Command, cc commandContext) error {
	switch c.Name {
	case "type":
		if len(c.Args) != 1 {
			return refused("use #type NAME (types of %s: %s)", p.Key, typeNames(p))
		}
		rt, ok := p.RequestType(c.Args[0])
		if !ok {
			return refused("unknown request type %q (types of %s: %s)", c.Args[0], p.Key, typeNames(p))
		}
		if cc.created {
			// decide.RequestType chose the type of the new request (a
			// sub-address comes before the command).
			return nil
		}
		if !cc.agent {
			return refused("only agents may change the type of a request")
		}
		return setType(tx, t, rt.Name, cc.author, cc.now)
	case "publish":
		return publish(tx, p, t, cc.author, cc.now, cc.emit)
	case "accept":
		if cc.acceptedDraft == "" && cc.draftWas != "" {
			// Lost a race with another acceptance: nothing to do, and
			// the agent is told which ticket it became.
			return refused("%s was already accepted as %s", cc.draftWas, t.Key)
		}
		if cc.acceptedDraft == "" {
			return refused("#accept turns a draft into a request: write with the draft's [%s-D…] in the subject", p.Key)
		}
		return nil
	case "requester":
		addr, err := decide.RequesterArg(c)
		if err != nil {
			return refused("%v", err)
		}
		return e.setRequester(tx, t, addr, cc.author, cc.now)
	}
	return refused("unknown command")
}

func typeNames(p *config.Project) string {
	if len(p.RequestTypes) == 0 {
		return "none configured"
	}
	return strings.Join(p.TypeNames(), ", ")
}

func setType(tx store.Tx, t *store.Ticket, name, actor string, now time.Time) error {
	if t.Type == name {
		return nil
	}
	old := t.Type
	t.Type = name
	return record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvTypeChanged, Actor: actor, OldType: old, NewType: name})
}

// publish makes an internal ticket public: its requester gets the
// request-created mail now (the staff knew of the ticket all along).
func publish(tx store.Tx, p *config.Project, t *store.Ticket, actor string, now time.Time, emit func(*Event) error) error {
	if !t.Internal() {
		return refused("%s is already public", t.Key)
	}
	t.Visibility = store.VisibilityPublic
	if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvVisibilityChanged, Actor: actor, Visibility: store.VisibilityPublic}); err != nil {
		return err
	}
	// No Status: the status rules must not add a second mail about the
	// ticket's creation.
	return emit(&Event{Type: EvRequestCreated, CustomerOnly: true})
}

// setRequester names who an internal ticket is for (#requester): they
// are its reporter once it is published.
func (e *Engine) setRequester(tx store.Tx, t *store.Ticket, addr, actor string, now time.Time) error {
	if !t.Internal() {
		return refused("#requester names the requester of an internal ticket before #publish; %s is public", t.Key)
	}
	if e.cfg().IsOwnAddress(addr) {
		return refused("%s is one of our own addresses", addr)
	}
	if t.Reporter == addr {
		return nil
	}
	t.Reporter, t.ReporterName = addr, ""
	t.Participants = slices.DeleteFunc(t.Participants, func(pa store.Participant) bool { return pa.Address == addr })
	return record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvRequesterChanged, Actor: actor, Addresses: []string{addr}})
}

// SetVisibility changes a ticket's visibility from the admin API: only
// internal → public (customers cannot un-hear of a request).
func (e *Engine) SetVisibility(ctx context.Context, key, visibility, actor string) (int, error) {
	visibility = strings.ToLower(strings.TrimSpace(visibility))
	return e.change(ctx, key, actor, func(tx store.Tx, p *config.Project, t *store.Ticket, now time.Time, emit func(*Event) error) error {
		switch visibility {
		case store.VisibilityPublic:
			return publish(tx, p, t, actor, now, emit)
		case store.VisibilityInternal:
			if t.Internal() {
				return nil
			}
			return refused("%s is public: its customers already heard of it, it cannot become internal", t.Key)
		}
		return refused("visibility must be public or internal, not %q", visibility)
	})
}

// OpenRequest is a request opened for a customer from the CLI or the
// admin API.
type OpenRequest struct {
	Project string
	// From is the customer the request is for (its reporter).
	From, Subject, Text string
	// Internal opens it internal: no customer mail until it is published.
	Internal bool
}

// Open opens a new ticket for a customer as agent actor, with the
// normal notifications (none to the customer while it is internal). It
// returns the ticket's key and how many mails were queued.
func (e *Engine) Open(ctx context.Context, req OpenRequest, actor string) (string, int, error) {
	actor = strings.ToLower(actor)
	subject := strings.TrimSpace(req.Subject)
	text := strings.TrimSpace(req.Text)
	a, err := mail.ParseAddress(strings.TrimSpace(req.From))
	switch {
	case err != nil:
		return "", 0, refused("--from must be one mail address, got %q", req.From)
	case subject == "":
		return "", 0, refused("the subject is empty")
	case text == "":
		return "", 0, refused("the text is empty")
	}
	from := strings.ToLower(a.Address)
	var key string
	queued := 0
	err = e.store.Update(ctx, func(tx store.Tx) error {
		queued = 0
		cfg := e.cfg()
		p := cfg.Project(strings.ToUpper(req.Project))
		if p == nil {
			return refused("no project %q", req.Project)
		}
		if !p.IsStaff(actor) {
			return refused("%s is not an agent or admin of %s", actor, p.Key)
		}
		if cfg.IsOwnAddress(from) {
			return refused("%s is one of our own addresses", from)
		}
		// Support keys are secrets (issue 17): stored redacted.
		subject, text := decide.Redact(p.KeyPattern(), subject), decide.Redact(p.KeyPattern(), text)
		n, err := tx.NextTicketNumber(p.Key)
		if err != nil {
			return err
		}
		now := e.now().UTC()
		t := &store.Ticket{
			Key: store.TicketKey(p.Key, n), Project: p.Key, Number: n, Subject: decide.CleanSubject(subject),
			Status: firstOf(p, CatNew), Reporter: from, ReporterName: a.Name, Language: p.Language,
			Created: now, Updated: now, Private: p.PrivateByDefault, Messages: 1,
		}
		t.Type, _ = decide.RequestType(p, decide.TypeFacts{Subject: subject})
		t.Priority = decide.TypePriority(p, t.Type)
		if req.Internal {
			t.Visibility = store.VisibilityInternal
		}
		key = t.Key
		m := &store.Message{Ticket: t.Key, Project: p.Key, Direction: "in", Kind: "request", Source: "admin",
			From: from, FromName: a.Name, Subject: subject, Received: now, Text: text, ThreadedBy: "admin"}
		if err := tx.AddMessage(m); err != nil {
			return err
		}
		if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvRequestCreated, Actor: actor, Message: m.ID, Rule: "admin"}); err != nil {
			return err
		}
		emit := func(ev *Event) error {
			ev.Project, ev.Ticket, ev.Actor = p, t, actor
			n, err := e.notifyIn(tx, ev, now)
			queued += n
			return err
		}
		st, _ := p.Status(t.Status)
		if err := emit(&Event{Type: EvRequestCreated, Message: m, Status: t.Status, StatusCustomerVisible: st.Visible()}); err != nil {
			return fmt.Errorf("ticket: notify %s: %w", EvRequestCreated, err)
		}
		if !t.Private && !t.Internal() {
			org, err := tx.OrganizationOf(p.Key, from)
			if err != nil {
				return err
			}
			if org != nil {
				if err := share(tx, t, org, actor, now, emit); err != nil {
					return err
				}
			}
		}
		return tx.PutTicket(t)
	})
	if err != nil {
		return "", 0, err
	}
	if queued > 0 && e.Queued != nil {
		e.Queued()
	}
	e.log.Info("request opened by an agent", "ticket", key, "agent", actor, "internal", req.Internal, "queued", queued)
	return key, queued, nil
}
