package ticket

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/store"
)

// ErrRefused is returned (wrapped, with the reason) for an operation the
// actor may not do or that makes no sense (unknown status, not an agent).
var ErrRefused = errors.New("refused")

// RefusedError is a refusal with its reason, for whoever asked (the
// answer to mail commands quotes Reason; nothing parses Error()).
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string        { return ErrRefused.Error() + ": " + e.Reason }
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

func refused(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// change runs fn on the ticket key as agent actor, who must be staff of
// the ticket's project.
func (e *Engine) change(ctx context.Context, key, actor string, fn func(tx store.Tx, p *config.Project, t *store.Ticket, now time.Time, emit func(*Event) error) error) (int, error) {
	actor = strings.ToLower(actor)
	queued := 0
	err := e.store.Update(ctx, func(tx store.Tx) error {
		queued = 0
		t, err := tx.Ticket(strings.ToUpper(key))
		if err != nil {
			return err
		}
		p := e.cfg().Project(t.Project)
		if p == nil {
			return refused("project %s is not configured any more", t.Project)
		}
		if !p.IsStaff(actor) {
			return refused("%s is not an agent or admin of %s", actor, p.Key)
		}
		now := e.now().UTC()
		emit := func(ev *Event) error {
			ev.Project, ev.Ticket, ev.Actor = p, t, actor
			n, err := e.notifyIn(tx, ev, now)
			queued += n
			return err
		}
		if err := fn(tx, p, t, now, emit); err != nil {
			return err
		}
		t.Updated = now
		return e.putTicket(tx, p, t, now)
	})
	if err == nil && queued > 0 && e.Queued != nil {
		e.Queued()
	}
	return queued, err
}

// setStatus moves t to status and emits what that means; it does not
// write t (the caller does).
func setStatus(tx store.Tx, p *config.Project, t *store.Ticket, status, actor string, now time.Time, emit func(*Event) error) error {
	return setStatusFrom(tx, p, t, status, actor, "", now, emit)
}

// setStatusFrom is setStatus with where the change came from ("web" for
// the ticket page; "" for mail and the admin API).
func setStatusFrom(tx store.Tx, p *config.Project, t *store.Ticket, status, actor, source string, now time.Time, emit func(*Event) error) error {
	st, ok := p.Status(status)
	if !ok {
		return refused("unknown status %q (statuses of %s: %s)", status, p.Key, statusNames(p))
	}
	status = st.Name
	old := t.Status
	if old == status {
		return nil
	}
	t.Status = status
	switch st.Category {
	case CatClosed, CatCancelled:
		t.Closed = now
	default:
		t.Closed = time.Time{}
	}
	if st.Category == CatResolved {
		t.Resolved, t.Reminded = now, time.Time{}
	} else {
		t.Resolved, t.Reminded = time.Time{}, time.Time{}
	}
	if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvStatusChanged, Actor: actor, Source: source, OldStatus: old, NewStatus: status}); err != nil {
		return err
	}
	// One change is one event, so nobody gets two mails for it: a
	// resolution or a reopening is also a status change, and the status
	// rules match those events too.
	typ := EvStatusChanged
	switch {
	case st.Category == CatResolved:
		typ = EvRequestResolved
	case isDone(p, old) && !isDone(p, status):
		typ = EvRequestReopened
		t.Reopens, t.LastReopened = t.Reopens+1, now // for reports (issue 21)
	}
	if err := emit(&Event{Type: typ, Status: status, OldStatus: old, StatusCustomerVisible: st.Visible()}); err != nil {
		return err
	}
	if st.Approval != nil {
		if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvApprovalRequired, Actor: actor, Addresses: st.Approval.Approvers}); err != nil {
			return err
		}
		return emit(&Event{Type: EvApprovalRequired, Recipients: st.Approval.Approvers, Status: status})
	}
	return nil
}

