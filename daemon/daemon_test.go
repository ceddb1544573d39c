package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/internal/waitfor"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/storetest"
)

// testConfig is a daemon config on loopback ports from :0 relaying
// outbound mail to sink.
func testConfig(t *testing.T, dataDir string, sink *mailouttest.Sink) *config.Config {
	t.Helper()
	c := benchConfig(dataDir, sink)
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	return c
}

// benchConfig is testConfig's content, for tests and benchmarks alike.
func benchConfig(dataDir string, sink *mailouttest.Sink) *config.Config {
	c := config.Default()
	c.DataDir = dataDir
	c.Inbound.SMTP.Listen = "127.0.0.1:0"
	c.Web.Listen = "127.0.0.1:0"
	c.Web.BaseURL = "http://ticketgate.test"
	c.Outbound.Transport = "smtp"
	c.Outbound.SMTP.Host = sink.Host()
	c.Outbound.SMTP.Port = sink.Port()
	c.Outbound.SMTP.Timeout = 5 * time.Second
	c.Outbound.Retry = config.RetryOptions{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond, GiveUpAfter: time.Hour}
	c.Projects = []config.Project{
		{Key: "ACME", Name: "Acme Support", Address: "acme@support.example.com", Agents: []string{"alice@example.com"}, Notifications: config.DefaultNotifications()},
		{Key: "BETA", Name: "Beta Help", Address: "beta@help.example.org", Agents: []string{"bob@example.org"}, Notifications: config.DefaultNotifications()},
	}
	return c
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func start(t *testing.T, c *config.Config) *Daemon {
	t.Helper()
	d, err := Start(c, testLogger(t), Options{Changes: new(waitfor.Signal)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	return d
}

// send delivers raw over SMTP and returns the server's verdict.
func send(t *testing.T, addr, from string, rcpts []string, raw string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail(from, rcpts, strings.NewReader(raw)); err != nil {
		return err
	}
	return c.Quit()
}

func mustSend(t *testing.T, addr, from string, rcpts []string, raw string) {
	t.Helper()
	if err := send(t, addr, from, rcpts, raw); err != nil {
		t.Fatalf("send: %v", err)
	}
}

func msg(from, to, subject, msgid, body string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: Mon, 02 Nov 2026 10:00:00 +0000\r\n", from, to, subject)
	if msgid != "" {
		fmt.Fprintf(&b, "Message-ID: <%s>\r\n", msgid)
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n" + body + "\r\n")
	return b.String()
}

func header(t *testing.T, m mailouttest.Message) mail.Header {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	return r.Header
}

func textBody(t *testing.T, m mailouttest.Message) string {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, err := r.NextPart()
		if err != nil {
			t.Fatalf("no text part: %v", err)
		}
		if ct, _, _ := p.Header.(*mail.InlineHeader).ContentType(); ct == "text/plain" {
			b, _ := io.ReadAll(p.Body)
			return string(b)
		}
	}
}

// waitMessages waits for n relayed messages.
func waitMessages(t *testing.T, sink *mailouttest.Sink, n int) []mailouttest.Message {
	t.Helper()
	msgs, err := sink.WaitFor(n, 10*time.Second)
	if err != nil {
		t.Fatalf("waiting for %d relayed messages: %v (got %d)", n, err, len(sink.Messages()))
	}
	return msgs
}

// queuedSoFar counts the outbox rows ever queued in d's store: one
// queued event each, written in the transaction that queued the row.
func queuedSoFar(t *testing.T, d *Daemon) int {
	t.Helper()
	return storetest.Queued(t, d.Store())
}

// settle waits until the sink holds every message queued so far (for a
// relay that accepts everything): whatever was wrongly queued is then at
// the sink, so a test may assert that somebody got nothing. Mail is queued
// in the transaction that stored what caused it, before the SMTP 250.
func settle(t *testing.T, d *Daemon, sink *mailouttest.Sink) []mailouttest.Message {
	t.Helper()
	return waitMessages(t, sink, queuedSoFar(t, d))
}

// waitTo waits until rcpt got at least n messages at the sink, woken by
// each message the sink accepts.
func waitTo(t *testing.T, sink *mailouttest.Sink, rcpt string, n int, timeout time.Duration) []mailouttest.Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := sink.Messages()
		if got := to(msgs, rcpt); len(got) >= n {
			return got
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("%s got %d of %d messages", rcpt, len(to(msgs, rcpt)), n)
		}
		sink.WaitFor(len(msgs)+1, left)
	}
}

func to(msgs []mailouttest.Message, rcpt string) []mailouttest.Message {
	var out []mailouttest.Message
	for _, m := range msgs {
		for _, r := range m.To {
			if r == rcpt {
				out = append(out, m)
			}
		}
	}
	return out
}

// waitMailTo waits for a mail to rcpt whose text body contains text and
// returns it. Tests take a link or a notice from the mail they mean, never
// from whatever arrived last: the sender's workers deliver in any order.
func waitMailTo(t *testing.T, sink *mailouttest.Sink, rcpt, text string) mailouttest.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs := sink.Messages()
		for _, m := range to(msgs, rcpt) {
			if strings.Contains(textBody(t, m), text) {
				return m
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("no mail to %s containing %q (%d to them)", rcpt, text, len(to(msgs, rcpt)))
		}
		sink.WaitFor(len(msgs)+1, left) // woken by the next message
	}
}

