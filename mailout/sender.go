package mailout

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/internal/flow"
	"github.com/ticketgate/ticketgate/internal/lowprio"
	"github.com/ticketgate/ticketgate/store"
)

// Retry shapes the backoff of temporary failures.
type Retry struct {
	Initial     time.Duration
	Max         time.Duration
	GiveUpAfter time.Duration
}

// Attempt outcomes reported to OnAttempt.
const (
	Delivered = "delivered"
	Deferred  = "deferred"
	Failed    = "failed"
)

// Sender drains the outbox: it composes every due item from its row,
// streams it through its transport, removes what was delivered,
// reschedules temporary failures with exponential backoff and jitter, and
// records on the ticket what finally failed. Items survive restarts
// because they live in the store.
//
// One goroutine (Run's) owns what is in flight: it hands item ids to the
// workers and learns their outcome over a channel, so an item is never
// sent by two workers at once. A worker re-reads its row by id inside the
// transaction that removes or reschedules it, so a stale copy never
// changes the queue. An item is removed only after the transport accepted
// it, so a crash between the relay's 250 and that removal sends it again,
// with the same bytes and Message-ID (composition is deterministic).
type Sender struct {
	store     store.DB
	transport Transport
	retry     Retry
	workers   int
	now       func() time.Time
	log       *slog.Logger
	// bufs lends composing its buffers (Message.Bufs).
	bufs Buffers
	// Render renders a row's bodies; OpenBlob reads attachments and the
	// stored bytes of rows queued by an older layout.
	Render   Renderer
	OpenBlob OpenBlob
	// KeyPattern, when set, gives a project's support_keys.pattern:
	// attachments of its mail are redacted on the way (issue 17).
	KeyPattern func(project string) *regexp.Regexp
	// Sealer, when set, decides per mail what OpenPGP does to it (an
	// Autocrypt header, encryption, a notice instead of the text).
	Sealer Sealer
	// OnGiveUp is called inside the transaction that gives an item up,
	// so the failure is recorded and the agents told atomically; may be nil.
	OnGiveUp func(tx store.Tx, item *store.OutboxItem, reason string) error
	// OnDelivered is called inside the transaction that removes a
	// delivered item, so the ticket's history records it atomically (the
	// domain writes it: ticket.Engine.Delivered); may be nil.
	OnDelivered func(tx store.Tx, item *store.OutboxItem) error
	// OnAttempt, when set, is told every send attempt's outcome once it is
	// recorded: Delivered, Deferred (retried later) or Failed (given up);
	// err is the failure (nil when delivered). For metrics and the audit
	// stream.
	OnAttempt func(item *store.OutboxItem, result string, err error)
	// OnRepair, when set, is told how many outbox index entries were
	// repaired (at start-up, or when a scan met one without its row).
	OnRepair func(n int)
	// OnHealth, when set, is told after every heartbeat and every problem
	// recorded — whenever Heartbeat or Health may have changed: for a
	// supervisor or test that waits for them. It must not block.
	OnHealth func()
	// Lease is how long this sender's claim on an item lasts when the
	// store is shared by several nodes (store.OutboxLeaser): renewed every
	// Lease/3 while the item is in flight, so another node sends it only
	// after this one died. The loop also looks for due items every
	// Lease/3, since other nodes' enqueues do not wake it. Default 60 s.
	Lease time.Duration
	// Owner names this sender in its leases. Default: random.
	Owner string

	// beat is the unix nano time of the loop's last sign of serving; 0
	// when Run is not running (see Heartbeat).
	beat atomic.Int64
	// problem is why the loop cannot serve its due items (nil: it can).
	problem atomic.Pointer[error]

	wake chan struct{}

	// Flow, when set, is told how far the sender lags behind its due
	// mail, so the intake can pace itself to it (see package flow).
	Flow *flow.Gate

	abortMu sync.Mutex
	abort   context.CancelFunc // ends the sends of the running Run

	// HeavyAtOnce is how many heavy mails (HeavyBytes of attachments or
	// more) are sent at once. Default: one fewer than the process has
	// CPUs (GOMAXPROCS), at least one.
	HeavyAtOnce int
	heavy       chan struct{}
}