func statusNames(p *config.Project) string {
	var names []string
	for _, s := range p.StatusList() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

// implied wraps emit for a status change that follows from a comment:
// the comment's own mail says it all, so a plain status change mails
// nobody, and a reopening (news to the agents) reaches staff only.
func implied(emit func(*Event) error) func(*Event) error {
	return func(ev *Event) error {
		if ev.Type == EvStatusChanged {
			ev.HooksOnly = true
		}
		ev.InternalOnly = true
		return emit(ev)
	}
}

// SetStatus changes a ticket's status.
func (e *Engine) SetStatus(ctx context.Context, key, status, actor string) (int, error) {
	return e.change(ctx, key, actor, func(tx store.Tx, p *config.Project, t *store.Ticket, now time.Time, emit func(*Event) error) error {
		return setStatus(tx, p, t, status, actor, now, emit)
	})
}

// Assign gives a ticket to an agent (or "" to nobody); a new or open
// ticket moves to "assigned" when the project has that status.
func (e *Engine) Assign(ctx context.Context, key, assignee, actor string) (int, error) {
	return e.change(ctx, key, actor, func(tx store.Tx, p *config.Project, t *store.Ticket, now time.Time, emit func(*Event) error) error {
		return assign(tx, p, t, assignee, actor, now, emit)
	})
}

func assign(tx store.Tx, p *config.Project, t *store.Ticket, assignee, actor string, now time.Time, emit func(*Event) error) error {
	assignee = strings.ToLower(strings.TrimSpace(assignee))
	if assignee == "me" {
		assignee = strings.ToLower(actor)
	}
	if assignee != "" && !p.IsStaff(assignee) {
		return refused("%s is not an agent of %s", assignee, p.Key)
	}
	t.Assignee = assignee
	if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvAssigned, Actor: actor, Assignee: assignee}); err != nil {
		return err
	}
	if assignee == "" {
		// Given back: offered again, to everyone (issue 18).
		return startOffer(tx, p, t, now, emit)
	}
	if err := endOffer(tx, t, OfferEndAssigned, now); err != nil {
		return err
	}
	if err := emit(&Event{Type: EvAssigned}); err != nil {
		return err
	}
	if st, ok := p.Status("assigned"); ok && st.Category == CatOpen {
		if c := categoryOf(p, t.Status); c == CatNew || c == CatOpen {
			return setStatus(tx, p, t, st.Name, actor, now, emit)
		}
	}
	return nil
}

func orNobody(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}

// Comment adds an agent's public answer (sent to the customers, and the
// ticket waits for them) or, with internal, a note only staff see.
func (e *Engine) Comment(ctx context.Context, key, actor, text string, internal bool) (int, error) {
	return e.comment(ctx, key, actor, text, internal, "admin", nil)
}

// comment is Comment from source ("admin", "desk") with attached files
// (blobs already stored).
func (e *Engine) comment(ctx context.Context, key, actor, text string, internal bool, source string, attach []store.Attachment) (int, error) {
	text = strings.TrimSpace(text)
	if text == "" && len(attach) == 0 {
		return 0, refused("empty text")
	}
	return e.change(ctx, key, actor, func(tx store.Tx, p *config.Project, t *store.Ticket, now time.Time, emit func(*Event) error) error {
		text := decide.Redact(p.KeyPattern(), text) // support keys are secrets (issue 17)
		m := &store.Message{Ticket: t.Key, Project: p.Key, Direction: "out", Kind: "comment", Internal: internal,
			Source: source, From: strings.ToLower(actor), Subject: t.Subject, Received: now, Text: text, ThreadedBy: source, Attach: attach}
		evType := EvAgentCommentAdded
		if internal {
			m.Direction, m.Kind, evType = "in", "note", EvInternalNoteAdded
		}
		if err := tx.AddMessage(m); err != nil {
			return err
		}
		t.Messages++
		if !internal {
			e.answered(p, t, now)
		}
		if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: evType, Actor: actor, Message: m.ID}); err != nil {
			return err
		}
		if err := emit(&Event{Type: evType, Message: m}); err != nil {
			return err
		}
		if internal {
			return nil
		}
		if !isDone(p, t.Status) {
			return setStatus(tx, p, t, firstOf(p, CatPending), actor, now, implied(emit))
		}
		return nil
	})
}