func ticketOf(t *testing.T, d *Daemon, key string) (*store.Ticket, []*store.Message) {
	t.Helper()
	var tk *store.Ticket
	var msgs []*store.Message
	err := d.Store().View(func(tx store.Tx) error {
		var err error
		if tk, err = tx.Ticket(key); err != nil {
			return err
		}
		msgs, err = tx.TicketMessages(key)
		return err
	})
	if err != nil {
		t.Fatalf("ticket %s: %v", key, err)
	}
	return tk, msgs
}

var linkRE = regexp.MustCompile(`http://ticketgate\.test(/t/[a-z0-9]+)`)

func TestNewRequestGetsAutoReplyWithWorkingLink(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := start(t, testConfig(t, t.TempDir(), sink))
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		msg(`"Carl Customer" <carl@customer.example>`, "acme@support.example.com", "Printer on fire", "req1@customer.example", "It is on fire. Help."))

	msgs := waitMessages(t, sink, 2) // auto-reply + internal notification
	replies := to(msgs, "carl@customer.example")
	if len(replies) != 1 {
		t.Fatalf("customer got %d mails, want 1", len(replies))
	}
	ar := replies[0]
	h := header(t, ar)
	subj, _ := h.Subject()
	if subj != "[ACME-1] Printer on fire" {
		t.Errorf("subject %q", subj)
	}
	for k, want := range map[string]string{"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All", "X-Ticketgate-Loop": "acme@support.example.com"} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if irt, _ := h.MsgIDList("In-Reply-To"); len(irt) != 1 || irt[0] != "req1@customer.example" {
		t.Errorf("In-Reply-To %v", irt)
	}
	if rt, _ := h.AddressList("Reply-To"); len(rt) != 1 || rt[0].Address != "acme@support.example.com" {
		t.Errorf("Reply-To %v", rt)
	}
	if id, _ := h.MessageID(); !strings.HasPrefix(id, "tg.") || !strings.HasSuffix(id, "@support.example.com") {
		t.Errorf("Message-ID %q", id)
	}
	if !strings.HasPrefix(ar.From, "acme+bounce-") || !strings.HasSuffix(ar.From, "@support.example.com") {
		t.Errorf("envelope sender %q", ar.From)
	}
	body := textBody(t, ar)
	lm := linkRE.FindStringSubmatch(body)
	if lm == nil {
		t.Fatalf("no link in auto-reply:\n%s", body)
	}
	if !strings.Contains(string(ar.Data), "text/html") {
		t.Error("auto-reply has no HTML part")
	}
	resp, err := http.Get("http://" + d.Addr("web") + lm[1])
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "ACME-1") || !strings.Contains(string(page), "Printer on fire") || !strings.Contains(string(page), "It is on fire") {
		t.Fatalf("link page %d:\n%s", resp.StatusCode, page)
	}
	resp, _ = http.Get("http://" + d.Addr("web") + "/t/" + strings.Repeat("a", 26))
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown token: %d", resp.StatusCode)
	}
	// The agent got the internal notification, not the auto-reply.
	if n := to(msgs, "alice@example.com"); len(n) != 1 {
		t.Errorf("agent notifications: %d", len(n))
	} else if h := header(t, n[0]); h.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("agent notification Auto-Submitted %q", h.Get("Auto-Submitted"))
	}
	tk, stored := ticketOf(t, d, "ACME-1")
	if tk.Reporter != "carl@customer.example" || tk.ReporterName != "Carl Customer" || len(stored) != 1 || stored[0].ThreadedBy != "new" {
		t.Errorf("ticket %+v, messages %d", tk, len(stored))
	}
}