// HeavyBytes is the size of attachments from which a mail counts as
// heavy: composing it (base64 of every attachment) and writing it to the
// relay keeps a CPU busy for tens of milliseconds. Heavy sends take turns
// so that they never occupy every CPU: with all of them busy for that
// long, the scheduler makes unrelated small requests wait for a time
// slice (the 14 MB reply to four customers raised small
// requests' p99 fourfold while its four copies were composed at once).
const HeavyBytes = 1 << 20

// NewSender returns a sender with workers concurrent sends. Zero values
// take outbound.workers' and outbound.retry's defaults from package config.
func NewSender(s store.DB, t Transport, r Retry, workers int, log *slog.Logger) *Sender {
	def := config.Default().Outbound
	if r.Initial <= 0 {
		r.Initial = def.Retry.Initial
	}
	if r.Max <= 0 {
		r.Max = def.Retry.Max
	}
	if r.GiveUpAfter <= 0 {
		r.GiveUpAfter = def.Retry.GiveUpAfter
	}
	if workers <= 0 {
		workers = def.Workers
	}
	return &Sender{store: s, transport: t, retry: r, workers: workers, now: time.Now, log: log, wake: make(chan struct{}, 1),
		OpenBlob: func(h string) (io.ReadCloser, error) { return s.OpenBlob(h) },
		Lease:    DefaultLease, Owner: fmt.Sprintf("sender-%016x", rand.Uint64())}
}

// DefaultLease is Sender.Lease's default.
const DefaultLease = time.Minute

// renewLeases extends this sender's leases on the items in flight; a
// lease it lost (another node took the item over after it ran out) is
// logged: that item may be sent twice, which at-least-once allows.
func (s *Sender) renewLeases(ctx context.Context, l store.OutboxLeaser, inflight map[uint64]bool) {
	if len(inflight) == 0 {
		return
	}
	ids := make([]uint64, 0, len(inflight))
	for id := range inflight {
		ids = append(ids, id)
	}
	lost, err := l.RenewOutboxLeases(ctx, s.Owner, ids, s.now(), s.Lease)
	if err != nil {
		s.log.Error("could not renew outbox leases", "err", err, "items", len(ids))
		return
	}
	for _, id := range lost {
		s.log.Warn("outbox lease lost while sending: another node may send it too", "id", id)
	}
}

