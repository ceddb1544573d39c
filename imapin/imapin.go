// Package imapin reads projects' support mailboxes over IMAP and hands each
// message to the same ingest pipeline SMTP mail goes through.
//
// One goroutine (a fetcher) per mailbox connects, catches up, then waits in
// IDLE (or polls every poll_interval) and catches up again. Catching up is
// UID-based only: the store keeps (UIDVALIDITY, highest UID handled) per
// mailbox and an attempt record per message above it. For each message, in
// UID order:
//
//  1. the attempt is counted in the store (before processing, so a message
//     that crashes the daemon is isolated after restarts too);
//  2. RFC822.SIZE is checked: over inbound.max_message_bytes only the
//     header is fetched and a note stands in for the body;
//  3. BODY.PEEK[] is fetched and handed to the pipeline, whose commit is
//     durable when it returns;
//  4. only then is the message moved (UID MOVE, or COPY + \Deleted + UID
//     EXPUNGE) to processed_mailbox, or flagged \Seen.
//
// A crash between 3 and 4 fetches the message again after the restart; the
// store recognises it (Message-ID and content hash) and no second ticket is
// made. A temporary failure (store busy, disk full) gives the attempt back;
// a message failing permanently max_attempts times goes to error_mailbox
// and the ones behind it keep flowing. A changed UIDVALIDITY re-reads the
// mailbox, duplicates again recognised by the store.
package imapin

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailin"
	"github.com/ticketgate/ticketgate/store"
)

// Receiver is the pipeline (satisfied by *ingest.Pipeline): it stores the
// message for every recipient and returns one error per recipient (nil =
// stored durably; fault.IsTemporary = try again later).
type Receiver interface {
	Receive(ctx context.Context, env *mailin.Envelope, r io.Reader) []error
}

// Status is the state of one mailbox, for the admin API and metrics.
type Status struct {
	Project, Mailbox string
	// Connected is true while a logged-in session has the mailbox
	// selected; Idling while it waits in IDLE.
	Connected, Idling bool
	// LastSync is the end of the last complete catch-up; LastPoll the
	// start of the last check for new mail (poll or IDLE wake-up).
	LastSync, LastPoll time.Time
	LastError          string
	LastErrorAt        time.Time
	// OAuth2Error is why the last OAuth2 access token refresh failed (the
	// token endpoint's answer), "" when it worked or none was needed.
	OAuth2Error string
	// Errors counts failed sessions and failed messages; Ingested the
	// messages stored and moved.
	Errors, Ingested uint64
}

// Options tunes the fetchers; zero values take the defaults.
type Options struct {
	// BackoffMin and BackoffMax bound the reconnect delay, which doubles
	// after each failure (with jitter). Defaults 1s and 5m.
	BackoffMin, BackoffMax time.Duration
	// IdleRefresh is how long one IDLE lasts before it is re-issued (RFC
	// 2177 asks for less than 29 minutes). Default 25m.
	IdleRefresh time.Duration
	// OnStatus, when set, is called after every change of a mailbox's
	// Status (connected, idling, a message ingested, an error) and when
	// its connection is dialled: for a supervisor or test that waits for
	// it. It must not block.
	OnStatus func()
	// Pace, when set, is called before each message is fetched; it may
	// hold the fetcher while the outbound sender lags (package flow).
	Pace   func(ctx context.Context)
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.BackoffMin <= 0 {
		o.BackoffMin = time.Second
	}
	if o.BackoffMax < o.BackoffMin {
		o.BackoffMax = max(5*time.Minute, o.BackoffMin)
	}
	if o.IdleRefresh <= 0 {
		o.IdleRefresh = 25 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Manager runs one fetcher per project with an imap section.
type Manager struct {
	store    store.DB
	pipeline Receiver
	opts     Options

	// applyMu serialises Apply and Stop; mu guards the fields below and
	// is never held while a fetcher stops, so Status stays responsive.
	applyMu  sync.Mutex
	mu       sync.Mutex
	fetchers map[string]*fetcher // by project key
	stopped  bool
}

// NewManager returns a manager with no mailboxes; Apply starts them.
func NewManager(st store.DB, p Receiver, opts Options) *Manager {
	opts.defaults()
	return &Manager{store: st, pipeline: p, opts: opts, fetchers: map[string]*fetcher{}}
}

// Apply makes the running fetchers match cfg: new mailboxes start, removed
// ones stop, changed ones restart; unchanged ones keep their connection.
func (m *Manager) Apply(cfg *config.Config) {
	want := map[string]account{}
	for _, p := range cfg.Projects {
		if p.IMAP != nil {
			want[p.Key] = account{Project: p.Key, Address: p.Address, IMAP: *p.IMAP, MaxBytes: cfg.Inbound.MaxMessageBytes}
		}
	}
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return
	}
	var retire []*fetcher
	for key, f := range m.fetchers {
		if a, ok := want[key]; !ok || !reflect.DeepEqual(a, f.acct) {
			retire = append(retire, f)
			delete(m.fetchers, key)
		}
	}
	m.mu.Unlock()
	// A changed mailbox's old fetcher ends before the new one starts:
	// never two readers on one mailbox.
	if len(retire) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		stopAll(ctx, retire, m.opts.Logger)
		cancel()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, a := range want {
		if _, ok := m.fetchers[key]; ok {
			continue
		}
		f := newFetcher(a, m.store, m.pipeline, m.opts.Logger, m.opts)
		m.fetchers[key] = f
		f.start()
		m.opts.Logger.Info("imap mailbox started", "project", key, "host", a.IMAP.Host, "mailbox", a.IMAP.Mailbox)
	}
}

// Stop ends every fetcher: IDLE ends with DONE and sessions log out. When
// ctx ends first, the remaining connections are closed under them.
func (m *Manager) Stop(ctx context.Context) error {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	m.mu.Lock()
	m.stopped = true
	all := make([]*fetcher, 0, len(m.fetchers))
	for _, f := range m.fetchers {
		all = append(all, f)
	}
	m.fetchers = map[string]*fetcher{}
	m.mu.Unlock()
	return stopAll(ctx, all, m.opts.Logger)
}

func stopAll(ctx context.Context, fs []*fetcher, log *slog.Logger) error {
	errs := make([]error, len(fs))
	var wg sync.WaitGroup
	for i, f := range fs {
		wg.Go(func() {
			errs[i] = f.stop(ctx)
			log.Info("imap mailbox stopped", "project", f.acct.Project, "mailbox", f.acct.IMAP.Mailbox)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Status reports every mailbox, ordered by project.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	fs := make([]*fetcher, 0, len(m.fetchers))
	for _, f := range m.fetchers {
		fs = append(fs, f)
	}
	m.mu.Unlock()
	out := make([]Status, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.snapshot())
	}
	slices.SortFunc(out, func(a, b Status) int {
		if a.Project < b.Project {
			return -1
		}
		if a.Project > b.Project {
			return 1
		}
		return 0
	})
	return out
}
