// Package store keeps ticketgate's state: one bbolt file for records and
// indexes, and content-addressed files for raw messages and attachments.
//
// The contract is the DB and Tx interfaces (contract.go); bbolt is its one
// implementation and store/storetest the conformance suite any other must
// pass.
//
// Writes go through Update, which runs a group-commit loop: every caller's
// function that arrives while a commit is in flight joins the next
// transaction, so concurrent ingestions share one fsync without waiting for a
// timer. A function may therefore run more than once (when another function
// in its batch fails, the batch is rolled back and retried without it): it
// must only touch the store through its Tx and must not have side effects
// outside it. Update returns only after the commit is on disk.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/internal/bufpool"
)

// SchemaVersion is the layout version this code reads and writes. An
// older store is backed up and migrated on Open (migrate.go); a newer one
// is refused.
const SchemaVersion = 11

// ErrClosed is returned by Update after Close.
var ErrClosed = errors.New("store: closed")

// ErrNotFound is returned by lookups that find nothing.
var ErrNotFound = errors.New("not found")

// Options tunes Open.
type Options struct {
	// LockTimeout is how long Open waits for another process holding the
	// file; after it Open fails with a temporary error. Default 2 s.
	LockTimeout time.Duration
	// MaxBatch caps how many Update functions share one commit. Default 256.
	MaxBatch int
	// NoSync skips fsync. Only for tests and offline bulk loads that can
	// be redone: a crash can corrupt the file.
	NoSync bool
	// ReadOnly opens the file for reading only (e.g. tools, with the
	// daemon stopped). The quick check of Open is left to the caller
	// (check-store runs the full one, DB.Check).
	ReadOnly bool
	// RunTwice runs every Update function twice, first in a transaction
	// that is rolled back, then for real (the second result is kept): it
	// proves that callers keep the rule "a transaction function may run
	// more than once". For tests; the environment variable
	// TICKETGATE_STORE_RUN_TWICE=1 switches it on for every store opened
	// (CI's test run sets it).
	RunTwice bool
	// OnCommit, when set, is called after every durable commit of Update
	// functions (once per batch that shares a commit), once the
	// AfterCommit functions ran: what was committed is visible to View.
	// It runs on the commit loop, so it must not block or call Update.
	// For a supervisor or test that waits for what the daemon writes.
	OnCommit func()
	Logger   *slog.Logger

	// linger replaces the commit loop's timer (see commitLinger), for
	// tests.
	linger func() (<-chan time.Time, func() bool)
}

// RunTwiceEnv is the environment variable that sets Options.RunTwice.
const RunTwiceEnv = "TICKETGATE_STORE_RUN_TWICE"

// boltDB is the bbolt implementation of DB: the open database and blob folder.
type boltDB struct {
	db       *bolt.DB
	dir      string
	blobDir  string
	tmpDir   string
	log      *slog.Logger
	maxBatch int
	linger   func() (<-chan time.Time, func() bool)

	reqs      chan *request
	closeOnce sync.Once
	quit      chan struct{}
	loopDone  chan struct{}
	mu        sync.RWMutex // guards closed against concurrent Update/Close
	closed    bool
	// installation is the installation id (install.go).
	installation string
	// blobMu keeps blob removal (sweep, retention) away from a backup
	// in progress.
	blobMu sync.RWMutex
	// bufs lends the buffers blobs are written and verified through.
	bufs     bufpool.Pool
	noSync   bool
	runTwice bool
	onCommit func()
	// beforeRemove, when set (tests), runs between each listing of
	// removeStale and the removal of what it listed.
	beforeRemove func()

	// pendMu guards the blobs placed by CommitPending and not yet
	// fsynced (pending), the sequence number of the last one placed and of
	// the last one durable, and blobErr (a failed blob fsync: from then on
	// nothing is acknowledged). synced changes are broadcast on blobCond.
	pendMu   sync.Mutex
	blobCond *sync.Cond
	pending  []pendingBlob
	placed   uint64
	synced   uint64
	blobErr  error
	// inline holds the inline blobs (at most InlineBlobMax bytes) placed
	// by CommitPending and not yet written: the next batch of the commit
	// loop writes them inside its own transaction (blob.go).
	inline      []pendingInline
	inlineBytes int // the bytes of their content
	// commitErr is the error of the last commit when it failed, nil once
	// one succeeds (guarded by pendMu): /readyz asks CommitFailing.
	commitErr error
	// placeMu makes "is the blob there? else rename it into place and
	// register it as pending" one step for concurrent writers.
	placeMu sync.Mutex
	// kick wakes the blob syncer; syncQuit/syncDone stop it.
	kick     chan struct{}
	syncQuit chan struct{}
	syncDone chan struct{}
}

