package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
)

// Attempt outcomes reported to OnAttempt.
const (
	Delivered = "delivered"
	Deferred  = "deferred"
	Failed    = "failed"
)

// DefaultWorkers is the webhook sender's pool: small, and apart from the
// mail sender's, so endpoints that hang hold up only each other.
const DefaultWorkers = 2

// maxResponse is how much of a response is read (then dropped: a
// response body is never logged or stored).
const maxResponse = 4 << 10

// Retry shapes the backoff of temporary failures: the outbox's
// (outbound.retry), so a delivery is given up after the same limit as mail.
type Retry struct {
	Initial     time.Duration
	Max         time.Duration
	GiveUpAfter time.Duration
}

// Options configure a Sender.
type Options struct {
	Retry   Retry
	Workers int
	// TLS, when set, is the client's TLS configuration (tests trust their
	// own server's certificate).
	TLS *tls.Config
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Lease is how long a claim on a delivery lasts on a store several
	// nodes share (store.HookLeaser). Default 2 minutes (more than the
	// longest request).
	Lease time.Duration
	// Owner names this sender in its leases. Default: random.
	Owner string
}

// Sender drains the webhook queue, as mailout.Sender drains the outbox:
// one goroutine (Run's) owns what is in flight and hands ids to the
// workers, which report back over a channel; a worker composes the
// request from the row it re-reads by id, sends it, and records the
// outcome in a transaction that re-reads the row again. A delivery is
// removed only after the endpoint answered 2xx, so a crash in between
// sends it again — same body, same event id, which the receiver drops.
type Sender struct {
	store   store.DB
	cfg     func() *config.Config
	client  *http.Client
	retry   Retry
	workers int
	now     func() time.Time
	log     *slog.Logger
	lease   time.Duration
	owner   string
	wake    chan struct{}

	// OnDelivered and OnGiveUp are called inside the transaction that
	// takes a delivery off the queue, so the ticket's history records it
	// atomically (ticket.Engine.HookDelivered, HookFailed); may be nil.
	OnDelivered func(tx store.Tx, item *store.HookItem) error
	OnGiveUp    func(tx store.Tx, item *store.HookItem, reason string) error
	// OnAttempt, when set, is told every attempt's recorded outcome.
	OnAttempt func(item *store.HookItem, result string, err error)

	abortMu sync.Mutex
	abort   context.CancelFunc
}