func TestThreading(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := start(t, testConfig(t, t.TempDir(), sink))
	addr := d.Addr("smtp")
	rcpt := []string{"acme@support.example.com"}
	mustSend(t, addr, "carl@customer.example", rcpt, msg("carl@customer.example", rcpt[0], "VPN broken", "orig@customer.example", "first"))
	waitMessages(t, sink, 2)
	// Their own auto-reply, waited for, not whichever mail came first.
	ar := waitMailTo(t, sink, "carl@customer.example", "http://ticketgate.test/t/")
	arh := header(t, ar)
	ourID, _ := arh.MessageID()

	cases := []struct {
		name, from, rcpt, raw, wantTicket, wantRule string
	}{
		{"reply to our auto-reply", "carl@customer.example", rcpt[0],
			msg("carl@customer.example", rcpt[0], "Re: [ACME-1] VPN broken", "r1@customer.example", "still broken", "In-Reply-To: <"+ourID+">", "References: <orig@customer.example> <"+ourID+">"),
			"ACME-1", "reply-token"},
		{"references the original only", "carl@customer.example", rcpt[0],
			msg("carl@customer.example", rcpt[0], "Another thought", "r2@customer.example", "more", "References: <orig@customer.example>"),
			"ACME-1", "references"},
		{"subject token from the reporter", "carl@customer.example", rcpt[0],
			msg("carl@customer.example", rcpt[0], "AW: [ACME-1] VPN broken", "r3@customer.example", "from my phone"),
			"ACME-1", "subject-token"},
		{"subject token from an agent", "alice@example.com", rcpt[0],
			msg("alice@example.com", rcpt[0], "[ACME-1] VPN broken", "r4@example.com", "looking"),
			"ACME-1", "subject-token"},
		{"subject token from a stranger opens a new ticket", "mallory@evil.example", rcpt[0],
			msg("mallory@evil.example", rcpt[0], "[ACME-1] VPN broken", "r5@evil.example", "let me in"),
			"ACME-2", "new"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mustSend(t, addr, c.from, []string{c.rcpt}, c.raw)
			id := regexp.MustCompile(`Message-ID: <([^>]+)>`).FindStringSubmatch(c.raw)[1]
			var ref store.MessageRef
			var m *store.Message
			d.Store().View(func(tx store.Tx) error {
				ref, _, _ = tx.LookupMessageID("ACME", id)
				m, _ = tx.Message(ref.Message)
				return nil
			})
			if ref.Ticket != c.wantTicket || m == nil || m.ThreadedBy != c.wantRule {
				t.Fatalf("threaded into %q by %v, want %s by %s", ref.Ticket, m, c.wantTicket, c.wantRule)
			}
		})
	}

	// A reply token in the recipient's plus-address threads even when the
	// provider rewrote every header.
	tok := strings.TrimSuffix(strings.TrimPrefix(ourID, "tg."), "@support.example.com")
	plus := "acme+t-" + tok + "@support.example.com"
	mustSend(t, addr, "carl@customer.example", []string{plus}, msg("carl@customer.example", plus, "no headers of yours", "r6@customer.example", "hi"))
	_, msgs := ticketOf(t, d, "ACME-1")
	last := msgs[len(msgs)-1]
	if last.MessageID != "r6@customer.example" || last.ThreadedBy != "reply-token" {
		t.Fatalf("plus-address reply: %+v", last)
	}
}

