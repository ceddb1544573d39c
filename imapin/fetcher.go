package imapin

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
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/mailin"
	"github.com/ticketgate/ticketgate/store"
)

// account is what one fetcher reads and where it delivers: it is compared
// on reload to decide whether the fetcher must restart.
type account struct {
	Project  string
	Address  string
	IMAP     config.IMAP
	MaxBytes int64
}

// key names the account's state in the store. A different server, login
// or mailbox is a different mailbox with its own UIDs.
func (a *account) key() string {
	return a.Project + "/" + strings.ToLower(a.IMAP.Host) + "/" + a.IMAP.Username + "/" + a.IMAP.Mailbox
}

// fetcher reads one mailbox: it connects, catches up, then waits in IDLE
// (or polls) and catches up again, reconnecting with capped exponential
// backoff after any failure.
type fetcher struct {
	acct     account
	store    store.DB
	pipeline Receiver
	log      *slog.Logger
	opts     Options
	auth     *authenticator

	// wake is signalled (without blocking) by the connection's reader
	// goroutine when the server reports new mail.
	wake chan struct{}

	// pending is true while a message that failed is waiting for its
	// next attempt: IDLE then lasts at most one poll interval. Only the
	// fetcher's goroutine uses it.
	pending bool

	mu     sync.Mutex
	status Status
	conn   net.Conn // the current connection's socket, for stop

	cancel context.CancelFunc
	done   chan struct{}
	// work bounds the handling of a started message and the store writes
	// around it: not cancelled by stop's first step (a started message is
	// finished), but when stop's deadline passes.
	work      context.Context
	abortWork context.CancelFunc
}

func newFetcher(a account, st store.DB, p Receiver, log *slog.Logger, opts Options) *fetcher {
	return &fetcher{
		acct:     a,
		store:    st,
		pipeline: p,
		log:      log.With("project", a.Project, "mailbox", a.IMAP.Mailbox, "imap_host", a.IMAP.Host),
		opts:     opts,
		auth:     newAuthenticator(a.IMAP),
		wake:     make(chan struct{}, 1),
		status:   Status{Project: a.Project, Mailbox: a.IMAP.Mailbox},
		done:     make(chan struct{}),
	}
}

func (f *fetcher) start() {
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.work, f.abortWork = context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		defer close(f.done)
		defer f.abortWork()
		f.run(ctx)
	}()
}

// stop ends the fetcher: IDLE is ended with DONE and the session logged
// out. When ctx ends first, the connection is closed under it.
func (f *fetcher) stop(ctx context.Context) error {
	f.cancel()
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
	}
	f.abortWork()
	f.mu.Lock()
	if f.conn != nil {
		f.conn.Close()
	}
	f.mu.Unlock()
	<-f.done
	return fmt.Errorf("imap %s: stopped by closing the connection: %w", f.acct.Project, ctx.Err())
}

func (f *fetcher) snapshot() Status {
	f.mu.Lock()
	s := f.status
	f.mu.Unlock()
	s.OAuth2Error = f.auth.refreshError()
	return s
}

func (f *fetcher) update(fn func(*Status)) {
	f.mu.Lock()
	fn(&f.status)
	f.mu.Unlock()
	f.notify()
}

// notify tells Options.OnStatus, when set, of a change.
func (f *fetcher) notify() {
	if f.opts.OnStatus != nil {
		f.opts.OnStatus()
	}
}

func (f *fetcher) recordError(err error) {
	f.update(func(s *Status) {
		s.LastError = err.Error()
		s.LastErrorAt = time.Now()
		s.Errors++
	})
}

// run reads the mailbox until ctx ends. On a store several nodes share
// (store.NodeLocker) it first takes the mailbox's node lock: one node
// reads a mailbox at a time, and another takes over as soon as the
// holder's lock ends (it stopped, died, or lost its database connection).
func (f *fetcher) run(ctx context.Context) {
	locker, ok := f.store.(store.NodeLocker)
	if !ok {
		f.read(ctx)
		return
	}
	backoff := f.opts.BackoffMin
	for ctx.Err() == nil {
		held, err := locker.Lock(ctx, "imap:"+f.acct.key())
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			f.recordError(err)
			f.log.Warn("imap: could not take the mailbox lock; retrying", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, f.opts.BackoffMax)
			continue
		}
		backoff = f.opts.BackoffMin
		f.log.Info("imap: this node reads the mailbox")
		lctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-held.Lost():
				cancel()
			case <-lctx.Done():
			}
		}()
		f.read(lctx)
		cancel()
		held.Release()
	}
}

