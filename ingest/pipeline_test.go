package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/ingest"
	"github.com/ticketgate/ticketgate/mailin"
	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/templates"
	"github.com/ticketgate/ticketgate/ticket"
)

const (
	acme     = "acme@support.example.com"
	customer = "carl@customer.example"
	agent    = "alice@example.com"
)

// testPipeline is a pipeline over a fresh store with the real engine and
// notifier; it keeps every outcome it observed.
type testPipeline struct {
	*ingest.Pipeline
	st     store.DB
	mu     sync.Mutex
	out    []ingest.Outcome
	queued int
}

func newTestPipeline(t *testing.T, opts ...func(*config.Config)) *testPipeline {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Web.BaseURL = "http://ticketgate.test"
	cfg.Projects = []config.Project{{Key: "ACME", Address: acme, Agents: []string{agent}, Notifications: config.DefaultNotifications()}}
	for _, o := range opts {
		o(cfg)
	}
	if err := cfg.Finalize(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(cfg.DataDir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.DiscardHandler)
	cfgFn := func() *config.Config { return cfg }
	tmpl := templates.New("")
	n := notify.New(cfgFn, func() *templates.Set { return tmpl }, time.Now, log)
	tp := &testPipeline{Pipeline: ingest.New(st, cfgFn, ticket.NewEngine(st, cfgFn, n, time.Now, log), log), st: st}
	tp.Observe = func(o ingest.Outcome) {
		tp.mu.Lock()
		defer tp.mu.Unlock()
		tp.out = append(tp.out, o)
	}
	tp.Queued = func() {
		tp.mu.Lock()
		defer tp.mu.Unlock()
		tp.queued++
	}
	return tp
}

func (tp *testPipeline) receive(t *testing.T, env *mailin.Envelope, raw string) []error {
	t.Helper()
	if env.Source == "" {
		env.Source = "smtp"
	}
	return tp.Receive(context.Background(), env, strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n")))
}

// last is the outcome of the last copy handled.
func (tp *testPipeline) last(t *testing.T) ingest.Outcome {
	t.Helper()
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if len(tp.out) == 0 {
		t.Fatal("no outcome observed")
	}
	return tp.out[len(tp.out)-1]
}

func (tp *testPipeline) message(t *testing.T, id uint64) *store.Message {
	t.Helper()
	var m *store.Message
	if err := tp.st.View(func(tx store.Tx) error {
		var err error
		m, err = tx.Message(id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

func (tp *testPipeline) outbox(t *testing.T) []*store.OutboxItem {
	t.Helper()
	var items []*store.OutboxItem
	if err := tp.st.View(func(tx store.Tx) error {
		var err error
		items, _, err = tx.DueOutbox(time.Now().Add(time.Hour), 1000)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return items
}

func mail(from, id, subject, extra, body string) string {
	return fmt.Sprintf("From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s>\nDate: Mon, 1 Jun 2026 09:00:00 +0000\n%s\n%s\n", from, acme, subject, id, extra, body)
}

func one(errs []error) error {
	if len(errs) != 1 {
		panic(fmt.Sprintf("%d answers", len(errs)))
	}
	return errs[0]
}

// TestReceiveRequestReplyDuplicate: a new request opens a ticket and
// queues the auto-reply; the same message again is a duplicate; a reply
// threads; both plain and +tag recipients of one project are one copy;
// an unknown recipient gets 550.
func TestReceiveRequestReplyDuplicate(t *testing.T) {
	tp := newTestPipeline(t)
	ctx := context.Background()
	if err := tp.CheckRecipient(ctx, "nobody@elsewhere.example"); err == nil {
		t.Error("a foreign recipient was accepted")
	}
	if err := tp.CheckRecipient(ctx, "ACME+anything@support.example.com"); err != nil {
		t.Errorf("a project address was refused: %v", err)
	}
	raw := mail(customer, "r1@customer.example", "Printer on fire", "", "It burns.")
	errs := tp.receive(t, &mailin.Envelope{MailFrom: customer, Rcpts: []string{acme, "acme+x@support.example.com", "nobody@elsewhere.example"}}, raw)
	if errs[0] != nil || errs[1] != nil || errs[2] == nil {
		t.Fatalf("answers %v", errs)
	}
	o := tp.last(t)
	if o.Err != nil || !o.Result.Created || o.Result.Queued == 0 || o.Verdict.Kind != decide.Person || o.Project != "ACME" || o.From != customer {
		t.Fatalf("outcome %+v / %+v", o, o.Result)
	}
	if tp.queued == 0 {
		t.Error("the sender was not woken")
	}
	key := o.Result.Ticket
	if err := one(tp.receive(t, &mailin.Envelope{MailFrom: customer, Rcpts: []string{acme}}, raw)); err != nil {
		t.Fatal(err)
	}
	if o := tp.last(t); !o.Result.Duplicate || o.Result.Ticket != key {
		t.Errorf("again: %+v", o.Result)
	}
	reply := mail(customer, "r2@customer.example", "Re: Printer on fire", "In-Reply-To: <r1@customer.example>\n", "Still burning.")
	if err := one(tp.receive(t, &mailin.Envelope{MailFrom: customer, Rcpts: []string{acme}}, reply)); err != nil {
		t.Fatal(err)
	}
	if o := tp.last(t); o.Result.Ticket != key || o.Result.ThreadedBy != ticket.ByReferences {
		t.Errorf("reply: %+v", o.Result)
	}
}

// TestReceiveVerdicts: what the policy stage decides reaches the stored
// message and the outcome as a typed verdict.
func TestReceiveVerdicts(t *testing.T) {
	for _, c := range []struct {
		name   string
		from   string
		extra  string
		kind   decide.Kind
		auto   string
		loop   bool
		answer func(error) bool
	}{
		{name: "automatic", from: "robot@vendor.example", extra: "Auto-Submitted: auto-replied\n", kind: decide.Automatic, auto: "auto-submitted"},
		{name: "spam", from: "x@spam.example", extra: "X-Spam-Flag: YES\n", kind: decide.Spam, auto: "marked as spam"},
		{name: "our own mail", from: "x@customer.example", extra: "X-Ticketgate-Loop: " + acme + "\n", kind: decide.Loop, loop: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			tp := newTestPipeline(t)
			if err := one(tp.receive(t, &mailin.Envelope{MailFrom: c.from, Rcpts: []string{acme}}, mail(c.from, "v1@x.example", "hello", c.extra, "body"))); err != nil {
				t.Fatal(err)
			}
			o := tp.last(t)
			if o.Verdict.Kind != c.kind || !strings.Contains(o.Auto, c.auto) || (o.Loop != "") != c.loop {
				t.Errorf("outcome verdict %+v, auto %q, loop %q", o.Verdict, o.Auto, o.Loop)
			}
			if m := tp.message(t, o.Result.Message); m.Auto == "" {
				t.Errorf("stored without its reason: %+v", m)
			}
			for _, it := range tp.outbox(t) {
				if it.Recipient == c.from {
					t.Errorf("%s mail was answered: %s", c.name, it.Event)
				}
			}
		})
	}
}

// TestReceiveRefused: a message over a limit is stored for the agents and
// refused to an SMTP sender with 552; from IMAP, whose sender hears no
// reply code, the sender is told by mail.
func TestReceiveRefused(t *testing.T) {
	tp := newTestPipeline(t, func(c *config.Config) { c.Limits.MaxHeaderBytes = 300 })
	big := mail(customer, "big1@customer.example", "big", "X-Padding: "+strings.Repeat("x", 400)+"\n", "body")
	err := one(tp.receive(t, &mailin.Envelope{MailFrom: customer, Rcpts: []string{acme}}, big))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 552 {
		t.Fatalf("answer %v, want 552", err)
	}
	o := tp.last(t)
	if o.Result == nil || o.Result.Ticket == "" || o.Verdict.Kind != decide.Refused {
		t.Fatalf("not stored for the agents: %+v", o)
	}
	if m := tp.message(t, o.Result.Message); !strings.HasPrefix(m.Auto, "refused: Message header too large") {
		t.Errorf("stored as %q", m.Auto)
	}

	// From IMAP: stored, answered by mail.
	big2 := mail("dana@customer.example", "big2@customer.example", "big", "X-Padding: "+strings.Repeat("x", 400)+"\n", "body")
	if err := one(tp.receive(t, &mailin.Envelope{Source: "imap", Trusted: true, MailFrom: "dana@customer.example", Rcpts: []string{acme}}, big2)); err != nil {
		t.Fatalf("IMAP: %v", err)
	}
	found := false
	for _, it := range tp.outbox(t) {
		found = found || it.Recipient == "dana@customer.example" && it.Event == "customer/message_refused"
	}
	if !found {
		t.Error("no refusal notice queued for the IMAP sender")
	}
	// Too large to download (IMAP): the header is stored, refused too.
	hdr := mail("erin@customer.example", "big3@customer.example", "huge", "", "(not downloaded)")
	if err := one(tp.receive(t, &mailin.Envelope{Source: "imap", MailFrom: "erin@customer.example", Rcpts: []string{acme}, Oversize: 1 << 30}, hdr)); err != nil {
		t.Fatalf("oversize: %v", err)
	}
	if o := tp.last(t); o.Verdict.Kind != decide.Refused || !strings.Contains(tp.message(t, o.Result.Message).Auto, "Message too large") {
		t.Errorf("oversize: %+v", o.Verdict)
	}
}

// TestReceiveBlockedAndFlood: a blocked sender's mail is kept and answers
// nobody; a sender over the new-ticket limit gets 451, but may still
// reply to their tickets.
func TestReceiveBlockedAndFlood(t *testing.T) {
	tp := newTestPipeline(t, func(c *config.Config) { c.Limits.NewTicketsPerSender = config.Rate{Count: 1, Per: time.Hour} })
	if err := tp.st.Update(context.Background(), func(tx store.Tx) error {
		return tx.Block(&store.Block{Project: "ACME", Address: "pest@spam.example", Reason: "spam in ACME-9", Created: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	if err := one(tp.receive(t, &mailin.Envelope{MailFrom: "pest@spam.example", Rcpts: []string{acme}}, mail("pest@spam.example", "p1@spam.example", "buy", "", "buy"))); err != nil {
		t.Fatal(err)
	}
	o := tp.last(t)
	if o.Verdict.Kind != decide.Blocked || !o.Verdict.Quiet || o.Result.Queued != 0 {
		t.Errorf("blocked: %+v / %+v", o.Verdict, o.Result)
	}
	if m := tp.message(t, o.Result.Message); m.Auto != "sender blocked: spam in ACME-9" {
		t.Errorf("stored as %q", m.Auto)
	}

	if err := one(tp.receive(t, &mailin.Envelope{MailFrom: customer, Rcpts: []string{acme}}, mail(customer, "f1@customer.example", "one", "", "1"))); err != nil {
		t.Fatal(err)
	}
	first := tp.last(t).Result.Ticket
	err := one(tp.receive(t, &mailin.Envelope{MailFrom: customer, Rcpts: []string{acme}}, mail(customer, "f2@customer.example", "two", "", "2")))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 {
		t.Fatalf("second request: %v, want 451", err)
	}
	if err := one(tp.receive(t, &mailin.Envelope{MailFrom: customer, Rcpts: []string{acme}},
		mail(customer, "f3@customer.example", "Re: one", "In-Reply-To: <f1@customer.example>\n", "more"))); err != nil {
		t.Fatalf("a reply was held back by the flood limit: %v", err)
	}
	if o := tp.last(t); o.Result.Ticket != first {
		t.Errorf("reply went to %s", o.Result.Ticket)
	}
	// Automatic mail is not counted against the limit, nor refused by it.
	if err := one(tp.receive(t, &mailin.Envelope{MailFrom: customer, Rcpts: []string{acme}},
		mail(customer, "f4@customer.example", "away", "Auto-Submitted: auto-replied\n", "away"))); err != nil {
		t.Errorf("automatic mail: %v", err)
	}
}

// TestReceiveBounce: a delivery report to the bounce address of a copy
// we sent is recorded on that copy's ticket; one naming no secret of ours
// is ordinary automatic mail.
func TestReceiveBounce(t *testing.T) {
	tp := newTestPipeline(t)
	if err := one(tp.receive(t, &mailin.Envelope{MailFrom: customer, Rcpts: []string{acme}}, mail(customer, "r1@customer.example", "help", "", "help"))); err != nil {
		t.Fatal(err)
	}
	key := tp.last(t).Result.Ticket
	var secret string
	for _, it := range tp.outbox(t) {
		if it.Recipient == customer {
			secret = it.Bounce
		}
	}
	if secret == "" {
		t.Fatal("no bounce secret on the copy to the customer")
	}
	dsn := func(id string) string {
		return "From: MAILER-DAEMON@customer.example\nTo: acme@support.example.com\nSubject: Undelivered Mail\nMessage-ID: <" + id + ">\n" +
			"MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n" +
			"--b\nContent-Type: text/plain\n\nfailed\n--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.customer.example\n\n" +
			"Final-Recipient: rfc822; " + customer + "\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 no such user\n--b--\n"
	}
	if err := one(tp.receive(t, &mailin.Envelope{Rcpts: []string{"acme+bounce-" + secret + "@support.example.com"}}, dsn("d1@customer.example"))); err != nil {
		t.Fatal(err)
	}
	o := tp.last(t)
	if o.Result == nil || o.Result.Ticket != key || o.Result.ThreadedBy != "bounce" {
		t.Fatalf("bounce: %+v", o.Result)
	}
	if m := tp.message(t, o.Result.Message); !strings.Contains(m.Text, "permanent failure for "+customer) || !strings.Contains(m.Text, "550 no such user") {
		t.Errorf("bounce note: %q", m.Text)
	}
	var sup *store.Suppression
	tp.st.View(func(tx store.Tx) error { sup, _ = tx.Suppressed(customer, time.Now()); return nil })
	if sup == nil {
		t.Error("the failed recipient is not suppressed")
	}
	// Without a secret of ours: automatic mail like any other.
	if err := one(tp.receive(t, &mailin.Envelope{Rcpts: []string{acme}}, dsn("d2@customer.example"))); err != nil {
		t.Fatal(err)
	}
	if o := tp.last(t); o.Result == nil || o.Verdict.Kind != decide.Automatic {
		t.Errorf("unmatched report: %+v", o)
	}
}

// TestReceiveSpoolFailure: a message over the size limit while spooling
// is refused; a store that cannot take the message is a temporary
// failure.
func TestReceiveSpoolFailure(t *testing.T) {
	tp := newTestPipeline(t)
	errs := tp.Receive(context.Background(), &mailin.Envelope{Source: "smtp", Rcpts: []string{acme}}, errReader{smtp.ErrDataTooLarge})
	if !errors.Is(one(errs), smtp.ErrDataTooLarge) {
		t.Errorf("too large: %v", errs)
	}
	errs = tp.Receive(context.Background(), &mailin.Envelope{Source: "smtp", Rcpts: []string{acme}}, errReader{errors.New("connection reset")})
	if !fault.IsTemporary(one(errs)) {
		t.Errorf("broken input: %v", errs)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
