package imapin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/ingest"
	"github.com/ticketgate/ticketgate/internal/waitfor"
	"github.com/ticketgate/ticketgate/mailin"
	"github.com/ticketgate/ticketgate/message"
	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/storetest"
	"github.com/ticketgate/ticketgate/templates"
	"github.com/ticketgate/ticketgate/ticket"
)

// Capability sets of the in-memory server.
var (
	capsRev2 = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}} // IDLE, MOVE, UIDPLUS
	// capsCopyOnly lacks MOVE: COPY + \Deleted + UID EXPUNGE. (The
	// server always offers IDLE to IMAP4rev1 clients; idle: false tests
	// polling.)
	capsCopyOnly = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}
)

// seqCommand matches a client command that is not the UID form.
var seqCommand = regexp.MustCompile(`(?m)^[^*+\s]\S* (FETCH|STORE|SEARCH|MOVE|COPY|EXPUNGE)\b.*`)

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// memIMAP is go-imap's in-memory server on a loopback port.
type memIMAP struct {
	port int
	user *imapmemserver.User
	wire *lockedBuffer // the raw protocol, both ways
}

func startMem(t *testing.T, caps imap.CapSet) *memIMAP {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("support", "secret")
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	wire := &lockedBuffer{}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         caps,
		InsecureAuth: true,
		Logger:       discardLogger{},
		DebugWriter:  wire,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &memIMAP{port: ln.Addr().(*net.TCPAddr).Port, user: u, wire: wire}
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

func (m *memIMAP) append(t *testing.T, mailbox, raw string) {
	t.Helper()
	if _, err := m.user.Append(mailbox, bytes.NewReader([]byte(raw)), &imap.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (m *memIMAP) count(mailbox string) int {
	sd, err := m.user.Status(mailbox, &imap.StatusOptions{NumMessages: true})
	if err != nil {
		return 0
	}
	return int(*sd.NumMessages)
}

func mail(n int, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Return-Path: <c%d@customer.example>\r\nFrom: Customer %d <c%d@customer.example>\r\nTo: acme@support.example.com\r\nSubject: question %d\r\nDate: Mon, 02 Nov 2026 10:00:00 +0000\r\nMessage-ID: <q%d@customer.example>\r\n", n, n, n, n, n)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "\r\nPlease help with problem %d.\r\n", n)
	return b.String()
}

// env is a real pipeline (store, ticket engine, notifier) for one project.
type env struct {
	cfg  *config.Config
	st   store.DB
	pipe *ingest.Pipeline
	// changes is told of the store's commits and, through each manager's
	// OnStatus, of the mailboxes' changes.
	changes *waitfor.Signal
}

func newEnv(t *testing.T, port int, edit func(*config.IMAP)) *env {
	t.Helper()
	dir := t.TempDir()
	pw := filepath.Join(dir, "imap.pw")
	os.WriteFile(pw, []byte("secret\n"), 0o600)
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Web.BaseURL = "http://ticketgate.test"
	m := &config.IMAP{Host: "127.0.0.1", Port: port, TLS: "none", Username: "support", PasswordFile: pw,
		ProcessedMailbox: "Processed", Start: config.IMAPStartAll, PollInterval: time.Second}
	if edit != nil {
		edit(m)
	}
	cfg.Projects = []config.Project{{Key: "ACME", Address: "acme@support.example.com", Agents: []string{"alice@example.com"},
		Notifications: config.DefaultNotifications(), IMAP: m}}
	if err := cfg.Finalize(); err != nil {
		t.Fatal(err)
	}
	log := testLogger(t)
	ev := new(waitfor.Signal)
	st, err := store.Open(cfg.DataDir, store.Options{NoSync: true, Logger: log, OnCommit: ev.Notify})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfgFn := func() *config.Config { return cfg }
	tmpl := templates.New("")
	n := notify.New(cfgFn, func() *templates.Set { return tmpl }, time.Now, log)
	e := ticket.NewEngine(st, cfgFn, n, time.Now, log)
	return &env{cfg: cfg, st: st, pipe: ingest.New(st, cfgFn, e, log), changes: ev}
}

func (e *env) manager(t *testing.T, r Receiver) *Manager {
	t.Helper()
	if r == nil {
		r = e.pipe
	}
	// imapmemserver misses mail appended between a command and the start
	// of IDLE until the next change (Dovecot does not); a short IDLE
	// refresh bounds that, as the 25-minute one does in production.
	m := NewManager(e.st, r, Options{BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond, IdleRefresh: 2 * time.Second, Logger: testLogger(t), OnStatus: e.changes.Notify})
	m.Apply(e.cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return m
}

// tickets maps Message-ID → how many times it is stored.
func (e *env) stored(t *testing.T) (tickets int, perID map[string]int) {
	t.Helper()
	return storetest.MessageIDs(t, e.st, "ACME")
}

func (e *env) outbox(t *testing.T) []*store.OutboxItem {
	t.Helper()
	var items []*store.OutboxItem
	e.st.View(func(tx store.Tx) error {
		var err error
		items, _, err = tx.DueOutbox(time.Now().Add(1000*time.Hour), 10000)
		return err
	})
	return items
}

// eventually looks at cond after every change in e — a commit of its
// store, a change of a mailbox's state, a connection dialled — until it
// holds (no timing assertion: the limit only keeps a broken build from
// hanging). Every message handled ends with a state change after its MOVE
// (the count of messages ingested, or the sync's end), so conditions on
// the IMAP server's mailboxes are looked at again then.
func (e *env) eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	e.changes.Wait(t, 20*time.Second, what, cond)
}

func checkOnce(t *testing.T, perID map[string]int, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if perID[id] != 1 {
			t.Errorf("%s stored %d times, want 1", id, perID[id])
		}
	}
}

func TestIdleIngestsAndMoves(t *testing.T) {
	srv := startMem(t, capsRev2)
	srv.append(t, "INBOX", mail(1))
	srv.append(t, "INBOX", mail(2))
	e := newEnv(t, srv.port, nil)
	m := e.manager(t, nil)
	e.eventually(t, "backlog moved to Processed", func() bool { return srv.count("Processed") == 2 })
	e.eventually(t, "idling", func() bool { s := m.Status(); return len(s) == 1 && s[0].Idling })

	start := time.Now()
	srv.append(t, "INBOX", mail(3))
	e.eventually(t, "new mail while idling becomes a ticket", func() bool { n, _ := e.stored(t); return n == 3 })
	t.Logf("IDLE: message appended → ticket in %v (in-memory server)", time.Since(start))
	e.eventually(t, "moved", func() bool { return srv.count("Processed") == 3 && srv.count("INBOX") == 0 })
	_, perID := e.stored(t)
	checkOnce(t, perID, "q1@customer.example", "q2@customer.example", "q3@customer.example")
	w := srv.wire.String()
	for _, cmd := range []string{"UID SEARCH", "BODY.PEEK[]", "RFC822.SIZE", "UID MOVE", " IDLE\r\n"} {
		if !strings.Contains(w, cmd) {
			t.Errorf("%q never sent", cmd)
		}
	}
	// UIDs only: no command uses sequence numbers.
	if seq := seqCommand.FindString(w); seq != "" {
		t.Errorf("sequence-number command sent: %q", seq)
	}
	if srv.count("Ticketgate-Errors") != 0 {
		t.Error("error mailbox not empty")
	}
	// The server has the message moved a moment before the fetcher
	// counts it.
	e.eventually(t, "counted", func() bool { return m.Status()[0].Ingested == 3 })
	s := m.Status()[0]
	if s.Project != "ACME" || s.Mailbox != "INBOX" || !s.Connected || s.Ingested != 3 || s.LastSync.IsZero() || s.LastPoll.IsZero() || s.Errors != 0 {
		t.Errorf("status = %+v", s)
	}
	// The auto-replies were queued: mail was not quiet.
	if n := len(e.outbox(t)); n == 0 {
		t.Error("no auto-replies queued")
	}
}

func TestPollingWithCopyFallback(t *testing.T) {
	srv := startMem(t, capsCopyOnly)
	srv.append(t, "INBOX", mail(1))
	e := newEnv(t, srv.port, nil)
	e.manager(t, nil)
	e.eventually(t, "first message moved", func() bool { return srv.count("Processed") == 1 && srv.count("INBOX") == 0 })
	srv.append(t, "INBOX", mail(2))
	e.eventually(t, "second message moved", func() bool { return srv.count("Processed") == 2 && srv.count("INBOX") == 0 })
	w := srv.wire.String()
	if strings.Contains(w, "UID MOVE") || !strings.Contains(w, "UID COPY") || !strings.Contains(w, "UID EXPUNGE") || !strings.Contains(w, "\\Deleted") {
		t.Error("without MOVE the fetcher did not use UID COPY, \\Deleted and UID EXPUNGE")
	}
	n, perID := e.stored(t)
	if n != 2 {
		t.Errorf("%d tickets, want 2", n)
	}
	checkOnce(t, perID, "q1@customer.example", "q2@customer.example")
}

func TestIdleOffPolls(t *testing.T) {
	srv := startMem(t, capsRev2)
	e := newEnv(t, srv.port, func(m *config.IMAP) { off := false; m.Idle = &off })
	m := e.manager(t, nil)
	e.eventually(t, "connected", func() bool { s := m.Status(); return len(s) == 1 && s[0].Connected })
	srv.append(t, "INBOX", mail(1))
	start := time.Now()
	e.eventually(t, "polled", func() bool { return srv.count("Processed") == 1 })
	t.Logf("polling (poll_interval 1s): message appended → moved in %v", time.Since(start))
	if m.Status()[0].Idling {
		t.Error("idling with idle: false")
	}
}

func TestSeenOnlyWithoutProcessedMailbox(t *testing.T) {
	srv := startMem(t, capsRev2)
	srv.append(t, "INBOX", mail(1))
	e := newEnv(t, srv.port, func(m *config.IMAP) { m.ProcessedMailbox = "" })
	e.manager(t, nil)
	e.eventually(t, "ticket", func() bool { n, _ := e.stored(t); return n == 1 })
	e.eventually(t, "flagged seen", func() bool {
		sd, _ := srv.user.Status("INBOX", &imap.StatusOptions{NumUnseen: true})
		return *sd.NumUnseen == 0
	})
	if srv.count("INBOX") != 1 {
		t.Error("message left the mailbox")
	}
}

func TestStartNowIgnoresBacklog(t *testing.T) {
	srv := startMem(t, capsRev2)
	srv.append(t, "INBOX", mail(1))
	srv.append(t, "INBOX", mail(2))
	e := newEnv(t, srv.port, func(m *config.IMAP) { m.Start = config.IMAPStartNow })
	m := e.manager(t, nil)
	e.eventually(t, "idling", func() bool { s := m.Status(); return len(s) == 1 && s[0].Idling })
	srv.append(t, "INBOX", mail(3))
	e.eventually(t, "new mail ingested", func() bool { return srv.count("Processed") == 1 })
	n, perID := e.stored(t)
	if n != 1 || perID["q3@customer.example"] != 1 || srv.count("INBOX") != 2 {
		t.Errorf("start: now: %d tickets %v, %d left in INBOX", n, perID, srv.count("INBOX"))
	}
}

func TestStartAllQuietSendsNothingForBacklog(t *testing.T) {
	srv := startMem(t, capsRev2)
	for i := range 5 {
		srv.append(t, "INBOX", mail(i))
	}
	e := newEnv(t, srv.port, func(m *config.IMAP) { m.Start = config.IMAPStartAllQuiet })
	m := e.manager(t, nil)
	e.eventually(t, "backlog ingested", func() bool { return srv.count("Processed") == 5 })
	if n, _ := e.stored(t); n != 5 {
		t.Errorf("%d tickets, want 5", n)
	}
	if items := e.outbox(t); len(items) != 0 {
		t.Errorf("all-quiet backlog queued %d mails, e.g. %s to %s", len(items), items[0].Event, items[0].Recipient)
	}
	// Mail arriving afterwards is ordinary mail.
	e.eventually(t, "idling", func() bool { return m.Status()[0].Idling })
	srv.append(t, "INBOX", mail(9))
	e.eventually(t, "new mail ingested", func() bool { return srv.count("Processed") == 6 })
	if len(e.outbox(t)) == 0 {
		t.Error("mail after the backlog queued nothing")
	}
}

// flaky wraps the real pipeline: it fails messages containing poison
// permanently, and the first tempFails calls temporarily.
type flaky struct {
	next      Receiver
	poison    string
	mu        sync.Mutex
	tempFails int
	// tempFor fails the message with that Message-ID temporarily so many
	// times (a sender over the new-ticket rate).
	tempFor map[string]int
	calls   map[string]int
}

func (f *flaky) Receive(ctx context.Context, env *mailin.Envelope, r io.Reader) []error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return []error{fault.Temporary(err)}
	}
	h := scanHeader(raw)
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[h.messageID]++
	temp := f.tempFails > 0
	if temp {
		f.tempFails--
	}
	if f.tempFor[h.messageID] > 0 {
		f.tempFor[h.messageID]--
		temp = true
	}
	f.mu.Unlock()
	if temp {
		return []error{fault.Temporaryf("store busy (test)")}
	}
	if f.poison != "" && bytes.Contains(raw, []byte(f.poison)) {
		return []error{fault.Permanentf("poisoned (test)")}
	}
	return f.next.Receive(ctx, env, bytes.NewReader(raw))
}