// read connects, catches up and waits for mail, reconnecting with backoff,
// until ctx ends.
func (f *fetcher) read(ctx context.Context) {
	backoff := f.opts.BackoffMin
	for {
		synced, err := f.session(ctx)
		f.update(func(s *Status) { s.Connected, s.Idling = false, false })
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("session ended")
		}
		if synced {
			backoff = f.opts.BackoffMin
		}
		f.recordError(err)
		// Jitter spreads the reconnects of many accounts after an outage.
		wait := backoff/2 + rand.N(backoff/2+1)
		f.log.Warn("imap session failed; reconnecting", "err", err, "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, f.opts.BackoffMax)
	}
}

// dial connects and logs in.
func (f *fetcher) dial(ctx context.Context) (*imapclient.Client, error) {
	cfg := &f.acct.IMAP
	opts := &imapclient.Options{
		TLSConfig: &tls.Config{ServerName: cfg.Host, InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12},
		Dialer:    &net.Dialer{Timeout: 30 * time.Second},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case f.wake <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	// The TCP connection is dialled here, under ctx, and kept where stop
	// can close it: a server that hangs at any step cannot hold up a
	// shutdown.
	conn, err := (&net.Dialer{Timeout: 30 * time.Second}).DialContext(ctx, "tcp", cfg.Addr())
	if err != nil {
		return nil, fault.Temporary(fmt.Errorf("imap connect %s: %w", cfg.Addr(), err))
	}
	f.mu.Lock()
	f.conn = conn
	f.mu.Unlock()
	f.notify()
	var c *imapclient.Client
	switch cfg.TLS {
	case "tls":
		tc := opts.TLSConfig.Clone()
		tc.NextProtos = []string{"imap"}
		tconn := tls.Client(conn, tc)
		if err := tconn.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fault.Temporary(fmt.Errorf("imap connect %s: %w", cfg.Addr(), err))
		}
		c = imapclient.New(tconn, opts)
	case "starttls":
		if c, err = imapclient.NewStartTLS(conn, opts); err != nil {
			conn.Close()
			return nil, fault.Temporary(fmt.Errorf("imap connect %s: STARTTLS: %w", cfg.Addr(), err))
		}
	default:
		c = imapclient.New(conn, opts)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fault.Temporary(fmt.Errorf("imap greeting from %s: %w", cfg.Addr(), err))
	}
	if err := f.auth.login(c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// session runs one connection until it fails or ctx ends; synced reports
// whether it caught up at least once (which resets the backoff).
func (f *fetcher) session(ctx context.Context) (synced bool, err error) {
	defer func() {
		f.mu.Lock()
		f.conn = nil
		f.mu.Unlock()
	}()
	c, err := f.dial(ctx)
	if err != nil {
		return false, err
	}
	defer func() {
		if ctx.Err() != nil && err == nil {
			c.Logout().Wait()
		}
		c.Close()
	}()
	cfg := &f.acct.IMAP
	for _, mbox := range []string{cfg.ProcessedMailbox, cfg.ErrorMailbox} {
		if err := ensureMailbox(c, mbox); err != nil {
			return false, err
		}
	}
	sel, err := c.Select(cfg.Mailbox, nil).Wait()
	if err != nil {
		return false, fault.Temporary(fmt.Errorf("imap select %s: %w", cfg.Mailbox, err))
	}
	idle := cfg.IdleEnabled() && c.Caps().Has(imap.CapIdle)
	f.update(func(s *Status) { s.Connected = true })
	f.log.Info("imap connected", "uidvalidity", sel.UIDValidity, "messages", sel.NumMessages, "idle", idle)
	for {
		if err := f.sync(ctx, c, sel); err != nil {
			return synced, err
		}
		synced = true
		if ctx.Err() != nil {
			return synced, nil
		}
		woken := false
		if idle {
			woken, err = f.idle(ctx, c)
		} else {
			err = f.poll(ctx, c)
		}
		if err != nil {
			return synced, err
		}
		if ctx.Err() != nil {
			return synced, nil
		}
		if !woken {
			// Some servers do not tell a session that its mailbox was
			// deleted and recreated: selecting it again on every poll
			// and IDLE refresh notices a new UIDVALIDITY.
			if sel, err = c.Select(cfg.Mailbox, nil).Wait(); err != nil {
				return synced, fault.Temporary(fmt.Errorf("imap select %s: %w", cfg.Mailbox, err))
			}
		}
	}
}

// ensureMailbox creates name unless it exists ("" = nothing to do).
func ensureMailbox(c *imapclient.Client, name string) error {
	if name == "" {
		return nil
	}
	list, err := c.List("", name, nil).Collect()
	if err != nil {
		return fault.Temporary(fmt.Errorf("imap list %s: %w", name, err))
	}
	if len(list) > 0 {
		return nil
	}
	if err := c.Create(name, nil).Wait(); err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists {
			return nil
		}
		return fault.Temporary(fmt.Errorf("imap create %s: %w", name, err))
	}
	return nil
}

// idle waits in IDLE until the server reports new mail (woken), the
// refresh interval passes (RFC 2177: re-issue before 29 minutes) or ctx
// ends; then it ends IDLE cleanly with DONE.
func (f *fetcher) idle(ctx context.Context, c *imapclient.Client) (woken bool, err error) {
	select {
	case <-f.wake:
		// Mail reported during the last catch-up: catch up again first.
		return true, nil
	default:
	}
	cmd, err := c.Idle()
	if err != nil {
		return false, fault.Temporary(fmt.Errorf("imap idle: %w", err))
	}
	f.update(func(s *Status) { s.Idling = true })
	wait := f.opts.IdleRefresh
	if f.pending {
		wait = min(wait, f.acct.IMAP.PollInterval)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	closed := false
	select {
	case <-ctx.Done():
	case <-f.wake:
		woken = true
	case <-t.C:
	case <-c.Closed():
		closed = true
	}
	f.update(func(s *Status) { s.Idling = false })
	if closed {
		return false, fault.Temporaryf("imap: connection closed while idling")
	}
	if err := cmd.Close(); err != nil {
		return false, fault.Temporary(fmt.Errorf("imap idle done: %w", err))
	}
	if err := cmd.Wait(); err != nil {
		return false, fault.Temporary(fmt.Errorf("imap idle: %w", err))
	}
	return woken, nil
}

// poll waits one poll interval (the next catch-up's UID SEARCH is the
// poll).
func (f *fetcher) poll(ctx context.Context, c *imapclient.Client) error {
	t := time.NewTimer(f.acct.IMAP.PollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-c.Closed():
		return fault.Temporaryf("imap: connection closed")
	}
	return nil
}

// sync catches up: every message above the cursor is handled in UID order.
func (f *fetcher) sync(ctx context.Context, c *imapclient.Client, sel *imap.SelectData) error {
	f.update(func(s *Status) { s.LastPoll = time.Now() })
	// A search sees only the messages the server has announced to this
	// session; NOOP lets it announce the new ones first.
	if err := c.Noop().Wait(); err != nil {
		return fault.Temporary(fmt.Errorf("imap noop: %w", err))
	}
	cur, err := f.cursor(c, sel)
	if err != nil {
		return err
	}
	crit := &imap.SearchCriteria{}
	var rng imap.UIDSet
	rng.AddRange(imap.UID(cur.LastUID+1), 0)
	crit.UID = []imap.UIDSet{rng}
	sd, err := c.UIDSearch(crit, nil).Wait()
	if err != nil {
		return fault.Temporary(fmt.Errorf("imap search: %w", err))
	}
	var uids []uint32
	for _, u := range sd.AllUIDs() {
		// "n:*" includes the highest UID even when it is below n.
		if uint32(u) > cur.LastUID {
			uids = append(uids, uint32(u))
		}
	}
	slices.Sort(uids)
	done := map[uint32]bool{}
	deferrals := 0
	const chunk = 100
	for i := 0; i < len(uids) && ctx.Err() == nil; i += chunk {
		part := uids[i:min(i+chunk, len(uids))]
		sizes, err := fetchSizes(c, part)
		if err != nil {
			return err
		}
		for _, uid := range part {
			if ctx.Err() != nil {
				break
			}
			size, present := sizes[uid]
			if !present {
				// Expunged by someone else since the search (the next
				// search will not list it and the cursor passes it) —
				// or a server that lists what it will not fetch: never
				// counted as handled.
				continue
			}
			if f.opts.Pace != nil {
				f.opts.Pace(ctx) // the outbound sender lags: let it catch up first
			}
			ok, err := f.handle(c, cur, uid, size)
			var later *deferred
			if errors.As(err, &later) {
				// Refused for now (a sender over the new-ticket rate,
				// a busy store): the messages behind it go on; it is
				// tried again after a poll interval. Several in a row
				// mean the store itself is in trouble: back off.
				if deferrals++; deferrals < maxDeferrals {
					f.recordError(err)
					continue
				}
			} else if err == nil {
				deferrals = 0
			}
			if err != nil {
				if perr := f.advance(cur, uids, done); perr != nil {
					f.log.Error("could not save the imap cursor", "err", perr)
				}
				return err
			}
			done[uid] = ok
		}
	}
	if err := f.advance(cur, uids, done); err != nil {
		return err
	}
	f.pending = false
	for _, u := range uids {
		f.pending = f.pending || !done[u]
	}
	f.update(func(s *Status) { s.LastSync = time.Now() })
	return nil
}

// cursor returns the stored cursor, setting it up on the first start
// (start: now|all|all-quiet) and after a UIDVALIDITY change.
func (f *fetcher) cursor(c *imapclient.Client, sel *imap.SelectData) (store.IMAPCursor, error) {
	key := f.acct.key()
	var cur store.IMAPCursor
	var found bool
	err := f.store.View(func(tx store.Tx) error {
		var err error
		cur, found, err = tx.IMAPCursor(key)
		return err
	})
	if err != nil {
		return cur, fault.Temporary(err)
	}
	if found && cur.UIDValidity == sel.UIDValidity {
		return cur, nil
	}
	next := store.IMAPCursor{UIDValidity: sel.UIDValidity}
	if found {
		// The UIDs were renumbered: read everything again; what was
		// already stored is recognised as a duplicate.
		f.log.Warn("imap UIDVALIDITY changed; re-reading the mailbox (stored messages are recognised as duplicates)", "old", cur.UIDValidity, "new", sel.UIDValidity)
	} else {
		highest := uint32(0)
		if sel.UIDNext > 0 {
			highest = uint32(sel.UIDNext) - 1
		} else if sel.NumMessages > 0 {
			sd, err := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
			if err != nil {
				return cur, fault.Temporary(fmt.Errorf("imap search: %w", err))
			}
			for _, u := range sd.AllUIDs() {
				highest = max(highest, uint32(u))
			}
		}
		switch f.acct.IMAP.Start {
		case config.IMAPStartAll:
		case config.IMAPStartAllQuiet:
			next.QuietUpTo = highest
		default:
			next.LastUID = highest
		}
		f.log.Info("imap mailbox read for the first time", "start", f.acct.IMAP.Start, "existing_up_to_uid", highest)
	}
	if err := f.store.Update(f.work, func(tx store.Tx) error { return tx.SetIMAPCursor(key, next) }); err != nil {
		return cur, err
	}
	return next, nil
}

// advance moves the cursor over the handled prefix of uids.
func (f *fetcher) advance(cur store.IMAPCursor, uids []uint32, done map[uint32]bool) error {
	last := cur.LastUID
	for _, u := range uids {
		if !done[u] {
			break
		}
		last = u
	}
	if last == cur.LastUID {
		return nil
	}
	cur.LastUID = last
	return f.store.Update(f.work, func(tx store.Tx) error { return tx.SetIMAPCursor(f.acct.key(), cur) })
}

func fetchSizes(c *imapclient.Client, uids []uint32) (map[uint32]int64, error) {
	set := imap.UIDSet{}
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	msgs, err := c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return nil, fault.Temporary(fmt.Errorf("imap fetch sizes: %w", err))
	}
	out := make(map[uint32]int64, len(msgs))
	for _, m := range msgs {
		out[uint32(m.UID)] = m.RFC822Size
	}
	return out, nil
}

// handle processes one message; ok is true when it is finished with (moved
// or flagged). An error ends the catch-up (connection trouble, or the
// store refusing temporarily); the message is then retried later.
func (f *fetcher) handle(c *imapclient.Client, cur store.IMAPCursor, uid uint32, size int64) (bool, error) {
	ctx := f.work // a started message is finished while stopping, until stop's deadline
	key, uv := f.acct.key(), cur.UIDValidity
	cfg := &f.acct.IMAP
	log := f.log.With("uid", uid)
	var rec store.IMAPAttempt
	// The attempt is counted before processing, so that a message that
	// brings the daemon down is isolated after restarts too.
	err := f.store.Update(ctx, func(tx store.Tx) error {
		r, err := tx.IMAPAttempt(key, uv, uid)
		if err != nil {
			return err
		}
		if !r.Done {
			r.Attempts++
			if err := tx.PutIMAPAttempt(key, uv, uid, r); err != nil {
				return err
			}
		}
		rec = r
		return nil
	})
	if err != nil {
		return false, fault.Temporary(fmt.Errorf("imap: count attempt: %w", err))
	}
	if rec.Done {
		return true, nil
	}
	if rec.Attempts > cfg.MaxAttempts {
		log.Error("imap message failed too often (the daemon stopped while processing it); moving it to the error mailbox", "attempts", rec.Attempts-1, "error_mailbox", cfg.ErrorMailbox, "last_error", rec.LastError)
		return f.finish(c, uid, uv, cfg.ErrorMailbox)
	}

	oversize := f.acct.MaxBytes > 0 && size > f.acct.MaxBytes
	// The message streams from the connection into the pipeline's spool:
	// only its header (bounded) is held here, to read the envelope sender.
	var rerr error
	found, err := fetchStream(c, uid, oversize, func(lit imap.LiteralReader) error {
		if lit.Size() == 0 {
			// A server bug must not become an empty ticket and a
			// moved message. The attempt counts: a message that
			// never comes whole ends in the error mailbox.
			return fault.Temporaryf("imap fetch uid %d: the server sent no content for a message of %d bytes", uid, size)
		}
		h, body, err := peekHeader(lit)
		if err != nil {
			return fault.Temporary(fmt.Errorf("imap fetch uid %d: %w", uid, err))
		}
		if oversize {
			body = bytes.NewReader(oversizeStandIn(h, size, f.acct.MaxBytes, cfg.ErrorMailbox))
		}
		hdr := envelopeOf(h)
		log = log.With("msgid", hdr.messageID)
		env := &mailin.Envelope{
			Source:     "imap",
			Trusted:    true,
			MailFrom:   hdr.returnPath,
			NullSender: hdr.nullSender,
			Rcpts:      []string{f.acct.Address},
			Quiet:      uid <= cur.QuietUpTo,
		}
		if oversize {
			setOversize(env, size)
		}
		if errs := f.pipeline.Receive(ctx, env, body); len(errs) > 0 {
			rerr = errs[0]
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	if !found {
		// Expunged meanwhile, or withheld: not handled (see sync).
		return false, nil
	}
	switch {
	case rerr == nil:
		dest := cfg.ProcessedMailbox
		if oversize {
			// The whole message stays available to a human.
			dest = cfg.ErrorMailbox
			log.Warn("imap message over inbound.max_message_bytes: stored as a note, left in the error mailbox", "size", size, "error_mailbox", dest)
		}
		ok, err := f.finish(c, uid, uv, dest)
		if ok {
			f.update(func(s *Status) { s.Ingested++ })
		}
		return ok, err
	case fault.IsTemporary(rerr):
		// Not the message's fault: give the attempt back.
		if err := f.store.Update(ctx, func(tx store.Tx) error {
			r, err := tx.IMAPAttempt(key, uv, uid)
			if err != nil {
				return err
			}
			r.Attempts = max(r.Attempts-1, 0)
			return tx.PutIMAPAttempt(key, uv, uid, r)
		}); err != nil {
			log.Error("could not give back an imap attempt", "err", err)
		}
		log.Warn("imap message refused for now; will retry", "err", rerr)
		return false, &deferred{fault.Temporary(fmt.Errorf("imap uid %d: refused for now: %w", uid, rerr))}
	default:
		if err := f.store.Update(ctx, func(tx store.Tx) error {
			r, err := tx.IMAPAttempt(key, uv, uid)
			if err != nil {
				return err
			}
			r.LastError = rerr.Error()
			return tx.PutIMAPAttempt(key, uv, uid, r)
		}); err != nil {
			log.Error("could not record an imap failure", "err", err)
		}
		f.recordError(fmt.Errorf("uid %d: %w", uid, rerr))
		if rec.Attempts >= cfg.MaxAttempts {
			log.Error("imap message failed permanently; moving it to the error mailbox", "attempts", rec.Attempts, "err", rerr, "error_mailbox", cfg.ErrorMailbox)
			return f.finish(c, uid, uv, cfg.ErrorMailbox)
		}
		log.Warn("imap message failed; will retry", "attempt", rec.Attempts, "max_attempts", cfg.MaxAttempts, "err", rerr)
		return false, nil
	}
}

// finish moves a handled message to dest (or flags it \Seen when dest is
// empty) and marks it done in the store.
func (f *fetcher) finish(c *imapclient.Client, uid, uv uint32, dest string) (bool, error) {
	set := imap.UIDSetNum(imap.UID(uid))
	if dest == "" {
		if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
			return false, fault.Temporary(fmt.Errorf("imap flag uid %d \\Seen: %w", uid, err))
		}
	} else if err := move(c, set, dest); err != nil {
		return false, fault.Temporary(fmt.Errorf("imap move uid %d to %s: %w", uid, dest, err))
	} else {
		// Gone from the mailbox: no search finds it again, and the
		// cursor passes it at the end of this catch-up. No commit
		// (fsync) needed.
		return true, nil
	}
	key := f.acct.key()
	if err := f.store.Update(f.work, func(tx store.Tx) error {
		r, err := tx.IMAPAttempt(key, uv, uid)
		if err != nil {
			return err
		}
		r.Done = true
		return tx.PutIMAPAttempt(key, uv, uid, r)
	}); err != nil {
		// Moved anyway: at worst it is fetched again and recognised as
		// a duplicate.
		f.log.Warn("could not mark imap message done", "uid", uid, "err", err)
	}
	return true, nil
}

// move is UID MOVE, or without the MOVE extension UID COPY + \Deleted +
// UID EXPUNGE. Without UIDPLUS the copy is only flagged \Deleted \Seen: a
// plain EXPUNGE would also remove mail others flagged for deletion.
func move(c *imapclient.Client, set imap.UIDSet, dest string) error {
	if c.Caps().Has(imap.CapMove) {
		_, err := c.Move(set, dest).Wait()
		return err
	}
	if _, err := c.Copy(set, dest).Wait(); err != nil {
		return err
	}
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted, imap.FlagSeen}}, nil).Close(); err != nil {
		return err
	}
	if c.Caps().Has(imap.CapUIDPlus) {
		return c.UIDExpunge(set).Close()
	}
	return nil
}

