package ticket_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/msgid"
	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/templates"
	"github.com/ticketgate/ticketgate/ticket"
)

const (
	customer = "carl@customer.example"
	agent    = "alice@example.com"
)

var t0 = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

// testEngine is an engine over a fresh store with the real notifier, for
// a project ACME whose statuses are renamed (closed is "done"), with a
// clock fixed at t0.
type testEngine struct {
	*ticket.Engine
	st store.DB
	// clock is the engine's time (t0 unless a test moves it).
	clock *time.Time
	cfg   *config.Config
}

func newTestEngine(t *testing.T, opts ...func(*config.Project)) *testEngine {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := config.Default()
	c.DataDir = t.TempDir()
	c.Web.BaseURL = "http://ticketgate.test"
	c.Projects = []config.Project{{Key: "ACME", Name: "Acme Support", Address: "acme@Support.Example.COM", Agents: []string{agent},
		Notifications: config.DefaultNotifications(),
		Statuses: []config.StatusDef{
			{Name: "new", Category: config.CatNew},
			{Name: "working", Category: config.CatOpen},
			{Name: "waiting", Category: config.CatPending},
			{Name: "solved", Category: config.CatResolved},
			{Name: "done", Category: config.CatClosed},
		}}}
	for _, o := range opts {
		o(&c.Projects[0])
	}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	cfg := func() *config.Config { return c }
	tmpl := templates.New("")
	log := slog.New(slog.DiscardHandler)
	clock := t0
	now := func() time.Time { return clock }
	n := notify.New(cfg, func() *templates.Set { return tmpl }, now, log)
	return &testEngine{Engine: ticket.NewEngine(st, cfg, n, now, log), st: st, clock: &clock, cfg: c}
}

