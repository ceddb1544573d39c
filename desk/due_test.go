package desk

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// seedDue gives ACME request types and stores three typed tickets with
// response-target clocks in every state.
func seedDue(t *testing.T, e *env) {
	t.Helper()
	now := e.clock()
	cfg := *e.cfg.Load()
	cfg.Projects = append([]config.Project(nil), cfg.Projects...)
	cfg.Projects[0].RequestTypes = []config.RequestType{{Name: "billing"}, {Name: "outage"}}
	e.cfg.Store(&cfg)
	tickets := []*store.Ticket{
		// ACME-2: first response due in 2 hours, resolution paused.
		{Subject: "Invoice twice", Status: "open", Type: "billing", Created: now.Add(-time.Hour), Updated: now.Add(-time.Hour),
			FirstResponse: &store.Clock{Budget: 4 * time.Hour, Since: now.Add(-time.Hour), Due: now.Add(2 * time.Hour)},
			Resolution:    &store.Clock{Budget: 30 * time.Hour, Used: time.Hour}},
		// ACME-3: first response overdue, snoozed until tomorrow.
		{Subject: "Site down", Status: "open", Type: "outage", Created: now.Add(-3 * time.Hour), Updated: now.Add(-2 * time.Hour), Snoozed: now.Add(24 * time.Hour),
			FirstResponse: &store.Clock{Budget: 30 * time.Minute, Since: now.Add(-3 * time.Hour), Due: now.Add(-150 * time.Minute), Breached: now.Add(-150 * time.Minute)}},
		// ACME-4: no type, answered late, resolution due in three days.
		{Subject: "Question", Status: "open", Created: now.Add(-30 * time.Hour), Updated: now.Add(-20 * time.Hour),
			FirstResponse: &store.Clock{Budget: 4 * time.Hour, Done: now.Add(-20 * time.Hour), Took: 6 * time.Hour, Breached: now.Add(-22 * time.Hour)},
			Resolution:    &store.Clock{Budget: 30 * time.Hour, Since: now.Add(-30 * time.Hour), Due: now.Add(72 * time.Hour)}},
	}
	err := e.db.Update(context.Background(), func(tx store.Tx) error {
		for _, tk := range tickets {
			n, err := tx.NextTicketNumber("ACME")
			if err != nil {
				return err
			}
			tk.Project, tk.Number, tk.Key, tk.Reporter, tk.Priority = "ACME", n, store.TicketKey("ACME", n), "carl@customer.example", "normal"
			if err := tx.PutTicket(tk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

var ddRE = regexp.MustCompile(`(?s)<dd id="([a-z-]+)"[^>]*>(.*?)</dd>`)

func facts(page string) map[string]string {
	out := map[string]string{}
	for _, m := range ddRE.FindAllStringSubmatch(page, -1) {
		out[m[1]] = regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[2], "")
	}
	return out
}

// TestTicketPageDueTypeSnooze: the ticket page shows the request type,
// each due time with its state (running, overdue, paused, reached late)
// and the snooze.
func TestTicketPageDueTypeSnooze(t *testing.T) {
	e := newEnv(t)
	seedDue(t, e)
	c := e.signIn("alice@example.com")
	for key, want := range map[string]map[string]string{
		"ACME-2": {"type": "billing", "due-first": "3 Dec 2026, 14:00 UTC", "due-resolution": "paused while waiting for the customer"},
		"ACME-3": {"type": "outage", "due-first": "3 Dec 2026, 09:30 UTC overdue", "snoozed": "4 Dec 2026, 12:00 UTC"},
		"ACME-4": {"due-first": "2 Dec 2026, 16:00 UTC late", "due-resolution": "6 Dec 2026, 12:00 UTC"},
	} {
		code, page := e.get(c, "/desk/t/"+key)
		if code != http.StatusOK {
			t.Fatalf("%s: %d", key, code)
		}
		got := facts(page)
		for k, w := range want {
			if g := strings.Join(strings.Fields(got[k]), " "); g != w {
				t.Errorf("%s %s = %q, want %q", key, k, g, w)
			}
		}
		for _, k := range []string{"type", "due-first", "due-resolution", "snoozed"} {
			if _, ok := want[k]; !ok && got[k] != "" {
				t.Errorf("%s shows %s %q", key, k, got[k])
			}
		}
	}
	// The overdue state is marked for the eye too.
	if _, page := e.get(c, "/desk/t/ACME-3"); !strings.Contains(page, `<span class="tag held">overdue</span>`) {
		t.Error("the overdue first response is not flagged")
	}
}

var rowRE = regexp.MustCompile(`(?s)<tr>\s*<td><input type="checkbox" name="key" value="([A-Z]+-[0-9]+)".*?<td class="opt type">(.*?)</td><td class="due[^"]*">(.*?)</td>`)

type queueRow struct{ key, typ, due string }

func queueRows(page string) []queueRow {
	var out []queueRow
	for _, m := range rowRE.FindAllStringSubmatch(page, -1) {
		due := strings.Join(strings.Fields(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[3], "")), " ")
		out = append(out, queueRow{m[1], m[2], due})
	}
	return out
}

// TestQueueTypeAndDue: the queue's rows show type and next due time,
// sorting by due time puts the most urgent first, and the type filter
// keeps one type's tickets; an agent of a project without types gets no
// type filter.
func TestQueueTypeAndDue(t *testing.T) {
	e := newEnv(t)
	seedDue(t, e)
	c := e.signIn("alice@example.com")
	_, page := e.get(c, "/desk/?view=open&sort=due")
	rows := queueRows(page)
	// ACME-3 is snoozed: it waits in the snoozed view (issue 21), not
	// among the open ones.
	want := []queueRow{
		{"ACME-2", "billing", "3 Dec 2026, 14:00 UTC"},
		{"ACME-4", "–", "6 Dec 2026, 12:00 UTC"},
		{"ACME-1", "–", "–"},
	}
	if !slices.Equal(rows, want) {
		t.Fatalf("queue by due time:\n%v\nwant\n%v", rows, want)
	}
	if !strings.Contains(page, `<select name="type" id="type">`) || !strings.Contains(page, `<option value="outage">outage</option>`) {
		t.Fatal("no type filter")
	}
	_, page = e.get(c, "/desk/?view=snoozed&type=outage")
	if rows := queueRows(page); len(rows) != 1 || rows[0] != (queueRow{"ACME-3", "outage", "3 Dec 2026, 09:30 UTC overdue"}) {
		t.Fatalf("type=outage: %v", rows)
	}
	if !strings.Contains(page, `<option value="outage" selected>`) {
		t.Error("the chosen type is not selected")
	}
	// Counts per view follow the filter.
	if !regexp.MustCompile(`id="view-snoozed"[^>]*>[^<]*<span class="count">1</span>`).MatchString(page) ||
		!regexp.MustCompile(`id="view-open"[^>]*>[^<]*<span class="count">0</span>`).MatchString(page) {
		t.Error("the views' counts ignore the type filter")
	}
	// bob's project has no types: no filter.
	bob := e.signIn("bob@example.org")
	if _, page := e.get(bob, "/desk/"); strings.Contains(page, `name="type"`) {
		t.Error("a type filter for a project without types")
	}
}

// TestClockView: each state of a response-target clock, and nothing for a
// clock that only measures.
func TestClockView(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name  string
		clock *store.Clock
		state string
	}{
		{"none", nil, ""},
		{"measuring", &store.Clock{Since: now.Add(-time.Hour)}, ""},
		{"measured", &store.Clock{Done: now, Took: time.Hour}, ""},
		{"running", &store.Clock{Budget: time.Hour, Since: now, Due: now.Add(time.Hour)}, dueRunning},
		{"due now", &store.Clock{Budget: time.Hour, Since: now.Add(-time.Hour), Due: now}, dueBreached},
		{"announced", &store.Clock{Budget: time.Hour, Due: now.Add(time.Hour), Breached: now.Add(-time.Minute)}, dueBreached},
		{"paused", &store.Clock{Budget: time.Hour, Used: time.Minute}, duePaused},
		{"manual paused", &store.Clock{Manual: true}, duePaused},
		{"met", &store.Clock{Budget: time.Hour, Done: now, Took: 50 * time.Minute}, dueMet},
		{"late", &store.Clock{Budget: time.Hour, Done: now, Took: 2 * time.Hour, Breached: now.Add(-time.Hour)}, dueLate},
	} {
		v := clockView(english, c.clock, now)
		got := ""
		if v != nil {
			got = v.State
		}
		if got != c.state {
			t.Errorf("%s: state %q, want %q", c.name, got, c.state)
		}
	}
}
