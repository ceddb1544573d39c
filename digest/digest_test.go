package digest

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/templates"
	"github.com/ticketgate/ticketgate/ticket"
)

const (
	alice = "alice@example.com" // ACME
	bob   = "bob@example.com"   // ACME and BETA
	carol = "carol@example.com" // BETA, digest at 07:00
	dave  = "dave@example.com"  // GAMMA, which has no ticket
	cust  = "carl@customer.example"
)

// env is a store, the domain and a digest maker on one fake clock.
type env struct {
	st    store.DB
	cfg   *config.Config
	clock *time.Time
	eng   *ticket.Engine
	n     *notify.Notifier
	m     *Maker
	log   *slog.Logger
}

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	return loc
}

func statuses() []config.StatusDef {
	return []config.StatusDef{
		{Name: "new", Category: config.CatNew},
		{Name: "working", Category: config.CatOpen},
		{Name: "waiting", Category: config.CatPending},
		{Name: "solved", Category: config.CatResolved},
		{Name: "done", Category: config.CatClosed},
	}
}

func newEnv(t testing.TB, start time.Time, change func(*config.Config)) *env {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true, RunTwice: os.Getenv(store.RunTwiceEnv) == "1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := config.Default()
	c.DataDir = t.TempDir()
	c.Web.BaseURL = "http://ticketgate.test"
	c.TimeZone = "Europe/Berlin"
	c.Projects = []config.Project{
		{Key: "ACME", Name: "Acme Support", Address: "acme@support.example.com", Agents: []string{alice, bob},
			Notifications: config.DefaultNotifications(), Statuses: statuses(),
			Targets: &config.Targets{FirstResponse: map[string]time.Duration{"urgent": time.Hour, "normal": 10 * time.Hour}}},
		{Key: "BETA", Name: "Beta Help", Address: "beta@support.example.com", Agents: []string{bob, carol}, Language: "de",
			Notifications: config.DefaultNotifications(), Statuses: statuses()},
		{Key: "GAMMA", Name: "Gamma", Address: "gamma@support.example.com", Agents: []string{dave},
			Notifications: config.DefaultNotifications(), Statuses: statuses()},
	}
	c.Digests = config.Digests{
		Default: config.DigestSchedule{At: "08:30", Days: "mon-fri", TimeZone: "Europe/Berlin"},
		Agents:  map[string]config.DigestSchedule{carol: {At: "07:00"}},
	}
	if change != nil {
		change(c)
	}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	cfg := func() *config.Config { return c }
	tmpl := templates.New("")
	log := slog.New(slog.DiscardHandler)
	clock := start
	now := func() time.Time { return clock }
	n := notify.New(cfg, func() *templates.Set { return tmpl }, now, log)
	e := &env{st: st, cfg: c, clock: &clock, n: n, log: log}
	e.eng = ticket.NewEngine(st, cfg, n, now, log)
	e.m = New(st, cfg, n, now, log)
	return e
}

// open opens a ticket at the clock's time by a customer's mail (an
// internal one by an agent's), then moves the clock on a minute (so that
// every ticket has its own age and due time).
func (e *env) open(t testing.TB, project, subject string, internal bool) string {
	t.Helper()
	p := e.cfg.Project(project)
	m := &ticket.Mail{Project: project, Source: "smtp", From: cust, To: []string{p.Address}, Subject: subject,
		MessageID: subject + "@customer.example", Text: "Please help.", Raw: "hash-" + subject}
	if internal {
		m.From, m.SenderProven, m.Text = p.Agents[0], true, "#internal\nPlease have a look."
	}
	res, err := e.eng.Ingest(context.Background(), m)
	if err != nil || !res.Created {
		t.Fatalf("open %s: %+v %v", subject, res, err)
	}
	*e.clock = e.clock.Add(time.Minute)
	return res.Ticket
}