// request opens ACME-n through Ingest, as a customer's mail would.
func (e *testEngine) request(t *testing.T, id string) *ticket.Result {
	t.Helper()
	res, err := e.Ingest(context.Background(), &ticket.Mail{Project: "ACME", Source: "smtp", From: customer, To: []string{"acme@support.example.com"},
		Subject: "Printer on fire", MessageID: id, Text: "It burns.", Raw: "hash-" + id})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (e *testEngine) events(t *testing.T, key string) []*store.Event {
	t.Helper()
	var evs []*store.Event
	if err := e.st.View(func(tx store.Tx) error {
		var err error
		evs, err = tx.Events(key)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return evs
}

func (e *testEngine) ticket(t *testing.T, key string) *store.Ticket {
	t.Helper()
	var tk *store.Ticket
	if err := e.st.View(func(tx store.Tx) error {
		var err error
		tk, err = tx.Ticket(key)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return tk
}

// token stores a token for the customer (fixture: tokens are minted by
// the notifier, whose mail the test does not read).
func (e *testEngine) token(t *testing.T, tok *store.Token) string {
	t.Helper()
	tok.Project, tok.Recipient, tok.Created = "ACME", customer, t0
	if err := e.st.Update(context.Background(), func(tx store.Tx) error { return tx.PutToken(tok) }); err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

func kinds(evs []*store.Event) []store.EventKind {
	var out []store.EventKind
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

func only(evs []*store.Event, k store.EventKind) []*store.Event {
	var out []*store.Event
	for _, e := range evs {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// TestIngestWritesTypedEvents: a new request records request_created
// with its rule and actor, and each notification it queued as a queued
// event whose fields match the outbox row; a reply by In-Reply-To to the
// Message-ID we sent (as written in a header: brackets, domain case)
// threads by references; automatic mail records why it answers nobody.
func TestIngestWritesTypedEvents(t *testing.T) {
	e := newTestEngine(t)
	res := e.request(t, "req1@customer.example")
	evs := e.events(t, res.Ticket)
	if evs[0].Kind != store.EvRequestCreated || evs[0].Rule != ticket.ByNew || evs[0].Actor != customer || evs[0].Message != res.Message {
		t.Fatalf("first event %+v", evs[0])
	}
	var items []*store.OutboxItem
	e.st.View(func(tx store.Tx) error { items, _, _ = tx.DueOutbox(t0.Add(time.Hour), 100); return nil })
	queued := only(evs, store.EvQueued)
	if len(queued) == 0 || len(queued) != len(items) || res.Queued != len(items) {
		t.Fatalf("%d queued events, %d outbox items, result says %d", len(queued), len(items), res.Queued)
	}
	var outID string
	for i, q := range queued {
		it := items[i]
		if q.OutboxID != it.ID || q.Recipient != it.Recipient || q.Template != it.Event || q.MessageID != msgid.Canonical(it.MessageID) {
			t.Errorf("queued event %+v for item %d %s %s %s", q, it.ID, it.Event, it.Recipient, it.MessageID)
		}
		if it.Recipient == customer {
			outID = it.MessageID
		}
	}
	if outID == "" || !strings.HasSuffix(queued[0].MessageID, "@support.example.com") {
		t.Fatalf("no mail to the customer, or the event's Message-ID is not canonical: %q / %+v", outID, queued[0])
	}

	// The reply names our mail as written in its header: the token rule
	// picks it up first, so make the token unknown to reach References.
	reply, err := e.Ingest(context.Background(), &ticket.Mail{Project: "ACME", Source: "smtp", From: customer,
		Subject: "Re: Printer on fire", MessageID: "req2@customer.example", InReplyTo: []string{"<" + strings.Replace(outID, "tg.", "tgx.", 1) + ">", "<req1@Customer.EXAMPLE>"},
		Text: "Still burning.", Raw: "hash-req2"})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Ticket != res.Ticket || reply.ThreadedBy != ticket.ByReferences {
		t.Fatalf("reply: %+v", reply)
	}
	ev := only(e.events(t, res.Ticket), store.EvCustomerCommentAdded)
	if len(ev) != 1 || ev[0].Rule != ticket.ByReferences || ev[0].Message != reply.Message {
		t.Errorf("reply event: %+v", ev)
	}

	auto, err := e.Ingest(context.Background(), &ticket.Mail{Project: "ACME", Source: "smtp", From: "robot@vendor.example",
		Subject: "Out of office", MessageID: "ooo@vendor.example", Text: "away", Raw: "hash-ooo", Verdict: decide.Verdict{Kind: decide.Automatic, Auto: "Auto-Submitted: auto-replied"}})
	if err != nil {
		t.Fatal(err)
	}
	aev := e.events(t, auto.Ticket)
	if len(aev) == 0 || aev[0].Automatic != "Auto-Submitted: auto-replied" || aev[0].Kind != store.EvAutomaticRecorded {
		t.Errorf("automatic mail event: %+v", aev)
	}
	if len(only(aev, store.EvQueued)) != 0 {
		t.Errorf("automatic mail queued mail: %v", kinds(aev))
	}
}

// TestStatusChangesByCategory: the engine's status changes — an agent's
// (by name), the customer's close from the page, mail commands — record
// old and new status as fields and land in the project's own names.
func TestStatusChangesByCategory(t *testing.T) {
	for _, c := range []struct {
		name    string
		do      func(t *testing.T, e *testEngine, key, link string) error
		want    string
		wantErr error
		actor   string
		source  string
	}{
		{"agent sets by name", func(_ *testing.T, e *testEngine, key, _ string) error {
			_, err := e.SetStatus(context.Background(), key, "working", agent)
			return err
		}, "working", nil, agent, ""},
		{"agent names an unknown status", func(_ *testing.T, e *testEngine, key, _ string) error {
			_, err := e.SetStatus(context.Background(), key, "closed", agent)
			return err
		}, "new", ticket.ErrRefused, "", ""},
		{"customer closes from the page", func(_ *testing.T, e *testEngine, _, link string) error {
			_, err := e.CustomerClose(context.Background(), link)
			return err
		}, "done", nil, customer, "web"},
		{"customer closes a solved request", func(_ *testing.T, e *testEngine, key, link string) error {
			if _, err := e.SetStatus(context.Background(), key, "solved", agent); err != nil {
				return err
			}
			_, err := e.CustomerClose(context.Background(), link)
			return err
		}, "done", nil, customer, "web"},
		{"a stranger's agent cannot", func(_ *testing.T, e *testEngine, key, _ string) error {
			_, err := e.SetStatus(context.Background(), key, "working", "mallory@evil.example")
			return err
		}, "new", ticket.ErrRefused, "", ""},
		{"customer closes by mail command with a reply token", func(t *testing.T, e *testEngine, key, _ string) error {
			tok := e.token(t, &store.Token{Token: "replytok1", Kind: store.TokenReply, Ticket: key, Proof: true})
			_, err := e.Ingest(context.Background(), &ticket.Mail{Project: "ACME", Source: "smtp", From: customer, RcptTag: tok,
				Subject: "Re: Printer", MessageID: "cmd@customer.example", Text: "#close\n", Raw: "hash-cmd"})
			return err
		}, "done", nil, customer, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEngine(t)
			key := e.request(t, "r@customer.example").Ticket
			link := e.token(t, &store.Token{Token: "link1", Kind: store.TokenLink, Ticket: key})
			err := c.do(t, e, key, link)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err %v, want %v", err, c.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			tk := e.ticket(t, key)
			if tk.Status != c.want {
				t.Fatalf("status %q, want %q", tk.Status, c.want)
			}
			if c.want == "done" && tk.Closed.IsZero() {
				t.Error("closed request without a closing time")
			}
			changes := only(e.events(t, key), store.EvStatusChanged)
			if c.actor == "" {
				if len(changes) != 0 {
					t.Errorf("refused change recorded %+v", changes)
				}
				return
			}
			last := changes[len(changes)-1]
			if last.NewStatus != c.want || last.Actor != c.actor || last.Source != c.source || last.OldStatus == "" {
				t.Errorf("last status event %+v", last)
			}
		})
	}
}

// TestCustomerLinkChecks: the customer's operations check the token
// again inside their transaction.
func TestCustomerLinkChecks(t *testing.T) {
	for _, c := range []struct {
		name string
		tok  store.Token
		want error
	}{
		{"reply token", store.Token{Token: "rt", Kind: store.TokenReply}, ticket.ErrRefused},
		{"expired link", store.Token{Token: "old", Kind: store.TokenLink, Expires: t0.Add(-time.Minute)}, ticket.ErrRefused},
		{"revoked link", store.Token{Token: "rev", Kind: store.TokenLink, Revoked: true}, ticket.ErrRefused},
		{"unknown token", store.Token{}, store.ErrNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEngine(t)
			key := e.request(t, "r@customer.example").Ticket
			tok := "nothing-stored"
			if c.tok.Token != "" {
				c.tok.Ticket = key
				tok = e.token(t, &c.tok)
			}
			if _, err := e.CustomerClose(context.Background(), tok); !errors.Is(err, c.want) {
				t.Errorf("close: %v, want %v", err, c.want)
			}
			if err := e.Mute(context.Background(), tok); !errors.Is(err, c.want) {
				t.Errorf("mute: %v, want %v", err, c.want)
			}
			if tk := e.ticket(t, key); tk.Status != "new" || len(tk.Muted) != 0 {
				t.Errorf("ticket changed: %+v", tk)
			}
		})
	}
}

// TestMuteOnce: muting twice mutes once and records one event.
func TestMuteOnce(t *testing.T) {
	e := newTestEngine(t)
	key := e.request(t, "r@customer.example").Ticket
	link := e.token(t, &store.Token{Token: "link1", Kind: store.TokenLink, Ticket: key})
	for range 2 {
		if err := e.Mute(context.Background(), link); err != nil {
			t.Fatal(err)
		}
	}
	if tk := e.ticket(t, key); !slices.Equal(tk.Muted, []string{customer}) {
		t.Errorf("muted %v", tk.Muted)
	}
	m := only(e.events(t, key), store.EvMuted)
	if len(m) != 1 || m[0].Actor != customer || !slices.Equal(m[0].Addresses, []string{customer}) || m[0].Source != "web" {
		t.Errorf("muted events %+v", m)
	}
}

// TestRecordBounce: a delivery report on a copy we sent, named by that
// copy's bounce secret, is stored on its ticket; a delay is noted, a
// failure recorded as that copy's failure (naming the report, the failed
// Message-ID and recipient), a permanent one also suppresses — never a
// staff address. An unknown secret, or a reply token used as one, is not
// handled.
func TestRecordBounce(t *testing.T) {
	for _, c := range []struct {
		name              string
		secret            string
		rcpt              string
		failed, permanent bool
		handled           bool
		kind              store.EventKind
		suppressed        bool
	}{
		{"delayed", "bncA", customer, false, false, true, store.EvDeliveryDelayed, false},
		{"given up after temporary failures", "bncA", customer, true, false, true, store.EvDeliveryFailed, false},
		{"permanent", "bncA", customer, true, true, true, store.EvDeliveryFailed, true},
		{"permanent for staff: agents told, nobody suppressed", "bncA", agent, true, true, true, store.EvDeliveryFailed, false},
		{"a reply token is no bounce secret", "tokA", customer, true, true, false, 0, false},
		{"not ours", "unknown", customer, true, true, false, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEngine(t)
			key := e.request(t, "r@customer.example").Ticket
			e.token(t, &store.Token{Token: "tokA", Kind: store.TokenReply, Ticket: key})
			err := e.st.Update(context.Background(), func(tx store.Tx) error {
				return tx.PutToken(&store.Token{Token: "bncA", Kind: store.TokenBounce, Project: "ACME", Ticket: key, Recipient: c.rcpt,
					Created: t0, MessageID: "tg.tokA@support.example.com", Event: "customer/request_created"})
			})
			if err != nil {
				t.Fatal(err)
			}
			res, handled, err := e.RecordBounce(context.Background(), "ACME", &ticket.Bounce{
				Mail:   &ticket.Mail{Project: "ACME", Source: "smtp", From: "mailer-daemon@mx.example", Subject: "Undelivered", MessageID: "dsn@mx.example", Text: "report", Raw: "hash-dsn"},
				Secret: c.secret, Summary: func(rcpt string) string { return "failure for " + rcpt },
				Failed: c.failed, Permanent: c.permanent, SuppressDays: 7,
			})
			if err != nil || handled != c.handled {
				t.Fatalf("handled %v err %v", handled, err)
			}
			var sup *store.Suppression
			e.st.View(func(tx store.Tx) (err error) { sup, err = tx.Suppressed(c.rcpt, t0); return err })
			if (sup != nil) != c.suppressed {
				t.Errorf("suppressed: %+v", sup)
			}
			if !c.handled {
				return
			}
			evs := only(e.events(t, key), c.kind)
			if len(evs) != 1 {
				t.Fatalf("%v events: %v", c.kind, kinds(e.events(t, key)))
			}
			ev := evs[0]
			if ev.Message != res.Message || ev.Recipient != c.rcpt || ev.MessageID != "tg.tokA@support.example.com" || !strings.Contains(ev.Reason, "failure for "+c.rcpt) {
				t.Errorf("event %+v (bounce message %d)", ev, res.Message)
			}
		})
	}
}

// TestQueueBookkeeping: deliveries, an agent's requeue or drop and a
// cleared suppression are recorded with the mail's fields.
func TestQueueBookkeeping(t *testing.T) {
	e := newTestEngine(t)
	key := e.request(t, "r@customer.example").Ticket
	item := &store.OutboxItem{ID: 42, Ticket: key, Project: "ACME", Event: "customer/request_created", Recipient: customer, MessageID: "tg.x@Support.Example.COM", Attempts: 2}
	err := e.st.Update(context.Background(), func(tx store.Tx) error {
		if err := e.Delivered(tx, item); err != nil {
			return err
		}
		if err := e.OutboxChanged(tx, item, true, "Alice@Example.com"); err != nil {
			return err
		}
		if err := e.OutboxChanged(tx, item, false, agent); err != nil {
			return err
		}
		if err := e.SuppressionCleared(tx, &store.Suppression{Address: customer, Ticket: key}, agent); err != nil {
			return err
		}
		// Mail of no ticket is nobody's history.
		return e.Delivered(tx, &store.OutboxItem{ID: 43, Recipient: customer})
	})
	if err != nil {
		t.Fatal(err)
	}
	evs := e.events(t, key)
	for _, c := range []struct {
		kind  store.EventKind
		check func(*store.Event) bool
	}{
		{store.EvDelivered, func(ev *store.Event) bool {
			return ev.Attempt == 3 && ev.OutboxID == 42 && ev.MessageID == "tg.x@support.example.com" && ev.Actor == ticket.SystemActor
		}},
		{store.EvOutboxDropped, func(ev *store.Event) bool { return ev.Actor == agent && ev.Recipient == customer }},
		{store.EvOutboxRequeued, func(ev *store.Event) bool { return ev.Actor == agent && ev.Template == "customer/request_created" }},
		{store.EvSuppressionCleared, func(ev *store.Event) bool { return slices.Equal(ev.Addresses, []string{customer}) }},
	} {
		got := only(evs, c.kind)
		if len(got) != 1 || !c.check(got[0]) {
			t.Errorf("%v: %+v", c.kind, got)
		}
	}
}

// TestRemoveFiles: retention's removal clears the references and records
// what went; a message of another ticket is refused.
func TestRemoveFiles(t *testing.T) {
	e := newTestEngine(t)
	res := e.request(t, "r@customer.example")
	other := e.request(t, "o@customer.example")
	err := e.st.Update(context.Background(), func(tx store.Tx) error {
		return e.RemoveFiles(tx, res.Ticket, []ticket.FileRemoval{{Message: res.Message, Raw: true, Size: 100}}, "retention", t0)
	})
	if err != nil {
		t.Fatal(err)
	}
	var m *store.Message
	e.st.View(func(tx store.Tx) error { m, _ = tx.Message(res.Message); return nil })
	if m.Raw != "" || m.Text != "It burns." {
		t.Errorf("message after removal %+v", m)
	}
	r := only(e.events(t, res.Ticket), store.EvRetention)
	if len(r) != 1 || r[0].Count != 1 || r[0].Bytes != 100 || r[0].Actor != "retention" {
		t.Errorf("retention events %+v", r)
	}
	err = e.st.Update(context.Background(), func(tx store.Tx) error {
		return e.RemoveFiles(tx, res.Ticket, []ticket.FileRemoval{{Message: other.Message, Raw: true}}, "retention", t0)
	})
	if err == nil {
		t.Error("removed files of another ticket's message")
	}
}

// TestDescribe: the words come from the fields; old records keep theirs.
func TestDescribe(t *testing.T) {
	for _, c := range []struct {
		ev   store.Event
		want string
	}{
		{store.Event{Kind: store.EvStatusChanged, OldStatus: "new", NewStatus: "done", Source: "web"}, "new → done; on the ticket page"},
		{store.Event{Kind: store.EvQueued, Template: "customer/request_created", Recipient: customer, MessageID: "tg.a@x"}, "customer/request_created to carl@customer.example (tg.a@x)"},
		{store.Event{Kind: store.EvRequestCreated, Rule: "new", Held: "held: stranger"}, "threaded by new; held: stranger"},
		{store.Event{Kind: store.EvCustomerCommentAdded, Rule: "subject-token", Unverified: true}, "threaded by subject-token; sender not verified"},
		{store.Event{Ticket: "ACME-2", Kind: store.EvMerged, Other: "ACME-1", MergedInto: "ACME-2", Count: 3}, "ACME-1 merged into this ticket (3 messages)"},
		{store.Event{Ticket: "ACME-1", Kind: store.EvMerged, MergedInto: "ACME-2"}, "merged into ACME-2"},
		{store.Event{Kind: store.EvAssigned}, "assigned to nobody"},
		{store.Event{Kind: store.EvStatusChanged, Legacy: "open → closed, by the customer on the ticket page"}, "open → closed, by the customer on the ticket page"},
	} {
		if got := ticket.Describe(&c.ev); got != c.want {
			t.Errorf("Describe(%v) = %q, want %q", c.ev.Kind, got, c.want)
		}
	}
}

// TestCommandAnswerLines: the answer to mail commands is recorded line by
// line in commands_answered, a refusal with its reason.
func TestCommandAnswerLines(t *testing.T) {
	e := newTestEngine(t)
	key := e.request(t, "r@customer.example").Ticket
	tok := e.token(t, &store.Token{Token: "reply1", Kind: store.TokenReply, Ticket: key, Proof: true})
	if _, err := e.Ingest(context.Background(), &ticket.Mail{Project: "ACME", Source: "smtp", From: customer, RcptTag: tok,
		Subject: "Re: Printer", MessageID: "cmds@customer.example", Text: "#status working\n#close\n", Raw: "hash-cmds"}); err != nil {
		t.Fatal(err)
	}
	ans := only(e.events(t, key), store.EvCommandsAnswered)
	want := []string{"refused: #status working — only agents may use #status", "done: #close"}
	if len(ans) != 1 || !slices.Equal(ans[0].Lines, want) {
		t.Fatalf("commands_answered %+v, want lines %q", ans, want)
	}
	var re *ticket.RefusedError
	_, err := e.SetStatus(context.Background(), key, "nonsense", agent)
	if !errors.As(err, &re) || !errors.Is(err, ticket.ErrRefused) || !strings.HasPrefix(re.Reason, `unknown status "nonsense"`) {
		t.Errorf("refusal %v", err)
	}
}

func (e *testEngine) lastNumber(t *testing.T) uint64 {
	t.Helper()
	var n uint64
	if err := e.st.View(func(tx store.Tx) error {
		var err error
		n, err = tx.LastTicketNumber("ACME")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