// deferred is a message the pipeline refused temporarily (rate limit, busy
// store): not the connection's fault.
type deferred struct{ err error }

func (d *deferred) Error() string { return d.err.Error() }
func (d *deferred) Unwrap() error { return d.err }

// maxDeferrals temporary refusals in a row end a catch-up (and the session,
// which backs off before reconnecting).
const maxDeferrals = 3

// emptyLiteral stands for a body the server sent as NIL.
type emptyLiteral struct{}

func (emptyLiteral) Read([]byte) (int, error) { return 0, io.EOF }
func (emptyLiteral) Size() int64              { return 0 }

// fetchStream fetches BODY.PEEK[] (or only the header) of one message and
// hands fn its literal as it arrives from the connection, so that no
// message is ever held whole (no Collect). found is false when the server
// sent no body for uid. An error of the command (the connection) comes
// first; otherwise fn's error is returned.
func fetchStream(c *imapclient.Client, uid uint32, headerOnly bool, fn func(imap.LiteralReader) error) (found bool, err error) {
	bs := &imap.FetchItemBodySection{Peek: true}
	if headerOnly {
		bs.Specifier = imap.PartSpecifierHeader
	}
	cmd := c.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{bs}})
	var fnErr error
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		var seen imap.UID
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				seen = it.UID
			case imapclient.FetchItemDataBodySection:
				// The command names one UID; a body for another
				// (seen before it) is not ours.
				if found || (seen != 0 && seen != imap.UID(uid)) {
					continue
				}
				found = true
				lit := it.Literal
				if lit == nil {
					lit = emptyLiteral{} // NIL: no content
				}
				fnErr = fn(lit)
			}
		}
	}
	if err := cmd.Close(); err != nil {
		return found, fault.Temporary(fmt.Errorf("imap fetch uid %d: %w", uid, err))
	}
	return found, fnErr
}