// Wake tells the loop new items may be due (call after a commit that
// queued mail). It never blocks.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run sends until ctx ends. Items being sent when ctx ends finish their
// current attempt, bounded by the transport's timeouts — or cut short by
// Abort, which a stopping daemon calls when its shutdown deadline passes
// (the item counts as deferred and is sent again after the restart, with
// the same Message-ID) — and are recorded.
//
// A worker is free again as soon as its transport call returned; the
// outcome is recorded (dequeued or rescheduled) by a goroutine of its own,
// which reports the id back when the commit is durable. Until then the id
// stays in flight, so the store's commit latency does not bound the send
// rate and an item is never handed out twice.
func (s *Sender) Run(ctx context.Context) {
	defer s.beat.Store(0)
	sendCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	s.abortMu.Lock()
	s.abort = abort
	s.abortMu.Unlock()
	s.repair("start-up")
	heavy := s.HeavyAtOnce
	if heavy <= 0 {
		heavy = max(1, runtime.GOMAXPROCS(0)-1)
	}
	s.heavy = make(chan struct{}, heavy)
	jobs := make(chan uint64)
	// Buffered for every worker: a worker never waits to say it is free,
	// so the loop never waits for a worker that waits for the loop.
	free := make(chan struct{}, s.workers)
	done := make(chan report, 4*s.workers)
	var workers, records sync.WaitGroup
	for range s.workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			c := newComposer()
			defer c.stop()
			for id := range jobs {
				record, err := s.attempt(sendCtx, id, c)
				records.Add(1)
				go func() {
					defer records.Done()
					if record != nil {
						record()
					}
					done <- report{id: id, unreadable: err}
				}()
				free <- struct{}{}
			}
		}()
	}
	inflight := map[uint64]bool{}
	// broken holds due rows that cannot be read: skipped (not sent in a
	// tight loop), reported by Health, tried again after a while.
	broken := map[uint64]error{}
	var brokenSince time.Time
	// learn takes a worker's report: the item is no longer in flight, and
	// a row that could not be read is set aside.
	learn := func(r report) {
		delete(inflight, r.id)
		if r.unreadable != nil {
			if len(broken) == 0 {
				brokenSince = time.Now()
			}
			broken[r.id] = r.unreadable
		}
	}
	busy := 0
	leaser, _ := s.store.(store.OutboxLeaser)
	var poll <-chan time.Time
	if leaser != nil {
		tick := time.NewTicker(max(s.Lease/3, time.Millisecond))
		defer tick.Stop()
		poll = tick.C
	}
	defer func() {
		close(jobs)
		workers.Wait()
		go func() { records.Wait(); close(done) }()
		for range done {
		}
	}()
	for {
		if len(broken) > 0 && time.Since(brokenSince) >= unreadableRetry {
			clear(broken)
		}
		next, err := s.dispatch(ctx, leaser, jobs, inflight, broken, &busy)
		if ctx.Err() != nil {
			return
		}
		var timer <-chan time.Time
		if err != nil {
			s.setProblem(err)
			s.log.Error("outbox scan failed: the sender cannot serve its due mail", "err", err)
			timer = time.After(5 * time.Second)
		} else if len(broken) > 0 {
			for id, err := range broken {
				s.setProblem(fmt.Errorf("%d due outbox item(s) cannot be read, e.g. %d: %w", len(broken), id, err))
				break
			}
			timer = time.After(unreadableRetry)
		} else {
			s.setProblem(nil)
			s.alive()
			if !next.IsZero() {
				timer = time.After(max(next.Sub(s.now()), time.Millisecond))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-timer:
		case <-poll:
			s.renewLeases(ctx, leaser, inflight)
		case <-free:
			busy--
		case r := <-done:
			learn(r)
			s.alive()
		}
		// Take every other report that is waiting, so the next scan sees
		// all free workers.
		for drained := false; !drained; {
			select {
			case <-free:
				busy--
			case r := <-done:
				learn(r)
			default:
				drained = true
			}
		}
	}
}

// dispatch hands due items not in flight to free workers and returns when
// the loop should look again: the next item's due time, zero when nothing
// is queued or every worker is busy (a report wakes the loop then).
//
// On a store several nodes share (leaser not nil) it claims the items
// first: only what this sender leased is handed out.
func (s *Sender) dispatch(ctx context.Context, leaser store.OutboxLeaser, jobs chan<- uint64, inflight map[uint64]bool, broken map[uint64]error, busy *int) (time.Time, error) {
	free := s.workers - *busy
	if free <= 0 {
		return time.Time{}, nil
	}
	if leaser != nil {
		due, next, err := leaser.ClaimOutbox(ctx, s.Owner, s.now(), s.Lease, free)
		if err != nil {
			return time.Time{}, err
		}
		return s.handOut(ctx, jobs, due, len(due) == 0, next, inflight, broken, busy, free)
	}
	// Items in flight (and unreadable ones) stay in the index at their
	// due time, so the first len(inflight)+len(broken)+free due entries
	// hold at least free others.
	var due []uint64
	var next time.Time
	// skipped counts the due entries in flight or unreadable: with them,
	// something is due (the flow gate is told of no lag only when
	// nothing is).
	var skipped int
	for range 2 {
		err := s.store.View(func(tx store.Tx) error {
			var err error
			skipped = 0
			// The items in flight and the unreadable ones are not
			// handed out again: their rows need no look-up.
			due, next, err = tx.DueIDsExcept(s.now(), len(inflight)+len(broken)+free, func(id uint64) bool {
				_, bad := broken[id]
				if inflight[id] || bad {
					skipped++
					return true
				}
				return false
			})
			return err
		})
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrOutboxIndex) {
			return time.Time{}, err
		}
		s.log.Warn("outbox index disagrees with its rows: repairing", "err", err)
		if rerr := s.repair("scan"); rerr != nil {
			return time.Time{}, rerr
		}
		due = nil
	}
	return s.handOut(ctx, jobs, due, len(due) == 0 && skipped == 0, next, inflight, broken, busy, free)
}