func (f *flaky) count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[id]
}

func TestPoisonedMessageGoesToErrorMailbox(t *testing.T) {
	srv := startMem(t, capsRev2)
	srv.append(t, "INBOX", mail(1))
	srv.append(t, "INBOX", mail(2, "X-Test: POISON"))
	srv.append(t, "INBOX", mail(3))
	e := newEnv(t, srv.port, func(m *config.IMAP) { m.MaxAttempts = 2 })
	r := &flaky{next: e.pipe, poison: "POISON"}
	m := e.manager(t, r)
	e.eventually(t, "good messages processed", func() bool { return srv.count("Processed") == 2 })
	e.eventually(t, "poisoned message isolated", func() bool { return srv.count("Ticketgate-Errors") == 1 })
	e.eventually(t, "inbox empty", func() bool { return srv.count("INBOX") == 0 })
	if n := r.count("q2@customer.example"); n != 2 {
		t.Errorf("poisoned message tried %d times, want max_attempts = 2", n)
	}
	n, perID := e.stored(t)
	if n != 2 || perID["q2@customer.example"] != 0 {
		t.Errorf("%d tickets %v", n, perID)
	}
	checkOnce(t, perID, "q1@customer.example", "q3@customer.example")
	s := m.Status()[0]
	if s.Errors == 0 || !strings.Contains(s.LastError, "poisoned") || s.LastErrorAt.IsZero() {
		t.Errorf("status = %+v", s)
	}
	// The cursor passed everything.
	srv.append(t, "INBOX", mail(4))
	e.eventually(t, "later mail flows", func() bool { return srv.count("Processed") == 3 })
	if r.count("q2@customer.example") != 2 {
		t.Error("poisoned message fetched again")
	}
}

