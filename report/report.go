// Package report computes a helpdesk's figures over a period — new,
// resolved and reopened tickets, first-response and resolution times in
// business time (median and 90th percentile), response targets met and
// missed, in total and per agent — from the store's report facts
// (store.FactsTx), never from messages or whole tickets: it reads only the
// tickets that changed since the period began.
//
// `ticketgate report` prints it (through the admin API), and any page that
// shows the same figures calls Compute with the same store:
//
//	r, err := report.Compute(db, report.Query{Project: "ACME", Since: time.Now().Add(-30 * 24 * time.Hour)})
//	// r.New, r.FirstResponse.Median, r.FirstResponseTarget.Met, r.Agents …
package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// Query selects what a report covers.
type Query struct {
	// Project limits it to one project ("": every project May allows).
	Project string
	// Since and Until bound the period [Since, Until); a zero Until is
	// now (the time Compute runs).
	Since, Until time.Time
	// May, when set, says which projects the reader may see; tickets of
	// the others are left out.
	May func(project string) bool
	// Daily adds the per-day series of new and resolved tickets
	// (Report.Days), its days starting at midnight in Loc (UTC when nil).
	Daily bool
	Loc   *time.Location
	// Open, when set, says whether a status of a project is an open one
	// and asks for the open tickets now (Report.Backlog): that reads the
	// facts of every ticket, not only those changed in the period.
	Open func(project, status string) bool
}

// Durations summarises times taken, in business time.
type Durations struct {
	Count  int
	Median time.Duration
	P90    time.Duration
}