// handOut gives the due ids not in flight (nor unreadable) to free
// workers; nothingDue: the scan found nothing due, not even in flight.
func (s *Sender) handOut(ctx context.Context, jobs chan<- uint64, due []uint64, nothingDue bool, next time.Time, inflight map[uint64]bool, broken map[uint64]error, busy *int, free int) (time.Time, error) {
	if nothingDue {
		s.Flow.Note(0) // nothing due: no lag
	}
	for _, id := range due {
		if _, bad := broken[id]; inflight[id] || bad || free == 0 {
			continue
		}
		select {
		case jobs <- id:
			inflight[id] = true
			*busy++
			free--
		case <-ctx.Done():
			return time.Time{}, nil
		}
	}
	if free == 0 {
		return time.Time{}, nil
	}
	return next, nil
}

// repair makes the due index match the rows and counts what it fixed.
func (s *Sender) repair(when string) error {
	var n int
	err := s.store.Update(context.Background(), func(tx store.Tx) (err error) {
		n, err = tx.RepairOutbox()
		return err
	})
	if err != nil {
		s.log.Error("outbox repair failed", "when", when, "err", err)
		return fmt.Errorf("mailout: repair outbox index: %w", err)
	}
	if n > 0 {
		s.log.Warn("outbox index repaired", "when", when, "entries", n)
		if s.OnRepair != nil {
			s.OnRepair(n)
		}
	}
	return nil
}

// Abort cuts short the sends in flight (the transport closes its
// connection under them); they are recorded as deferred. It does not stop
// Run: cancel Run's context for that.
func (s *Sender) Abort() {
	s.abortMu.Lock()
	defer s.abortMu.Unlock()
	if s.abort != nil {
		s.abort()
	}
}

func (s *Sender) alive() {
	s.beat.Store(time.Now().UnixNano())
	s.healthChanged()
}

func (s *Sender) setProblem(err error) {
	if err == nil {
		s.problem.Store(nil)
		return
	}
	s.problem.Store(&err)
	s.healthChanged()
}

func (s *Sender) healthChanged() {
	if s.OnHealth != nil {
		s.OnHealth()
	}
}

