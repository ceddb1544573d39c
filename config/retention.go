package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Retention deletes the bulky parts of tickets closed long enough (data
// protection: attachments and raw mail of tickets closed for 90 days are
// deleted every week). Tickets and their text remain.
type Retention struct {
	// ClosedDays is how long a ticket must have been closed. 0 = off.
	ClosedDays int `mapstructure:"closed_days"`
	// Delete names what goes: attachments, raw.
	Delete []string `mapstructure:"delete"`
	// Schedule is "daily HH:MM" or "weekly <mon…sun> HH:MM" in the
	// daemon's time zone.
	Schedule string `mapstructure:"schedule"`
}

// Schedule is a parsed retention schedule.
type Schedule struct {
	Weekly  bool
	Weekday time.Weekday
	Hour    int
	Minute  int
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// ParseSchedule parses "daily 03:00" or "weekly sun 03:00".
func ParseSchedule(s string) (Schedule, error) {
	f := strings.Fields(strings.ToLower(s))
	var sc Schedule
	var clock string
	switch {
	case len(f) == 2 && f[0] == "daily":
		clock = f[1]
	case len(f) == 3 && f[0] == "weekly":
		wd, ok := weekdays[f[1][:min(3, len(f[1]))]]
		if !ok {
			return sc, fmt.Errorf("unknown weekday %q", f[1])
		}
		sc.Weekly, sc.Weekday, clock = true, wd, f[2]
	default:
		return sc, fmt.Errorf(`want "daily HH:MM" or "weekly <day> HH:MM", got %q`, s)
	}
	h, m, ok := strings.Cut(clock, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return sc, fmt.Errorf("bad time of day %q", clock)
	}
	sc.Hour, sc.Minute = hh, mm
	return sc, nil
}

// Next returns the first run strictly after t, in t's location.
func (s Schedule) Next(t time.Time) time.Time {
	n := time.Date(t.Year(), t.Month(), t.Day(), s.Hour, s.Minute, 0, 0, t.Location())
	for !n.After(t) || (s.Weekly && n.Weekday() != s.Weekday) {
		n = n.AddDate(0, 0, 1)
	}
	return n
}

// Location returns the configured time zone (default: the system's).
func (c *Config) Location() *time.Location {
	if c.TimeZone == "" || c.TimeZone == "Local" {
		return time.Local
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return time.Local
	}
	return loc
}

func (r *Retention) validate(key string) []error {
	var errs []error
	if r.ClosedDays < 0 {
		errs = append(errs, fieldErr(key+".closed_days", "must not be negative"))
	}
	if r.ClosedDays == 0 {
		return errs
	}
	if len(r.Delete) == 0 {
		errs = append(errs, fieldErr(key+".delete", "required: attachments, raw or both"))
	}
	for i, d := range r.Delete {
		if d != "attachments" && d != "raw" {
			errs = append(errs, fieldErr(fmt.Sprintf("%s.delete[%d]", key, i), "must be attachments or raw, got %q", d))
		}
	}
	if _, err := ParseSchedule(r.Schedule); err != nil {
		errs = append(errs, fieldErr(key+".schedule", "%v", err))
	}
	return errs
}

func (c *Config) validateRetention() []error {
	var errs []error
	if c.TimeZone != "" && c.TimeZone != "Local" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil {
			errs = append(errs, fieldErr("timezone", "unknown time zone %q", c.TimeZone))
		}
	}
	for i := range c.Projects {
		errs = append(errs, c.Projects[i].Retention.validate(fmt.Sprintf("projects[%d].retention", i))...)
	}
	return errs
}