// NewSender returns a sender over st for the webhooks of cfg().
func NewSender(st store.DB, cfg func() *config.Config, opts Options, log *slog.Logger) *Sender {
	def := config.Default().Outbound.Retry
	r := opts.Retry
	if r.Initial <= 0 {
		r.Initial = def.Initial
	}
	if r.Max <= 0 {
		r.Max = def.Max
	}
	if r.GiveUpAfter <= 0 {
		r.GiveUpAfter = def.GiveUpAfter
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.Owner == "" {
		opts.Owner = fmt.Sprintf("hooks-%016x", rand.Uint64())
	}
	return &Sender{store: st, cfg: cfg, client: NewClient(opts.TLS), retry: r, workers: opts.Workers, now: opts.Now, log: log,
		lease: opts.Lease, owner: opts.Owner, wake: make(chan struct{}, 1)}
}

// NewClient is the HTTP client of webhook deliveries: redirects are not
// followed (a 3xx is the answer), connections and headers are bounded in
// time and size, and proxies come from the environment.
func NewClient(tlsConfig *tls.Config) *http.Client {
	tr := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:        tlsConfig,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  config.MaxHookTimeout,
		MaxResponseHeaderBytes: 16 << 10,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        90 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Wake tells the loop new deliveries may be due. It never blocks.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Abort cuts short the requests in flight (recorded as deferred, sent
// again later). It does not stop Run: cancel Run's context for that.
func (s *Sender) Abort() {
	s.abortMu.Lock()
	defer s.abortMu.Unlock()
	if s.abort != nil {
		s.abort()
	}
}

type report struct {
	id         uint64
	unreadable error
}

// Run sends until ctx ends; requests in flight then finish (bounded by
// their timeout, or cut short by Abort) and are recorded.
func (s *Sender) Run(ctx context.Context) {
	sendCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	s.abortMu.Lock()
	s.abort = abort
	s.abortMu.Unlock()
	s.repair("start-up")
	jobs := make(chan uint64)
	done := make(chan report, s.workers)
	var wg sync.WaitGroup
	for range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range jobs {
				done <- report{id: id, unreadable: s.attempt(sendCtx, id)}
			}
		}()
	}
	defer func() {
		close(jobs)
		go func() { wg.Wait(); close(done) }()
		for range done {
		}
	}()
	leaser, _ := s.store.(store.HookLeaser)
	var poll <-chan time.Time
	if leaser != nil {
		tick := time.NewTicker(max(s.lease/3, time.Millisecond))
		defer tick.Stop()
		poll = tick.C
	}
	inflight := map[uint64]bool{}
	broken := map[uint64]bool{}
	var brokenSince time.Time
	for {
		if len(broken) > 0 && time.Since(brokenSince) >= unreadableRetry {
			clear(broken)
		}
		next, err := s.dispatch(ctx, leaser, jobs, inflight, broken)
		if ctx.Err() != nil {
			return
		}
		var timer <-chan time.Time
		switch {
		case err != nil:
			s.log.Error("webhook queue scan failed", "err", err)
			timer = time.After(5 * time.Second)
		case len(broken) > 0:
			timer = time.After(unreadableRetry)
		case !next.IsZero():
			timer = time.After(max(next.Sub(s.now()), time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-timer:
		case <-poll:
			s.renewLeases(ctx, leaser, inflight)
		case r := <-done:
			delete(inflight, r.id)
			if r.unreadable != nil {
				if len(broken) == 0 {
					brokenSince = time.Now()
				}
				broken[r.id] = true
			}
		}
	}
}

// unreadableRetry is how long a due row that cannot be read is left alone.
const unreadableRetry = 5 * time.Second

// dispatch hands due deliveries not in flight to free workers and returns
// when to look again (zero: when a worker reports, or on a wake).
func (s *Sender) dispatch(ctx context.Context, leaser store.HookLeaser, jobs chan<- uint64, inflight, broken map[uint64]bool) (time.Time, error) {
	free := s.workers - len(inflight)
	if free <= 0 {
		return time.Time{}, nil
	}
	var due []uint64
	var next time.Time
	if leaser != nil {
		var err error
		if due, next, err = leaser.ClaimHooks(ctx, s.owner, s.now(), s.lease, free); err != nil {
			return time.Time{}, err
		}
	} else {
		for range 2 {
			err := s.store.View(func(tx store.Tx) error {
				var err error
				due, next, err = tx.DueHookIDs(s.now(), len(inflight)+len(broken)+free)
				return err
			})
			if err == nil {
				break
			}
			if !errors.Is(err, store.ErrOutboxIndex) {
				return time.Time{}, err
			}
			s.log.Warn("webhook queue index disagrees with its rows: repairing", "err", err)
			if rerr := s.repair("scan"); rerr != nil {
				return time.Time{}, rerr
			}
			due = nil
		}
	}
	for _, id := range due {
		if inflight[id] || broken[id] || free == 0 {
			continue
		}
		select {
		case jobs <- id:
			inflight[id] = true
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

func (s *Sender) renewLeases(ctx context.Context, l store.HookLeaser, inflight map[uint64]bool) {
	if len(inflight) == 0 {
		return
	}
	ids := make([]uint64, 0, len(inflight))
	for id := range inflight {
		ids = append(ids, id)
	}
	lost, err := l.RenewHookLeases(ctx, s.owner, ids, s.now(), s.lease)
	if err != nil {
		s.log.Error("could not renew webhook delivery leases", "err", err)
		return
	}
	for _, id := range lost {
		s.log.Warn("webhook delivery lease lost while sending: another node may send it too (the receiver drops the repeat by its event id)", "id", id)
	}
}

// repair makes the due index match the rows.
func (s *Sender) repair(when string) error {
	var n int
	err := s.store.Update(context.Background(), func(tx store.Tx) (err error) {
		n, err = tx.RepairHooks()
		return err
	})
	if err != nil {
		s.log.Error("webhook queue repair failed", "when", when, "err", err)
		return fmt.Errorf("webhook: repair queue index: %w", err)
	}
	if n > 0 {
		s.log.Warn("webhook queue index repaired", "when", when, "entries", n)
	}
	return nil
}

// hookOf finds the configured webhook a delivery names.
func (s *Sender) hookOf(it *store.HookItem) (*config.Webhook, error) {
	p := s.cfg().Project(it.Project)
	if p == nil {
		return nil, fault.Permanentf("project %s is not configured any more", it.Project)
	}
	for i := range p.Webhooks {
		if p.Webhooks[i].HookName() == it.Hook {
			return &p.Webhooks[i], nil
		}
	}
	return nil, fault.Permanentf("webhook %q of %s is not configured any more", it.Hook, it.Project)
}

// attempt sends delivery id once and records the outcome; it returns an
// error only when the row cannot be read.
func (s *Sender) attempt(sendCtx context.Context, id uint64) error {
	var it *store.HookItem
	err := s.store.View(func(tx store.Tx) error {
		var err error
		it, err = tx.HookItem(id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil // delivered or dropped since the scan
	}
	if err != nil {
		s.log.Error("webhook delivery unreadable", "id", id, "err", err)
		return err
	}
	err = s.send(sendCtx, it)
	if err != nil && sendCtx.Err() != nil {
		err = fault.Temporary(fmt.Errorf("cut short by the stop: %w", err))
	}
	s.record(it, err, s.now().UTC())
	return nil
}

// send composes and posts a delivery.
func (s *Sender) send(ctx context.Context, it *store.HookItem) error {
	h, err := s.hookOf(it)
	if err != nil {
		return err
	}
	return Send(ctx, s.client, h, it, false, s.now())
}

// Send posts one delivery of it through hook h at now (the signature's
// time) and classifies the outcome: nil for a 2xx answer, a temporary
// error for what may pass (network, 408, 425, 429, 5xx), a permanent one
// otherwise (another 4xx, a redirect, which is never followed). Errors
// never hold the URL nor the response body.
func Send(ctx context.Context, client *http.Client, h *config.Webhook, it *store.HookItem, test bool, now time.Time) error {
	endpoint, err := h.Endpoint()
	if err != nil {
		// A url_file that cannot be read may be fixed: retry.
		return fault.Temporary(err)
	}
	req, err := Compose(it, h.HookFormat(), test)
	if err != nil {
		return fault.Permanent(err)
	}
	if h.HookFormat() == config.HookJSON {
		secret, err := h.Secret()
		if err != nil {
			return fault.Temporary(fmt.Errorf("secret_file: %w", err))
		}
		if secret != "" {
			req.Header.Set(HeaderSignature, Sign(secret, now, req.Body))
		}
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = config.DefaultHookTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(req.Body))
	if err != nil {
		return fault.Permanentf("webhook: the URL does not make a request")
	}
	hr.Header = req.Header
	resp, err := client.Do(hr)
	if err != nil {
		return fault.Temporary(fmt.Errorf("POST: %w", withoutURL(err)))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	return classify(resp.StatusCode)
}

// withoutURL drops the URL a client error names (it may be a secret).
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// StatusError is an endpoint's non-2xx answer.
type StatusError struct{ Code int }

func (e *StatusError) Error() string {
	if e.Code >= 300 && e.Code < 400 {
		return fmt.Sprintf("endpoint answered %d %s: redirects are not followed (configure the final URL)", e.Code, http.StatusText(e.Code))
	}
	return fmt.Sprintf("endpoint answered %d %s", e.Code, http.StatusText(e.Code))
}

func classify(code int) error {
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests, code >= 500:
		return fault.Temporary(&StatusError{Code: code})
	}
	return fault.Permanent(&StatusError{Code: code})
}

// record dequeues a delivered item, gives up a failed one or reschedules
// it, re-reading its row by id inside that transaction.
func (s *Sender) record(it *store.HookItem, err error, now time.Time) {
	id := it.ID
	log := s.log.With("ticket", it.Ticket, "hook", it.Hook, "event_id", it.EventID, "event", it.Kind.String(), "id", id)
	ctx := context.Background()
	if err == nil {
		var done *store.HookItem
		uerr := s.store.Update(ctx, func(tx store.Tx) error {
			var err error
			if done, err = tx.DequeueHook(id); err != nil {
				return err
			}
			if s.OnDelivered == nil {
				return nil
			}
			return s.OnDelivered(tx, done)
		})
		switch {
		case errors.Is(uerr, store.ErrNotFound):
			log.Warn("webhook delivered, but the delivery was dropped meanwhile")
		case uerr != nil:
			log.Error("webhook delivered but not dequeued: it will be sent again (same event id)", "err", uerr)
		default:
			log.Info("webhook delivered", "attempt", done.Attempts+1)
			if s.OnAttempt != nil {
				s.OnAttempt(done, Delivered, nil)
			}
		}
		return
	}
	if !fault.IsTemporary(err) || now.Sub(it.Created) >= s.retry.GiveUpAfter {
		reason := "permanent failure"
		if fault.IsTemporary(err) {
			reason = fmt.Sprintf("still failing after %s", s.retry.GiveUpAfter)
		}
		var gone *store.HookItem
		uerr := s.store.Update(ctx, func(tx store.Tx) error {
			var err2 error
			if gone, err2 = tx.DequeueHook(id); err2 != nil {
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
			log.Error("could not record the failed webhook delivery", "err", uerr)
			return
		}
		log.Warn("webhook delivery failed, given up", "err", err, "attempts", gone.Attempts, "reason", reason)
		if s.OnAttempt != nil {
			s.OnAttempt(gone, Failed, err)
		}
		return
	}
	var later *store.HookItem
	uerr := s.store.Update(ctx, func(tx store.Tx) error {
		var err2 error
		later, err2 = tx.RescheduleHook(id, func(r *store.HookItem) {
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
		log.Error("could not reschedule the webhook delivery", "err", uerr)
		return
	}
	log.Warn("webhook delivery deferred", "err", err, "attempts", later.Attempts, "next", later.NextAttempt)
	if s.OnAttempt != nil {
		s.OnAttempt(later, Deferred, err)
	}
}

// backoff is Initial·2^(attempts-1), capped at Max, with ±20 % jitter.
func (s *Sender) backoff(attempts int) time.Duration {
	d := s.retry.Initial
	for i := 1; i < attempts && d < s.retry.Max; i++ {
		d *= 2
	}
	d = min(d, s.retry.Max)
	jitter := time.Duration(rand.Int64N(int64(d)/5*2+1)) - d/5
	return d + jitter
}