// Heartbeat returns when the sender last showed that it serves its queue:
// a scan of the due items succeeded (and handed what it could to the
// workers), or a worker finished an attempt — whatever the relay said. It
// is zero when Run is not running. An idle loop beats only when woken:
// call Wake and look again a moment later. A slow relay delays beats by
// at most the transport's timeouts; a relay that is down does not stop
// them (its failures are attempts too).
func (s *Sender) Heartbeat() time.Time {
	n := s.beat.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Health returns why the loop cannot serve its due items (the queue
// cannot be read, its index cannot be repaired), nil when it can. A relay
// that refuses or is down is not a health problem of the sender.
func (s *Sender) Health() error {
	if p := s.problem.Load(); p != nil {
		return *p
	}
	return nil
}

// attempt sends item id once and returns the step that records the
// outcome (nil when there is nothing to record: the row is gone, or it
// cannot be read — then the error says why). The step re-reads the row by
// id in its transaction.
//
// sendCtx bounds the transport; the outcome is recorded even when it was
// cancelled (the store closes only after Run returned), so an aborted send
// is deferred, not lost.
func (s *Sender) attempt(sendCtx context.Context, id uint64, c *composer) (func(), error) {
	ctx := context.WithoutCancel(sendCtx)
	var it, compose *store.OutboxItem
	var msg *Message
	var body Body
	var seal Seal
	err := s.store.View(func(tx store.Tx) error {
		var err error
		if it, err = tx.OutboxItem(id); err != nil {
			return err
		}
		compose = it
		if it.RawBlob == "" {
			if s.Render == nil {
				return fault.Permanentf("mailout: no renderer for %s", it.Event)
			}
			if body, err = s.Render.Render(tx, it); err != nil {
				return err
			}
			if s.Sealer != nil {
				if seal, err = s.Sealer.Seal(tx, it, s.Render); err != nil {
					return err
				}
				if seal.Notice != nil {
					body = *seal.Notice
					cp := *it
					cp.Attach = nil
					compose = &cp
				}
			}
		}
		return nil
	})
	if err == nil {
		// The blobs are opened after the read transaction: opening one
		// kept inside bbolt begins a transaction of its own, and a read
		// transaction begun inside another waits for a writer that needs
		// to grow the file, which waits for the outer one — the sender
		// and every commit stopped for good (TestHeavySendsTakeTurns hung
		// so under the race detector).
		msg, err = Prepare(compose, body, s.OpenBlob)
		if msg != nil {
			msg.Bufs = &s.bufs
			msg.Seal = seal
			if s.KeyPattern != nil {
				msg.Redact = s.KeyPattern(it.Project)
			}
		}
	}
	if errors.Is(err, store.ErrNotFound) && it == nil {
		return nil, nil // dropped since the scan
	}
	if it == nil {
		s.log.Error("outbox item unreadable", "id", id, "err", err)
		return nil, err
	}
	s.Flow.Note(s.now().Sub(it.NextAttempt))
	if err == nil {
		err = s.sendTurn(sendCtx, it, msg, c)
	}
	if err != nil && sendCtx.Err() != nil {
		// Cut short by a stop (Abort or the end of Run): whatever the
		// transport made of it (a cancelled context, a closed connection),
		// the relay never refused the mail, so it is deferred, never
		// given up.
		err = fault.Temporary(fmt.Errorf("send cut short by the stop: %w", err))
	}
	now := s.now().UTC()
	return func() { s.record(ctx, it, err, now) }, nil
}

// sendTurn sends msg, after waiting for a heavy turn when it is large
// (see HeavyBytes). A stop ends the wait like the send itself.
func (s *Sender) sendTurn(ctx context.Context, it *store.OutboxItem, msg *Message, c *composer) error {
	if attachBytes(it) >= HeavyBytes {
		select {
		case s.heavy <- struct{}{}:
			defer func() { <-s.heavy }()
		case <-ctx.Done():
			return ctx.Err()
		}
		// Its base64 keeps a CPU busy for tens of milliseconds: the
		// small requests arriving meanwhile go first.
		return lowprio.Run(func() error { return s.send(ctx, msg, c) })
	}
	return s.send(ctx, msg, c)
}

// attachBytes is the size of an item's attachments as stored.
func attachBytes(it *store.OutboxItem) int64 {
	var n int64
	for _, a := range it.Attach {
		n += a.Size
	}
	return n
}

// report is what the loop learns about an item handed out: its outcome
// is recorded, or its row could not be read.
type report struct {
	id         uint64
	unreadable error
}

// unreadableRetry is how long a due row that could not be read is left
// alone before it is tried again.
const unreadableRetry = 5 * time.Second

// record dequeues a delivered item, gives up a failed one or reschedules
// it, re-reading its row by id inside that transaction.
func (s *Sender) record(ctx context.Context, it *store.OutboxItem, err error, now time.Time) {
	id := it.ID
	log := itemLog{s.log, it}
	if err == nil {
		var done *store.OutboxItem
		uerr := s.store.Update(ctx, func(tx store.Tx) error {
			var err error
			// it is the row as attempt read it: unless it changed since
			// (an agent's requeue), the store need not decode it again.
			if done, err = tx.DequeueSeen(it); err != nil {
				return err
			}
			if s.OnDelivered == nil {
				return nil
			}
			return s.OnDelivered(tx, done)
		})
		if errors.Is(uerr, store.ErrNotFound) {
			log.at(slog.LevelWarn, "delivered, but the item was dropped meanwhile")
			return
		}
		if uerr != nil {
			// Sent but not recorded: it will be sent again, same bytes.
			log.at(slog.LevelError, "delivered but could not dequeue; it will be resent", "err", uerr)
			return
		}
		log.at(slog.LevelInfo, "delivered", "attempt", done.Attempts+1)
		if s.OnAttempt != nil {
			s.OnAttempt(done, Delivered, nil)
		}
		return
	}
	giveUp := !fault.IsTemporary(err) || now.Sub(it.Created) >= s.retry.GiveUpAfter
	if giveUp {
		reason := "permanent failure"
		if fault.IsTemporary(err) {
			reason = fmt.Sprintf("still failing after %s", s.retry.GiveUpAfter)
		}
		var gone *store.OutboxItem
		uerr := s.store.Update(ctx, func(tx store.Tx) error {
			var err2 error
			if gone, err2 = tx.Dequeue(id); err2 != nil {
				return err2
			}
			gone.Attempts++
			gone.LastError = err.Error()
			if s.OnGiveUp == nil {
				return nil
			}
			return s.OnGiveUp(tx, gone, fmt.Sprintf("%s: %s", reason, err))
		})
		if errors.Is(uerr, store.ErrNotFound) {
			return
		}
		if uerr != nil {
			log.at(slog.LevelError, "could not record failed delivery", "err", uerr)
			return
		}
		log.at(slog.LevelWarn, "delivery failed, given up", "err", err, "attempts", gone.Attempts, "reason", reason)
		if s.OnAttempt != nil {
			s.OnAttempt(gone, Failed, err)
		}
		s.Wake() // the agents' notice about it may be queued
		return
	}
	var later *store.OutboxItem
	uerr := s.store.Update(ctx, func(tx store.Tx) error {
		var err2 error
		later, err2 = tx.Reschedule(id, func(r *store.OutboxItem) {
			r.Attempts++
			r.LastError = err.Error()
			r.NextAttempt = now.Add(s.backoff(r.Attempts))
		})
		return err2
	})
	if errors.Is(uerr, store.ErrNotFound) {
		return
	}
	if uerr != nil {
		log.at(slog.LevelError, "could not reschedule", "err", uerr)
		return
	}
	log.at(slog.LevelWarn, "delivery deferred", "err", err, "attempts", later.Attempts, "next", later.NextAttempt)
	if s.OnAttempt != nil {
		s.OnAttempt(later, Deferred, err)
	}
}

// itemLog logs about one outbox item. Unlike a logger made by With, which
// formats the item's attributes at once, it builds them only for a line
// that is written: With on every delivery cost 1 % of the daemon's CPU
// under load for lines a warn-level log never writes.
type itemLog struct {
	l  *slog.Logger
	it *store.OutboxItem
}

func (x itemLog) at(level slog.Level, msg string, args ...any) {
	ctx := context.Background()
	if !x.l.Enabled(ctx, level) {
		return
	}
	x.l.With("ticket", x.it.Ticket, "msgid", x.it.MessageID, "rcpt", x.it.Recipient, "event", x.it.Event).Log(ctx, level, msg, args...)
}

// send streams msg to the transport, composed by c. A composition failure
// (a blob that cannot be read half-way) is the attempt's error, not the
// transport's complaint about a cut-off stream.
func (s *Sender) send(ctx context.Context, msg *Message, c *composer) error {
	defer msg.Close()
	it := msg.Item
	if msg.small() {
		// Composed in memory first: no pipe and no hand-over between
		// two goroutines for a mail of a few kilobytes.
		c.mem.Reset()
		_, berr := msg.WriteTo(&c.mem)
		if berr != nil {
			return composeFailed(berr)
		}
		c.rd.Reset(c.mem.Bytes())
		err := s.transport.Send(ctx, Envelope{From: it.MailFrom, To: []string{it.Recipient}, MessageID: it.MessageID}, &c.rd)
		c.rd.Reset(nil)
		if c.mem.Cap() > maxComposedInMemory {
			c.mem = bytes.Buffer{}
		}
		return err
	}
	pr, pw := io.Pipe()
	c.jobs <- composeJob{msg: msg, pw: pw}
	err := s.transport.Send(ctx, Envelope{From: it.MailFrom, To: []string{it.Recipient}, MessageID: it.MessageID}, pr)
	// Whoever failed first is the cause: a builder that already failed
	// cut the stream the transport complains about.
	var berr error
	select {
	case berr = <-c.built:
	default:
		pr.CloseWithError(errTransportDone)
		// The builder may have failed on its own just before (its error
		// is what the transport saw) and not yet said so: that error is
		// the cause; one from the reader closed here is not.
		if e := <-c.built; !errors.Is(e, errTransportDone) {
			berr = e
		}
	}
	pr.Close()
	if berr != nil {
		return composeFailed(berr)
	}
	return err
}

// composeFailed is the attempt's error when composing failed: temporary
// unless it says otherwise.
func composeFailed(err error) error {
	var classified interface{ Temporary() bool }
	if errors.As(err, &classified) {
		return err
	}
	return fault.Temporary(fmt.Errorf("mailout: compose: %w", err))
}

// maxComposedInMemory bounds the mail composed in memory (Message.small)
// and the buffer a worker keeps for it.
const maxComposedInMemory = 64 << 10

// composer writes the messages of one worker into their pipes to the
// transport, one at a time, on a goroutine that lives as long as the
// worker. A goroutine per message started with a small stack and grew it
// (copying it) while composing every message: 4 % of the sender's CPU.
type composer struct {
	// mem and rd hold a small mail composed in memory (see send): one
	// worker's, reused.
	mem  bytes.Buffer
	rd   bytes.Reader
	jobs chan composeJob
	// built receives each job's outcome; send always takes it before the
	// next job, so one buffered channel serves them all.
	built chan error
}

type composeJob struct {
	msg *Message
	pw  *io.PipeWriter
}

func newComposer() *composer {
	c := &composer{jobs: make(chan composeJob), built: make(chan error, 1)}
	go c.run()
	return c
}

func (c *composer) run() {
	// bw buffers what the message writes into the pipe: it writes a line
	// at a time, and each pipe write is a hand-over between two
	// goroutines.
	bw := bufio.NewWriterSize(nil, 16<<10)
	for j := range c.jobs {
		bw.Reset(j.pw)
		_, err := j.msg.WriteTo(bw)
		if err == nil {
			err = bw.Flush()
		}
		bw.Reset(nil)
		j.pw.CloseWithError(err)
		c.built <- err
	}
}

// stop ends the composer's goroutine (after its last job).
func (c *composer) stop() { close(c.jobs) }

var errTransportDone = errors.New("mailout: transport finished reading")

// backoff is Initial·2^(attempts-1), capped at Max, with ±20 % jitter so a
// relay coming back is not hit by every queued item at once.
func (s *Sender) backoff(attempts int) time.Duration {
	d := s.retry.Initial
	for i := 1; i < attempts && d < s.retry.Max; i++ {
		d *= 2
	}
	d = min(d, s.retry.Max)
	jitter := time.Duration(rand.Int64N(int64(d)/5*2+1)) - d/5
	return d + jitter
}

// ErrNoTransport is returned when outbound mail is not configured.
var ErrNoTransport = errors.New("mailout: no transport configured")
