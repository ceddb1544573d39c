// Package bizhours counts time in business hours: a weekly schedule of
// opening hours in one time zone, minus holidays. It is a leaf (it imports
// no package of the gateway): the domain builds a Calendar from a
// project's configuration and asks it when a business-time budget runs
// out (Add) and how much business time lies between two instants
// (Between).
//
// Opening hours are wall-clock times of the calendar's time zone, so a
// day's 08:00-18:00 is ten hours on either side of a DST change; a change
// that falls inside the opening hours makes that day's span an hour
// shorter or longer, as the clocks on the wall say.
package bizhours

import (
	"time"
)

// Span is one opening period of a day, in minutes after midnight: Start
// inclusive, End exclusive, 0 <= Start < End <= 1440.
type Span struct {
	Start, End int
}

// Week holds the opening spans per weekday (index time.Weekday).
type Week [7][]Span

// AllWeek is open around the clock: business time is wall time.
var AllWeek = Week{{{0, 1440}}, {{0, 1440}}, {{0, 1440}}, {{0, 1440}}, {{0, 1440}}, {{0, 1440}}, {{0, 1440}}}

// maxDays bounds every walk through the calendar: a budget that ten years
// of opening hours cannot cover (a calendar without opening hours, a
// holiday list covering everything) never falls due.
const maxDays = 3660

// Calendar is a schedule of business hours. It is immutable and safe for
// concurrent use.
type Calendar struct {
	loc      *time.Location
	week     Week
	holidays map[Date]bool
	open     bool // some weekday has opening hours
}

// Date is a calendar day.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf is t's day in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// New returns a calendar in loc (nil: UTC) with week's opening hours,
// closed on holidays (days in loc). holidays is not copied and must not
// change afterwards.
func New(loc *time.Location, week Week, holidays map[Date]bool) *Calendar {
	if loc == nil {
		loc = time.UTC
	}
	c := &Calendar{loc: loc, week: week, holidays: holidays}
	for _, spans := range week {
		if len(spans) > 0 {
			c.open = true
		}
	}
	return c
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// spans returns the open periods of the day that starts at midnight
// (in the calendar's location) as instants, in order.
func (c *Calendar) spans(midnight time.Time, fn func(from, to time.Time) bool) bool {
	y, m, d := midnight.Date()
	if c.holidays[Date{y, m, d}] {
		return true
	}
	for _, s := range c.week[midnight.Weekday()] {
		from := time.Date(y, m, d, s.Start/60, s.Start%60, 0, 0, c.loc)
		to := time.Date(y, m, d, s.End/60, s.End%60, 0, 0, c.loc)
		if s.End == 1440 {
			to = time.Date(y, m, d+1, 0, 0, 0, 0, c.loc)
		}
		if !fn(from, to) {
			return false
		}
	}
	return true
}

// days calls fn with each day's midnight from t's day on, at most maxDays
// days, until fn returns false.
func (c *Calendar) days(t time.Time, fn func(midnight time.Time) bool) {
	lt := t.In(c.loc)
	y, m, d := lt.Date()
	for i := range maxDays {
		if !fn(time.Date(y, m, d+i, 0, 0, 0, 0, c.loc)) {
			return
		}
	}
}

// Add returns the instant at which d of business time has passed since
// start (start itself when d <= 0); the zero time when the calendar cannot
// cover d within ten years.
func (c *Calendar) Add(start time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return start
	}
	if !c.open {
		return time.Time{}
	}
	left := d
	var at time.Time
	c.days(start, func(midnight time.Time) bool {
		return c.spans(midnight, func(from, to time.Time) bool {
			if !to.After(start) {
				return true
			}
			if from.Before(start) {
				from = start
			}
			if n := to.Sub(from); n >= left {
				at = from.Add(left)
				return false
			} else {
				left -= n
			}
			return true
		})
	})
	return at
}

// Between returns the business time from a to b (0 when b is not after
// a).
func (c *Calendar) Between(a, b time.Time) time.Duration {
	if !b.After(a) || !c.open {
		return 0
	}
	var sum time.Duration
	c.days(a, func(midnight time.Time) bool {
		if !midnight.Before(b) {
			return false
		}
		return c.spans(midnight, func(from, to time.Time) bool {
			if from.Before(a) {
				from = a
			}
			if to.After(b) {
				to = b
			}
			if to.After(from) {
				sum += to.Sub(from)
			}
			return true
		})
	})
	return sum
}

// IsOpen reports whether t lies in business hours.
func (c *Calendar) IsOpen(t time.Time) bool {
	return c.Between(t, t.Add(time.Nanosecond)) > 0
}
