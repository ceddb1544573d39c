package ticket

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/bizhours"
	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// #due and #snooze (issue 21), by mail and through the admin API.

// ParseWhen reads the time an agent wrote after #due or #snooze, at now:
//   - "+20h", "+1h30m": a Go duration after now — of business time when
//     business is true (cal's hours), of wall time otherwise;
//   - "2026-12-24 15:00", "2026-12-24T15:00", "2026-12-24": a local time
//     in cal's time zone (a date alone: that day's end for #due, its
//     first business hour for #snooze), optionally followed by a zone
//     name ("UTC", "Europe/London") or given in RFC 3339 with an offset.
func ParseWhen(arg string, now time.Time, cal *bizhours.Calendar, business, endOfDay bool) (time.Time, error) {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return time.Time{}, fmt.Errorf("when? (+20h, or a date like 2026-12-24 15:00)")
	}
	if rest, ok := strings.CutPrefix(arg, "+"); ok {
		d, err := time.ParseDuration(rest)
		if err != nil || d <= 0 {
			return time.Time{}, fmt.Errorf("%q is not a duration like +20h or +1h30m", arg)
		}
		if business {
			at := cal.Add(now, d)
			if at.IsZero() {
				return time.Time{}, fmt.Errorf("the business hours never cover %s", d)
			}
			return at, nil
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, arg); err == nil {
		return t, nil
	}
	loc := cal.Location()
	fields := strings.Fields(arg)
	if len(fields) >= 2 {
		if l, err := time.LoadLocation(fields[len(fields)-1]); err == nil && !strings.Contains(fields[len(fields)-1], ":") {
			loc, fields = l, fields[:len(fields)-1]
		}
	}
	s := strings.Join(fields, " ")
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	d, err := time.ParseInLocation("2006-01-02", s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not +<duration> or a date like 2026-12-24 15:00", arg)
	}
	if endOfDay {
		return time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc), nil
	}
	// The day's first business hour (midnight on a closed calendar).
	if open := cal.Add(d, time.Nanosecond); !open.IsZero() && bizhours.DateOf(open.In(loc)) == bizhours.DateOf(d) {
		return open.Add(-time.Nanosecond), nil
	}
	return d, nil
}

// setDue moves t's resolution target to at: the target becomes the
// business time used so far plus what lies between now and at.
func (e *Engine) setDue(tx store.Tx, p *config.Project, t *store.Ticket, arg, actor string, now time.Time) error {
	cal := calendarOf(e.cfg(), p)
	at, err := ParseWhen(arg, now, cal, true, true)
	if err != nil {
		return refused("%s", err.Error())
	}
	if !at.After(now) {
		return refused("%s is not in the future", at.In(cal.Location()).Format("2006-01-02 15:04 MST"))
	}
	c := t.Resolution
	if c == nil {
		c = &store.Clock{}
		t.Resolution = c
	}
	used := c.Used
	if !c.Since.IsZero() {
		used += cal.Between(c.Since, now)
	}
	c.Budget, c.Manual = used+cal.Between(now, at), true
	c.Warned, c.Breached = time.Time{}, time.Time{}
	return record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvDueSet, Actor: actor, Target: TargetResolution, Due: at})
}

// snooze hides t from the queue until the time in arg ("off": wake it
// now, silently).
func (e *Engine) snooze(tx store.Tx, p *config.Project, t *store.Ticket, arg, actor string, now time.Time) error {
	if strings.EqualFold(strings.TrimSpace(arg), "off") {
		t.Snoozed = time.Time{}
		return record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvSnoozed, Actor: actor})
	}
	cal := calendarOf(e.cfg(), p)
	at, err := ParseWhen(arg, now, cal, false, false)
	if err != nil {
		return refused("%s", err.Error())
	}
	if !at.After(now) {
		return refused("%s is not in the future", at.In(cal.Location()).Format("2006-01-02 15:04 MST"))
	}
	t.Snoozed = at.UTC()
	return record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvSnoozed, Actor: actor, Due: t.Snoozed})
}

// SetDue sets a ticket's due time as agent actor (`ticketgate due`).
func (e *Engine) SetDue(ctx context.Context, key, when, actor string) (int, error) {
	return e.change(ctx, key, actor, func(tx store.Tx, p *config.Project, t *store.Ticket, now time.Time, emit func(*Event) error) error {
		return e.setDue(tx, p, t, when, strings.ToLower(actor), now)
	})
}

// Snooze hides a ticket from the queue until when (`ticketgate snooze`;
// "off" wakes it).
func (e *Engine) Snooze(ctx context.Context, key, when, actor string) (int, error) {
	return e.change(ctx, key, actor, func(tx store.Tx, p *config.Project, t *store.Ticket, now time.Time, emit func(*Event) error) error {
		return e.snooze(tx, p, t, when, strings.ToLower(actor), now)
	})
}
