package main

import (
	"encoding/json"

	"github.com/ticketgate/ticketgate/report"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// TestDueAndSnoozeVerbs: `ticketgate due` and `ticketgate snooze` set a
// ticket's due time and snooze through the admin API, in the project's
// business-hours zone unless a zone is given; a time in the past is
// refused with the reason.
func TestDueAndSnoozeVerbs(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, `    business_hours: {timezone: Europe/Berlin, week: {mon-fri: "08:00-18:00"}}
    targets: {resolution: {normal: 30h}}
`)
	d := serveInProcess(t, path)
	if code, _, e := runCmd([]string{"deliver", "-c", path}, "From: carl@customer.example\nTo: acme@support.example.com\nSubject: s\n\nb\n"); code != exitOK {
		t.Fatalf("deliver: %d %s", code, e)
	}
	ticket := func() *store.Ticket {
		var tk *store.Ticket
		if err := d.Store().View(func(tx store.Tx) error {
			var err error
			tk, err = tx.Ticket("ACME-1")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return tk
	}
	as := []string{"-c", path, "--as", "alice@example.com"}
	code, out, stderr := runCmd(append([]string{"due"}, append(as, "acme-1", "2030-01-02", "10:00")...), "")
	if code != exitOK || out != "ACME-1: due 2030-01-02 10:00\n" {
		t.Fatalf("due: exit %d, %q, %q", code, out, stderr)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	if got, want := ticket().Resolution.Due, time.Date(2030, 1, 2, 10, 0, 0, 0, berlin); !got.Equal(want) {
		t.Errorf("due = %s, want %s", got, want)
	}
	code, out, _ = runCmd(append([]string{"snooze"}, append(as, "ACME-1", "2030-01-07", "UTC")...), "")
	if code != exitOK || out != "ACME-1: snoozed until 2030-01-07 UTC\n" {
		t.Fatalf("snooze: exit %d, %q", code, out)
	}
	// The 7th is a Monday: the business day opens at 08:00 Berlin, 07:00 UTC.
	if got, want := ticket().Snoozed, time.Date(2030, 1, 7, 7, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("snoozed until %s, want %s", got, want)
	}
	code, _, stderr = runCmd(append([]string{"due"}, append(as, "ACME-1", "2001-01-01", "10:00")...), "")
	if code == exitOK || !strings.Contains(stderr, "not in the future") {
		t.Fatalf("due in the past: exit %d, %q", code, stderr)
	}
	if code, _, stderr = runCmd(append([]string{"due"}, append(as, "ACME-1")...), ""); code == exitOK || !strings.Contains(stderr, "usage") {
		t.Fatalf("due without a time: exit %d, %q", code, stderr)
	}
}

// TestReportVerb: `ticketgate report` prints the figures of the period,
// as text and as JSON, through the admin API.
func TestReportVerb(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, `    targets: {first_response: {normal: 4h}}
`)
	serveInProcess(t, path)
	for _, subj := range []string{"one", "two"} {
		if code, _, e := runCmd([]string{"deliver", "-c", path}, "From: carl@customer.example\nTo: acme@support.example.com\nSubject: "+subj+"\n\nb\n"); code != exitOK {
			t.Fatalf("deliver: %d %s", code, e)
		}
	}
	as := []string{"-c", path, "--as", "alice@example.com"}
	for _, args := range [][]string{{"assign", "ACME-1", "me"}, {"reply", "ACME-1", "Done."}} {
		if code, _, e := runCmd(append(append([]string{args[0]}, as...), args[1:]...), ""); code != exitOK {
			t.Fatalf("%v: %d %s", args, code, e)
		}
	}
	code, out, e := runCmd(append([]string{"report", "--json", "--since", "1d"}, as...), "")
	if code != exitOK {
		t.Fatalf("report: %d %s", code, e)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report --json: %v\n%s", err, out)
	}
	if r.New != 2 || r.FirstResponse.Count != 1 || r.FirstResponseTarget.Met != 1 || len(r.Agents) != 2 || r.Agents[0].Agent != "alice@example.com" || r.Agents[0].FirstResponse.Count != 1 {
		t.Fatalf("report = %s", out)
	}
	// The dashboard's figures too (issue 22): both requests open, the
	// per-day series summing to the period's new tickets.
	news := 0
	for _, d := range r.Days {
		news += d.New
	}
	if r.Backlog == nil || r.Backlog.Open != 2 || len(r.Backlog.ByAssignee) != 2 || news != 2 {
		t.Fatalf("report's backlog and days = %s", out)
	}
	code, out, _ = runCmd(append([]string{"report", "--project", "ACME"}, as...), "")
	if code != exitOK || !strings.Contains(out, "ACME, ") || !strings.Contains(out, "alice@example.com") || !strings.Contains(out, "(unassigned)") || !strings.Contains(out, "open now 2") {
		t.Fatalf("report text: %d\n%s", code, out)
	}
	if code, _, e = runCmd(append([]string{"report", "--since", "yesterday"}, as...), ""); code == exitOK || !strings.Contains(e, "30d") {
		t.Fatalf("report --since yesterday: %d %s", code, e)
	}
}