func TestTemporaryFailuresAreNotCounted(t *testing.T) {
	srv := startMem(t, capsRev2)
	srv.append(t, "INBOX", mail(1))
	e := newEnv(t, srv.port, func(m *config.IMAP) { m.MaxAttempts = 1 })
	r := &flaky{next: e.pipe, tempFails: 3}
	e.manager(t, r)
	e.eventually(t, "ingested after the store recovered", func() bool { return srv.count("Processed") == 1 })
	if srv.count("Ticketgate-Errors") != 0 {
		t.Error("a temporary failure counted as an attempt")
	}
	if n := r.count("q1@customer.example"); n != 4 {
		t.Errorf("%d calls, want 3 temporary failures + 1 success", n)
	}
}

// A message refused for now (its sender is over the new-ticket rate) does
// not hold up the ones behind it, and is stored once the refusal lifts.
func TestDeferredMessageDoesNotBlockOthers(t *testing.T) {
	srv := startMem(t, capsRev2)
	for i := 1; i <= 3; i++ {
		srv.append(t, "INBOX", mail(i))
	}
	e := newEnv(t, srv.port, func(m *config.IMAP) { m.MaxAttempts = 1 })
	r := &flaky{next: e.pipe, tempFor: map[string]int{"q1@customer.example": 2}}
	e.manager(t, r)
	e.eventually(t, "all three stored", func() bool { return srv.count("Processed") == 3 })
	if srv.count("Ticketgate-Errors") != 0 {
		t.Error("a temporary refusal counted as an attempt")
	}
	// q2 and q3 went ahead: q1 got the last ticket number.
	var q1Ticket string
	e.st.View(func(tx store.Tx) error {
		return tx.ForEachTicket("ACME", func(tk *store.Ticket) bool {
			msgs, _ := tx.TicketMessages(tk.Key)
			for _, m := range msgs {
				if m.MessageID == "q1@customer.example" {
					q1Ticket = tk.Key
				}
			}
			return true
		})
	})
	if q1Ticket != "ACME-3" || r.count("q1@customer.example") != 3 {
		t.Errorf("q1 in %s after %d calls; want ACME-3 after 3", q1Ticket, r.count("q1@customer.example"))
	}
}