// pendingBlob is a blob file renamed into place but not yet fsynced.
type pendingBlob struct {
	seq    uint64
	f      *os.File
	dir    string
	newDir bool // dir was created for it: its parent needs a sync too
}

type request struct {
	fn   func(Tx) error
	done chan error
	// blobs is the sequence number of the last blob placed when the
	// request was queued: its commit waits until that one is durable.
	blobs uint64
}

// Open opens (creating if needed) the store in dir: dir/ticketgate.db,
// dir/blobs/ and dir/tmp/. A store that must not be served — an empty or
// missing database next to mail files, a truncated or unreadable one, one
// of another installation — is refused with an error matching ErrDamaged
// (install.go), and nothing is written.
func Open(dir string, opts Options) (DB, error) {
	s, err := openBolt(dir, opts)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func openBolt(dir string, opts Options) (*boltDB, error) {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = 2 * time.Second
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.linger == nil {
		opts.linger = func() (<-chan time.Time, func() bool) {
			t := time.NewTimer(commitLinger)
			return t.C, t.Stop
		}
	}
	s := &boltDB{
		dir:      dir,
		blobDir:  filepath.Join(dir, "blobs"),
		tmpDir:   filepath.Join(dir, "tmp"),
		log:      opts.Logger,
		maxBatch: opts.MaxBatch,
		linger:   opts.linger,
		noSync:   opts.NoSync,
		runTwice: opts.RunTwice || os.Getenv(RunTwiceEnv) == "1",
		onCommit: opts.OnCommit,
		reqs:     make(chan *request, opts.MaxBatch),
		quit:     make(chan struct{}),
		loopDone: make(chan struct{}),
		kick:     make(chan struct{}, 1),
		syncQuit: make(chan struct{}),
		syncDone: make(chan struct{}),
	}
	s.blobCond = sync.NewCond(&s.pendMu)
	if !opts.ReadOnly {
		for _, d := range []string{dir, s.blobDir, s.tmpDir} {
			if err := os.MkdirAll(d, 0o750); err != nil {
				return nil, fault.Temporary(fmt.Errorf("store: %w", err))
			}
		}
	}
	dbPath := filepath.Join(dir, "ticketgate.db")
	fresh, err := preflight(dir, dbPath, s.blobDir)
	if err != nil {
		return nil, err
	}
	var db *bolt.DB
	err = protect(dir, func() error {
		var err error
		db, err = bolt.Open(dbPath, 0o640, &bolt.Options{
			Timeout:         opts.LockTimeout,
			NoSync:          opts.NoSync,
			ReadOnly:        opts.ReadOnly,
			FreelistType:    bolt.FreelistMapType,
			InitialMmapSize: initialMap(dbPath),
		})
		return err
	})
	if err != nil {
		if errors.Is(err, ErrDamaged) {
			return nil, err
		}
		if errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) || errors.Is(err, berrors.ErrVersionMismatch) {
			return nil, damaged(dir, "bbolt cannot open ticketgate.db: %v", err)
		}
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fault.Temporaryf("store: %s is locked by another process (is the daemon running?): %w", dir, err)
		}
		return nil, fault.Temporary(fmt.Errorf("store: open: %w", err))
	}
	s.db = db
	// Everything that reads the file before it is served runs under
	// protect: a damaged page is a refusal, not a crash.
	err = protect(dir, func() error {
		// Read-only is check-store's mode: it runs the full check
		// itself and wants every finding, not the first one.
		if !fresh && !opts.ReadOnly {
			if err := s.quickCheck(); err != nil {
				return err
			}
		}
		if opts.ReadOnly {
			if err := s.checkVersion(); err != nil {
				return err
			}
			return s.adoptInstallation(fresh, true)
		}
		if err := s.init(); err != nil {
			return err
		}
		return s.adoptInstallation(fresh, false)
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	if opts.ReadOnly {
		close(s.loopDone)
		close(s.syncDone)
	} else {
		s.warnFreelist()
		go s.blobSyncer()
		go s.commitLoop()
	}
	return s, nil
}

// Free pages over both bounds make the start-up warn: bbolt writes (and
// sorts) the whole list of free pages at every commit, so a file that is
// mostly free space — after a migration rewrote much of it, or after
// retention deleted much — costs CPU on every write until compacted
// (BENCHMARKS.md: 1.5x the CPU per new request on 1M tickets).
const (
	freelistWarnPages    = 16384 // 64 MiB of 4 KiB pages
	freelistWarnFraction = 0.25
)

// warnFreelist logs when much of the file is free pages.
func (s *boltDB) warnFreelist() {
	free := s.db.Stats().FreePageN
	var pages int64
	s.db.View(func(btx *bolt.Tx) error { pages = btx.Size() / int64(s.db.Info().PageSize); return nil })
	if free >= freelistWarnPages && pages > 0 && float64(free) >= freelistWarnFraction*float64(pages) {
		s.log.Warn("store: much of ticketgate.db is free pages, which every commit pays for: stop the daemon and run `ticketgate compact`",
			"free_pages", free, "pages", pages)
	}
}

// Dir returns the folder the store lives in.
func (s *boltDB) Dir() string { return s.dir }

func (s *boltDB) checkVersion() error {
	return s.db.View(func(btx *bolt.Tx) error {
		b := btx.Bucket(bMeta)
		if b == nil {
			return nil
		}
		v := getU64(b.Get([]byte("schema")))
		if v > SchemaVersion {
			return fault.Permanentf("store: schema version %d is newer than this binary's %d: refusing to touch it", v, SchemaVersion)
		}
		return nil
	})
}

func (s *boltDB) init() error {
	if err := s.checkVersion(); err != nil {
		return err
	}
	if err := s.migrate(); err != nil {
		return err
	}
	return s.db.Update(func(btx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := btx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("store: create bucket %s: %w", name, err)
			}
		}
		meta := btx.Bucket(bMeta)
		if meta.Get([]byte("schema")) == nil {
			return meta.Put([]byte("schema"), putU64(SchemaVersion))
		}
		return nil
	})
}

