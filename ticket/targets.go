package ticket

import (
	"context"
	"fmt"
	"time"

	"github.com/ticketgate/ticketgate/bizhours"
	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// Response targets in business hours (issue 21).
//
// Every new ticket gets two clocks (store.Clock): the first response (an
// agent's first public answer) and the resolution (entering a resolved
// status). They count business time of the project's calendar, pause
// while the ticket waits for the customer (a pending status) and run again
// when it leaves it; a reopened ticket's resolution clock runs on from
// what it had used. The due instants of the warning and the breach are
// computed when a clock (re)starts and kept on the ticket; the ticket's
// Wake is the earliest of them and of the end of a snooze, and the store
// indexes it, so RunTimers reads only the tickets that are due.

// Target names, as stored in events (store.Event.Target) and shown.
const (
	TargetFirstResponse = "first_response"
	TargetResolution    = "resolution"
)

// Target outcomes for Engine.OnTarget.
const (
	TargetMet    = "met"
	TargetMissed = "missed"
)

// Calendar returns the business-hours calendar of project p (open around
// the clock in the daemon's time zone when p sets no business_hours).
func (e *Engine) Calendar(p *config.Project) *bizhours.Calendar {
	return calendarOf(e.cfg(), p)
}

func calendarOf(cfg *config.Config, p *config.Project) *bizhours.Calendar {
	bh := p.BusinessHours
	week := bizhours.AllWeek
	if s := bh.Spans(); s != nil {
		week = bizhours.Week{}
		for d, spans := range s {
			for _, sp := range spans {
				week[d] = append(week[d], bizhours.Span{Start: sp[0], End: sp[1]})
			}
		}
	}
	var hol map[bizhours.Date]bool
	if hs := bh.Holidays(); len(hs) > 0 {
		hol = make(map[bizhours.Date]bool, len(hs))
		for _, h := range hs {
			hol[bizhours.DateOf(h)] = true
		}
	}
	return bizhours.New(bh.Location(cfg), week, hol)
}

// targetsFor returns the business time allowed for t's first response and
// resolution (0: no target, only measured) and the share of it after which
// the warning goes. This is the one place targets are chosen: per request
// type (issue 17), once tickets have a type, a type's own targets are
// looked up here before the project's per-priority ones.
func targetsFor(p *config.Project, t *store.Ticket) (first, resolution time.Duration, share float64) {
	first, resolution = p.Targets.For(t.Priority)
	return first, resolution, p.Targets.Share()
}

// startClocks gives a new ticket its clocks; putTicket starts them.
func startClocks(t *store.Ticket) {
	t.FirstResponse, t.Resolution = &store.Clock{}, &store.Clock{}
}

// answered stops the first-response clock: an agent answered publicly.
func (e *Engine) answered(p *config.Project, t *store.Ticket, now time.Time) {
	c := t.FirstResponse
	if c == nil || !c.Done.IsZero() {
		return
	}
	cal := calendarOf(e.cfg(), p)
	pause(cal, c, now)
	c.Done, c.Took = now, c.Used
}

func pause(cal *bizhours.Calendar, c *store.Clock, now time.Time) {
	if c.Since.IsZero() {
		return
	}
	c.Used += cal.Between(c.Since, now)
	c.Since, c.Warn, c.Due = time.Time{}, time.Time{}, time.Time{}
}

// schedule computes a running clock's warning and breach instants.
func schedule(cal *bizhours.Calendar, c *store.Clock, share float64) {
	c.Warn, c.Due = time.Time{}, time.Time{}
	if c.Since.IsZero() || c.Budget <= 0 {
		return
	}
	c.Due = cal.Add(c.Since, c.Budget-c.Used)
	warn := time.Duration(float64(c.Budget)*share) - c.Used
	if warn < 0 {
		warn = 0
	}
	c.Warn = cal.Add(c.Since, warn)
}

// putTicket brings t's clocks in line with its status and priority, sets
// its Wake and stores it: every change of a ticket by the engine goes
// through here.
func (e *Engine) putTicket(tx store.Tx, p *config.Project, t *store.Ticket, now time.Time) error {
	e.tick(tx, p, t, now)
	if wake := t.Wake; !wake.IsZero() && e.OnWake != nil {
		tx.AfterCommit(func() { e.OnWake(wake) })
	}
	return tx.PutTicket(t)
}

func (e *Engine) tick(tx store.Tx, p *config.Project, t *store.Ticket, now time.Time) {
	if t.FirstResponse != nil || t.Resolution != nil {
		cal := calendarOf(e.cfg(), p)
		first, resolution, share := targetsFor(p, t)
		cat := categoryOf(p, t.Status)
		for _, c := range []struct {
			name   string
			clock  *store.Clock
			budget time.Duration
		}{{TargetFirstResponse, t.FirstResponse, first}, {TargetResolution, t.Resolution, resolution}} {
			cl := c.clock
			if cl == nil {
				continue
			}
			wasDone := !cl.Done.IsZero()
			if !cl.Manual {
				cl.Budget = c.budget
			}
			switch {
			case t.MergedInto != "":
				pause(cal, cl, now)
			case cat == CatPending:
				pause(cal, cl, now)
			case cat == CatResolved || cat == CatClosed || cat == CatCancelled:
				pause(cal, cl, now)
				if c.name == TargetResolution && cl.Done.IsZero() {
					cl.Done, cl.Took = now, cl.Used
				}
			default:
				if c.name == TargetResolution && !cl.Done.IsZero() {
					// Reopened: the resolution was not the end.
					cl.Done, cl.Took = time.Time{}, 0
				}
				if cl.Done.IsZero() && cl.Since.IsZero() {
					cl.Since = now
				}
			}
			schedule(cal, cl, share)
			if !wasDone && !cl.Done.IsZero() && cl.Budget > 0 && e.OnTarget != nil {
				outcome := TargetMissed
				if cl.Met() {
					outcome = TargetMet
				}
				project, name := p.Key, c.name
				tx.AfterCommit(func() { e.OnTarget(project, name, outcome) })
			}
		}
	}
	t.Wake = wakeOf(t)
}

// wakeOf is the earliest instant the timers must look at t: an
// unannounced warning or breach of a running clock, the end of a snooze.
func wakeOf(t *store.Ticket) time.Time {
	var w time.Time
	earliest := func(at time.Time) {
		if !at.IsZero() && (w.IsZero() || at.Before(w)) {
			w = at
		}
	}
	for _, c := range []*store.Clock{t.FirstResponse, t.Resolution} {
		if c == nil || c.Since.IsZero() || !c.Breached.IsZero() {
			continue
		}
		if c.Warned.IsZero() {
			earliest(c.Warn)
		}
		earliest(c.Due)
	}
	earliest(t.Snoozed)
	return w
}

// timerBatch is how many due tickets one look at the index takes.
const timerBatch = 100

// RunTimers announces what is due now: a target's warning (once, to the
// assignee or, while nobody is assigned, the project's agents), its breach
// (once, to them and the admins) and the end of a snooze. It reads only
// the tickets the timer index names, and returns when the next one is due
// (zero: nothing waits). The daemon runs it on one node.
func (e *Engine) RunTimers(ctx context.Context) (time.Time, error) {
	for {
		now := e.now().UTC()
		var keys []string
		var next time.Time
		if err := e.store.View(func(tx store.Tx) error {
			var err error
			keys, next, err = tx.DueTickets(now, timerBatch)
			return err
		}); err != nil {
			return time.Time{}, fmt.Errorf("ticket: timers: %w", err)
		}
		for _, key := range keys {
			if ctx.Err() != nil {
				return time.Time{}, ctx.Err()
			}
			if err := e.fire(ctx, key, now); err != nil {
				return time.Time{}, fmt.Errorf("ticket: timers %s: %w", key, err)
			}
		}
		if len(keys) < timerBatch {
			return next, nil
		}
	}
}

// fire announces what is due on one ticket and moves its Wake on.
func (e *Engine) fire(ctx context.Context, key string, now time.Time) error {
	queued := 0
	cfg := e.cfg()
	err := e.store.Update(ctx, func(tx store.Tx) error {
		queued = 0
		t, err := tx.Ticket(key)
		if err != nil {
			return err
		}
		p := cfg.Project(t.Project)
		if p == nil {
			// No project any more: nothing to announce, never again.
			t.Wake = time.Time{}
			return tx.PutTicket(t)
		}
		emit := func(ev *Event) error {
			ev.Project, ev.Ticket, ev.Actor = p, t, SystemActor
			n, err := e.notifyIn(tx, ev, now)
			queued += n
			return err
		}
		staff := t.Assignee
		var people []string
		if staff != "" {
			people = []string{staff}
		} else {
			people = append(people, p.Agents...)
		}
		for _, c := range []struct {
			name  string
			clock *store.Clock
		}{{TargetFirstResponse, t.FirstResponse}, {TargetResolution, t.Resolution}} {
			cl := c.clock
			if cl == nil || cl.Since.IsZero() || !cl.Breached.IsZero() {
				continue
			}
			switch {
			case !cl.Due.IsZero() && !now.Before(cl.Due):
				cl.Breached = now
				if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvTargetBreached, Target: c.name, Due: cl.Due}); err != nil {
					return err
				}
				to := append(append([]string(nil), people...), p.Admins...)
				if err := emit(&Event{Type: store.EvTargetBreached, Recipients: to, Target: c.name, Due: cl.Due}); err != nil {
					return err
				}
				project, name := p.Key, c.name
				if e.OnBreach != nil {
					tx.AfterCommit(func() { e.OnBreach(project, name) })
				}
			case cl.Warned.IsZero() && !cl.Warn.IsZero() && !now.Before(cl.Warn):
				cl.Warned = now
				if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvTargetWarning, Target: c.name, Due: cl.Due}); err != nil {
					return err
				}
				if err := emit(&Event{Type: store.EvTargetWarning, Recipients: people, Target: c.name, Due: cl.Due}); err != nil {
					return err
				}
			}
		}
		if !t.Snoozed.IsZero() && !now.Before(t.Snoozed) {
			until := t.Snoozed
			t.Snoozed = time.Time{}
			if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvSnoozeEnded, Due: until}); err != nil {
				return err
			}
			if err := emit(&Event{Type: store.EvSnoozeEnded, Recipients: people, Due: until}); err != nil {
				return err
			}
		}
		return e.putTicket(tx, p, t, now)
	})
	if err == nil && queued > 0 && e.Queued != nil {
		e.Queued()
	}
	return err
}