// AddParticipant admits a customer to a ticket; RemoveParticipant takes
// one off.
func (e *Engine) AddParticipant(ctx context.Context, key, addr, actor string) (int, error) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	return e.change(ctx, key, actor, func(tx store.Tx, p *config.Project, t *store.Ticket, now time.Time, emit func(*Event) error) error {
		return e.addParticipant(tx, p, t, addr, actor, now, emit)
	})
}

func (e *Engine) addParticipant(tx store.Tx, p *config.Project, t *store.Ticket, addr, actor string, now time.Time, emit func(*Event) error) error {
	addr = strings.ToLower(strings.TrimSpace(addr))
	if !strings.Contains(addr, "@") || e.cfg().IsOwnAddress(addr) || p.IsStaff(addr) {
		return refused("%q cannot be a participant", addr)
	}
	if addr == t.Reporter {
		return nil
	}
	if i := slices.IndexFunc(t.Participants, func(pa store.Participant) bool { return pa.Address == addr }); i >= 0 {
		// Adding someone who joined by a customer's Cc confirms them:
		// every customer's comment reaches them from now on.
		if confirmedByAgent(t.Participants[i]) {
			return nil
		}
		t.Participants[i].ByAgent = true
		return record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvParticipantConfirmed, Actor: actor, Addresses: []string{addr}})
	}
	if err := roomFor(e.cfg(), t); err != nil {
		return err
	}
	t.Participants = append(t.Participants, store.Participant{Address: addr, Added: now, Via: "agent " + actor, ByAgent: true})
	if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvParticipantAdded, Actor: actor, Addresses: []string{addr}}); err != nil {
		return err
	}
	return emit(&Event{Type: EvParticipantAdded, Added: []string{addr}})
}

// RemoveParticipant takes a participant off a ticket.
func (e *Engine) RemoveParticipant(ctx context.Context, key, addr, actor string) (int, error) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	return e.change(ctx, key, actor, func(tx store.Tx, p *config.Project, t *store.Ticket, now time.Time, emit func(*Event) error) error {
		return removeParticipant(tx, t, addr, actor, now)
	})
}

func removeParticipant(tx store.Tx, t *store.Ticket, addr, actor string, now time.Time) error {
	addr = strings.ToLower(strings.TrimSpace(addr))
	i := slices.IndexFunc(t.Participants, func(pa store.Participant) bool { return pa.Address == addr })
	if i < 0 {
		return refused("%s is not a participant of %s", addr, t.Key)
	}
	t.Participants = slices.Delete(t.Participants, i, i+1)
	return record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvParticipantRemoved, Actor: actor, Addresses: []string{addr}})
}

// Invite adds a customer to a ticket and sends them the invitation (which
// explains how to write in) instead of the plain "you were added".
func (e *Engine) Invite(ctx context.Context, key, addr, actor string) (int, error) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	return e.change(ctx, key, actor, func(tx store.Tx, p *config.Project, t *store.Ticket, now time.Time, emit func(*Event) error) error {
		if !strings.Contains(addr, "@") || e.cfg().IsOwnAddress(addr) || p.IsStaff(addr) {
			return refused("%q cannot be invited as a customer", addr)
		}
		if i := slices.IndexFunc(t.Participants, func(pa store.Participant) bool { return pa.Address == addr }); i >= 0 {
			t.Participants[i].ByAgent = true
		} else if addr != t.Reporter {
			if err := roomFor(e.cfg(), t); err != nil {
				return err
			}
			t.Participants = append(t.Participants, store.Participant{Address: addr, Added: now, Via: "invited by " + actor, ByAgent: true})
		}
		if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvCustomerInvited, Actor: actor, Addresses: []string{addr}}); err != nil {
			return err
		}
		return emit(&Event{Type: EvCustomerInvited, Recipients: []string{addr}})
	})
}