// Close waits for queued updates, stops the commit loop and closes the file.
func (s *boltDB) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.quit)
		<-s.loopDone
		// The syncer syncs what is still pending (blobs placed without a
		// following Update) before it stops.
		select {
		case <-s.syncQuit:
		default:
			close(s.syncQuit)
		}
		<-s.syncDone
		err = s.db.Close()
	})
	return err
}

// View runs fn in a read-only transaction. Values read inside fn are only
// valid inside it (the typed accessors return copies).
func (s *boltDB) View(fn func(Tx) error) error {
	var tx *boltTx
	err := s.db.View(func(btx *bolt.Tx) error {
		tx = &boltTx{btx: btx}
		return fn(tx)
	})
	if err == nil {
		tx.runAfterCommit(s.log)
	}
	return err
}

// Update runs fn in a read-write transaction shared with other concurrent
// callers and returns once that transaction is durable. See the package
// comment for the rules fn must follow; effects outside the store go
// through Tx.AfterCommit. Storage failures are temporary.
func (s *boltDB) Update(ctx context.Context, fn func(Tx) error) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return fault.Temporary(ErrClosed)
	}
	s.pendMu.Lock()
	r := &request{fn: fn, done: make(chan error, 1), blobs: s.placed}
	s.pendMu.Unlock()
	select {
	case s.reqs <- r:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return fault.Temporary(fmt.Errorf("store: update not started: %w", ctx.Err()))
	}
	// Once queued the request is committed or failed by the loop; waiting
	// for it even after ctx ends keeps "acknowledged only when durable"
	// honest: the caller learns the real outcome.
	return <-r.done
}