// MarshalJSON writes the times in seconds.
func (d Durations) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Count  int     `json:"count"`
		Median float64 `json:"median_seconds"`
		P90    float64 `json:"p90_seconds"`
	}{d.Count, d.Median.Seconds(), d.P90.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (d *Durations) UnmarshalJSON(b []byte) error {
	var v struct {
		Count  int     `json:"count"`
		Median float64 `json:"median_seconds"`
		P90    float64 `json:"p90_seconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	d.Count, d.Median, d.P90 = v.Count, time.Duration(v.Median*float64(time.Second)), time.Duration(v.P90*float64(time.Second))
	return nil
}

// Outcomes counts response targets: reached in time (Met), reached late
// or run out while still open (Missed), within the period.
type Outcomes struct {
	Met    int `json:"met"`
	Missed int `json:"missed"`
}

// Figures are the numbers of one group of tickets.
type Figures struct {
	// New tickets were created in the period; Resolved ones reached a
	// resolved status in it; Reopened ones were reopened in it.
	New      int `json:"new"`
	Resolved int `json:"resolved"`
	Reopened int `json:"reopened"`
	// FirstResponse and Resolution are the business time taken by the
	// first public answers and the resolutions that happened in the
	// period.
	FirstResponse Durations `json:"first_response"`
	Resolution    Durations `json:"resolution"`
	// Targets with a budget that were reached, or ran out, in the period.
	FirstResponseTarget Outcomes `json:"first_response_target"`
	ResolutionTarget    Outcomes `json:"resolution_target"`
}

// Agent is one agent's figures: the tickets assigned to them now ("" for
// the unassigned ones).
type Agent struct {
	Agent string `json:"agent"`
	Figures
}

// Report is the result of Compute.
type Report struct {
	Project string    `json:"project,omitempty"`
	Since   time.Time `json:"since"`
	Until   time.Time `json:"until"`
	Figures
	// Agents, by address; the unassigned tickets last.
	Agents []Agent `json:"agents"`
	// Tickets is how many tickets' facts were read.
	Tickets int `json:"tickets_read"`
	// Days is the per-day series (Query.Daily), Backlog the open tickets
	// now (Query.Open), Ratings those given in the period (nil when
	// there are none).
	Days    []Day    `json:"days,omitempty"`
	Backlog *Backlog `json:"backlog,omitempty"`
	Ratings *Ratings `json:"ratings,omitempty"`
}

// group gathers one group's raw numbers.
type group struct {
	f             Figures
	first, resolv []time.Duration
}

func in(t, since, until time.Time) bool {
	return !t.IsZero() && !t.Before(since) && t.Before(until)
}

// add counts one ticket's facts.
func (g *group) add(f *store.TicketFacts, since, until time.Time) {
	if in(f.Created, since, until) {
		g.f.New++
	}
	if in(f.LastReopened, since, until) {
		g.f.Reopened++
	}
	if in(resolvedAt(f), since, until) {
		g.f.Resolved++
	}
	// Per request type (issue 17): once tickets have a type, the facts
	// carry it and Compute groups by it the way it groups by agent.
	clock := func(c *store.Clock, times *[]time.Duration, o *Outcomes) {
		if c == nil {
			return
		}
		if in(c.Done, since, until) {
			*times = append(*times, c.Took)
			if c.Budget > 0 {
				if c.Met() {
					o.Met++
				} else {
					o.Missed++
				}
			}
		} else if c.Done.IsZero() && in(c.Breached, since, until) {
			o.Missed++
		}
	}
	clock(f.FirstResponse, &g.first, &g.f.FirstResponseTarget)
	clock(f.Resolution, &g.resolv, &g.f.ResolutionTarget)
}

// resolvedAt is when a ticket counts as resolved: its resolution target's
// end when it has one, else when it entered a resolved status.
func resolvedAt(f *store.TicketFacts) time.Time {
	if f.Resolution != nil && !f.Resolution.Done.IsZero() {
		return f.Resolution.Done
	}
	return f.Resolved
}

// finish computes the percentiles.
func (g *group) finish() Figures {
	g.f.FirstResponse, g.f.Resolution = summarise(g.first), summarise(g.resolv)
	return g.f
}

// summarise returns the count, median and 90th percentile (nearest rank).
func summarise(ds []time.Duration) Durations {
	if len(ds) == 0 {
		return Durations{}
	}
	slices.Sort(ds)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(ds))+0.999999) - 1
		return ds[max(0, min(i, len(ds)-1))]
	}
	return Durations{Count: len(ds), Median: rank(0.5), P90: rank(0.9)}
}

// Compute reads the facts of the tickets changed since q.Since and
// returns the figures of q's period. now is the time Until defaults to.
func Compute(db store.DB, q Query, now time.Time) (*Report, error) {
	until := q.Until
	if until.IsZero() {
		until = now
	}
	r := &Report{Project: q.Project, Since: q.Since.UTC(), Until: until.UTC()}
	var total group
	agents := map[string]*group{}
	var series *days
	if q.Daily {
		series = newDays(q.Since, until, q.Loc)
	}
	open := backlog{status: map[string]int{}, assignee: map[string]int{}}
	from := q.Since
	if q.Open != nil {
		from = time.Time{} // open tickets may not have changed for long
	}
	err := db.View(func(tx store.Tx) error {
		err := tx.FactsSince(q.Project, from, func(f *store.TicketFacts) bool {
			if f.MergedInto != "" || q.May != nil && !q.May(f.Project) {
				return true
			}
			if q.Open != nil && q.Open(f.Project, f.Status) {
				open.add(f)
			}
			if f.Changed().Before(q.Since) {
				return true // nothing of it happened in the period
			}
			r.Tickets++
			total.add(f, q.Since, until)
			if series != nil {
				series.add(f, q.Since, until)
			}
			g := agents[f.Assignee]
			if g == nil {
				g = &group{}
				agents[f.Assignee] = g
			}
			g.add(f, q.Since, until)
			return true
		})
		if err != nil {
			return err
		}
		r.Ratings, err = ratings(tx, q, q.Since, until)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if series != nil {
		r.Days = series.out
	}
	if q.Open != nil {
		r.Backlog = &Backlog{Open: open.open, ByStatus: counts(open.status), ByAssignee: counts(open.assignee)}
	}
	r.Figures = total.finish()
	r.Agents = []Agent{}
	for _, a := range slices.Sorted(mapKeys(agents)) {
		f := agents[a].finish()
		if f == (Figures{}) {
			continue // only touched in the period, nothing to count
		}
		r.Agents = append(r.Agents, Agent{Agent: a, Figures: f})
	}
	// The unassigned last.
	if len(r.Agents) > 0 && r.Agents[0].Agent == "" {
		r.Agents = append(r.Agents[1:], r.Agents[0])
	}
	return r, nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// ParseSince reads a period's start: "30d", "12h", "2w" before now, or a
// date (2026-11-01) in loc.
func ParseSince(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if n, unit := strings.TrimRight(s, "dw"), strings.TrimLeft(s, "0123456789"); n != s && (unit == "d" || unit == "w") {
		v, err := strconv.Atoi(n)
		if err == nil && v > 0 {
			days := v
			if unit == "w" {
				days *= 7
			}
			return now.AddDate(0, 0, -days), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("since %q: want a period like 30d, 2w, 12h or a date like 2026-11-01", s)
}

// Text writes r for people: the totals, then a line per agent.
func (r *Report) Text() string {
	var b strings.Builder
	scope := r.Project
	if scope == "" {
		scope = "all projects"
	}
	fmt.Fprintf(&b, "%s, %s to %s\n\n", scope, r.Since.Format("2006-01-02 15:04"), r.Until.Format("2006-01-02 15:04 MST"))
	line := func(name string, f Figures) {
		fmt.Fprintf(&b, "%-28s new %4d  resolved %4d  reopened %3d  first response %s  resolution %s  targets met/missed %d/%d\n",
			name, f.New, f.Resolved, f.Reopened, dur(f.FirstResponse), dur(f.Resolution),
			f.FirstResponseTarget.Met+f.ResolutionTarget.Met, f.FirstResponseTarget.Missed+f.ResolutionTarget.Missed)
	}
	line("total", r.Figures)
	fmt.Fprintf(&b, "%-28s first response met %d, missed %d; resolution met %d, missed %d\n\n", "",
		r.FirstResponseTarget.Met, r.FirstResponseTarget.Missed, r.ResolutionTarget.Met, r.ResolutionTarget.Missed)
	for _, a := range r.Agents {
		name := a.Agent
		if name == "" {
			name = "(unassigned)"
		}
		line(name, a.Figures)
	}
	r.textExtra(&b)
	return b.String()
}

// dur is "median/p90 (n)" in business time.
func dur(d Durations) string {
	if d.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("median %s p90 %s (%d)", short(d.Median), short(d.P90), d.Count)
}

func short(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	if h == 0 {
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%dh%02dm", h, m)
}