// An attempt counted before a crash counts: after max_attempts the message
// is isolated without being processed again.
func TestCrashLoopMessageIsIsolated(t *testing.T) {
	srv := startMem(t, capsRev2)
	srv.append(t, "INBOX", mail(1))
	srv.append(t, "INBOX", mail(2))
	e := newEnv(t, srv.port, func(m *config.IMAP) { m.MaxAttempts = 2 })
	// Simulate two crashes while processing UID 1: the cursor exists
	// (first start done) and two attempts are on record.
	a := account{Project: "ACME", IMAP: *e.cfg.Projects[0].IMAP}
	sd, _ := srv.user.Status("INBOX", &imap.StatusOptions{UIDValidity: true})
	err := e.st.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.SetIMAPCursor(a.key(), store.IMAPCursor{UIDValidity: sd.UIDValidity}); err != nil {
			return err
		}
		return tx.PutIMAPAttempt(a.key(), sd.UIDValidity, 1, store.IMAPAttempt{Attempts: 2})
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &flaky{next: e.pipe}
	e.manager(t, r)
	e.eventually(t, "isolated", func() bool { return srv.count("Ticketgate-Errors") == 1 && srv.count("Processed") == 1 })
	if r.count("q1@customer.example") != 0 {
		t.Error("the crash-loop message was processed again")
	}
}