// must fails the test on the error of a domain call.
func must(t testing.TB) func(int, error) {
	return func(_ int, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// run makes the digests due and returns the digest rows queued by this
// run, by recipient.
func (e *env) run(t testing.TB) (map[string]*store.OutboxItem, time.Time) {
	t.Helper()
	before := e.digestIDs(t)
	n, next, err := e.m.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*store.OutboxItem{}
	if err := e.st.View(func(tx store.Tx) error {
		items, err := tx.ListOutbox(100000)
		for _, it := range items {
			if it.Event == notify.DigestTemplate && !before[it.ID] {
				if out[it.Recipient] != nil {
					t.Errorf("two digests for %s in one run", it.Recipient)
				}
				out[it.Recipient] = it
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n != len(out) {
		t.Errorf("Run says %d queued, the outbox has %d new digests", n, len(out))
	}
	return out, next
}

func (e *env) digestIDs(t testing.TB) map[uint64]bool {
	t.Helper()
	ids := map[uint64]bool{}
	if err := e.st.View(func(tx store.Tx) error {
		items, err := tx.ListOutbox(100000)
		for _, it := range items {
			if it.Event == notify.DigestTemplate {
				ids[it.ID] = true
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

func keys(list []store.DigestItem) []string {
	var out []string
	for _, it := range list {
		out = append(out, it.Key)
	}
	return out
}

func (e *env) render(t testing.TB, it *store.OutboxItem) string {
	t.Helper()
	var text string
	if err := e.st.View(func(tx store.Tx) error {
		b, err := e.n.Render(tx, it)
		text = b.Text
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return text
}

// mixed opens the tickets of the three-agent test on Monday 16 November
// 2026, 05:00 to 05:15 Berlin time, and returns them by name.
func (e *env) mixed(t *testing.T) map[string]string {
	t.Helper()
	ctx := context.Background()
	k := map[string]string{}
	do := must(t)
	k["urgent"] = e.open(t, "ACME", "Server down", false) // unassigned, first response due in 1 h: breached
	do(e.eng.Command(ctx, k["urgent"], alice, "priority", []string{"urgent"}))
	k["alice"] = e.open(t, "ACME", "Invoice wrong", false)
	do(e.eng.Assign(ctx, k["alice"], alice, alice))
	k["bob"] = e.open(t, "ACME", "Password reset", false)
	do(e.eng.Assign(ctx, k["bob"], bob, alice))
	k["closed"] = e.open(t, "ACME", "Old question", false)
	do(e.eng.SetStatus(ctx, k["closed"], "done", alice))
	k["snoozed"] = e.open(t, "ACME", "Call back next week", false)
	do(e.eng.Assign(ctx, k["snoozed"], alice, alice))
	do(e.eng.Snooze(ctx, k["snoozed"], "2026-11-23 09:00", alice))
	k["internal"] = e.open(t, "ACME", "Renew the certificate", true) // unassigned, internal
	k["unassigned"] = e.open(t, "ACME", "Where is my order", false)
	k["waiting"] = e.open(t, "ACME", "Need the serial number", false) // assigned to alice, waiting for the customer: no due time
	do(e.eng.Assign(ctx, k["waiting"], alice, alice))
	do(e.eng.SetStatus(ctx, k["waiting"], "waiting", alice))
	k["beta"] = e.open(t, "BETA", "Drucker", false) // unassigned, no targets
	k["beta-carol"] = e.open(t, "BETA", "Rechnung", false)
	do(e.eng.Assign(ctx, k["beta-carol"], carol, bob))
	k["beta-solved"] = e.open(t, "BETA", "Erledigt", false)
	do(e.eng.Assign(ctx, k["beta-solved"], carol, bob))
	do(e.eng.SetStatus(ctx, k["beta-solved"], "solved", carol))
	return k
}

// TestDigestListsEachAgentsQueue: three agents across two projects with
// assigned, unassigned, other project's, closed, resolved, snoozed,
// internal, pending and breached tickets: each digest lists exactly the
// agent's queue in due order (none last), counts the snoozed, names what
// breached; carol's comes at her 07:00, the others' at 08:30; dave's
// empty queue sends nothing; a second run and a restarted maker the same
// day send nothing more.
func TestDigestListsEachAgentsQueue(t *testing.T) {
	loc := berlin(t)
	e := newEnv(t, time.Date(2026, 11, 16, 5, 0, 0, 0, loc), nil) // Monday
	k := e.mixed(t)
	// 06:30: the urgent ticket's first response (due 06:00) breached.
	*e.clock = time.Date(2026, 11, 16, 6, 30, 0, 0, loc)
	if _, err := e.eng.RunTimers(context.Background()); err != nil {
		t.Fatal(err)
	}

	got, next := e.run(t)
	if len(got) != 0 {
		t.Errorf("digests before anyone's time: %v", got)
	}
	if want := time.Date(2026, 11, 16, 7, 0, 0, 0, loc); !next.Equal(want) {
		t.Errorf("next = %s, want carol's %s", next, want)
	}

	*e.clock = time.Date(2026, 11, 16, 7, 0, 0, 0, loc)
	got, next = e.run(t)
	if len(got) != 1 || got[carol] == nil {
		t.Fatalf("at 07:00: digests to %v, want carol's only", slices.Collect(mapKeys(got)))
	}
	cv := got[carol].Vars.Digest
	if want := []string{k["beta"], k["beta-carol"]}; !slices.Equal(keys(cv.Tickets), want) {
		t.Errorf("carol's tickets = %v, want %v", keys(cv.Tickets), want)
	}
	if cv.Mine != 1 || cv.Unassigned != 1 || cv.Snoozed != 0 || len(cv.Breached) != 0 {
		t.Errorf("carol's counts = %+v", cv)
	}
	// BETA writes German: carol's digest is in German.
	if text := e.render(t, got[carol]); !strings.Contains(text, "Ihre Tickets am 2026-11-16") || !strings.Contains(text, "http://ticketgate.test/a/") {
		t.Errorf("carol's digest:\n%s", text)
	}
	if want := time.Date(2026, 11, 16, 8, 30, 0, 0, loc); !next.Equal(want) {
		t.Errorf("next = %s, want %s", next, want)
	}

	*e.clock = time.Date(2026, 11, 16, 8, 30, 0, 0, loc)
	got, next = e.run(t)
	if len(got) != 2 || got[alice] == nil || got[bob] == nil {
		t.Fatalf("at 08:30: digests to %v, want alice's and bob's", slices.Collect(mapKeys(got)))
	}
	av := got[alice].Vars.Digest
	// Due order: the breached urgent one (06:00), then the 10-hour
	// targets by creation, the pending one (its clock paused) last.
	wantAlice := []string{k["urgent"], k["alice"], k["internal"], k["unassigned"], k["waiting"]}
	if !slices.Equal(keys(av.Tickets), wantAlice) {
		t.Errorf("alice's tickets = %v, want %v", keys(av.Tickets), wantAlice)
	}
	if av.Mine != 2 || av.Unassigned != 3 || av.Snoozed != 1 {
		t.Errorf("alice's counts: mine %d unassigned %d snoozed %d", av.Mine, av.Unassigned, av.Snoozed)
	}
	if len(av.Breached) != 1 || av.Breached[0].Key != k["urgent"] || av.Breached[0].Target != ticket.TargetFirstResponse {
		t.Errorf("alice's breaches = %+v", av.Breached)
	}
	first := av.Tickets[0]
	if !first.Overdue || first.Due != "2026-11-16 06:00 CET" || first.Age != "3h" || first.Assignee != "" {
		t.Errorf("the urgent item = %+v", first)
	}
	if it := av.Tickets[2]; !it.Internal || it.Key != k["internal"] {
		t.Errorf("the internal item = %+v", it)
	}
	if it := av.Tickets[4]; it.Due != "" || it.Assignee != alice {
		t.Errorf("the pending item = %+v", it)
	}
	text := e.render(t, got[alice])
	for _, want := range []string{"Your queue for 2026-11-16 (times in Europe/Berlin): 2 assigned to you, 3 unassigned, 1 snoozed.",
		"Missed targets since the previous digest:", k["urgent"] + " Server down — missed its first-response target (due 2026-11-16 06:00 CET), unassigned",
		"overdue since 2026-11-16 06:00 CET · open 3h", k["internal"] + " Renew the certificate [internal]", "no due time"} {
		if !strings.Contains(text, want) {
			t.Errorf("alice's digest lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, k["alice"]+" Invoice wrong") > strings.Index(text, k["unassigned"]+" Where is my order") {
		t.Errorf("alice's digest is not in due order:\n%s", text)
	}
	for _, other := range []string{k["bob"], k["closed"], k["snoozed"], k["beta"]} {
		if strings.Contains(text, other+" ") {
			t.Errorf("alice's digest lists %s:\n%s", other, text)
		}
	}
	// Bob: his own ticket and the unassigned ones of both projects.
	bv := got[bob].Vars.Digest
	wantBob := []string{k["urgent"], k["bob"], k["internal"], k["unassigned"], k["beta"]}
	if !slices.Equal(keys(bv.Tickets), wantBob) {
		t.Errorf("bob's tickets = %v, want %v", keys(bv.Tickets), wantBob)
	}
	if bv.Mine != 1 || bv.Unassigned != 4 || bv.Snoozed != 0 || len(bv.Breached) != 1 {
		t.Errorf("bob's counts = mine %d unassigned %d snoozed %d breached %v", bv.Mine, bv.Unassigned, bv.Snoozed, bv.Breached)
	}
	if got[bob].Project != "ACME" || got[bob].Header.From != "acme@support.example.com" || got[bob].Kind != store.EvDigest || !got[bob].Internal {
		t.Errorf("bob's row = %+v", got[bob])
	}
	// Every link is an agent token of the ticket for that agent.
	if err := e.st.View(func(tx store.Tx) error {
		for _, it := range bv.Tickets {
			tok, err := tx.Token(strings.TrimPrefix(it.Link, "http://ticketgate.test/a/"))
			if err != nil {
				return err
			}
			if tok.Kind != store.TokenAgent || tok.Ticket != it.Key || tok.Recipient != bob || tok.Project != it.Project {
				t.Errorf("link of %s: %+v", it.Key, tok)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Dave (GAMMA has no ticket) gets nothing, but his day is done.
	if want := time.Date(2026, 11, 17, 7, 0, 0, 0, loc); !next.Equal(want) {
		t.Errorf("next = %s, want carol's Tuesday %s", next, want)
	}

	// The same day again, and after a restart: nothing more.
	*e.clock = time.Date(2026, 11, 16, 17, 0, 0, 0, loc)
	if got, _ := e.run(t); len(got) != 0 {
		t.Errorf("a second run sent %v", slices.Collect(mapKeys(got)))
	}
	e.m = New(e.st, func() *config.Config { return e.cfg }, e.n, func() time.Time { return *e.clock }, e.log)
	if got, _ := e.run(t); len(got) != 0 {
		t.Errorf("a restarted maker sent %v", slices.Collect(mapKeys(got)))
	}

	// Tuesday: alice answers and closes the urgent one; the breach is not
	// repeated (it was before Monday's digest).
	ctx := context.Background()
	must(t)(e.eng.SetStatus(ctx, k["urgent"], "done", alice))
	*e.clock = time.Date(2026, 11, 17, 8, 30, 0, 0, loc)
	got, _ = e.run(t)
	av = got[alice].Vars.Digest
	if want := []string{k["alice"], k["internal"], k["unassigned"], k["waiting"]}; !slices.Equal(keys(av.Tickets), want) || len(av.Breached) != 0 {
		t.Errorf("alice's Tuesday: tickets %v breaches %v, want %v and none", keys(av.Tickets), av.Breached, want)
	}
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

// TestDigestOffAndAt: #digest off stops an agent's digest, #digest at
// 07:30 moves it (and switches it on again), a zone given with it counts.
func TestDigestOffAndAt(t *testing.T) {
	loc := berlin(t)
	e := newEnv(t, time.Date(2026, 11, 16, 5, 0, 0, 0, loc), nil)
	e.open(t, "ACME", "Something", false)
	ctx := context.Background()
	if _, err := e.eng.SetDigest(ctx, alice, decide.DigestChange{On: false}); err != nil {
		t.Fatal(err)
	}
	*e.clock = time.Date(2026, 11, 16, 8, 30, 0, 0, loc)
	got, _ := e.run(t)
	if got[alice] != nil || got[bob] == nil {
		t.Errorf("with alice off: digests to %v, want bob's only", slices.Collect(mapKeys(got)))
	}

	// By mail, on a ticket: at 07:30 from Tuesday on.
	key := e.open(t, "ACME", "Another", false)
	res, err := e.eng.Ingest(ctx, &ticket.Mail{Project: "ACME", Source: "smtp", From: alice, SenderProven: true, To: []string{"acme@support.example.com"},
		Subject: "Re: [" + key + "] Another", MessageID: "digest-at@example.com", Text: "#digest at 07:30", Raw: "hash-digest-at"})
	if err != nil || res.Ticket != key {
		t.Fatalf("ingest: %+v %v", res, err)
	}
	*e.clock = time.Date(2026, 11, 17, 7, 29, 0, 0, loc)
	got, next := e.run(t)
	if len(got) != 0 || !next.Equal(time.Date(2026, 11, 17, 7, 30, 0, 0, loc)) {
		t.Errorf("Tuesday 07:29: digests %v, next %s", slices.Collect(mapKeys(got)), next)
	}
	*e.clock = time.Date(2026, 11, 17, 7, 30, 0, 0, loc)
	if got, _ := e.run(t); len(got) != 1 || got[alice] == nil {
		t.Errorf("Tuesday 07:30: digests to %v, want alice's", slices.Collect(mapKeys(got)))
	}

	// At 07:30 Vienna: the same instant in winter; in New York it is
	// six hours later.
	if _, err := e.eng.SetDigest(ctx, alice, decide.DigestChange{On: true, At: "07:30", TimeZone: "America/New_York"}); err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	*e.clock = time.Date(2026, 11, 18, 7, 29, 0, 0, ny)
	if got, _ := e.run(t); got[alice] != nil {
		t.Error("alice's digest before 07:30 New York time")
	}
	*e.clock = time.Date(2026, 11, 18, 7, 30, 0, 0, ny)
	if got, _ := e.run(t); got[alice] == nil || got[alice].Vars.Digest.Zone != "America/New_York" {
		t.Errorf("at 07:30 New York: %v", got[alice])
	}
}

// TestDigestDaysAndDowntime: a Saturday sends nothing with mon-fri (the
// next one is Monday's); a daemon down over the digest time sends it when
// it starts again the same day, but not an old day's.
func TestDigestDaysAndDowntime(t *testing.T) {
	loc := berlin(t)
	e := newEnv(t, time.Date(2026, 11, 20, 5, 0, 0, 0, loc), nil) // Friday
	e.open(t, "ACME", "Weekend", false)
	*e.clock = time.Date(2026, 11, 21, 9, 0, 0, 0, loc) // Saturday
	got, next := e.run(t)
	if len(got) != 0 {
		t.Errorf("Saturday: digests to %v", slices.Collect(mapKeys(got)))
	}
	if want := time.Date(2026, 11, 23, 7, 0, 0, 0, loc); !next.Equal(want) {
		t.Errorf("next on Saturday = %s, want Monday's %s", next, want)
	}
	// Friday's digest was missed (the daemon was down): Monday's comes,
	// once, when the daemon is back at 15:00 on Monday.
	*e.clock = time.Date(2026, 11, 23, 15, 0, 0, 0, loc)
	got, _ = e.run(t)
	if len(got) != 2 || got[alice] == nil || got[bob] == nil {
		t.Errorf("Monday 15:00 after downtime: digests to %v", slices.Collect(mapKeys(got)))
	}
	for _, it := range got {
		if it.Vars.Digest.Day != "2026-11-23" {
			t.Errorf("digest for day %s", it.Vars.Digest.Day)
		}
	}
	if got, _ := e.run(t); len(got) != 0 {
		t.Errorf("a second run on Monday sent %v", slices.Collect(mapKeys(got)))
	}
}

// TestDigestAge: the age a digest shows.
func TestDigestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Minute: "0m", 45 * time.Minute: "45m", 5*time.Hour + 59*time.Minute: "5h",
		24 * time.Hour: "1d", 76 * time.Hour: "3d 4h",
	} {
		if got := Age(d); got != want {
			t.Errorf("Age(%s) = %q, want %q", d, got, want)
		}
	}
}
