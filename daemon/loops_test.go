package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/internal/corpustest"
	"github.com/ticketgate/ticketgate/internal/waitfor"
	"github.com/ticketgate/ticketgate/mailin"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

func events(t *testing.T, d *Daemon, key string) []*store.Event {
	t.Helper()
	var evs []*store.Event
	d.Store().View(func(tx store.Tx) error { evs, _ = tx.Events(key); return nil })
	return evs
}

// hasEvent reports whether evs has an event of kind k that match accepts
// (its typed fields: no sentence is read).
func hasEvent(evs []*store.Event, k store.EventKind, match func(*store.Event) bool) bool {
	for _, e := range evs {
		if e.Kind == k && match(e) {
			return true
		}
	}
	return false
}

// TestBouncesFromCorpus feeds real DSNs, addressed (as real MTAs address
// them) to the envelope sender of a notification we sent.
func TestBouncesFromCorpus(t *testing.T) {
	dir := corpustest.Dir(t)
	cases := []struct {
		file      string
		permanent bool
		failed    bool
	}{
		{"enmime/dsn/dsn_with_multipart_alternative.eml", true, true},
		{"ruby-mail/multipart_report_emails/report_530.eml", true, true},
		{"ruby-mail/multipart_report_emails/multi_address_bounce2.eml", true, true},
		{"enmime/dsn/simple_dsn.eml", false, true},
		{"enmime/dsn/delayed_dsn.eml", false, false},
	}
	for i, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			sink := mailouttest.NewSink(t, mailouttest.Options{})
			d := start(t, testConfig(t, t.TempDir(), sink))
			cust := fmt.Sprintf("victim%d@customer.example", i)
			mustSend(t, d.Addr("smtp"), cust, []string{"acme@support.example.com"}, msg(cust, "acme@support.example.com", "Will bounce", "b@customer.example", "hi"))
			waitMessages(t, sink, 2)
			// Their own auto-reply, waited for, not whichever mail came first.
			ar := waitMailTo(t, sink, cust, "http://ticketgate.test/t/")
			bounceAddr := ar.From // acme+bounce-<token>@support.example.com
			before := len(sink.Messages())

			// The DSN comes back with the null sender, to our bounce address.
			mustSend(t, d.Addr("smtp"), "", []string{bounceAddr}, string(raw))
			settle(t, d, sink)
			_, msgs := ticketOf(t, d, "ACME-1")
			last := msgs[len(msgs)-1]
			if len(msgs) != 2 || last.Kind != "bounce" || !last.Internal {
				t.Fatalf("bounce not recorded as an internal note on ACME-1: %+v", last)
			}
			var sup *store.Suppression
			d.Store().View(func(tx store.Tx) error { sup, _ = tx.Suppressed(cust, time.Now()); return nil })
			if (sup != nil) != c.permanent {
				t.Fatalf("suppressed = %v, want %v", sup != nil, c.permanent)
			}
			evs := events(t, d, "ACME-1")
			if hasEvent(evs, store.EvDeliveryFailed, func(e *store.Event) bool { return e.Recipient == cust }) != c.failed {
				t.Errorf("delivery_failed event = %v, want %v", !c.failed, c.failed)
			}
			for _, m := range sink.Messages()[before:] {
				if m.From == "" || len(to([]mailouttest.Message{m}, cust)) > 0 {
					t.Errorf("sent %v from %q after the bounce", m.To, m.From)
				}
				if strings.Contains(strings.ToLower(strings.Join(m.To, ",")), "mailer-daemon") {
					t.Errorf("answered the bounce: %v", m.To)
				}
			}
			if c.failed && len(to(sink.Messages()[before:], "alice@example.com")) != 1 {
				t.Errorf("agents not told of the failed delivery")
			}
			if c.permanent {
				// The dead address gets nothing more, and the ticket says why.
				mustSend(t, d.Addr("smtp"), cust, []string{"acme@support.example.com"}, msg(cust, "acme@support.example.com", "Again", "b2@customer.example", "hello?"))
				settle(t, d, sink)
				if len(to(sink.Messages(), cust)) != 1 {
					t.Errorf("mailed a suppressed address")
				}
				if !hasEvent(events(t, d, "ACME-2"), store.EvSuppressed, func(e *store.Event) bool { return e.Recipient == cust }) {
					t.Errorf("held-back mail not noted on the ticket")
				}
			}
		})
	}
}

