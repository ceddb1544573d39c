package mailout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	bolt "go.etcd.io/bbolt"

	"github.com/ticketgate/ticketgate/internal/flow"
	"github.com/ticketgate/ticketgate/internal/waitfor"
	"github.com/ticketgate/ticketgate/mailout"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// textRenderer renders a row's bodies from its own fields, as notify does
// from its template values.
type textRenderer struct{}

func (textRenderer) Render(_ store.Tx, it *store.OutboxItem) (mailout.Body, error) {
	return mailout.Body{Text: "Hello " + it.Recipient + ",\n" + it.Vars.Detail + "\n", HTML: "<p>Hello " + it.Recipient + "</p>"}, nil
}

// counting wraps a transport and counts, per Message-ID, the sends the
// relay accepted: the sender records an attempt only after that, so a
// kill in between may send it again.
type counting struct {
	mailout.Transport
	mu   sync.Mutex
	sent map[string]int
	// capture, when set, keeps every attempt's bytes per Message-ID.
	capture map[string][][]byte
}

func (c *counting) Send(ctx context.Context, env mailout.Envelope, msg io.Reader) error {
	if c.capture != nil {
		b, err := io.ReadAll(msg)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.capture[env.MessageID] = append(c.capture[env.MessageID], b)
		c.mu.Unlock()
		msg = bytes.NewReader(b)
	}
	err := c.Transport.Send(ctx, env, msg)
	if err == nil {
		c.mu.Lock()
		c.sent[env.MessageID]++
		c.mu.Unlock()
	}
	return err
}

// queue is a store, a sink and a sender that can be restarted and killed.
type queue struct {
	t       *testing.T
	dir     string
	st      store.DB
	sink    *mailouttest.Sink
	tr      *counting
	workers int
	retry   mailout.Retry
	// flow, when set before start, is the sender's pacing gate.
	flow *flow.Gate
	// wrap, when set before start, wraps the transport to the relay;
	// setup adjusts the sender before it runs.
	wrap  func(mailout.Transport) mailout.Transport
	setup func(*mailout.Sender)

	s        *mailout.Sender
	cancel   context.CancelFunc
	done     chan struct{}
	attempts chan string
	// health is told whenever the sender's heartbeat or health changed.
	health waitfor.Signal

	mu       sync.Mutex
	recorded map[string]int // delivered and dequeued, per Message-ID
	gaveUp   map[string]string
	repaired int
	seq      int
}

func newQueue(t *testing.T, opts mailouttest.Options, workers int, retry mailout.Retry) *queue {
	q := &queue{t: t, dir: t.TempDir(), sink: mailouttest.NewSink(t, opts), workers: workers, retry: retry,
		recorded: map[string]int{}, gaveUp: map[string]string{}, attempts: make(chan string, 1<<16)}
	q.tr = &counting{sent: map[string]int{}}
	q.open()
	t.Cleanup(func() {
		if q.cancel != nil {
			q.stop()
		}
		if q.st != nil {
			q.st.Close()
		}
	})
	return q
}

func (q *queue) open() {
	st, err := store.Open(q.dir, store.Options{NoSync: true})
	if err != nil {
		q.t.Fatal(err)
	}
	q.st = st
}