func TestOversizeMessageBecomesANote(t *testing.T) {
	srv := startMem(t, capsRev2)
	big := "Return-Path: <big@customer.example>\r\nFrom: big@customer.example\r\nTo: acme@support.example.com\r\nSubject: huge attachment\r\nMessage-ID: <big@customer.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" + strings.Repeat("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n", 200) + "--XX--\r\n"
	srv.append(t, "INBOX", big)
	srv.append(t, "INBOX", mail(1))
	e := newEnv(t, srv.port, nil)
	e.cfg.Inbound.MaxMessageBytes = 4096
	e.manager(t, nil)
	e.eventually(t, "oversize message left in the error mailbox", func() bool { return srv.count("Ticketgate-Errors") == 1 })
	e.eventually(t, "the other one processed", func() bool { return srv.count("Processed") == 1 })
	var text, auto string
	e.st.View(func(tx store.Tx) error {
		return tx.ForEachTicket("ACME", func(tk *store.Ticket) bool {
			msgs, _ := tx.TicketMessages(tk.Key)
			for _, m := range msgs {
				if m.MessageID == "big@customer.example" {
					text, auto = m.Text, m.Auto
				}
			}
			return true
		})
	})
	if !strings.Contains(text, "was not downloaded") || !strings.Contains(text, "max_message_bytes") {
		t.Errorf("stored text %q", text)
	}
	if !strings.Contains(auto, "Message too large") {
		t.Errorf("auto = %q, want the refusal", auto)
	}
	told := false
	for _, it := range e.outbox(t) {
		if it.Recipient == "big@customer.example" {
			told = true
			if !strings.HasSuffix(it.Event, "message_refused") {
				t.Errorf("sender got %s, want message_refused", it.Event)
			}
		}
	}
	if !told {
		t.Error("the sender of the oversize message was not told")
	}
}