func TestAmplificationAndRelay(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := start(t, testConfig(t, t.TempDir(), sink))
	var cc []string
	for i := range 500 {
		cc = append(cc, fmt.Sprintf("victim%03d@elsewhere.example", i))
	}
	mustSend(t, d.Addr("smtp"), "spammer@evil.example", []string{"acme@support.example.com"},
		msg("spammer@evil.example", "acme@support.example.com", "Look at this", "amp@evil.example", "buy now", "Cc: "+strings.Join(cc, ", ")))
	settle(t, d, sink)
	tk, _ := ticketOf(t, d, "ACME-1")
	if len(tk.Participants) != 10 {
		t.Errorf("%d participants from 500 Cc, want max_cc_participants = 10", len(tk.Participants))
	}
	for _, m := range sink.Messages() {
		for _, r := range m.To {
			if strings.HasSuffix(r, "@elsewhere.example") {
				t.Fatalf("mailed a Cc'd address %s", r)
			}
		}
	}
	// Spam-flagged by the receiving MTA: recorded, no auto-reply.
	before := len(sink.Messages())
	mustSend(t, d.Addr("smtp"), "victim@forged.example", []string{"acme@support.example.com"},
		msg("victim@forged.example", "acme@support.example.com", "You won", "spam@forged.example", "claim", "X-Spam-Flag: YES", "Cc: other@elsewhere.example"))
	settle(t, d, sink)
	for _, m := range sink.Messages()[before:] {
		if len(to([]mailouttest.Message{m}, "victim@forged.example")) > 0 || len(to([]mailouttest.Message{m}, "other@elsewhere.example")) > 0 {
			t.Fatalf("answered spam-flagged mail: %v", m.To)
		}
	}
	// RCPT TO an outside address is refused, never relayed.
	err := send(t, d.Addr("smtp"), "spammer@evil.example", []string{"victim@elsewhere.example"}, msg("spammer@evil.example", "victim@elsewhere.example", "relay", "r@x", "x"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || (se.Code != 550 && se.Code != 554) {
		t.Fatalf("relay attempt: %v", err)
	}
}

// TestFlood sends 10,000 messages from one sender and measures how long
// another sender's request takes meanwhile.
func TestFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 10,000 messages")
	}
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := testConfig(t, t.TempDir(), sink)
	d := start(t, c)
	addr := d.Addr("smtp")
	var accepted, deferred atomic.Int64
	var wg sync.WaitGroup
	// flooding is closed once the daemon answered the flood's first
	// message: the honest request then arrives during the flood.
	flooding := make(chan struct{})
	var once sync.Once
	const total, conns = 10000, 8
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := smtp.Dial(addr)
			if err != nil {
				t.Error(err)
				once.Do(func() { close(flooding) })
				return
			}
			defer cl.Close()
			for i := w; i < total; i += conns {
				raw := fmt.Sprintf("From: flood@evil.example\r\nTo: acme@support.example.com\r\nSubject: flood %d\r\nMessage-ID: <flood-%d@evil.example>\r\n\r\nx\r\n", i, i)
				err := cl.SendMail("flood@evil.example", []string{"acme@support.example.com"}, strings.NewReader(raw))
				var se *smtp.SMTPError
				once.Do(func() { close(flooding) })
				switch {
				case err == nil:
					accepted.Add(1)
				case errors.As(err, &se) && se.Code == 451:
					deferred.Add(1)
				default:
					t.Errorf("flood message %d: %v", i, err)
					return
				}
			}
		}()
	}
	<-flooding
	startOther := time.Now()
	mustSend(t, addr, "honest@customer.example", []string{"acme@support.example.com"}, msg("honest@customer.example", "acme@support.example.com", "Real problem", "honest@customer.example", "please help"))
	stored := time.Since(startOther)
	waitTo(t, sink, "honest@customer.example", 1, 30*time.Second)
	answered := time.Since(startOther)
	wg.Wait()
	if len(to(sink.Messages(), "honest@customer.example")) != 1 {
		t.Fatal("the honest request got no auto-reply")
	}
	if int(accepted.Load()) != c.Limits.NewTicketsPerSender.Count {
		t.Errorf("flood accepted %d, want the limit %d", accepted.Load(), c.Limits.NewTicketsPerSender.Count)
	}
	t.Logf("flood of %d messages from one sender: %d accepted, %d answered 451; another sender's request was stored after %v and answered after %v",
		total, accepted.Load(), deferred.Load(), stored.Round(time.Millisecond), answered.Round(time.Millisecond))
}

// router is the test's mail network: an SMTP server that delivers each
// recipient to the daemon owning its domain, to an auto-responder that
// sets no loop headers at all, or nowhere (counted and dropped).
type router struct {
	mu      sync.Mutex
	domains map[string]string // domain → SMTP address
	sent    int
	byRcpt  map[string]int
	robot   string
	// inflight counts the deliveries handed on and not finished yet.
	inflight int
	wg       sync.WaitGroup
	// changes is told of every mail accepted and delivery finished, and
	// of the daemons' changes (commits, send attempts).
	changes waitfor.Signal
}