// start runs a new sender over the open store.
func (q *queue) start() {
	var tr mailout.Transport = mailout.NewPool(q.workers, func() mailout.Transport {
		// A healthy relay answers; under -race on a busy machine an answer
		// can take longer than 10 s, and a sender that times out after the
		// relay accepted must send again (at least once), which is not
		// what these tests measure.
		return mailout.NewSMTP(mailout.SMTPOptions{Host: q.sink.Host(), Port: q.sink.Port(), TLS: "none", Timeout: 2 * time.Minute}, nil)
	})
	if q.wrap != nil {
		tr = q.wrap(tr)
	}
	q.tr.Transport = tr
	s := mailout.NewSender(q.st, q.tr, q.retry, q.workers, slog.New(slog.DiscardHandler))
	s.Render = textRenderer{}
	s.Flow = q.flow
	s.OnAttempt = func(it *store.OutboxItem, result string, err error) {
		q.mu.Lock()
		if result == mailout.Delivered {
			q.recorded[it.MessageID]++
		}
		q.mu.Unlock()
		q.attempts <- result
	}
	s.OnGiveUp = func(tx store.Tx, it *store.OutboxItem, reason string) error {
		q.mu.Lock()
		q.gaveUp[it.Recipient+" "+it.MessageID] = reason
		q.mu.Unlock()
		return nil
	}
	s.OnRepair = func(n int) { q.mu.Lock(); q.repaired += n; q.mu.Unlock() }
	s.OnHealth = q.health.Notify
	if q.setup != nil {
		q.setup(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	q.s, q.cancel, q.done = s, cancel, make(chan struct{})
	go func() { s.Run(ctx); close(q.done) }()
}

// stop ends the sender cleanly: attempts in progress are recorded.
func (q *queue) stop() {
	q.cancel()
	<-q.done
	q.cancel = nil
	q.tr.Transport.Close()
}

// kill simulates a kill: the store goes away under the sender, so what
// was in flight is not recorded; then the store is opened again.
func (q *queue) kill() {
	q.st.Close()
	q.stop()
	q.open()
}

// enqueue queues n mails to rcpt and returns their Message-IDs.
func (q *queue) enqueue(n int, rcpt string, attach []store.Attachment) []string {
	q.t.Helper()
	var ids []string
	now := time.Now()
	err := q.st.Update(context.Background(), func(tx store.Tx) error {
		ids = ids[:0]
		for i := range n {
			id := fmt.Sprintf("tg.q%d-%d@support.example.com", q.seq, i)
			it := &store.OutboxItem{Project: "ACME", Event: "customer/public_comment_added", Recipient: rcpt,
				MailFrom: "acme+bounce-x@support.example.com", MessageID: id, Date: now.Truncate(time.Second), Attach: attach,
				Header: store.OutboxHeader{From: "acme@support.example.com", FromName: "ACME", Subject: "[ACME-1] printer"},
				Vars:   store.OutboxVars{Detail: "item " + id}, Created: now, NextAttempt: now}
			if err := tx.Enqueue(it); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		q.t.Fatal(err)
	}
	q.seq++
	if q.s != nil {
		q.s.Wake()
	}
	return ids
}

// check asserts that the due index matches the rows.
func (q *queue) check(when string) {
	q.t.Helper()
	err := q.st.View(func(tx store.Tx) error {
		c, err := tx.CheckOutbox()
		if err != nil {
			return err
		}
		if !c.OK() {
			return fmt.Errorf("index and rows disagree: %s", c)
		}
		return nil
	})
	if err != nil {
		q.t.Fatalf("%s: %v", when, err)
	}
}

func (q *queue) queued() int {
	var n int
	q.st.View(func(tx store.Tx) error { n, _ = tx.OutboxStats(); return nil })
	return n
}

// drain waits, attempt by attempt, until the outbox is empty.
func (q *queue) drain(timeout time.Duration) {
	q.t.Helper()
	deadline := time.After(timeout)
	for q.queued() > 0 {
		select {
		case <-q.attempts:
		case <-deadline:
			q.t.Fatalf("outbox not drained after %s: %d left, %d at the sink", timeout, q.queued(), len(q.sink.Messages()))
		}
	}
}

// atSink counts the messages the sink accepted per Message-ID.
func (q *queue) atSink() map[string]int {
	q.t.Helper()
	out := map[string]int{}
	for _, m := range q.sink.Messages() {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			q.t.Fatalf("sink message: %v", err)
		}
		out[strings.Trim(msg.Header.Get("Message-ID"), "<>")]++
	}
	return out
}

func fastRetry() mailout.Retry {
	return mailout.Retry{Initial: time.Millisecond, Max: 5 * time.Millisecond, GiveUpAfter: time.Hour}
}

var (
	tempFail = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	permFail = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
)

func TestSenderRetriesGivesUpAndDelivers(t *testing.T) {
	q := newQueue(t, mailouttest.Options{}, 2, mailout.Retry{Initial: 20 * time.Millisecond, Max: 50 * time.Millisecond, GiveUpAfter: 400 * time.Millisecond})
	q.sink.RejectRecipient("dead@x.example", permFail)
	q.sink.RejectRecipient("slow@x.example", tempFail)
	for _, r := range []string{"ok@x.example", "dead@x.example", "slow@x.example"} {
		q.enqueue(1, r, nil)
	}
	q.start()
	q.drain(10 * time.Second)
	q.stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	var dead, slow string
	for k, v := range q.gaveUp {
		switch {
		case strings.HasPrefix(k, "dead@"):
			dead = v
		case strings.HasPrefix(k, "slow@"):
			slow = v
		}
	}
	if !strings.Contains(dead, "permanent failure") {
		t.Errorf("550: %q", dead)
	}
	if !strings.Contains(slow, "still failing after") {
		t.Errorf("451 until too old: %q", slow)
	}
	if msgs := q.sink.Messages(); len(msgs) != 1 || msgs[0].To[0] != "ok@x.example" {
		t.Fatalf("delivered %v", msgs)
	}
	// The temporary failure was retried several times before giving up.
	if n := strings.Count(q.sink.Transcript(), "RCPT TO:<slow@x.example>"); n < 3 {
		t.Errorf("slow@ tried %d times, want retries with backoff", n)
	}
	q.check("after draining")
}

// TestRefusedOnceDrains is the case that stalled the old queue: 2,000
// mails, each refused once by the relay, 16 workers. All are delivered,
// each exactly once, and nothing stays behind.
func TestRefusedOnceDrains(t *testing.T) {
	q := newQueue(t, mailouttest.Options{HeaderOnly: true}, 16, fastRetry())
	ids := q.enqueue(2000, "c@customer.example", nil)
	q.sink.FailNext(mailouttest.AtData, 2000, tempFail)
	q.start()
	q.drain(15 * time.Minute) // a safeguard, not a speed check: -race on a busy machine is slow
	q.stop()
	q.check("after draining")
	got := q.atSink()
	for _, id := range ids {
		if got[id] != 1 {
			t.Fatalf("%s reached the sink %d times", id, got[id])
		}
	}
	if len(got) != 2000 {
		t.Errorf("%d distinct mails at the sink, want 2000", len(got))
	}
}

// TestLargeMailsSentOnce: 3,000 mails with a 64 KiB attachment each make
// exactly 3,000 mails at the sink (the old queue sent 154 twice); the
// attachment is streamed from its blob, not stored per recipient.
func TestLargeMailsSentOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("3,000 × 64 KiB through SMTP")
	}
	q := newQueue(t, mailouttest.Options{HeaderOnly: true}, 16, fastRetry())
	blob, size, err := q.st.PutBlob(bytes.NewReader(bytes.Repeat([]byte("0123456789abcdef"), 4096)))
	if err != nil {
		t.Fatal(err)
	}
	attach := []store.Attachment{{Filename: "log.txt", ContentType: "text/plain", Size: size, Blob: blob}}
	ids := q.enqueue(3000, "c@customer.example", attach)
	before := q.st.Size()
	q.start()
	if _, err := q.sink.WaitFor(3000, 15*time.Minute); err != nil {
		t.Fatal(err)
	}
	q.drain(15 * time.Minute)
	q.stop()
	q.check("after draining")
	got := q.atSink()
	for _, id := range ids {
		if got[id] != 1 {
			t.Fatalf("%s reached the sink %d times", id, got[id])
		}
	}
	msgs := q.sink.Messages()
	if len(msgs) != 3000 || msgs[0].Size < 64<<10 {
		t.Errorf("%d mails at the sink (first %d bytes), want 3000 with the attachment", len(msgs), msgs[0].Size)
	}
	t.Logf("store %d bytes with 3,000 queued rows, %d after sending them", before, q.st.Size())
}

// TestRetrySendsIdenticalBytes: the message is composed from the row at
// every attempt; a retry sends the very same bytes with the same
// Message-ID, attachment included.
func TestRetrySendsIdenticalBytes(t *testing.T) {
	q := newQueue(t, mailouttest.Options{}, 1, fastRetry())
	q.tr.capture = map[string][][]byte{}
	blob, size, err := q.st.PutBlob(strings.NewReader(strings.Repeat("attachment line\n", 1000)))
	if err != nil {
		t.Fatal(err)
	}
	ids := q.enqueue(1, "c@customer.example", []store.Attachment{{Filename: "a.txt", ContentType: "text/plain", Size: size, Blob: blob}})
	q.sink.FailNext(mailouttest.AtData, 2, tempFail)
	q.start()
	q.drain(10 * time.Second)
	q.stop()
	tries := q.tr.capture[ids[0]]
	if len(tries) != 3 {
		t.Fatalf("%d attempts, want 3", len(tries))
	}
	for i := 1; i < len(tries); i++ {
		if !bytes.Equal(tries[0], tries[i]) {
			t.Fatalf("attempt %d differs from the first:\n%s\n----\n%s", i+1, tries[0], tries[i])
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(tries[0]))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Message-ID") != "<"+ids[0]+">" || !strings.Contains(string(tries[0]), "filename=a.txt") {
		t.Errorf("composed message:\n%s", tries[0])
	}
}

// TestMigratedRowIsSent: mail queued by schema 2 (its whole MIME in the
// row) survives the upgrade and goes out byte for byte.
func TestMigratedRowIsSent(t *testing.T) {
	q := newQueue(t, mailouttest.Options{}, 1, fastRetry())
	q.st.Close()
	raw := "From: ACME <acme@support.example.com>\r\nTo: c@customer.example\r\nMessage-ID: <tg.old@support.example.com>\r\nSubject: [ACME-1] printer\r\n\r\nqueued by the old layout\r\n"
	db, err := bolt.Open(filepath.Join(q.dir, "ticketgate.db"), 0o640, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	err = db.Update(func(tx *bolt.Tx) error {
		row, err := json.Marshal(map[string]any{"id": 1, "project": "ACME", "ticket": "ACME-1", "event": "customer/request_created",
			"recipient": "c@customer.example", "mail_from": "acme+bounce-old@support.example.com", "message_id": "tg.old@support.example.com",
			"raw": []byte(raw), "created": now, "next_attempt": now, "attempts": 0})
		if err != nil {
			return err
		}
		k := make([]byte, 8)
		k[7] = 1
		if err := tx.Bucket([]byte("outbox")).Put(k, row); err != nil {
			return err
		}
		due := make([]byte, 16)
		n := uint64(now.UnixNano())
		for i := 7; i >= 0; i-- {
			due[i] = byte(n)
			n >>= 8
		}
		due[15] = 1
		if err := tx.Bucket([]byte("outbox_due")).Put(due, nil); err != nil {
			return err
		}
		v := make([]byte, 8)
		v[7] = 2
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), v)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	q.open()
	q.start()
	msgs, err := q.sink.WaitFor(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	q.drain(10 * time.Second)
	q.stop()
	if string(msgs[0].Data) != raw || msgs[0].From != "acme+bounce-old@support.example.com" {
		t.Errorf("migrated mail sent as %q from %q", msgs[0].Data, msgs[0].From)
	}
}

// TestQueueProperty drives the queue with random operations — new mail,
// temporary refusals at RCPT and DATA, permanent refusals, clean restarts
// and kills (the store goes away under the sender) — and checks after
// every one that the due index matches the rows. At the end every mail
// reached the healthy relay exactly once, except that a kill may resend
// what the relay accepted just before it (same Message-ID), and
// permanently refused mail never; nothing is left behind.
func TestQueueProperty(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	q := newQueue(t, mailouttest.Options{HeaderOnly: true}, 4, fastRetry())
	q.sink.RejectRecipient("dead@x.example", permFail)
	var good, dead []string
	allowed := map[string]int{} // extra copies a kill may cause
	killed := func() {
		// What the relay accepted but the sender could not record is
		// sent again after the restart.
		q.tr.mu.Lock()
		q.mu.Lock()
		for id, n := range q.tr.sent {
			if n > q.recorded[id]+allowed[id] {
				allowed[id] = n - q.recorded[id]
			}
		}
		q.mu.Unlock()
		q.tr.mu.Unlock()
	}
	q.start()
	for step := range 60 {
		var what string
		switch op := rng.IntN(10); {
		case op < 4:
			n := 1 + rng.IntN(20)
			if rng.IntN(8) == 0 {
				dead = append(dead, q.enqueue(n, "dead@x.example", nil)...)
				what = fmt.Sprintf("queue %d for a dead address", n)
			} else {
				good = append(good, q.enqueue(n, fmt.Sprintf("c%d@customer.example", step), nil)...)
				what = fmt.Sprintf("queue %d", n)
			}
		case op == 4:
			q.sink.FailNext(mailouttest.AtRcpt, 1+rng.IntN(10), tempFail)
			what = "refuse RCPT for a while"
		case op == 5:
			q.sink.FailNext(mailouttest.AtData, 1+rng.IntN(10), tempFail)
			what = "refuse DATA for a while"
		case op == 6:
			q.stop()
			q.start()
			what = "restart"
		case op == 7:
			q.kill()
			killed()
			q.start()
			what = "kill"
		default:
			// Let some attempts happen.
			for range 1 + rng.IntN(10) {
				select {
				case <-q.attempts:
				case <-time.After(2 * time.Second):
				}
			}
			what = "wait"
		}
		q.check(fmt.Sprintf("step %d (%s)", step, what))
	}
	q.sink.FailNext(mailouttest.AtRcpt, 0, nil)
	q.sink.FailNext(mailouttest.AtData, 0, nil)
	q.s.Wake()
	q.drain(time.Minute)
	q.stop()
	q.check("after draining")
	got := q.atSink()
	for _, id := range good {
		if got[id] < 1 || got[id] > 1+allowed[id] {
			t.Errorf("%s reached the sink %d times (kills allow %d extra)", id, got[id], allowed[id])
		}
	}
	for _, id := range dead {
		if got[id] != 0 {
			t.Errorf("permanently refused %s reached the sink", id)
		}
	}
	extra := 0
	for _, n := range allowed {
		extra += n
	}
	t.Logf("%d mails delivered, %d permanently refused, %d resent after kills", len(good), len(dead), extra)
}

// TestSenderHealth: a relay that is down is not a health problem (the
// loop attempts and reschedules, and beats); a queue the loop cannot
// read is.
func TestSenderHealth(t *testing.T) {
	q := newQueue(t, mailouttest.Options{}, 2, fastRetry())
	q.sink.Close()
	q.enqueue(3, "c@customer.example", nil)
	q.start()
	for range 6 {
		if r := <-q.attempts; r != mailout.Deferred {
			t.Fatalf("attempt with the relay down: %s", r)
		}
	}
	if err := q.s.Health(); err != nil {
		t.Errorf("relay down made the sender unhealthy: %v", err)
	}
	if q.s.Heartbeat().IsZero() {
		t.Error("no heartbeat while attempting")
	}
	q.stop()

	// Damage a row: the loop cannot serve it and says so.
	q.st.Close()
	db, err := bolt.Open(filepath.Join(q.dir, "ticketgate.db"), 0o640, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte("outbox")).Cursor()
		k, _ := c.First()
		return tx.Bucket([]byte("outbox")).Put(k, []byte("{not json"))
	})
	db.Close()
	q.open()
	q.start()
	if q.health.Until(10*time.Second, func() bool { return q.s.Health() != nil }) != nil {
		t.Fatal("a sender that cannot read its queue stays healthy")
	}
	t.Logf("health: %v", q.s.Health())
}

// TestStartupRepair: an index entry without its row (what the old sender
// left) is repaired and counted when the sender starts, and the rest of
// the queue is sent.
func TestStartupRepair(t *testing.T) {
	q := newQueue(t, mailouttest.Options{}, 2, fastRetry())
	ids := q.enqueue(3, "c@customer.example", nil)
	q.st.Close()
	db, err := bolt.Open(filepath.Join(q.dir, "ticketgate.db"), 0o640, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		// An entry due long ago naming item 999, which does not exist.
		k := make([]byte, 16)
		k[15] = 0xe7
		k[14] = 0x03
		return tx.Bucket([]byte("outbox_due")).Put(k, nil)
	})
	db.Close()
	q.open()
	q.start()
	if _, err := q.sink.WaitFor(3, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	q.drain(10 * time.Second)
	q.stop()
	q.check("after repair")
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.repaired != 1 {
		t.Errorf("repaired %d entries, want 1", q.repaired)
	}
	if got := q.atSink(); len(got) != 3 || got[ids[0]] != 1 {
		t.Errorf("sent %v", got)
	}
}

// gated holds the sends of the Message-IDs in heavy until released and
// counts how many of them are in the transport at once.
type gated struct {
	mailout.Transport
	heavy   map[string]bool
	entered chan string
	release chan struct{}

	mu       sync.Mutex
	in, most int
}

func (g *gated) Send(ctx context.Context, env mailout.Envelope, msg io.Reader) error {
	if g.heavy[env.MessageID] {
		g.mu.Lock()
		g.in++
		g.most = max(g.most, g.in)
		g.mu.Unlock()
		g.entered <- env.MessageID
		<-g.release
		g.mu.Lock()
		g.in--
		g.mu.Unlock()
	}
	return g.Transport.Send(ctx, env, msg)
}

// TestHeavySendsTakeTurns: mail with a large attachment is sent one at a
// time (HeavyAtOnce 1) while small mail queued after it goes out past it.
func TestHeavySendsTakeTurns(t *testing.T) {
	q := newQueue(t, mailouttest.Options{HeaderOnly: true}, 4, fastRetry())
	blob, size, err := q.st.PutBlob(bytes.NewReader(bytes.Repeat([]byte("0123456789abcdef"), mailout.HeavyBytes/16)))
	if err != nil {
		t.Fatal(err)
	}
	heavy := q.enqueue(2, "big@customer.example", []store.Attachment{{Filename: "log.txt", ContentType: "text/plain", Size: size, Blob: blob}})
	g := &gated{heavy: map[string]bool{heavy[0]: true, heavy[1]: true}, entered: make(chan string, 2), release: make(chan struct{})}
	q.wrap = func(tr mailout.Transport) mailout.Transport { g.Transport = tr; return g }
	q.setup = func(s *mailout.Sender) { s.HeavyAtOnce = 1 }
	// Runs before the queue's own cleanup stops the sender: a failing
	// test must not leave a send held.
	t.Cleanup(func() { close(g.release) })
	q.start()
	first := <-g.entered
	small := q.enqueue(3, "small@customer.example", nil)
	if _, err := q.sink.WaitFor(3, time.Minute); err != nil {
		t.Fatalf("small mail queued after a held heavy one: %v", err)
	}
	select {
	case id := <-g.entered:
		t.Fatalf("a second heavy mail (%s) was sent while %s was", id, first)
	default:
	}
	g.release <- struct{}{}
	<-g.entered
	g.release <- struct{}{}
	if _, err := q.sink.WaitFor(5, time.Minute); err != nil {
		t.Fatal(err)
	}
	q.drain(time.Minute)
	got := q.atSink()
	for _, id := range append(heavy, small...) {
		if got[id] != 1 {
			t.Errorf("%s reached the sink %d times", id, got[id])
		}
	}
	if g.most != 1 {
		t.Errorf("%d heavy mails were sent at once, want 1", g.most)
	}
}
