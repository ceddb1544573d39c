package ticket_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

const boss = "boss@example.com"

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tzdata for Europe/Berlin: %v", err)
	}
	return loc
}

// withTargets gives ACME Berlin office hours (mon-fri 08:00-18:00, the
// holidays in file) and targets of 4h / 30h for normal priority, warning
// at 80%.
func withTargets(holidays string) func(*config.Project) {
	return func(p *config.Project) {
		p.Admins = []string{boss}
		p.BusinessHours = &config.BusinessHours{TimeZone: "Europe/Berlin", Week: map[string]string{"mon-fri": "08:00-18:00"}, HolidaysFile: holidays}
		p.Targets = &config.Targets{
			FirstResponse: map[string]time.Duration{"normal": 4 * time.Hour, "high": time.Hour},
			Resolution:    map[string]time.Duration{"normal": 30 * time.Hour},
			WarnAt:        "80%",
		}
		p.Notifications.Internal.TargetWarning = config.Toggle{Enabled: true}
		p.Notifications.Internal.TargetBreached = config.Toggle{Enabled: true}
		p.Notifications.Internal.SnoozeEnded = config.Toggle{Enabled: true}
	}
}

// queuedTo lists "template→recipient" of the outbox rows of ticket key
// made from template names in tmpls.
func (e *testEngine) queuedTo(t *testing.T, key string, tmpls ...string) []string {
	t.Helper()
	var out []string
	for _, ev := range e.events(t, key) {
		if ev.Kind == store.EvQueued && slices.Contains(tmpls, ev.Template) {
			out = append(out, ev.Template+"→"+ev.Recipient)
		}
	}
	slices.Sort(out)
	return out
}

func (e *testEngine) runTimers(t *testing.T) time.Time {
	t.Helper()
	next, err := e.RunTimers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return next
}

func wantTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", what, got.In(want.Location()), want)
	}
}

// TestTargetsInBusinessHours follows one request through a weekend, a
// warning, a breach, an answer (the clock pauses while the ticket waits
// for the customer) and the customer's reply (it runs again), with a fake
// clock: each mail goes once, to the right people.
func TestTargetsInBusinessHours(t *testing.T) {
	loc := berlin(t)
	e := newTestEngine(t, withTargets(""))
	*e.clock = time.Date(2026, 11, 13, 16, 0, 0, 0, loc) // Friday
	res := e.request(t, "first@customer.example")
	key := res.Ticket
	tk := e.ticket(t, key)
	fr, rs := tk.FirstResponse, tk.Resolution
	if fr == nil || rs == nil {
		t.Fatalf("new ticket without clocks: %+v", tk)
	}
	// 4h: two on Friday, two on Monday; the warning at 80% = 3h12m.
	wantTime(t, "first response due", fr.Due, time.Date(2026, 11, 16, 10, 0, 0, 0, loc))
	wantTime(t, "first response warning", fr.Warn, time.Date(2026, 11, 16, 9, 12, 0, 0, loc))
	// 30h from Friday 16:00: 2h, Monday and Tuesday 10h each, Wednesday
	// at 16:00.
	wantTime(t, "resolution due", rs.Due, time.Date(2026, 11, 18, 16, 0, 0, 0, loc))
	wantTime(t, "wake", tk.Wake, fr.Warn)

	// The weekend: nothing is due.
	*e.clock = time.Date(2026, 11, 14, 12, 0, 0, 0, loc)
	if next := e.runTimers(t); !next.Equal(fr.Warn) {
		t.Errorf("next wake on Saturday = %s, want %s", next, fr.Warn)
	}
	if got := only(e.events(t, key), store.EvTargetWarning); len(got) != 0 {
		t.Fatalf("warning on Saturday: %+v", got)
	}

	// Monday 09:12: one warning, to the agents (nobody is assigned).
	*e.clock = time.Date(2026, 11, 16, 9, 12, 0, 0, loc)
	e.runTimers(t)
	e.runTimers(t)
	*e.clock = time.Date(2026, 11, 16, 9, 30, 0, 0, loc)
	e.runTimers(t)
	warnings := only(e.events(t, key), store.EvTargetWarning)
	if len(warnings) != 1 || warnings[0].Target != ticket.TargetFirstResponse || !warnings[0].Due.Equal(fr.Due) {
		t.Fatalf("warnings = %+v", warnings)
	}
	if got := e.queuedTo(t, key, "internal/target_warning"); !slices.Equal(got, []string{"internal/target_warning→" + agent}) {
		t.Errorf("warning mail = %v", got)
	}

	// 10:00: the breach, once, to the agents and the admins.
	*e.clock = time.Date(2026, 11, 16, 10, 0, 0, 0, loc)
	e.runTimers(t)
	*e.clock = time.Date(2026, 11, 16, 10, 30, 0, 0, loc)
	e.runTimers(t)
	breaches := only(e.events(t, key), store.EvTargetBreached)
	if len(breaches) != 1 || breaches[0].Target != ticket.TargetFirstResponse {
		t.Fatalf("breaches = %+v", breaches)
	}
	if got := e.queuedTo(t, key, "internal/target_breached"); !slices.Equal(got, []string{"internal/target_breached→" + agent, "internal/target_breached→" + boss}) {
		t.Errorf("breach mail = %v", got)
	}

	// 11:00: Alice answers. The first response took 5h; the ticket waits
	// for the customer and the resolution clock pauses at 5h.
	*e.clock = time.Date(2026, 11, 16, 11, 0, 0, 0, loc)
	if _, err := e.Comment(context.Background(), key, agent, "Unplug it.", false); err != nil {
		t.Fatal(err)
	}
	tk = e.ticket(t, key)
	if fr := tk.FirstResponse; fr.Took != 5*time.Hour || fr.Done.IsZero() || fr.Met() {
		t.Errorf("first response after the answer = %+v, want done in 5h, missed", fr)
	}
	if rs := tk.Resolution; rs.Used != 5*time.Hour || !rs.Since.IsZero() || !rs.Due.IsZero() {
		t.Errorf("resolution while pending = %+v, want paused at 5h", rs)
	}
	if !tk.Wake.IsZero() {
		t.Errorf("wake while pending = %s, want none", tk.Wake)
	}

	// Wednesday 14:00 the customer answers: the clock runs again with
	// 25h left: Wed 4h, Thu 10h, Fri 10h, Monday 23 Nov 09:00; the
	// warning at 24h used: Friday 13:00.
	*e.clock = time.Date(2026, 11, 18, 14, 0, 0, 0, loc)
	e.reply(t, customer, key, "first@customer.example", "second@customer.example", "Still burning.", true)
	tk = e.ticket(t, key)
	wantTime(t, "resolution due after the reply", tk.Resolution.Due, time.Date(2026, 11, 23, 9, 0, 0, 0, loc))
	wantTime(t, "resolution warning after the reply", tk.Resolution.Warn, time.Date(2026, 11, 20, 13, 0, 0, 0, loc))
	wantTime(t, "wake after the reply", tk.Wake, tk.Resolution.Warn)

	// The first-response target is not announced again.
	*e.clock = time.Date(2026, 11, 20, 13, 0, 0, 0, loc)
	e.runTimers(t)
	ws := only(e.events(t, key), store.EvTargetWarning)
	if len(ws) != 2 || ws[1].Target != ticket.TargetResolution {
		t.Fatalf("warnings after Friday 13:00 = %+v", ws)
	}
	if n := len(only(e.events(t, key), store.EvTargetBreached)); n != 1 {
		t.Errorf("%d breaches, want 1", n)
	}
}