// UIDVALIDITY changes (the mailbox is recreated): everything is read again,
// nothing is stored twice. Also covers a crash between the commit and the
// \Seen flag: the re-read finds every message already stored.
func TestUIDValidityChangeCreatesNoDuplicates(t *testing.T) {
	srv := startMem(t, capsRev2)
	srv.append(t, "INBOX", mail(1))
	srv.append(t, "INBOX", mail(2))
	e := newEnv(t, srv.port, func(m *config.IMAP) { m.ProcessedMailbox = "" })
	m := e.manager(t, nil)
	e.eventually(t, "two tickets", func() bool { n, _ := e.stored(t); return n == 2 })
	e.eventually(t, "idling", func() bool { return m.Status()[0].Idling })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.user.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	srv.user.Create("INBOX", nil)
	srv.append(t, "INBOX", mail(1))
	srv.append(t, "INBOX", mail(2))
	srv.append(t, "INBOX", mail(3))
	r := &flaky{next: e.pipe}
	m2 := e.manager(t, r)
	e.eventually(t, "re-read", func() bool { n, _ := e.stored(t); return n == 3 && m2.Status()[0].Idling })
	n, perID := e.stored(t)
	if n != 3 {
		t.Errorf("%d tickets after the UIDVALIDITY change, want 3", n)
	}
	checkOnce(t, perID, "q1@customer.example", "q2@customer.example", "q3@customer.example")
	if r.count("q1@customer.example") != 1 {
		t.Error("old messages were not re-read after the UIDVALIDITY change")
	}
}

// The mailbox is recreated while the fetcher idles on it and the server
// says nothing: the re-SELECT at the IDLE refresh notices the new
// UIDVALIDITY.
func TestUIDValidityChangeWhileConnected(t *testing.T) {
	srv := startMem(t, capsRev2)
	srv.append(t, "INBOX", mail(1))
	e := newEnv(t, srv.port, func(m *config.IMAP) { m.ProcessedMailbox = "" })
	r := &flaky{next: e.pipe}
	m := NewManager(e.st, r, Options{BackoffMin: 20 * time.Millisecond, IdleRefresh: 100 * time.Millisecond, Logger: testLogger(t), OnStatus: e.changes.Notify})
	m.Apply(e.cfg)
	defer m.Stop(context.Background())
	e.eventually(t, "first message", func() bool { return r.count("q1@customer.example") == 1 })
	srv.user.Delete("INBOX")
	srv.user.Create("INBOX", nil)
	srv.append(t, "INBOX", mail(1))
	srv.append(t, "INBOX", mail(2))
	e.eventually(t, "re-read after the refresh", func() bool {
		n, _ := e.stored(t)
		return n == 2 && r.count("q1@customer.example") == 2
	})
	n, perID := e.stored(t)
	if n != 2 {
		t.Errorf("%d tickets, want 2", n)
	}
	checkOnce(t, perID, "q1@customer.example", "q2@customer.example")
}