func (s *boltDB) commitLoop() {
	defer close(s.loopDone)
	for {
		var first *request
		select {
		case first = <-s.reqs:
		case <-s.quit:
			// Drain what was queued before Close flipped closed.
			for {
				select {
				case r := <-s.reqs:
					s.runBatch([]*request{r})
				default:
					return
				}
			}
		}
		batch := []*request{first}
	fill:
		for len(batch) < s.maxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		if len(batch) >= lingerFrom && len(batch) < s.maxBatch {
			batch = s.gather(batch)
		}
		s.runBatch(batch)
	}
}

// commitLinger is how long a commit that found lingerFrom or more
// functions waiting waits for more before it writes: a group commit
// delay, as PostgreSQL's commit_delay with commit_siblings. Writers that
// come one at a time never wait; when several come at once, more are
// coming, and each commit costs two fdatasyncs and the rewrite of every
// page it touched (the leaves of the random-keyed buckets: Message-IDs,
// rate counters, customers, the blob index) however few functions share
// it.
// Measured with smtpload at 32 connections (2 vCPUs): 1 ms took the
// daemon's CPU per request from 0.85-0.89 to 0.76 ms and its throughput
// up 10-15 %, the 250's p99 unchanged; 2 ms did no better.
const (
	commitLinger = time.Millisecond
	lingerFrom   = 2
)

// gather adds to batch what arrives within commitLinger, up to maxBatch.
func (s *boltDB) gather(batch []*request) []*request {
	c, stop := s.linger()
	defer stop()
	for len(batch) < s.maxBatch {
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		case <-c:
			return batch
		}
	}
	return batch
}

// appendFill is the fill percent of buckets whose keys only grow (a
// sequence number, a ticket number): bbolt splits a full page at its fill
// percent, 50 % by default, and an append-only page is never written
// again, so the default leaves these buckets half empty for good (the
// messages bucket of a 1M-ticket store was 38 % used, 2.9 GB of 7.3).
const appendFill = 0.9

// appendBuckets have keys that grow: be64 sequence numbers, project \0
// be64(ticket number), or be64(time) be64(sequence) (the audit trail's
// time index, which was half empty: 6.4 of 12.7 MB after 10,000 new
// requests); the bounce tokens' prune index begins with the expiry, so
// new entries land at its end (half of its pages were empty); the tokens
// begin with their creation time to about 15 µs (notify.TokenAt), and
// the commit loop writes them in that order; the inline blobs' content
// is keyed by its own sequence.
var appendBuckets = [][]byte{bMessages, bTickets, bOutbox, bAuditTime, bEventLog, bTokenPrune, bTokens, bBlobData}

// packAppends sets the fill percent of the append-only buckets for one
// write transaction (bbolt keeps it per bucket handle, per transaction).
func packAppends(btx *bolt.Tx) {
	for _, name := range appendBuckets {
		if b := btx.Bucket(name); b != nil {
			b.FillPercent = appendFill
		}
	}
}

// errBatchMember marks that one member of a batch failed; the others are
// retried without it.
type errBatchMember struct {
	index int
	err   error
}

func (e *errBatchMember) Error() string { return e.err.Error() }

// errBlobSync marks that the blobs of a batch could not be made durable.
type errBlobSync struct{ err error }

func (e *errBlobSync) Error() string { return "store: sync blobs: " + e.err.Error() }
func (e *errBlobSync) Unwrap() error { return e.err }

