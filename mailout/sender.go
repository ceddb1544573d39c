package mailout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
)

// Retry shapes the backoff of temporary failures.
type Retry struct {
	Initial     time.Duration
	Max         time.Duration
	GiveUpAfter time.Duration
}

// Sender drains the outbox: it sends every due item through its transport,
// removes what was delivered, reschedules temporary failures with
// exponential backoff and jitter, and records on the ticket what finally
// failed. Items survive restarts because they live in the store.
//
// An item is removed only after the transport accepted it, so a crash
// between the relay's 250 and that removal sends it again, with the same
// Message-ID (the bytes are stored whole).
type Sender struct {
	store     store.DB
	transport Transport
	retry     Retry
	workers   int
	now       func() time.Time
	log       *slog.Logger
	// OnGiveUp is called inside the transaction that gives an item up,
	// so the failure is recorded and the agents told atomically; may be nil.
	OnGiveUp func(tx store.Tx, item *store.OutboxItem, reason string) error
	// OnDelivered is called inside the transaction that removes a
	// delivered item, so the ticket's history records it atomically (the
	// domain writes it: ticket.Engine.Delivered); may be nil.
	OnDelivered func(tx store.Tx, item *store.OutboxItem) error
	// OnSent is called after an item was delivered and removed; may be nil.
	OnSent func(item *store.OutboxItem)
	// OnAttempt, when set, is told every send attempt's outcome once it is
	// recorded: "delivered", "deferred" (retried later) or "failed" (given
	// up); err is the transport's error (nil when delivered). For metrics
	// and the audit stream.
	OnAttempt func(item *store.OutboxItem, result string, err error)

	// beat is the unix nano time of the loop's last sign of life; 0 when
	// Run is not running (see Heartbeat).
	beat atomic.Int64

	wake     chan struct{}
	inflight sync.Map // item id → struct{}: items being sent right now
}

// NewSender returns a sender with workers concurrent sends.
func NewSender(s store.DB, t Transport, r Retry, workers int, log *slog.Logger) *Sender {
	if r.Initial <= 0 {
		r.Initial = 30 * time.Second
	}
	if r.Max <= 0 {
		r.Max = time.Hour
	}
	if r.GiveUpAfter <= 0 {
		r.GiveUpAfter = 5 * 24 * time.Hour
	}
	if workers <= 0 {
		workers = 4
	}
	return &Sender{store: s, transport: t, retry: r, workers: workers, now: time.Now, log: log, wake: make(chan struct{}, 1)}
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
// current attempt (bounded by the transport's timeout).
func (s *Sender) Run(ctx context.Context) {
	s.alive()
	defer s.beat.Store(0)
	work := make(chan *store.OutboxItem)
	var wg sync.WaitGroup
	for range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				s.deliver(it)
				s.inflight.Delete(it.ID)
				s.alive()
			}
		}()
	}
	defer func() {
		close(work)
		wg.Wait()
	}()
	for {
		s.alive()
		next, err := s.dispatch(ctx, work)
		if err != nil {
			s.log.Error("outbox scan failed", "err", err)
			next = s.now().Add(5 * time.Second)
		}
		var timer <-chan time.Time
		if !next.IsZero() {
			d := max(next.Sub(s.now()), 10*time.Millisecond)
			timer = time.After(d)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-timer:
		}
	}
}

func (s *Sender) alive() { s.beat.Store(time.Now().UnixNano()) }