// TestTargetsHolidays: holidays (from holidays_file) are closed; a change
// of the file takes effect at the next load of the config (SIGHUP).
func TestTargetsHolidays(t *testing.T) {
	loc := berlin(t)
	file := filepath.Join(t.TempDir(), "holidays.txt")
	if err := os.WriteFile(file, []byte("# Christmas\n2026-12-24\n2026-12-25 # Weihnachten\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newTestEngine(t, withTargets(file))
	*e.clock = time.Date(2026, 12, 23, 17, 0, 0, 0, loc)
	key := e.request(t, "xmas@customer.example").Ticket
	// 1h on Wednesday; Thursday and Friday are holidays; Monday 11:00.
	wantTime(t, "first response due", e.ticket(t, key).FirstResponse.Due, time.Date(2026, 12, 28, 11, 0, 0, 0, loc))

	// Without the 25th (the file changed, the config was reloaded).
	if err := os.WriteFile(file, []byte("2026-12-24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.cfg.Finalize(); err != nil {
		t.Fatal(err)
	}
	key2 := e.request(t, "xmas2@customer.example").Ticket
	wantTime(t, "first response due after the reload", e.ticket(t, key2).FirstResponse.Due, time.Date(2026, 12, 25, 11, 0, 0, 0, loc))

	// A bad line is a config error naming the file and line.
	if err := os.WriteFile(file, []byte("2026-12-24\nchristmas\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.cfg.Finalize(); err == nil {
		t.Error("a holidays file with a bad line was accepted")
	}
}

// TestTargetsAcrossDST: a ticket opened on the Friday before the March
// change is due on Monday at the wall-clock time.
func TestTargetsAcrossDST(t *testing.T) {
	loc := berlin(t)
	e := newTestEngine(t, withTargets(""))
	*e.clock = time.Date(2026, 3, 27, 17, 0, 0, 0, loc)
	key := e.request(t, "dst@customer.example").Ticket
	fr := e.ticket(t, key).FirstResponse
	// 1h on Friday, 3h on Monday: 11:00 CEST.
	wantTime(t, "first response due", fr.Due, time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC))
	*e.clock = time.Date(2026, 10, 23, 17, 0, 0, 0, loc)
	key = e.request(t, "dst2@customer.example").Ticket
	fr = e.ticket(t, key).FirstResponse
	wantTime(t, "first response due", fr.Due, time.Date(2026, 10, 26, 10, 0, 0, 0, time.UTC)) // 11:00 CET
}

// TestDueAndSnooze: #due and #snooze by mail and through the engine's
// API (the CLI verbs): times in the project's zone, business time after
// "+", refusals for what cannot be.
func TestDueAndSnooze(t *testing.T) {
	loc := berlin(t)
	e := newTestEngine(t, withTargets(""))
	*e.clock = time.Date(2026, 11, 16, 9, 0, 0, 0, loc) // Monday
	key := e.request(t, "due@customer.example").Ticket

	// +20h of business time from Monday 09:00: Monday 9h, Tuesday 10h,
	// Wednesday 09:00.
	e.mail(t, agent, key, "cmd1@example.com", "#due +20h\n#assign me", true)
	if lines := e.answered(t, key); !hasLine(lines, "done: #due +20h") {
		t.Fatalf("answer = %v", lines)
	}
	tk := e.ticket(t, key)
	wantTime(t, "due after #due +20h", tk.Resolution.Due, time.Date(2026, 11, 18, 9, 0, 0, 0, loc))
	if !tk.Resolution.Manual || tk.Resolution.Budget != 20*time.Hour {
		t.Errorf("resolution = %+v", tk.Resolution)
	}
	if ev := only(e.events(t, key), store.EvDueSet); len(ev) != 1 || ev[0].Actor != agent {
		t.Errorf("due_set events = %+v", ev)
	}

	// An absolute time, in the project's zone.
	if _, err := e.SetDue(context.Background(), key, "2026-11-20 15:00", agent); err != nil {
		t.Fatal(err)
	}
	wantTime(t, "due after SetDue", e.ticket(t, key).Resolution.Due, time.Date(2026, 11, 20, 15, 0, 0, 0, loc))
	// … or in the zone given.
	if _, err := e.SetDue(context.Background(), key, "2026-11-20 15:00 UTC", agent); err != nil {
		t.Fatal(err)
	}
	wantTime(t, "due after SetDue in UTC", e.ticket(t, key).Resolution.Due, time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC))
	// A time past, or nonsense, is refused and changes nothing.
	e.mail(t, agent, key, "cmd2@example.com", "#due 2026-01-01 10:00\n#snooze soon", true)
	lines := e.answered(t, key)
	if !hasLine(lines, "refused: #due 2026-01-01 10:00") || !hasLine(lines, "refused: #snooze soon") {
		t.Errorf("answer = %v", lines)
	}
	wantTime(t, "due after refusals", e.ticket(t, key).Resolution.Due, time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC))
	if _, err := e.SetDue(context.Background(), key, "+2h", "stranger@else.example"); err == nil {
		t.Error("a stranger set a due time")
	}

	// #snooze until a date: woken at its first business hour, with one
	// notice to the assignee.
	e.mail(t, agent, key, "cmd3@example.com", "#snooze 2026-11-17", true)
	tk = e.ticket(t, key)
	wantTime(t, "snoozed until", tk.Snoozed, time.Date(2026, 11, 17, 8, 0, 0, 0, loc))
	*e.clock = time.Date(2026, 11, 17, 8, 0, 0, 0, loc)
	e.runTimers(t)
	e.runTimers(t)
	if ev := only(e.events(t, key), store.EvSnoozeEnded); len(ev) != 1 {
		t.Fatalf("snooze_ended events = %+v", ev)
	}
	if got := e.queuedTo(t, key, "internal/snooze_ended"); !slices.Equal(got, []string{"internal/snooze_ended→" + agent}) {
		t.Errorf("snooze mail = %v", got)
	}
	if tk := e.ticket(t, key); !tk.Snoozed.IsZero() {
		t.Errorf("still snoozed: %s", tk.Snoozed)
	}
	// +48h is wall time; "off" wakes it without a notice.
	if _, err := e.Snooze(context.Background(), key, "+48h", agent); err != nil {
		t.Fatal(err)
	}
	wantTime(t, "snoozed +48h", e.ticket(t, key).Snoozed, e.clock.Add(48*time.Hour))
	if _, err := e.Snooze(context.Background(), key, "off", agent); err != nil {
		t.Fatal(err)
	}
	if tk := e.ticket(t, key); !tk.Snoozed.IsZero() {
		t.Errorf("snooze off left %s", tk.Snoozed)
	}
}