func (s *boltDB) runBatch(batch []*request) {
	// Blobs placed by CommitPending before a request of this batch was
	// queued must be durable before the bbolt commit: a record is never on
	// disk before the blob it refers to. The syncer flushes them in groups
	// while earlier batches commit; here the batch waits for its group.
	var need uint64
	for _, r := range batch {
		need = max(need, r.blobs)
	}
	waitBlobs := func() error {
		s.pendMu.Lock()
		defer s.pendMu.Unlock()
		for s.synced < need && s.blobErr == nil {
			s.blobCond.Wait()
		}
		if s.blobErr != nil {
			return &errBlobSync{err: s.blobErr}
		}
		return nil
	}
	if s.runTwice {
		s.rehearse(batch)
	}
	// Inline blobs registered before any request of this batch was
	// queued are among these: they commit in the batch's own transaction,
	// so they are durable with it (and with every record naming them).
	inline := s.takeInline()
	for len(batch) > 0 {
		var tx *boltTx
		err := s.db.Update(func(btx *bolt.Tx) error {
			tx = &boltTx{btx: btx}
			packAppends(btx)
			if err := writeInline(btx, inline, time.Now()); err != nil {
				return err
			}
			for i, r := range batch {
				err := callSafely(r.fn, tx)
				if err == nil {
					// The member's own audit record, complete (AddAudit).
					err = tx.flushAudit()
				}
				if err != nil {
					return &errBatchMember{index: i, err: err}
				}
			}
			return waitBlobs()
		})
		var member *errBatchMember
		var blobFail *errBlobSync
		switch {
		case errors.As(err, &blobFail):
			// The batch rolled back; a blob some caller acknowledges on
			// may be lost, so nobody is told "durable" any more.
			terr := fault.Temporary(fmt.Errorf("store: commit: %w", err))
			s.setCommitErr(terr)
			for _, r := range batch {
				r.done <- terr
			}
			return
		case err == nil:
			s.setCommitErr(nil)
			s.dropInline(len(inline))
			// Durable: the effects callers deferred to the commit run
			// now, once, before anyone is told.
			tx.runAfterCommit(s.log)
			for _, r := range batch {
				r.done <- nil
			}
			if s.onCommit != nil {
				s.onCommit()
			}
			return
		case errors.As(err, &member):
			batch[member.index].done <- member.err
			batch = append(batch[:member.index:member.index], batch[member.index+1:]...)
		default:
			// The commit itself failed (disk full, I/O error): nothing of
			// the batch is durable, every caller must retry.
			terr := fault.Temporary(fmt.Errorf("store: commit: %w", err))
			s.setCommitErr(terr)
			s.log.Error("store commit failed", "err", err, "batch", len(batch))
			for _, r := range batch {
				r.done <- terr
			}
			return
		}
	}
}

// errRehearsal rolls back the first pass of Options.RunTwice.
var errRehearsal = errors.New("store: rehearsal, rolled back")

// rehearse runs every function of batch once in a transaction that is then
// rolled back, whatever the functions return (Options.RunTwice).
func (s *boltDB) rehearse(batch []*request) {
	err := s.db.Update(func(btx *bolt.Tx) error {
		tx := &boltTx{btx: btx}
		packAppends(btx)
		for _, r := range batch {
			if callSafely(r.fn, tx) == nil {
				_ = tx.flushAudit()
			}
		}
		return errRehearsal
	})
	if !errors.Is(err, errRehearsal) {
		s.log.Error("store: rehearsal transaction failed", "err", err)
	}
}

func (s *boltDB) setCommitErr(err error) {
	s.pendMu.Lock()
	s.commitErr = err
	s.pendMu.Unlock()
}

// CommitFailing returns the error of the last commit when it failed (a
// full disk, an I/O error, a failed blob fsync), nil when it succeeded.
// Reads keep working while commits fail, so a read transaction alone
// cannot tell that nothing can be stored.
func (s *boltDB) CommitFailing() error {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	return s.commitErr
}

