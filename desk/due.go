package desk

import (
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// Due times, request type and snooze on the desk's pages (issue 22, with
// the response targets of issue 21).

// Due states of a response-target clock.
const (
	dueRunning  = "due"
	dueBreached = "breached"
	duePaused   = "paused"
	dueMet      = "met"
	dueLate     = "late"
)

// dueView is one response-target clock for people.
type dueView struct {
	When  string // the due time, or when it was reached
	ISO   string
	At    time.Time
	State string // one of the due* states
	Label string // the state in words ("" for a running clock)
}

// Breached reports a due time passed without an answer.
func (d *dueView) Breached() bool { return d.State == dueBreached }

// clockView describes c at now: nil when there is nothing due (no clock,
// or one that only measures).
func clockView(tx *texts, c *store.Clock, now time.Time) *dueView {
	if c == nil {
		return nil
	}
	d := dashTextsFor(tx)
	switch {
	case !c.Done.IsZero():
		if c.Budget == 0 && !c.Manual {
			return nil
		}
		v := &dueView{When: tx.Date(c.Done), ISO: c.Done.UTC().Format(time.RFC3339), At: c.Done, State: dueMet, Label: d.Reached}
		if !c.Met() {
			v.State, v.Label = dueLate, d.Late
		}
		return v
	case !c.Due.IsZero():
		v := &dueView{When: tx.Date(c.Due), ISO: c.Due.UTC().Format(time.RFC3339), At: c.Due, State: dueRunning}
		if !c.Breached.IsZero() || !now.Before(c.Due) {
			v.State, v.Label = dueBreached, d.Breached
		}
		return v
	case c.Budget > 0 || c.Manual:
		return &dueView{When: "–", State: duePaused, Label: d.Paused}
	}
	return nil
}

// nextDue is the earliest running due time of t (first response before
// resolution), nil when nothing is due: what the queue shows and sorts by.
func nextDue(tx *texts, t *store.Ticket, now time.Time) *dueView {
	var best *dueView
	for _, c := range []*store.Clock{t.FirstResponse, t.Resolution} {
		v := clockView(tx, c, now)
		if v == nil || v.State != dueRunning && v.State != dueBreached {
			continue
		}
		if best == nil || v.At.Before(best.At) {
			best = v
		}
	}
	return best
}

// dueAt is the instant nextDue reports, zero when none (the queue's sort).
func dueAt(t *store.Ticket) time.Time {
	var at time.Time
	for _, c := range []*store.Clock{t.FirstResponse, t.Resolution} {
		if c != nil && c.Done.IsZero() && !c.Due.IsZero() && (at.IsZero() || c.Due.Before(at)) {
			at = c.Due
		}
	}
	return at
}

// ticketExtras are the ticket page's facts of issue 21: its due times and
// its snooze.
type ticketExtras struct {
	First, Resolution *dueView
	Snoozed           string
}

// extrasOf is ticketExtras of the ticket on page v.
func (h *Handler) extrasOf(v *ticketView) *ticketExtras {
	now := h.opts.Now()
	x := &ticketExtras{First: clockView(v.T, v.Ticket.FirstResponse, now), Resolution: clockView(v.T, v.Ticket.Resolution, now)}
	if !v.Ticket.Snoozed.IsZero() && now.Before(v.Ticket.Snoozed) {
		x.Snoozed = v.T.Date(v.Ticket.Snoozed)
	}
	return x
}