func (r *router) NewSession(*smtp.Conn) (smtp.Session, error) { return &routerSession{r: r}, nil }

type routerSession struct {
	r        *router
	rcpts    []string
	mailFrom string
}

func (s *routerSession) Reset()        { s.rcpts = nil }
func (s *routerSession) Logout() error { return nil }
func (s *routerSession) Mail(from string, _ *smtp.MailOptions) error {
	s.mailFrom = from
	return nil
}
func (s *routerSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *routerSession) Data(rd io.Reader) error {
	raw, _ := io.ReadAll(rd)
	r := s.r
	r.mu.Lock()
	r.sent++
	r.inflight += len(s.rcpts)
	for _, rc := range s.rcpts {
		r.byRcpt[rc]++
	}
	r.mu.Unlock()
	for _, rc := range s.rcpts {
		rc := rc
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.deliver(s.mailFrom, rc, raw)
			r.mu.Lock()
			r.inflight--
			r.mu.Unlock()
			r.changes.Notify()
		}()
	}
	r.changes.Notify()
	return nil
}

func (r *router) deliver(mailFrom, rcpt string, raw []byte) {
	if rcpt == r.robot {
		r.autoRespond(raw)
		return
	}
	dom := rcpt[strings.LastIndexByte(rcpt, '@')+1:]
	if addr, ok := r.domains[dom]; ok {
		c, err := smtp.Dial(addr)
		if err != nil {
			return
		}
		defer c.Close()
		c.SendMail(mailFrom, []string{rcpt}, bytes.NewReader(raw))
	}
}

// autoRespond answers every mail it gets, as a broken vacation responder
// does: a fresh message, no Auto-Submitted, no In-Reply-To, and a subject
// that drops the ticket token, so every answer looks like a new request.
func (r *router) autoRespond(raw []byte) {
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return
	}
	from, _ := mr.Header.AddressList("From")
	if len(from) == 0 {
		return
	}
	n := time.Now().UnixNano()
	reply := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: I am away (%d)\r\nMessage-ID: <away-%d@x.example>\r\n\r\nI am on holiday.\r\n", r.robot, from[0].Address, n, n)
	r.mu.Lock()
	r.sent++
	r.byRcpt[from[0].Address]++
	r.mu.Unlock()
	r.deliver(r.robot, from[0].Address, []byte(reply))
}

// TestMailLoopStopsByItself runs two gateways, each one's project address
// a customer of the other, plus an auto-responder that sets no headers.
// One mail starts it; the exchange must stop by itself.
func TestMailLoopStopsByItself(t *testing.T) {
	rt := &router{domains: map[string]string{}, byRcpt: map[string]int{}, robot: "robot@x.example"}
	srv := smtp.NewServer(rt)
	srv.Domain = "router"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	mk := func(key, addr, agent string) *Daemon {
		c := config.Default()
		c.DataDir = t.TempDir()
		c.Inbound.SMTP.Listen = "127.0.0.1:0"
		c.Web.Listen = "127.0.0.1:0"
		c.Outbound.Transport = "smtp"
		c.Outbound.SMTP.Host, c.Outbound.SMTP.Port = "127.0.0.1", port
		c.Outbound.Retry = config.RetryOptions{Initial: 50 * time.Millisecond, Max: 100 * time.Millisecond, GiveUpAfter: time.Minute}
		c.Projects = []config.Project{{Key: key, Name: key, Address: addr, Agents: []string{agent}, Notifications: config.DefaultNotifications()}}
		if err := c.Finalize(); err != nil {
			t.Fatal(err)
		}
		d, err := Start(c, slog.New(slog.DiscardHandler), Options{Changes: &rt.changes})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Shutdown(context.Background()) })
		return d
	}
	a := mk("ACME", "acme@a.example", "agent@a.example")
	b := mk("BETA", "beta@b.example", "agent@b.example")
	rt.domains["a.example"] = a.Addr("smtp")
	rt.domains["b.example"] = b.Addr("smtp")

	// One mail starts it: the robot writes to A, with B's project address
	// in Cc (so B's address is a customer of A, and B gets it too).
	first := "From: robot@x.example\r\nTo: acme@a.example\r\nCc: beta@b.example\r\nSubject: hello\r\nMessage-ID: <start@x.example>\r\n\r\nstart\r\n"
	c, err := smtp.Dial(rt.domains["a.example"])
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("robot@x.example", []string{"acme@a.example"}, strings.NewReader(first)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c, _ = smtp.Dial(rt.domains["b.example"])
	c.SendMail("robot@x.example", []string{"beta@b.example"}, strings.NewReader(first))
	c.Close()

	// The loop has stopped when nothing is left that could make more
	// mail: no delivery in flight at the router and both outboxes empty.
	// (A gateway queues its answers in the transaction that stores the
	// mail, before its 250 ends the router's delivery; an outbox row
	// leaves only after the router accepted it, which counts it in
	// sent.) The router is read before and after the outboxes, so a mail
	// that moved meanwhile is seen. Looked at after every change of the
	// router or the gateways.
	router := func() (int, int) {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		return rt.inflight, rt.sent
	}
	quiet := func() bool {
		in1, sent1 := router()
		if in1 != 0 {
			return false
		}
		for _, d := range []*Daemon{a, b} {
			var queued int
			if err := d.Store().View(func(tx store.Tx) error { queued, _ = tx.OutboxStats(); return nil }); err != nil || queued != 0 {
				return false
			}
		}
		in2, sent2 := router()
		return in2 == 0 && sent2 == sent1
	}
	if rt.changes.Until(60*time.Second, quiet) != nil {
		t.Fatal("the mail loop did not stop within a minute")
	}
	rt.wg.Wait()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	limit := config.Default().Limits.AutoPerRecipient.Count
	if got := rt.byRcpt["robot@x.example"]; got > 2*limit {
		t.Errorf("the responder got %d mails, more than the per-recipient limit allows (%d per gateway)", got, limit)
	}
	t.Logf("mail loop stopped by itself: %d mails sent in all; to the responder %d, to acme@a.example %d, to beta@b.example %d, to agents %d+%d",
		rt.sent, rt.byRcpt["robot@x.example"], rt.byRcpt["acme@a.example"], rt.byRcpt["beta@b.example"], rt.byRcpt["agent@a.example"], rt.byRcpt["agent@b.example"])
}