// Heartbeat returns when the sender last showed a sign of life: its loop
// went round, handed an item to a worker, or a worker finished an attempt.
// It is zero when Run is not running. An idle loop beats only when woken:
// call Wake and look again a moment later. A slow relay delays beats by
// at most the transport's timeouts.
func (s *Sender) Heartbeat() time.Time {
	n := s.beat.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// dispatch hands every due item not already in flight to the workers and
// returns when the next item is due.
func (s *Sender) dispatch(ctx context.Context, work chan<- *store.OutboxItem) (time.Time, error) {
	for {
		var due []*store.OutboxItem
		var next time.Time
		err := s.store.View(func(tx store.Tx) error {
			var err error
			due, next, err = tx.DueOutbox(s.now(), 256)
			return err
		})
		if err != nil {
			return time.Time{}, err
		}
		handed := 0
		for _, it := range due {
			if _, busy := s.inflight.LoadOrStore(it.ID, struct{}{}); busy {
				continue
			}
			select {
			case work <- it:
				handed++
				s.alive()
			case <-ctx.Done():
				s.inflight.Delete(it.ID)
				return time.Time{}, nil
			}
		}
		if len(due) < 256 || handed == 0 {
			if handed == 0 && len(due) > 0 {
				// Everything due is in flight: look again shortly.
				return s.now().Add(50 * time.Millisecond), nil
			}
			return next, nil
		}
	}
}

func (s *Sender) deliver(it *store.OutboxItem) {
	ctx := context.Background()
	log := s.log.With("ticket", it.Ticket, "msgid", it.MessageID, "rcpt", it.Recipient, "event", it.Event)
	err := s.transport.Send(ctx, Envelope{From: it.MailFrom, To: []string{it.Recipient}, MessageID: it.MessageID}, bytes.NewReader(it.Raw))
	now := s.now().UTC()
	if err == nil {
		uerr := s.store.Update(ctx, func(tx store.Tx) error {
			if err := tx.Dequeue(it); err != nil {
				return err
			}
			if s.OnDelivered == nil {
				return nil
			}
			return s.OnDelivered(tx, it)
		})
		if uerr != nil {
			// Sent but not recorded: it will be sent again, same Message-ID.
			log.Error("delivered but could not dequeue; it will be resent", "err", uerr)
			return
		}
		log.Info("delivered", "attempt", it.Attempts+1)
		if s.OnSent != nil {
			s.OnSent(it)
		}
		if s.OnAttempt != nil {
			s.OnAttempt(it, "delivered", nil)
		}
		return
	}
	old := it.NextAttempt
	it.Attempts++
	it.LastError = err.Error()
	giveUp := !fault.IsTemporary(err) || now.Sub(it.Created) >= s.retry.GiveUpAfter
	if giveUp {
		reason := "permanent failure"
		if fault.IsTemporary(err) {
			reason = fmt.Sprintf("still failing after %s", s.retry.GiveUpAfter)
		}
		uerr := s.store.Update(ctx, func(tx store.Tx) error {
			if err := tx.Dequeue(&store.OutboxItem{ID: it.ID, NextAttempt: old}); err != nil {
				return err
			}
			if s.OnGiveUp == nil {
				return nil
			}
			return s.OnGiveUp(tx, it, fmt.Sprintf("%s: %s", reason, err))
		})
		if uerr != nil {
			log.Error("could not record failed delivery", "err", uerr)
			return
		}
		log.Warn("delivery failed, given up", "err", err, "attempts", it.Attempts, "reason", reason)
		if s.OnAttempt != nil {
			s.OnAttempt(it, "failed", err)
		}
		s.Wake() // the agents' notice about it may be queued
		return
	}
	it.NextAttempt = now.Add(s.backoff(it.Attempts))
	uerr := s.store.Update(ctx, func(tx store.Tx) error {
		cp := *it
		return tx.Reschedule(&cp, old)
	})
	if uerr != nil {
		log.Error("could not reschedule", "err", uerr)
		return
	}
	log.Warn("delivery deferred", "err", err, "attempts", it.Attempts, "next", it.NextAttempt)
	if s.OnAttempt != nil {
		s.OnAttempt(it, "deferred", err)
	}
	// The dispatcher chose its next wake-up before this item was
	// rescheduled; tell it, or the retry waits for unrelated mail.
	s.Wake()
}

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
