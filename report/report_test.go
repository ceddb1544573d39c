package report_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/report"
	"github.com/ticketgate/ticketgate/store"
)

var day0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func put(t *testing.T, db store.DB, tickets ...*store.Ticket) {
	t.Helper()
	if err := db.Update(context.Background(), func(tx store.Tx) error {
		for _, tk := range tickets {
			n, err := tx.NextTicketNumber(tk.Project)
			if err != nil {
				return err
			}
			tk.Number, tk.Key = n, store.TicketKey(tk.Project, n)
			if err := tx.PutTicket(tk); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func at(days, hours int) time.Time {
	return day0.Add(time.Duration(days)*24*time.Hour + time.Duration(hours)*time.Hour)
}

// TestCompute: the figures of a period count what happened in it, per
// agent, with medians and 90th percentiles of business time, and leave
// out other projects, merged tickets and what happened before.
func TestCompute(t *testing.T) {
	db, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	alice, bob := "alice@example.com", "bob@example.com"
	answered := func(took, budget time.Duration, done time.Time) *store.Clock {
		c := &store.Clock{Budget: budget, Done: done, Took: took}
		if budget > 0 && took > budget {
			c.Breached = done.Add(-time.Minute)
		}
		return c
	}
	put(t, db,
		// Before the period: counted nowhere.
		&store.Ticket{Project: "ACME", Assignee: alice, Created: at(-20, 0), Updated: at(-19, 0),
			FirstResponse: answered(time.Hour, 4*time.Hour, at(-20, 1))},
		// Alice: two answered in the period (1h met, 5h missed), one resolved in 20h (met).
		&store.Ticket{Project: "ACME", Assignee: alice, Created: at(1, 0), Updated: at(3, 0),
			FirstResponse: answered(time.Hour, 4*time.Hour, at(1, 1)),
			Resolution:    answered(20*time.Hour, 30*time.Hour, at(3, 0)), Resolved: at(3, 0)},
		&store.Ticket{Project: "ACME", Assignee: alice, Created: at(2, 0), Updated: at(4, 0),
			FirstResponse: answered(5*time.Hour, 4*time.Hour, at(2, 5)), Reopens: 1, LastReopened: at(4, 0)},
		// Bob: created before, answered in the period (3h, no target);
		// resolution ran out while open.
		&store.Ticket{Project: "ACME", Assignee: bob, Created: at(-2, 0), Updated: at(5, 0),
			FirstResponse: answered(3*time.Hour, 0, at(1, 3)),
			Resolution:    &store.Clock{Budget: 30 * time.Hour, Breached: at(5, 0)}},
		// Unassigned, new, not answered.
		&store.Ticket{Project: "ACME", Created: at(6, 0), Updated: at(6, 0), FirstResponse: &store.Clock{Budget: 4 * time.Hour}},
		// Merged away, and another project: left out.
		&store.Ticket{Project: "ACME", Assignee: alice, Created: at(1, 0), Updated: at(1, 0), MergedInto: "ACME-2"},
		&store.Ticket{Project: "BETA", Assignee: alice, Created: at(1, 0), Updated: at(1, 0)},
	)
	r, err := report.Compute(db, report.Query{Project: "ACME", Since: day0}, at(10, 0))
	if err != nil {
		t.Fatal(err)
	}
	if r.New != 3 || r.Resolved != 1 || r.Reopened != 1 {
		t.Errorf("new/resolved/reopened = %d/%d/%d, want 3/1/1", r.New, r.Resolved, r.Reopened)
	}
	// First responses in the period: 1h, 3h, 5h.
	if fr := r.FirstResponse; fr.Count != 3 || fr.Median != 3*time.Hour || fr.P90 != 5*time.Hour {
		t.Errorf("first response = %+v", fr)
	}
	if rs := r.Resolution; rs.Count != 1 || rs.Median != 20*time.Hour {
		t.Errorf("resolution = %+v", rs)
	}
	if r.FirstResponseTarget != (report.Outcomes{Met: 1, Missed: 1}) || r.ResolutionTarget != (report.Outcomes{Met: 1, Missed: 1}) {
		t.Errorf("targets = %+v %+v", r.FirstResponseTarget, r.ResolutionTarget)
	}
	if len(r.Agents) != 3 || r.Agents[0].Agent != alice || r.Agents[1].Agent != bob || r.Agents[2].Agent != "" {
		t.Fatalf("agents = %+v", r.Agents)
	}
	a := r.Agents[0]
	if a.New != 2 || a.FirstResponse.Count != 2 || a.FirstResponse.Median != time.Hour || a.FirstResponse.P90 != 5*time.Hour || a.Resolved != 1 {
		t.Errorf("alice = %+v", a.Figures)
	}
	if b := r.Agents[1]; b.New != 0 || b.FirstResponse.Count != 1 || b.ResolutionTarget.Missed != 1 {
		t.Errorf("bob = %+v", b.Figures)
	}
	if u := r.Agents[2]; u.New != 1 || u.FirstResponse.Count != 0 {
		t.Errorf("unassigned = %+v", u.Figures)
	}
	// Only the tickets changed in the period count as read (not the old
	// one, not the merged one, not BETA's).
	if r.Tickets != 4 {
		t.Errorf("read %d tickets' facts, want 4", r.Tickets)
	}
	// JSON carries seconds and reads back.
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back report.Report
	if err := json.Unmarshal(b, &back); err != nil || back.FirstResponse != r.FirstResponse || back.New != 3 {
		t.Errorf("JSON round trip: %v %+v", err, back.Figures)
	}
	// May hides projects.
	r, err = report.Compute(db, report.Query{Since: day0, May: func(p string) bool { return p == "BETA" }}, at(10, 0))
	if err != nil || r.New != 1 || r.Tickets != 1 {
		t.Errorf("BETA only: %+v %v", r, err)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"30d": now.AddDate(0, 0, -30), "2w": now.AddDate(0, 0, -14), "12h": now.Add(-12 * time.Hour),
		"2026-11-01": time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	} {
		got, err := report.ParseSince(in, now, time.UTC)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseSince(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "-3d", "yesterday", "0d"} {
		if _, err := report.ParseSince(bad, now, time.UTC); err == nil {
			t.Errorf("ParseSince(%q) accepted", bad)
		}
	}
}
