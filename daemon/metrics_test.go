package daemon

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/admin"
	"github.com/ticketgate/ticketgate/internal/waitfor"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/metrics"
	"github.com/ticketgate/ticketgate/store"
)

// fetch fetches url and returns the status and body.
func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricValue finds one sample in a Prometheus text exposition: name and
// its labels in the exposition's (sorted) order, e.g.
// `ticketgate_tickets_created_total{project="ACME"}`; -1 when absent.
func metricValue(body, series string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// scrapeUntil scrapes /metrics until series reaches want (the sender's
// counters move after the relay already has the mail).
func scrapeUntil(t *testing.T, d *Daemon, base, series string, want float64) string {
	t.Helper()
	return scrapeUntilOK(t, d, base, func(body string) bool { return metricValue(body, series) >= want })
}

// scrapeUntilOK scrapes /metrics after every change of d (a commit, a
// send attempt recorded with its metrics) until ok says the body is what
// the test waits for; after waitLimit it returns the last one.
func scrapeUntilOK(t *testing.T, d *Daemon, base string, ok func(body string) bool) string {
	t.Helper()
	var body string
	changesOf(t, d).Until(waitLimit, func() bool {
		_, body = fetch(t, base+"/metrics")
		return ok(body)
	})
	return body
}

// TestMetricsAfterRealTraffic sends real SMTP mail through a real daemon —
// a new request, a reply threaded by References, a retried duplicate and a
// request whose auto-reply goes to a suppressed address — and scrapes
// /metrics, /healthz and /readyz.
func TestMetricsAfterRealTraffic(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := testConfig(t, t.TempDir(), sink)
	c.Metrics.Listen = "127.0.0.1:0"
	d, err := Start(c, testLogger(t), Options{Changes: new(waitfor.Signal), Mailboxes: func() []metrics.Mailbox {
		return []metrics.Mailbox{{Project: "ACME", Mailbox: "INBOX", Connected: true, Idling: true, LastSync: time.Unix(1700000000, 0), Ingested: 3}}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	base := "http://" + d.Addr("metrics")
	if d.Addr("metrics") == "" {
		t.Fatal(`Addr("metrics") is empty`)
	}
	smtpAddr := d.Addr("smtp")

	first := msg("carl@customer.example", "acme@support.example.com", "Printer on fire", "m1@customer.example", "help")
	mustSend(t, smtpAddr, "carl@customer.example", []string{"acme@support.example.com"}, first)
	waitMessages(t, sink, 2) // auto-reply + agent notification
	mustSend(t, smtpAddr, "carl@customer.example", []string{"acme@support.example.com"},
		msg("carl@customer.example", "acme@support.example.com", "Re: Printer on fire", "m2@customer.example", "still burning", "In-Reply-To: <m1@customer.example>", "References: <m1@customer.example>"))
	mustSend(t, smtpAddr, "carl@customer.example", []string{"acme@support.example.com"}, first) // a retry
	waitMessages(t, sink, 3)                                                                    // the agent hears of the reply

	// Dora's address bounced before: her auto-reply is held back.
	err = d.Store().Update(context.Background(), func(tx store.Tx) error {
		return tx.Suppress(&store.Suppression{Address: "dora@customer.example", Until: time.Now().Add(time.Hour), Reason: "test bounce"})
	})
	if err != nil {
		t.Fatal(err)
	}
	mustSend(t, smtpAddr, "dora@customer.example", []string{"acme@support.example.com"},
		msg("dora@customer.example", "acme@support.example.com", "Hello", "m3@customer.example", "hi"))
	waitMessages(t, sink, 4) // only the agent's notification

	start := time.Now()
	// The attempt is counted when the relay answered; the row leaves the
	// outbox when its outcome is committed, a moment later.
	body := scrapeUntilOK(t, d, base, func(body string) bool {
		return metricValue(body, `ticketgate_send_attempts_total{result="delivered"}`) >= 4 && metricValue(body, `ticketgate_outbox_depth`) == 0
	})
	t.Logf("scrape: %d bytes in %s", len(body), time.Since(start))
	for series, want := range map[string]float64{
		`ticketgate_messages_received_total{outcome="new_ticket",project="ACME",source="smtp"}`: 2,
		`ticketgate_messages_received_total{outcome="reply",project="ACME",source="smtp"}`:      1,
		`ticketgate_messages_received_total{outcome="duplicate",project="ACME",source="smtp"}`:  1,
		`ticketgate_tickets_created_total{project="ACME"}`:                                      2,
		`ticketgate_threading_decisions_total{project="ACME",rule="new"}`:                       2,
		`ticketgate_threading_decisions_total{project="ACME",rule="references"}`:                1,
		`ticketgate_mail_suppressed_total{project="ACME",reason="suppressed"}`:                  1,
		`ticketgate_send_attempts_total{result="delivered"}`:                                    4,
		`ticketgate_smtp_sessions_total{listener="smtp",result="accepted"}`:                     4,
		`ticketgate_ingest_duration_seconds_count{source="smtp"}`:                               4,
		`ticketgate_outbox_depth`:                                                     0,
		`ticketgate_outbox_oldest_age_seconds`:                                        0,
		`ticketgate_store_up`:                                                         1,
		`ticketgate_imap_connected{mailbox="INBOX",project="ACME"}`:                   1,
		`ticketgate_imap_idling{mailbox="INBOX",project="ACME"}`:                      1,
		`ticketgate_imap_last_sync_timestamp_seconds{mailbox="INBOX",project="ACME"}`: 1.7e9,
		`ticketgate_imap_ingested_total{mailbox="INBOX",project="ACME"}`:              3,
	} {
		if got := metricValue(body, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if v := metricValue(body, `ticketgate_store_size_bytes`); v <= 0 {
		t.Errorf("store size %v", v)
	}
	if v := metricValue(body, `ticketgate_smtp_sessions_open{listener="smtp"}`); v < 0 {
		t.Errorf("open sessions gauge missing")
	}
	if !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "process_resident_memory_bytes") {
		t.Error("Go runtime / process collectors missing")
	}

	if code, b := fetch(t, base+"/healthz"); code != 200 || strings.TrimSpace(b) != "ok" {
		t.Errorf("/healthz: %d %q", code, b)
	}
	code, b := fetch(t, base+"/readyz")
	if code != 200 || !strings.HasPrefix(b, "ready\n") || !strings.Contains(b, "mailbox ACME/INBOX: idling, last sync 2023-11-14T22:13:20Z") {
		t.Errorf("/readyz: %d\n%s", code, b)
	}
	t.Logf("/readyz:\n%s", b)
	if code, _ := fetch(t, base+"/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("pprof served while metrics.pprof is off: %d", code)
	}
}

// TestReadyzOutboxStuck: the relay defers one recipient's mail; with the
// daemon's clock moved past outbox_stuck_after, /readyz fails naming the
// mail; once the relay takes it, /readyz recovers.
func TestReadyzOutboxStuck(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := testConfig(t, t.TempDir(), sink)
	c.Metrics.Listen = "127.0.0.1:0"
	c.Metrics.Pprof = true
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	d, err := Start(c, testLogger(t), Options{Now: clock, Changes: new(waitfor.Signal)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	base := "http://" + d.Addr("metrics")

	sink.RejectRecipient("carl@customer.example", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "mailbox busy"})
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		msg("carl@customer.example", "acme@support.example.com", "Printer", "s1@customer.example", "help"))
	waitMessages(t, sink, 1) // the agent's notification goes, carl's auto-reply waits
	scrapeUntil(t, d, base, `ticketgate_send_attempts_total{result="deferred"}`, 1)

	if code, b := fetch(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz with a fresh deferred mail: %d\n%s", code, b)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	code, b := fetch(t, base+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(b, "outbox     FAIL stuck: mail") || !strings.Contains(b, "to carl@customer.example has waited 2h0m") {
		t.Fatalf("/readyz with a 2h old mail: %d\n%s", code, b)
	}
	t.Logf("stuck /readyz:\n%s", b)
	code, b = fetch(t, base+"/readyz?format=json")
	var rep metrics.Report
	if err := json.Unmarshal([]byte(b), &rep); err != nil || code != 503 || rep.Ready || rep.Outbox.Depth != 1 || rep.Outbox.OldestTo != "carl@customer.example" {
		t.Errorf("/readyz json: %d %+v %v\n%s", code, rep, err, b)
	}
	if _, body := fetch(t, base+"/metrics"); metricValue(body, "ticketgate_outbox_oldest_age_seconds") < 7200 {
		t.Errorf("oldest age: %v", metricValue(body, "ticketgate_outbox_oldest_age_seconds"))
	}
	if code, _ := fetch(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz must stay ok while the relay defers: %d", code)
	}
	if code, _ := fetch(t, base+"/debug/pprof/cmdline"); code != 200 {
		t.Errorf("pprof on: /debug/pprof/cmdline %d", code)
	}

	sink.RejectRecipient("carl@customer.example", nil)
	d.sender.Wake()
	waitMessages(t, sink, 2)
	// /readyz looks at the outbox: it recovers with the commit that
	// takes the delivered mail out of it.
	changesOf(t, d).Until(waitLimit, func() bool {
		code, b = fetch(t, base+"/readyz")
		return code == 200
	})
	if code != 200 {
		t.Errorf("/readyz after the relay took the mail: %d\n%s", code, b)
	}
}

// TestReadyzMailboxes: a disconnected mailbox is reported; it fails
// /readyz only with readyz_requires_mailboxes (switched on by a reload),
// and /readyz recovers when the mailbox reconnects.
func TestReadyzMailboxes(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := testConfig(t, t.TempDir(), sink)
	c.Metrics.Listen = "127.0.0.1:0"
	var connected atomic.Bool
	d, err := Start(c, testLogger(t), Options{Mailboxes: func() []metrics.Mailbox {
		mb := metrics.Mailbox{Project: "ACME", Mailbox: "INBOX", Connected: connected.Load(), Errors: 2}
		if !mb.Connected {
			mb.LastError, mb.LastErrorAt = "dial tcp 127.0.0.1:993: connection refused", time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
		}
		return []metrics.Mailbox{mb}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	base := "http://" + d.Addr("metrics")

	code, b := fetch(t, base+"/readyz")
	if code != 200 || !strings.Contains(b, `mailbox ACME/INBOX: disconnected, last error "dial tcp 127.0.0.1:993: connection refused" at 2026-11-01T09:00:00Z, 2 errors`) {
		t.Errorf("/readyz, mailbox down, not required: %d\n%s", code, b)
	}

	c2 := *c
	c2.Metrics.ReadyzRequiresMailboxes = true
	d.Reload(&c2)
	code, b = fetch(t, base+"/readyz")
	if code != 503 || !strings.Contains(b, "mailboxes  FAIL 0 connected of 1; not connected: ACME/INBOX") {
		t.Errorf("/readyz, mailbox down, required: %d\n%s", code, b)
	}
	_, m := fetch(t, base+"/metrics")
	if metricValue(m, `ticketgate_imap_connected{mailbox="INBOX",project="ACME"}`) != 0 || metricValue(m, `ticketgate_imap_errors_total{mailbox="INBOX",project="ACME"}`) != 2 {
		t.Errorf("imap metrics:\n%s", grepLines(m, "ticketgate_imap"))
	}

	connected.Store(true)
	if code, b = fetch(t, base+"/readyz"); code != 200 || !strings.Contains(b, "mailbox ACME/INBOX: connected") {
		t.Errorf("/readyz, mailbox back: %d\n%s", code, b)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestTraceInboundAndOutbound follows one request end to end through the
// admin API: received, new ticket by rule "new", both notifications queued
// under their own Message-IDs and delivered; the outbound id's trace leads
// back to the request; a suppressed auto-reply says why.
func TestTraceInboundAndOutbound(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := testConfig(t, t.TempDir(), sink)
	c.Admin.Users = map[string]string{unixUser(t): "alice@example.com"}
	d := start(t, c)
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		msg("Carl <carl@customer.example>", "acme@support.example.com", "Printer on fire", "trace1@customer.example", "help"))
	waitMessages(t, sink, 2)
	cl := admin.NewSocketClient(d.Config().DataDir + "/" + AdminSocketName)

	// The audit events are written by their own commits, after the
	// relay's 250: the trace is asked again after every commit.
	var tr *admin.Trace
	var err error
	if changesOf(t, d).Until(waitLimit, func() bool {
		tr, err = cl.Trace(context.Background(), "<trace1@customer.example>")
		return err == nil && len(tr.Sent) == 2 && hasType(tr.Sent[0].Events, store.AuditDelivered) && hasType(tr.Sent[1].Events, store.AuditDelivered)
	}) != nil {
		b, _ := json.MarshalIndent(tr, "", "  ")
		t.Fatalf("trace never showed both deliveries: %v\n%s", err, b)
	}
	types := eventTypes(tr.Events)
	if types != "received new_ticket queued queued" {
		t.Errorf("inbound events: %s", types)
	}
	if e := tr.Events[0]; e.Source != "smtp" || e.From != "carl@customer.example" || e.Project != "ACME" {
		t.Errorf("received: %+v", e)
	}
	if e := tr.Events[1]; e.Ticket != "ACME-1" || e.Rule != "new" {
		t.Errorf("new_ticket: %+v", e)
	}
	rcpts := map[string]bool{}
	for _, s := range tr.Sent {
		if !strings.HasPrefix(s.MessageID, "tg.") || eventTypes(s.Events) != "queued delivered" {
			t.Errorf("sent %s: %s", s.MessageID, eventTypes(s.Events))
		}
		rcpts[s.Events[0].Recipient] = true
	}
	if !rcpts["carl@customer.example"] || !rcpts["alice@example.com"] {
		t.Errorf("sent to %v", rcpts)
	}

	out, err := cl.Trace(context.Background(), tr.Sent[0].MessageID)
	if err != nil || out.Cause == nil || out.Cause.MessageID != "trace1@customer.example" || len(out.Sent) != 0 {
		t.Errorf("outbound trace: %+v, %v", out, err)
	}

	// A suppressed auto-reply is in the trace with its reason.
	err = d.Store().Update(context.Background(), func(tx store.Tx) error {
		return tx.Suppress(&store.Suppression{Address: "dora@customer.example", Until: time.Now().Add(time.Hour), Reason: "hard bounce"})
	})
	if err != nil {
		t.Fatal(err)
	}
	mustSend(t, d.Addr("smtp"), "dora@customer.example", []string{"acme@support.example.com"},
		msg("dora@customer.example", "acme@support.example.com", "Hi", "trace2@customer.example", "hi"))
	waitMessages(t, sink, 3)
	changesOf(t, d).Until(waitLimit, func() bool {
		tr, err = cl.Trace(context.Background(), "trace2@customer.example")
		return err == nil && hasType(tr.Events, store.AuditHeld)
	})
	var held *store.AuditEvent
	for _, e := range tr.Events {
		if e.Type == store.AuditHeld {
			held = e
		}
	}
	if held == nil || held.Recipient != "dora@customer.example" || !strings.Contains(held.Detail, "hard bounce") {
		t.Errorf("suppressed event: %+v (events %s)", held, eventTypes(tr.Events))
	}

	_, err = cl.Trace(context.Background(), "nobody@nowhere")
	if se, ok := err.(*admin.StatusError); !ok || se.Code != 404 {
		t.Errorf("unknown id: %v", err)
	}
}

func hasType(ev []*store.AuditEvent, typ store.AuditType) bool {
	for _, e := range ev {
		if e.Type == typ {
			return true
		}
	}
	return false
}

func eventTypes(ev []*store.AuditEvent) string {
	var s []string
	for _, e := range ev {
		s = append(s, string(e.Type))
	}
	return strings.Join(s, " ")
}

// TestHealthyNeedsTheSender: the watchdog check fails once the sender
// loop is gone.
func TestHealthyNeedsTheSender(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := start(t, testConfig(t, t.TempDir(), sink))
	// Run starts in its goroutine: its first heartbeat is a change.
	changesOf(t, d).Until(waitLimit, func() bool { return !d.sender.Heartbeat().IsZero() })
	if err := d.Healthy(); err != nil {
		t.Fatalf("healthy daemon: %v", err)
	}
	d.stopSender()
	// The loop's end is a change too (after its heartbeat was cleared).
	waitUntil(t, d, "the sender loop to end", func() bool { return d.sender.Heartbeat().IsZero() })
	if err := d.Healthy(); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("sender stopped: %v", err)
	}
}

// TestTraceLinksABounce: a delivery report for our auto-reply is linked
// both ways — the auto-reply's trace says it bounced and names the report,
// the report's trace names the mail it is about.
func TestTraceLinksABounce(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := testConfig(t, t.TempDir(), sink)
	c.Admin.Users = map[string]string{unixUser(t): "alice@example.com"}
	d := start(t, c)
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		msg("carl@customer.example", "acme@support.example.com", "Will bounce", "bb1@customer.example", "hi"))
	waitMessages(t, sink, 2)
	// Their own auto-reply, waited for, not whichever mail came first.
	ar := waitMailTo(t, sink, "carl@customer.example", "http://ticketgate.test/t/")
	h := header(t, ar)
	outID := strings.Trim(h.Get("Message-Id"), "<>")
	dsn := "From: MAILER-DAEMON@mx.customer.example\r\nTo: " + ar.From + "\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
		"Message-ID: <dsn1@mx.customer.example>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n" +
		"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.customer.example\r\n\r\n" +
		"Final-Recipient: rfc822; carl@customer.example\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n" +
		"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <" + outID + ">\r\n--b--\r\n"
	mustSend(t, d.Addr("smtp"), "", []string{ar.From}, dsn)

	cl := admin.NewSocketClient(d.Config().DataDir + "/" + AdminSocketName)
	var tr *admin.Trace
	changesOf(t, d).Until(waitLimit, func() bool {
		var err error
		tr, err = cl.Trace(context.Background(), outID)
		return err == nil && hasType(tr.Events, store.AuditBounced) && hasType(tr.Events, store.AuditDelivered)
	})
	// The relay's 250 and the report race; both are there.
	if got := eventTypes(tr.Events); got != "queued delivered bounced" && got != "queued bounced delivered" {
		t.Fatalf("auto-reply's events: %s", got)
	}
	var b *store.AuditEvent
	for _, e := range tr.Events {
		if e.Type == store.AuditBounced {
			b = e
		}
	}
	if b.Related != "dsn1@mx.customer.example" || b.Recipient != "carl@customer.example" || !strings.Contains(b.Detail, "5.1.1") {
		t.Errorf("bounced event: %+v", b)
	}
	if tr.Cause == nil || tr.Cause.MessageID != "bb1@customer.example" || len(tr.Related) != 1 || tr.Related[0].MessageID != "dsn1@mx.customer.example" {
		t.Errorf("links: cause %+v related %+v", tr.Cause, tr.Related)
	}
	rep, err := cl.Trace(context.Background(), "dsn1@mx.customer.example")
	if err != nil || !hasType(rep.Events, store.AuditBounced) || len(rep.Related) != 1 || rep.Related[0].MessageID != outID || len(rep.Sent) != 0 {
		t.Errorf("report's trace: %+v %v", rep, err)
	}
}

// TestEarlyScrapeDuringStart: a scraper hitting metrics.listen while the
// daemon starts is answered only once every listener is in place, so every
// answer has the SMTP listener's session gauge (and -race sees no read of
// the sessions map while the listeners fill it).
func TestEarlyScrapeDuringStart(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	for i := range 5 {
		c := testConfig(t, t.TempDir(), sink)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		c.Metrics.Listen = addr
		started := make(chan struct{})
		answers := make(chan string, 1000)
		scraped := make(chan struct{})
		go func() {
			defer close(scraped)
			for {
				select {
				case <-started:
					return
				default:
				}
				resp, err := http.Get("http://" + addr + "/metrics")
				if err != nil {
					continue // not listening yet
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				select {
				case answers <- string(b):
				default:
				}
			}
		}()
		d, err := Start(c, testLogger(t), Options{})
		close(started)
		<-scraped
		if err != nil {
			t.Fatal(err)
		}
		d.Shutdown(context.Background())
		close(answers)
		n := 0
		for body := range answers {
			n++
			if metricValue(body, `ticketgate_smtp_sessions_open{listener="smtp"}`) < 0 {
				t.Fatalf("start %d: a scrape was answered before the SMTP listener existed:\n%.400s", i, body)
			}
		}
		t.Logf("start %d: %d scrape(s) answered during start", i, n)
	}
}