func withAttachments(from, subject, id string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: acme@support.example.com\r\nSubject: %s\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n", from, subject, id)
	for i := range n {
		fmt.Fprintf(&b, "--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"f%d.bin\"\r\n\r\ndata %d\r\n", i, i)
	}
	b.WriteString("--XX--\r\n")
	return b.String()
}

func TestRefusalsReachSenderAndAgents(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := testConfig(t, t.TempDir(), sink)
	c.Limits.MaxAttachments = 2
	d := start(t, c)

	err := send(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"}, withAttachments("carl@customer.example", "Many files", "many@customer.example", 3))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 552 || !strings.Contains(se.Message, "Too many attachments") {
		t.Fatalf("too many attachments: %v, want 552", err)
	}
	_, msgs := ticketOf(t, d, "ACME-1")
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Auto, "refused: Too many attachments") || msgs[0].Raw == "" {
		t.Fatalf("refused mail not kept for the agents: %+v", msgs)
	}
	got := waitMessages(t, sink, 1)
	if len(to(got, "alice@example.com")) != 1 || len(to(got, "carl@customer.example")) != 0 {
		t.Fatalf("agents must see the refusal, the sender hears it from SMTP only: %v", got[0].To)
	}
	// The sending MTA retries the same bytes (a lost reply, a second MX):
	// refused again, not acknowledged as a duplicate of what was stored.
	err = send(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"}, withAttachments("carl@customer.example", "Many files", "many@customer.example", 3))
	if !errors.As(err, &se) || se.Code != 552 || !strings.Contains(se.Message, "Too many attachments") {
		t.Fatalf("retry of a refused message: %v, want 552 again", err)
	}

	// IMAP has no reply code: the human sender is told by mail instead.
	raw := withAttachments("dora@customer.example", "Many files by IMAP", "imap-many@customer.example", 3)
	errs := d.pipeline.Receive(context.Background(), &mailinEnvelope{Source: "imap", Trusted: true, Rcpts: []string{"acme@support.example.com"}}, strings.NewReader(raw))
	if errs[0] != nil {
		t.Fatalf("IMAP refusal returned %v; the message is stored, nothing to retry", errs[0])
	}
	notice := waitTo(t, sink, "dora@customer.example", 1, 5*time.Second)
	if len(notice) != 1 || !strings.Contains(textBody(t, notice[0]), "Too many attachments") {
		t.Fatalf("IMAP sender not told of the refusal: %d mails", len(notice))
	}
	// An automatic sender is never told.
	raw = strings.Replace(withAttachments("robot@customer.example", "Many by robot", "imap-robot@customer.example", 3), "Subject:", "Auto-Submitted: auto-generated\r\nSubject:", 1)
	d.pipeline.Receive(context.Background(), &mailinEnvelope{Source: "imap", Trusted: true, Rcpts: []string{"acme@support.example.com"}}, strings.NewReader(raw))
	settle(t, d, sink)
	if n := len(to(sink.Messages(), "robot@customer.example")); n != 0 {
		t.Fatalf("told an automatic sender: %d", n)
	}
}

type mailinEnvelope = mailin.Envelope