// Merge moves every message of from into into (threading then follows:
// replies to from land in into) and closes from.
func (e *Engine) Merge(ctx context.Context, from, into, actor string) (int, error) {
	from, into = strings.ToUpper(from), strings.ToUpper(into)
	if from == into {
		return 0, refused("cannot merge a ticket into itself")
	}
	return e.change(ctx, into, actor, func(tx store.Tx, p *config.Project, t *store.Ticket, now time.Time, emit func(*Event) error) error {
		src, err := tx.Ticket(from)
		if err != nil {
			return err
		}
		if src.Project != t.Project {
			return refused("%s and %s are in different projects", from, into)
		}
		if src.MergedInto != "" {
			return refused("%s was already merged into %s", from, src.MergedInto)
		}
		msgs, err := tx.TicketMessages(from)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if err := tx.MoveMessage(m, into); err != nil {
				return err
			}
			if err := tx.IndexMessageID(p.Key, m.MessageID, m.Raw, store.MessageRef{Ticket: into, Message: m.ID, Outbound: m.Direction == "out" && m.Raw == ""}); err != nil {
				return err
			}
			t.Messages++
		}
		for _, pa := range append([]store.Participant{{Address: src.Reporter, Added: now, Via: "merged from " + from}}, src.Participants...) {
			if pa.Address != "" && pa.Address != t.Reporter && !slices.ContainsFunc(t.Participants, func(x store.Participant) bool { return x.Address == pa.Address }) {
				t.Participants = append(t.Participants, pa)
			}
		}
		src.MergedInto, src.Messages = into, 0
		if err := setStatus(tx, p, src, firstOf(p, CatClosed), actor, now, func(*Event) error { return nil }); err != nil {
			return err
		}
		src.Updated = now
		if err := e.putTicket(tx, p, src, now); err != nil {
			return err
		}
		if err := record(tx, &store.Event{Ticket: from, Time: now, Kind: store.EvMerged, Actor: actor, MergedInto: into}); err != nil {
			return err
		}
		return record(tx, &store.Event{Ticket: into, Time: now, Kind: store.EvMerged, Actor: actor, Other: from, MergedInto: into, Count: len(msgs)})
	})
}

// MarkSpam cancels a ticket as spam and blocks its reporter.
func (e *Engine) MarkSpam(ctx context.Context, key, actor string) (int, error) {
	return e.change(ctx, key, actor, func(tx store.Tx, p *config.Project, t *store.Ticket, now time.Time, emit func(*Event) error) error {
		if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvSpam, Actor: actor, Addresses: []string{t.Reporter}}); err != nil {
			return err
		}
		if err := tx.Block(&store.Block{Project: p.Key, Address: t.Reporter, By: actor, Reason: "spam in " + t.Key, Created: now}); err != nil {
			return err
		}
		// Spam hears nothing back: no status mail to its reporter.
		return setStatus(tx, p, t, firstOf(p, CatCancelled), actor, now, func(*Event) error { return nil })
	})
}

// BlockSender stops mail from addr opening or changing tickets of project:
// it is still stored (nothing is lost) but answers nobody.
func (e *Engine) BlockSender(ctx context.Context, project, addr, actor string) error {
	addr, actor = strings.ToLower(strings.TrimSpace(addr)), strings.ToLower(actor)
	p := e.cfg().Project(project)
	if p == nil {
		return refused("no project %q", project)
	}
	if !p.IsStaff(actor) {
		return refused("%s is not an agent or admin of %s", actor, p.Key)
	}
	if !strings.Contains(addr, "@") || p.IsStaff(addr) {
		return refused("%q cannot be blocked", addr)
	}
	return e.store.Update(ctx, func(tx store.Tx) error {
		return tx.Block(&store.Block{Project: p.Key, Address: addr, By: actor, Reason: "blocked by " + actor, Created: e.now().UTC()})
	})
}
