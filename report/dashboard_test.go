package report_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/report"
	"github.com/ticketgate/ticketgate/store"
)

// TestDashboardFigures: the per-day series counts each creation and
// resolution of the period on its calendar day and sums to the period's
// totals; the open tickets now include those unchanged for long and leave
// out resolved, merged and other projects' tickets; the ratings of the
// period are counted per scale with their average.
func TestDashboardFigures(t *testing.T) {
	db, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	alice := "alice@example.com"
	put(t, db,
		// Open for months, untouched in the period: open, not in the series.
		&store.Ticket{Project: "ACME", Status: "open", Assignee: alice, Created: at(-90, 0), Updated: at(-80, 0)},
		// Created on day 1 and day 2, resolved on day 3 (its resolution clock).
		&store.Ticket{Project: "ACME", Status: "resolved", Assignee: alice, Created: at(1, 9), Updated: at(3, 10), Resolved: at(3, 10),
			Resolution: &store.Clock{Done: at(3, 10), Took: time.Hour}},
		&store.Ticket{Project: "ACME", Status: "new", Created: at(2, 23), Updated: at(2, 23)},
		&store.Ticket{Project: "ACME", Status: "waiting", Assignee: alice, Created: at(2, 1), Updated: at(2, 2)},
		// Closed without a clock: resolved by its Resolved time, on day 4.
		&store.Ticket{Project: "ACME", Status: "closed", Created: at(-40, 0), Updated: at(4, 5), Resolved: at(4, 5), Closed: at(4, 5)},
		&store.Ticket{Project: "ACME", Status: "open", Created: at(1, 0), Updated: at(1, 0), MergedInto: "ACME-3"},
		&store.Ticket{Project: "BETA", Status: "open", Created: at(1, 0), Updated: at(1, 0)},
	)
	err = db.Update(context.Background(), func(tx store.Tx) error {
		for i, r := range []store.Rating{
			{Project: "ACME", Ticket: "ACME-2", Customer: "a@c", Score: 5, Scale: 5, Updated: at(3, 12)},
			{Project: "ACME", Ticket: "ACME-5", Customer: "b@c", Score: 2, Scale: 5, Updated: at(4, 6)},
			{Project: "ACME", Ticket: "ACME-5", Customer: "c@c", Score: 5, Scale: 5, Updated: at(4, 7)},
			{Project: "ACME", Ticket: "ACME-1", Customer: "d@c", Score: 1, Scale: 5, Updated: at(-50, 0)}, // before the period
			{Project: "BETA", Ticket: "BETA-1", Customer: "e@c", Score: 1, Scale: 2, Updated: at(2, 0)},
		} {
			r.Created = r.Updated
			if err := tx.PutRating(&r); err != nil {
				t.Logf("rating %d", i)
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Projects = []config.Project{{Key: "ACME", Address: "acme@x.example", Agents: []string{alice}}, {Key: "BETA", Address: "beta@x.example", Agents: []string{"bob@x.example"}}}
	if err := cfg.Finalize(); err != nil {
		t.Fatal(err)
	}
	q := report.Query{Project: "ACME", Since: day0, Daily: true, Open: report.OpenIn(cfg)}
	r, err := report.Compute(db, q, at(5, 12))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Days) != 6 || r.Days[0].Date != "2026-11-01" || r.Days[5].Date != "2026-11-06" {
		t.Fatalf("days = %+v", r.Days)
	}
	want := []report.Day{{"2026-11-01", 0, 0}, {"2026-11-02", 1, 0}, {"2026-11-03", 2, 0}, {"2026-11-04", 0, 1}, {"2026-11-05", 0, 1}, {"2026-11-06", 0, 0}}
	if !slices.Equal(r.Days, want) {
		t.Errorf("days = %+v\nwant %+v", r.Days, want)
	}
	var n, res int
	for _, d := range r.Days {
		n, res = n+d.New, res+d.Resolved
	}
	if n != r.New || res != r.Resolved {
		t.Errorf("the series sums to %d new, %d resolved; the period has %d, %d", n, res, r.New, r.Resolved)
	}
	b := r.Backlog
	if b == nil || b.Open != 3 {
		t.Fatalf("backlog = %+v", b)
	}
	if !slices.Equal(b.ByStatus, []report.Count{{"new", 1}, {"open", 1}, {"waiting", 1}}) {
		t.Errorf("by status = %+v", b.ByStatus)
	}
	if !slices.Equal(b.ByAssignee, []report.Count{{alice, 2}, {"", 1}}) {
		t.Errorf("by assignee = %+v", b.ByAssignee)
	}
	// The old open ticket is read for the backlog but not counted as read
	// for the period.
	if r.Tickets != 4 {
		t.Errorf("tickets read for the period = %d, want 4", r.Tickets)
	}
	rt := r.Ratings
	if rt == nil || rt.Count != 3 || len(rt.Scales) != 1 || !slices.Equal(rt.Scales[0].Counts, []int{0, 1, 0, 0, 2}) || rt.Scales[0].Average != 4 {
		t.Fatalf("ratings = %+v", rt)
	}
	text := r.Text()
	for _, s := range []string{"open now 3", "2026-11-03       2         0", "ratings (1..5): 3, average 4.00; 1: 0 2: 1 3: 0 4: 0 5: 2", "(unassigned)"} {
		if !strings.Contains(text, s) {
			t.Errorf("text lacks %q:\n%s", s, text)
		}
	}

	// Days in another zone: 23:00 UTC on day 2 is day 3 in Berlin.
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no zone data: %v", err)
	}
	q.Loc = berlin
	r, err = report.Compute(db, q, at(5, 12))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Days) != 6 || r.Days[0].Date != "2026-11-01" || r.Days[3] != (report.Day{Date: "2026-11-04", New: 1, Resolved: 1}) {
		t.Errorf("Berlin days = %+v", r.Days)
	}
	// Across projects with May: BETA's ticket and rating only.
	r, err = report.Compute(db, report.Query{Since: day0, Open: report.OpenIn(cfg), May: func(p string) bool { return p == "BETA" }}, at(5, 12))
	if err != nil {
		t.Fatal(err)
	}
	if r.Backlog.Open != 1 || r.Ratings == nil || r.Ratings.Count != 1 || r.Ratings.Scales[0].Points != 2 || r.Days != nil {
		t.Errorf("BETA only: backlog %+v ratings %+v days %v", r.Backlog, r.Ratings, r.Days)
	}
}