// A crash after the commit but before the MOVE: the message is still in
// the mailbox; the next start stores nothing new and moves it.
func TestCommitWithoutMoveIsNotDuplicated(t *testing.T) {
	srv := startMem(t, capsRev2)
	raw := mail(1)
	srv.append(t, "INBOX", raw)
	e := newEnv(t, srv.port, nil)
	errs := e.pipe.Receive(context.Background(), &mailin.Envelope{Source: "imap", Trusted: true, MailFrom: "c1@customer.example", Rcpts: []string{"acme@support.example.com"}}, strings.NewReader(raw))
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	e.manager(t, nil)
	e.eventually(t, "moved", func() bool { return srv.count("Processed") == 1 })
	n, perID := e.stored(t)
	if n != 1 {
		t.Errorf("%d tickets, want 1", n)
	}
	checkOnce(t, perID, "q1@customer.example")
}

func TestReconnectAfterServerLoss(t *testing.T) {
	srv := startMem(t, capsRev2)
	e := newEnv(t, srv.port, func(m *config.IMAP) { m.Port = freePort(t) }) // nothing listens there
	m := e.manager(t, nil)
	e.eventually(t, "errors recorded", func() bool { s := m.Status(); return len(s) == 1 && s[0].Errors >= 2 })
	s := m.Status()[0]
	if s.Connected || !strings.Contains(s.LastError, "connect") {
		t.Errorf("status = %+v", s)
	}
}

func TestApplyReloads(t *testing.T) {
	srv := startMem(t, capsRev2)
	e := newEnv(t, srv.port, nil)
	m := e.manager(t, nil)
	e.eventually(t, "idling", func() bool { s := m.Status(); return len(s) == 1 && s[0].Idling })
	first := m.fetchers["ACME"]
	m.Apply(e.cfg) // unchanged: the same fetcher goes on
	if m.fetchers["ACME"] != first {
		t.Error("unchanged config restarted the fetcher")
	}
	changed := *e.cfg
	changed.Projects = append([]config.Project(nil), e.cfg.Projects...)
	im := *changed.Projects[0].IMAP
	im.Mailbox = "Support"
	srv.user.Create("Support", nil)
	changed.Projects[0].IMAP = &im
	m.Apply(&changed)
	if m.fetchers["ACME"] == first {
		t.Fatal("changed mailbox did not restart the fetcher")
	}
	e.eventually(t, "reading Support", func() bool { s := m.Status(); return len(s) == 1 && s[0].Mailbox == "Support" && s[0].Idling })
	srv.append(t, "Support", mail(1))
	e.eventually(t, "ingested from Support", func() bool { return srv.count("Processed") == 1 })
	changed.Projects[0].IMAP = nil
	m.Apply(&changed)
	if len(m.Status()) != 0 {
		t.Error("removed mailbox still running")
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// scanHeader reads what the fetcher reads from a header, through
// package message as the fetcher does.
func scanHeader(raw []byte) headerInfo {
	h, err := message.ReadHeader(bytes.NewReader(raw))
	if err != nil {
		panic(err)
	}
	return envelopeOf(h)
}

func TestScanHeader(t *testing.T) {
	h := scanHeader([]byte("Return-Path: <>\r\nReturn-Path: <older@x>\r\nMessage-ID:\r\n <id@x>\r\n\r\nReturn-Path: <body@x>\r\n"))
	if !h.nullSender || h.returnPath != "" || h.messageID != "id@x" {
		t.Errorf("%+v", h)
	}
	h = scanHeader([]byte("Subject: x\nReturn-Path: a@b\n\n"))
	if h.nullSender || h.returnPath != "a@b" {
		t.Errorf("%+v", h)
	}
	hdr, err := message.ReadHeader(strings.NewReader("Subject: big\r\nContent-Type: multipart/mixed;\r\n boundary=x\r\nMIME-Version: 1.0\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	note := string(oversizeStandIn(hdr, 100, 10, "Err"))
	if strings.Contains(note, "multipart") || !strings.Contains(note, "Subject: big\r\n") || !strings.Contains(note, "100 bytes") {
		t.Errorf("stand-in:\n%s", note)
	}
}
