package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Digests: the agents' queue by mail (issue 21). Each agent gets at most
// one mail a day across all their projects, at their own local time on
// their days, listing their open tickets and the unassigned ones of their
// projects. An agent's own choice by mail (#digest off|on|at 07:30) is
// kept in the store and overrides what is configured here.
type Digests struct {
	// Default is every agent's schedule unless Agents says otherwise.
	Default DigestSchedule `mapstructure:"default"`
	// Agents overrides the schedule per agent or admin address (at, days,
	// timezone, off).
	Agents map[string]DigestSchedule `mapstructure:"agents"`
}

// DigestSchedule is when digests go: every empty field takes the
// default's, then the built-in one (08:30, mon-fri, the daemon's
// timezone).
type DigestSchedule struct {
	// At is the local time of day ("07:30").
	At string `mapstructure:"at"`
	// Days are the days or a range of days ("mon-fri", "mon,wed,fri").
	Days string `mapstructure:"days"`
	// TimeZone names the zone At and Days are in ("Europe/Berlin").
	TimeZone string `mapstructure:"timezone"`
	// Off: no digest (for Default: only agents whose entry says
	// "off: false", or who asked by mail, get one).
	Off *bool `mapstructure:"off"`
}

// The built-in digest schedule.
const (
	DefaultDigestAt   = "08:30"
	DefaultDigestDays = "mon-fri"
)

// DigestPlan is one agent's digest schedule as configured, resolved.
type DigestPlan struct {
	// On: the agent gets digests.
	On bool
	// At is the time of day in minutes after midnight.
	At int
	// Days are the weekdays digests go on (index time.Weekday).
	Days [7]bool
	Loc  *time.Location
}

// Configured reports whether the configuration asks for digests at all
// (a digests section with anything in it). Without it only agents who
// asked by mail (#digest on) get one.
func (d *Digests) Configured() bool {
	return d.Default != (DigestSchedule{}) || len(d.Agents) > 0
}

// DigestFor resolves agent's configured schedule: the built-in one,
// overlaid by digests.default, then by digests.agents[agent].
func (c *Config) DigestFor(agent string) DigestPlan {
	plan := DigestPlan{On: c.Digests.Configured(), Loc: c.Location()}
	plan.At, _ = ParseDigestTime(DefaultDigestAt)
	plan.Days, _ = ParseDigestDays(DefaultDigestDays)
	plan.apply(c.Digests.Default)
	for a, s := range c.Digests.Agents {
		if strings.EqualFold(a, agent) {
			plan.apply(s)
		}
	}
	return plan
}

// apply overlays what s sets (validated values; an invalid one is left
// out: validation refused it already).
func (p *DigestPlan) apply(s DigestSchedule) {
	if s.Off != nil {
		p.On = !*s.Off
	} else if s != (DigestSchedule{}) {
		p.On = true
	}
	if at, ok := ParseDigestTime(s.At); ok {
		p.At = at
	}
	if days, ok := ParseDigestDays(s.Days); ok {
		p.Days = days
	}
	if s.TimeZone != "" {
		if loc, err := time.LoadLocation(s.TimeZone); err == nil {
			p.Loc = loc
		}
	}
}

// ParseDigestTime reads "07:30" (00:00 to 23:59) as minutes after
// midnight.
func ParseDigestTime(s string) (int, bool) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(m) != 2 || len(h) < 1 || len(h) > 2 {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, false
	}
	return hh*60 + mm, true
}

// ParseDigestDays reads "mon-fri", "sat", "mon,wed,fri" or "mon-wed,sat".
func ParseDigestDays(s string) ([7]bool, bool) {
	var out [7]bool
	if strings.TrimSpace(s) == "" {
		return out, false
	}
	for part := range strings.SplitSeq(s, ",") {
		ds, ok := parseDays(part)
		if !ok {
			return out, false
		}
		for _, d := range ds {
			out[d] = true
		}
	}
	return out, true
}

// FormatDigestTime is minutes after midnight as "07:30".
func FormatDigestTime(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// validateDigests checks the schedules and that every address in
// digests.agents is an agent or admin of some project.
func (c *Config) validateDigests() []error {
	var errs []error
	check := func(key string, s DigestSchedule) {
		if s.At != "" {
			if _, ok := ParseDigestTime(s.At); !ok {
				errs = append(errs, fieldErr(key+".at", `want a time of day like "08:30" (00:00-23:59), got %q`, s.At))
			}
		}
		if s.Days != "" {
			if _, ok := ParseDigestDays(s.Days); !ok {
				errs = append(errs, fieldErr(key+".days", `want days or ranges of days like "mon-fri" or "mon,wed,fri", got %q`, s.Days))
			}
		}
		if s.TimeZone != "" {
			if _, err := time.LoadLocation(s.TimeZone); err != nil {
				errs = append(errs, fieldErr(key+".timezone", "unknown time zone %q", s.TimeZone))
			}
		}
	}
	check("digests.default", c.Digests.Default)
	for _, a := range slices.Sorted(mapKeys(c.Digests.Agents)) {
		key := "digests.agents." + a
		check(key, c.Digests.Agents[a])
		if !c.isStaffAnywhere(a) {
			errs = append(errs, fieldErr(key, "%s is no agent or admin of any project", a))
		}
	}
	return errs
}

// isStaffAnywhere reports whether addr is an agent or admin of a project
// (from the lists, so it works before the lookup index is built).
func (c *Config) isStaffAnywhere(addr string) bool {
	for i := range c.Projects {
		p := &c.Projects[i]
		for _, a := range append(append([]string(nil), p.Agents...), p.Admins...) {
			if strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(addr)) {
				return true
			}
		}
	}
	return false
}

// DigestAgents lists every agent and admin of every project, lower-cased,
// each once, in order: the addresses digests may go to.
func (c *Config) DigestAgents() []string {
	var out []string
	for i := range c.Projects {
		p := &c.Projects[i]
		for _, a := range append(append([]string(nil), p.Agents...), p.Admins...) {
			a = strings.ToLower(strings.TrimSpace(a))
			if a != "" && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return out
}