func TestDuplicatesAndReusedMessageID(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := start(t, testConfig(t, t.TempDir(), sink))
	addr := d.Addr("smtp")
	rcpt := []string{"acme@support.example.com"}
	raw := msg("carl@customer.example", rcpt[0], "Once", "dup@customer.example", "same bytes")
	mustSend(t, addr, "carl@customer.example", rcpt, raw)
	mustSend(t, addr, "carl@customer.example", rcpt, raw) // the sending MTA retried: still 250
	reused := msg("carl@customer.example", rcpt[0], "Once", "dup@customer.example", "different bytes, same id")
	mustSend(t, addr, "carl@customer.example", rcpt, reused)
	settle(t, d, sink)
	var n uint64
	d.Store().View(func(tx store.Tx) error { n, _ = tx.LastTicketNumber("ACME"); return nil })
	if n != 2 {
		t.Fatalf("%d tickets, want 2 (the duplicate changes nothing; the reused id with new content is new mail)", n)
	}
	if _, msgs := ticketOf(t, d, "ACME-1"); len(msgs) != 1 {
		t.Fatalf("ACME-1 has %d messages, want 1", len(msgs))
	}
	// The second one is new mail but threads by the reused id's references?
	// No: it has no references; a reused Message-ID is not a thread link.
	if got := len(to(sink.Messages(), "carl@customer.example")); got != 2 {
		t.Fatalf("customer got %d auto-replies, want 2", got)
	}
}

func TestTwoProjectsUnknownRecipientOversizedAutomatic(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := testConfig(t, t.TempDir(), sink)
	c.Inbound.MaxMessageBytes = 64 << 10
	d := start(t, c)
	addr := d.Addr("smtp")

	both := []string{"acme@support.example.com", "beta@help.example.org"}
	mustSend(t, addr, "carl@customer.example", both, msg("carl@customer.example", strings.Join(both, ", "), "For both of you", "both@customer.example", "hi"))
	waitMessages(t, sink, 4)
	for _, key := range []string{"ACME-1", "BETA-1"} {
		if _, msgs := ticketOf(t, d, key); len(msgs) != 1 {
			t.Errorf("%s: %d messages", key, len(msgs))
		}
	}
	// The other project's address is ours: never a participant.
	if tk, _ := ticketOf(t, d, "ACME-1"); len(tk.Participants) != 0 {
		t.Errorf("participants %+v", tk.Participants)
	}

	err := send(t, addr, "carl@customer.example", []string{"nobody@support.example.com"}, msg("carl@customer.example", "nobody@support.example.com", "x", "u@x", "x"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 1, 1}) {
		t.Errorf("unknown recipient: %v", err)
	}
	err = send(t, addr, "carl@customer.example", []string{"someone@elsewhere.example"}, msg("carl@customer.example", "someone@elsewhere.example", "relay?", "relay@x", "x"))
	if !errors.As(err, &se) || se.Code != 550 {
		t.Errorf("relay attempt: %v", err)
	}
	big := msg("carl@customer.example", both[0], "big", "big@x", strings.Repeat("0123456789abcdef\r\n", 5000))
	err = send(t, addr, "carl@customer.example", both[:1], big)
	if !errors.As(err, &se) || se.Code != 552 {
		t.Errorf("oversized: %v", err)
	}

	before := len(sink.Messages())
	mustSend(t, addr, "robot@customer.example", both[:1], msg("robot@customer.example", both[0], "Out of office", "ooo@customer.example", "I am away", "Auto-Submitted: auto-replied"))
	mustSend(t, addr, "", both[:1], msg("mailer-daemon@customer.example", both[0], "Undeliverable", "bounce1@customer.example", "gone"))
	settle(t, d, sink)
	for _, m := range sink.Messages()[before:] {
		if len(to([]mailouttest.Message{m}, "robot@customer.example")) > 0 || len(to([]mailouttest.Message{m}, "mailer-daemon@customer.example")) > 0 {
			t.Errorf("answered a machine: %v", m.To)
		}
	}
	tk, msgs := ticketOf(t, d, "ACME-2")
	if tk.Subject != "Out of office" || msgs[0].Auto == "" {
		t.Errorf("automatic mail not recorded as such: %+v", msgs[0])
	}
}

