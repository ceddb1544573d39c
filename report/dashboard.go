package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// The figures of the desk's dashboard (issue 22) beyond the period's
// totals: the per-day series, the open tickets now and the ratings. They
// come from the same facts index as the rest of the report, so the
// dashboard and `ticketgate report` cannot disagree.

// Day is one calendar day of the period's per-day series: tickets created
// in it and tickets resolved in it (as Figures counts them), within the
// period's bounds (the first and last day may be partial).
type Day struct {
	Date     string `json:"date"` // 2026-12-03, in Query.Loc
	New      int    `json:"new"`
	Resolved int    `json:"resolved"`
}

// Count is a number of tickets with one value of a field.
type Count struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// Backlog is the tickets open at the time of the report, whenever they
// last changed, by status and by assignee ("" for the unassigned). Both
// lists run from the largest count down (ties by name), the unassigned
// last.
type Backlog struct {
	Open       int     `json:"open"`
	ByStatus   []Count `json:"by_status"`
	ByAssignee []Count `json:"by_assignee"`
}

// Ratings summarises the customers' ratings given or changed in the
// period, per scale in use (5: 1..5, 2: 1 bad, 2 good).
type Ratings struct {
	Count  int     `json:"count"`
	Scales []Scale `json:"scales"`
}

// Scale is the ratings on one scale: Counts[i] is how many gave score
// i+1, Average their mean score.
type Scale struct {
	Points  int     `json:"points"`
	Count   int     `json:"count"`
	Counts  []int   `json:"counts"`
	Average float64 `json:"average"`
}

// days is the per-day series being counted.
type days struct {
	loc *time.Location
	out []Day
	at  map[string]int // date → index in out
}

func newDays(since, until time.Time, loc *time.Location) *days {
	if loc == nil {
		loc = time.UTC
	}
	s := since.In(loc)
	d := &days{loc: loc, at: map[string]int{}}
	// Calendar days, not 24-hour steps: a DST change makes one day 23 or
	// 25 hours long.
	for day := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, loc); day.Before(until); day = day.AddDate(0, 0, 1) {
		d.at[day.Format(time.DateOnly)] = len(d.out)
		d.out = append(d.out, Day{Date: day.Format(time.DateOnly)})
	}
	return d
}

// index is the day t falls on (t within the period).
func (d *days) index(t time.Time) (int, bool) {
	i, ok := d.at[t.In(d.loc).Format(time.DateOnly)]
	return i, ok
}

// add counts f's creation and resolution when they fall in the period,
// by the same rules as group.add.
func (d *days) add(f *store.TicketFacts, since, until time.Time) {
	if in(f.Created, since, until) {
		if i, ok := d.index(f.Created); ok {
			d.out[i].New++
		}
	}
	if r := resolvedAt(f); in(r, since, until) {
		if i, ok := d.index(r); ok {
			d.out[i].Resolved++
		}
	}
}

// backlog counts the open tickets.
type backlog struct {
	open     int
	status   map[string]int
	assignee map[string]int
}

func (b *backlog) add(f *store.TicketFacts) {
	b.open++
	b.status[f.Status]++
	b.assignee[f.Assignee]++
}

func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{Name: k, Count: v})
	}
	slices.SortFunc(out, func(a, b Count) int {
		if (a.Name == "") != (b.Name == "") {
			if a.Name == "" {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// ratings reads the ratings given or changed in [since, until) of the
// projects q allows.
func ratings(tx store.Tx, q Query, since, until time.Time) (*Ratings, error) {
	list, err := tx.Ratings(q.Project, since)
	if err != nil {
		return nil, fmt.Errorf("read ratings: %w", err)
	}
	scales := map[int]*Scale{}
	sums := map[int]int{}
	total := 0
	for _, r := range list {
		if !in(r.Updated, since, until) || q.May != nil && !q.May(r.Project) {
			continue
		}
		points := r.Scale
		if points != 2 {
			points = 5
		}
		if r.Score < 1 || r.Score > points {
			return nil, fmt.Errorf("rating of %s by %s: score %d outside 1..%d", r.Ticket, r.Customer, r.Score, points)
		}
		s := scales[points]
		if s == nil {
			s = &Scale{Points: points, Counts: make([]int, points)}
			scales[points] = s
		}
		s.Count++
		s.Counts[r.Score-1]++
		sums[points] += r.Score
		total++
	}
	if total == 0 {
		return nil, nil
	}
	out := &Ratings{Count: total}
	for _, p := range slices.Backward(slices.Sorted(mapKeysInt(scales))) {
		s := scales[p]
		s.Average = float64(sums[p]) / float64(s.Count)
		out.Scales = append(out.Scales, *s)
	}
	return out, nil
}

func mapKeysInt[V any](m map[int]V) func(func(int) bool) {
	return func(yield func(int) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// OpenIn is Query.Open for cfg: a status is open unless its category in
// its project is resolved, closed or cancelled (a status the project no
// longer has counts as open, as on the desk's queue).
func OpenIn(cfg *config.Config) func(project, status string) bool {
	return func(project, status string) bool {
		p := cfg.Project(project)
		if p == nil {
			return false
		}
		st, _ := p.Status(status)
		return st.Category != config.CatResolved && st.Category != config.CatClosed && st.Category != config.CatCancelled
	}
}

// textExtra writes the per-day series, the open tickets and the ratings
// for people.
func (r *Report) textExtra(b *strings.Builder) {
	if r.Backlog != nil {
		fmt.Fprintf(b, "\nopen now %d\n", r.Backlog.Open)
		for _, c := range r.Backlog.ByStatus {
			fmt.Fprintf(b, "  status   %-28s %5d\n", c.Name, c.Count)
		}
		for _, c := range r.Backlog.ByAssignee {
			name := c.Name
			if name == "" {
				name = "(unassigned)"
			}
			fmt.Fprintf(b, "  assignee %-28s %5d\n", name, c.Count)
		}
	}
	if len(r.Days) > 0 {
		fmt.Fprintf(b, "\n%-12s %5s %9s\n", "day", "new", "resolved")
		for _, d := range r.Days {
			fmt.Fprintf(b, "%-12s %5d %9d\n", d.Date, d.New, d.Resolved)
		}
	}
	if r.Ratings != nil {
		for _, s := range r.Ratings.Scales {
			fmt.Fprintf(b, "\nratings (1..%d): %d, average %.2f;", s.Points, s.Count, s.Average)
			for i, n := range s.Counts {
				fmt.Fprintf(b, " %d: %d", i+1, n)
			}
			b.WriteString("\n")
		}
	}
}