func (s *boltDB) addPending(b pendingBlob) {
	s.pendMu.Lock()
	s.placed++
	b.seq = s.placed
	s.pending = append(s.pending, b)
	s.pendMu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// blobSyncer makes placed blobs durable in groups: whatever was placed
// since the last wake-up forms a group and is synced at once, while earlier
// groups may still be in flight (a group does not wait for another, or
// ingestions arriving together would queue behind each other's fsyncs).
// synced advances over groups in order, so it only ever names a sequence
// number below which every blob is durable.
func (s *boltDB) blobSyncer() {
	defer close(s.syncDone)
	type group struct {
		last uint64
		done bool
	}
	var (
		inflight []*group // in placement order
		wg       sync.WaitGroup
	)
	finish := func(g *group, err error) {
		s.pendMu.Lock()
		defer s.pendMu.Unlock()
		if err != nil && s.blobErr == nil {
			s.blobErr = err
			s.log.Error("blob fsync failed: refusing every later update until restart", "err", err)
		}
		g.done = true
		for len(inflight) > 0 && inflight[0].done {
			s.synced = inflight[0].last
			inflight = inflight[1:]
		}
		s.blobCond.Broadcast()
	}
	for {
		stop := false
		select {
		case <-s.kick:
		case <-s.syncQuit:
			stop = true
		}
		s.pendMu.Lock()
		blobs := s.pending
		s.pending = nil
		var g *group
		if len(blobs) > 0 {
			g = &group{last: blobs[len(blobs)-1].seq}
			inflight = append(inflight, g)
		}
		s.pendMu.Unlock()
		if g != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				finish(g, s.syncBlobs(blobs))
			}()
		}
		if stop {
			wg.Wait()
			return
		}
	}
}

// blobSyncWorkers is how many blob fsyncs run at once: the disk merges
// concurrent flushes (and ext4 their journal commits).
const blobSyncWorkers = 16

// syncBlobs fsyncs every file (in parallel, closing it), then every folder
// they were renamed into, then the blob root when a folder was created.
func (s *boltDB) syncBlobs(blobs []pendingBlob) error {
	files := make([]func() error, len(blobs))
	dirs := map[string]bool{}
	newDir := false
	for i, b := range blobs {
		files[i] = func() error {
			err := b.f.Sync()
			if cerr := b.f.Close(); err == nil {
				err = cerr
			}
			return err
		}
		dirs[b.dir] = true
		newDir = newDir || b.newDir
	}
	if err := parallel(files); err != nil {
		return err
	}
	var dirSyncs []func() error
	for d := range dirs {
		dirSyncs = append(dirSyncs, func() error { return syncDir(d) })
	}
	if err := parallel(dirSyncs); err != nil {
		return err
	}
	if newDir {
		return syncDir(s.blobDir)
	}
	return nil
}

// parallel runs every fn on up to blobSyncWorkers goroutines and returns
// the first error after all have finished.
func parallel(fns []func() error) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		work  = make(chan func() error)
	)
	for range min(blobSyncWorkers, len(fns)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for fn := range work {
				if err := fn(); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, fn := range fns {
		work <- fn
	}
	close(work)
	wg.Wait()
	return first
}

// FlushBlobs makes every blob placed by CommitPending so far durable,
// for a caller that acknowledges a message without an Update of its own.
func (s *boltDB) FlushBlobs(ctx context.Context) error {
	return s.Update(ctx, func(Tx) error { return nil })
}

// callSafely turns a panic in one caller's function into that caller's
// error, so a poisoned message cannot take the commit loop (and every other
// caller) down with it.
func callSafely(fn func(Tx) error, tx *boltTx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fault.Permanentf("store: update function panicked: %v", p)
		}
	}()
	return fn(tx)
}

// Size returns the size of the bbolt file in bytes.
func (s *boltDB) Size() int64 {
	var n int64
	_ = s.db.View(func(btx *bolt.Tx) error { n = btx.Size(); return nil })
	return n
}

// initialMap is the size of the file's first memory map: twice the file,
// at least 1 GiB, on 64-bit Linux. bbolt grows its map (1 GiB at a time
// past the first GiB) only after every read transaction has ended, and
// every commit waits meanwhile: one long read (the search index built on
// the first start over a million tickets) held every delivery's 250 for
// 47 s when the file crossed 5 GiB. A map larger than the file costs
// address space only; elsewhere (32-bit, and Windows, where bbolt
// would make the file as large as its map) bbolt's own sizing stays.
func initialMap(path string) int {
	if runtime.GOOS != "linux" || strconv.IntSize < 64 {
		return 0
	}
	var size int64
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	return int(max(1<<30, 2*size))
}