func TestRelayDownThenUpAndRestartKeepsCountersAndOutbox(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	dir := t.TempDir()
	c := testConfig(t, dir, sink)
	// Relay down: every attempt is answered 421.
	sink.FailNext(mailouttest.AtMail, 1000, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "try later"})
	d, err := Start(c, testLogger(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"}, msg("carl@customer.example", "acme@support.example.com", "While the relay is down", "down@customer.example", "hello"))
	// The rows were queued before the 250; the relay refuses them all.
	var queued int
	d.Store().View(func(tx store.Tx) error { queued, _ = tx.OutboxStats(); return nil })
	if queued != 2 || len(sink.Messages()) != 0 {
		t.Fatalf("queued %d, relayed %d", queued, len(sink.Messages()))
	}
	d.Shutdown(context.Background())

	// Restart with the relay back: the outbox survived and drains, and
	// ticket numbers continue.
	sink.FailNext(mailouttest.AtMail, 0, nil)
	d = start(t, testConfig(t, dir, sink))
	msgs := waitMessages(t, sink, 2)
	if len(to(msgs, "carl@customer.example")) != 1 {
		t.Fatalf("auto-reply not delivered after restart")
	}
	mustSend(t, d.Addr("smtp"), "dora@customer.example", []string{"acme@support.example.com"}, msg("dora@customer.example", "acme@support.example.com", "Second", "second@customer.example", "hello"))
	tk, _ := ticketOf(t, d, "ACME-2")
	if tk.Reporter != "dora@customer.example" {
		t.Fatalf("ACME-2 %+v", tk)
	}
	// The sink has the mail before the sender records the delivery: look
	// again after every commit.
	var delivered int
	changesOf(t, d).Until(waitLimit, func() bool {
		var events []*store.Event
		d.Store().View(func(tx store.Tx) error { events, _ = tx.Events("ACME-1"); return nil })
		delivered = 0
		for _, e := range events {
			if e.Kind == store.EvDelivered {
				delivered++
			}
		}
		return delivered >= 2
	})
	if delivered != 2 {
		t.Errorf("%d delivered events on ACME-1, want 2", delivered)
	}
}

func TestParticipantsFromCc(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := start(t, testConfig(t, t.TempDir(), sink))
	raw := msg("carl@customer.example", "acme@support.example.com", "With colleagues", "cc@customer.example", "see cc",
		`Cc: "Dana" <dana@customer.example>, alice@example.com, acme+internal@support.example.com, beta@help.example.org`)
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"}, raw)
	msgs := waitMessages(t, sink, 2)
	tk, _ := ticketOf(t, d, "ACME-1")
	if len(tk.Participants) != 1 || tk.Participants[0].Address != "dana@customer.example" || tk.Participants[0].Name != "Dana" {
		t.Fatalf("participants %+v", tk.Participants)
	}
	// Dana was on the request: she already has it, no extra mail.
	settle(t, d, sink)
	if n := to(sink.Messages(), "dana@customer.example"); len(n) != 0 {
		t.Errorf("Cc'd participant got %d mails", len(n))
	}
	_ = msgs
	// Page link check for bad paths.
	if _, err := url.Parse("http://" + d.Addr("web")); err != nil {
		t.Fatal(err)
	}
}

func TestCustomerCommentsAndOneClickMute(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := benchConfig(t.TempDir(), sink)
	// Dana's MTA vouches for her (she never got a mail of ours whose
	// token would): an unproven comment would be held from Carl.
	c.TrustedAuthservIDs = []string{"mx.customer.example"}
	c.Inbound.AuthResultsFrom = []string{"127.0.0.1"}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	danaProof := "Authentication-Results: mx.customer.example; dmarc=pass header.from=customer.example"
	d := start(t, c)
	addr := d.Addr("smtp")
	proj := "acme@support.example.com"
	mustSend(t, addr, "carl@customer.example", []string{proj}, msg("carl@customer.example", proj, "Shared problem", "m1@customer.example", "see Dana", "Cc: dana@customer.example"))
	waitMessages(t, sink, 2)
	// Their own auto-reply, waited for, not whichever mail came first.
	ar := waitMailTo(t, sink, "carl@customer.example", "http://ticketgate.test/t/")
	arh := header(t, ar)
	ourID, _ := arh.MessageID()

	// Dana (a participant) writes: Carl hears of it, the agents too.
	mustSend(t, addr, "dana@customer.example", []string{proj}, msg("dana@customer.example", proj, "Re: [ACME-1] Shared problem", "m2@customer.example",
		"Same here.\r\n\r\nOn Mon, 2 Nov 2026, Carl <carl@customer.example> wrote:\r\n> see Dana", "In-Reply-To: <m1@customer.example>", danaProof))
	msgs := waitMessages(t, sink, 4)
	fromDana := to(msgs[2:], "carl@customer.example")
	if len(fromDana) != 1 || !strings.Contains(textBody(t, fromDana[0]), "Same here.") {
		t.Fatalf("Carl did not get Dana's comment: %d", len(fromDana))
	}
	// Notifications carry what Dana wrote, not the history she quoted.
	for _, m := range append(fromDana, to(msgs[2:], "alice@example.com")...) {
		if body := textBody(t, m); strings.Contains(body, "> see Dana") || strings.Contains(body, "wrote:") {
			t.Errorf("quoted history in the notification to %v:\n%s", m.To, body)
		}
	}
	if h := header(t, fromDana[0]); h.Get("Auto-Submitted") != "" {
		t.Error("a customer's comment relayed to another is a person's message")
	}
	if len(to(msgs[2:], "alice@example.com")) != 1 {
		t.Error("agent not told of the customer comment")
	}

	// Carl mutes the ticket with the one-click link from his auto-reply.
	u := strings.Trim(arh.Get("List-Unsubscribe"), "<>")
	if arh.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || !strings.HasSuffix(u, "/mute") {
		t.Fatalf("List-Unsubscribe %q", u)
	}
	path := strings.TrimPrefix(u, "http://ticketgate.test")
	if resp, _ := http.Get("http://" + d.Addr("web") + path); resp.StatusCode == 200 {
		t.Fatal("a GET must not mute (mail scanners follow links)")
	}
	resp, err := http.Post("http://"+d.Addr("web")+path, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("one-click mute: %v %v", err, resp.StatusCode)
	}
	resp.Body.Close()
	mustSend(t, addr, "dana@customer.example", []string{proj}, msg("dana@customer.example", proj, "Re: [ACME-1] Shared problem", "m3@customer.example", "Still broken.", "In-Reply-To: <"+ourID+">", danaProof))
	waitMessages(t, sink, 5) // the agent's notification
	settle(t, d, sink)
	if n := len(to(sink.Messages(), "carl@customer.example")); n != 2 {
		t.Fatalf("muted Carl got %d mails in all, want 2 (auto-reply, Dana's first comment)", n)
	}
	if tk, _ := ticketOf(t, d, "ACME-1"); len(tk.Muted) != 1 || tk.Muted[0] != "carl@customer.example" {
		t.Fatalf("muted %v", tk.Muted)
	}
}

func TestGivenUpDeliveryTellsAgents(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := start(t, testConfig(t, t.TempDir(), sink))
	sink.RejectRecipient("gone@customer.example", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"})
	mustSend(t, d.Addr("smtp"), "gone@customer.example", []string{"acme@support.example.com"}, msg("gone@customer.example", "acme@support.example.com", "Soon gone", "g1@customer.example", "hi"))
	// Agent: the new-request notification and the delivery failure, in
	// whichever order the sender's workers delivered them.
	waitMailTo(t, sink, "alice@example.com", "Soon gone")
	if failed := waitMailTo(t, sink, "alice@example.com", "could not be delivered"); !strings.Contains(textBody(t, failed), "550") {
		t.Fatalf("delivery failure notice without the relay's answer:\n%s", textBody(t, failed))
	}
	if got := to(sink.Messages(), "alice@example.com"); len(got) != 2 {
		t.Fatalf("agent mails: %d, want 2", len(got))
	}
	var events []*store.Event
	d.Store().View(func(tx store.Tx) error { events, _ = tx.Events("ACME-1"); return nil })
	found := false
	for _, e := range events {
		found = found || (e.Kind == store.EvDeliveryFailed && e.Recipient == "gone@customer.example" && strings.Contains(e.Reason, "550"))
	}
	if !found {
		t.Fatal("no delivery_failed event on the ticket")
	}
}

// A second Shutdown (a test's cleanup after the test stopped the daemon, a
// signal during a stop) returns without closing anything twice.
func TestShutdownTwice(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := start(t, testConfig(t, t.TempDir(), sink))
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
