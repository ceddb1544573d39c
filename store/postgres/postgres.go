// Package postgres is the PostgreSQL implementation of the storage
// contract (store.DB, store.Tx): records, indexes and blobs in one
// database that several ticketgate nodes share. It passes the same
// conformance suite as bbolt (store/storetest).
//
// Every Update is one SERIALIZABLE transaction: ticket numbers are a row
// updated in the transaction (gap-free, never reused), and the Message-ID
// index is a unique key read and written in it, so two nodes storing the
// same message at once conflict and the loser's function runs again and
// finds the duplicate. A transaction that fails with a serialization
// failure or deadlock is retried from the start: the contract already
// says a function may run more than once. Blobs are rows of 1 MiB chunks,
// streamed in from a spool file and out to one; durability is the
// database's commit. The schema is created and migrated by versioned steps
// (migrate.go) under an advisory lock.
package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
)

// Options tunes Open.
type Options struct {
	// MaxConns caps the pool's connections (0: pgxpool's default).
	MaxConns int32
	// RunTwice runs every Update function twice, the first time in a
	// transaction that is rolled back (store.Options.RunTwice; the
	// environment variable store.RunTwiceEnv=1 switches it on too).
	RunTwice bool
	// ReadOnly opens for checking (`ticketgate check-store`): no
	// migration, and a schema of another version is refused.
	ReadOnly bool
	// OnCommit is store.Options.OnCommit: called after every commit of an
	// Update function, once its AfterCommit functions ran.
	OnCommit func()
	Logger   *slog.Logger
}

// maxAttempts bounds the retries of a transaction that keeps losing
// serialization conflicts.
const maxAttempts = 100

// DB is an open PostgreSQL store.
type DB struct {
	pool         *pgxpool.Pool
	dir          string
	tmpDir       string
	log          *slog.Logger
	runTwice     bool
	onCommit     func()
	installation string

	mu     sync.RWMutex // guards closed against concurrent Update/Close
	closed bool
	wg     sync.WaitGroup // updates in flight

	// commitErr is the error of the last write transaction that could
	// not begin or commit, nil once one commits (CommitFailing).
	commitMu  sync.Mutex
	commitErr error

	// locks are the node locks held (lock.go), released by Close.
	locksMu sync.Mutex
	locks   map[*heldLock]bool
}

var (
	_ store.DB           = (*DB)(nil)
	_ store.Tx           = (*pgTx)(nil)
	_ store.BlobWriter   = (*blobWriter)(nil)
	_ store.OutboxLeaser = (*DB)(nil)
)

// Open connects to the database named by dsn, migrates its schema (one
// node at a time) and returns the store. dir is the node's data_dir: it
// holds only spool files of blobs being written or read.
func Open(ctx context.Context, dsn, dir string, opts Options) (*DB, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The DSN is a secret: say what is wrong without echoing it.
		return nil, fault.Permanentf("store/postgres: the DSN does not parse: %v", errors.Unwrap(err))
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		return nil, fault.Temporary(fmt.Errorf("store/postgres: %w", err))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fault.Temporary(fmt.Errorf("store/postgres: connect: %w", err))
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		pool.Close()
		return nil, fault.Temporary(fmt.Errorf("store/postgres: connect: %w", err))
	}
	var id string
	if opts.ReadOnly {
		id, err = currentSchema(ctx, conn.Conn())
	} else {
		id, err = migrate(ctx, conn.Conn(), newInstallationID)
	}
	conn.Release()
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &DB{
		pool:         pool,
		dir:          dir,
		tmpDir:       tmp,
		log:          opts.Logger,
		runTwice:     opts.RunTwice || os.Getenv(store.RunTwiceEnv) == "1",
		onCommit:     opts.OnCommit,
		installation: id,
	}, nil
}

func newInstallationID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Dir is the node's data_dir.
func (s *DB) Dir() string { return s.dir }

// InstallationID names the installation (stored in the database).
func (s *DB) InstallationID() string { return s.installation }

// Pool is the connection pool, for the parts of a node that coordinate
// through the database beyond the contract (leases, advisory locks).
func (s *DB) Pool() *pgxpool.Pool { return s.pool }

// Size is the size of the database in bytes.
func (s *DB) Size() int64 {
	var n int64
	_ = s.pool.QueryRow(context.Background(), "SELECT pg_database_size(current_database())").Scan(&n)
	return n
}

// Close waits for the updates in flight and closes the pool.
func (s *DB) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
	s.locksMu.Lock()
	held := make([]*heldLock, 0, len(s.locks))
	for l := range s.locks {
		held = append(held, l)
	}
	s.locksMu.Unlock()
	for _, l := range held {
		l.Release()
	}
	s.pool.Close()
	return nil
}

// View runs fn in a read-only REPEATABLE READ snapshot.
func (s *DB) View(fn func(store.Tx) error) error {
	ctx := context.Background()
	for attempt := 1; ; attempt++ {
		tx, err := s.run(ctx, fn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, false)
		if retryable(err) && attempt < maxAttempts {
			backoff(attempt)
			continue
		}
		if err == nil {
			tx.runAfterCommit(s.log)
		}
		return err
	}
}

// Update runs fn in a SERIALIZABLE transaction and returns once it is
// committed; a serialization failure or deadlock runs fn again in a new
// transaction. Storage failures are temporary.
func (s *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return fault.Temporary(store.ErrClosed)
	}
	s.wg.Add(1)
	s.mu.RUnlock()
	defer s.wg.Done()
	opts := pgx.TxOptions{IsoLevel: pgx.Serializable}
	if s.runTwice {
		if _, err := s.run(ctx, fn, opts, true); err != nil && !errors.Is(err, errRehearsal) && !errors.Is(err, errFn) {
			s.log.Debug("store/postgres: rehearsal transaction failed", "err", err)
		}
	}
	for attempt := 1; ; attempt++ {
		tx, err := s.run(ctx, fn, opts, false)
		if retryable(err) && attempt < maxAttempts {
			backoff(attempt)
			continue
		}
		var fe *fnError
		switch {
		case err == nil:
			s.setCommitErr(nil)
			tx.runAfterCommit(s.log)
			if s.onCommit != nil {
				s.onCommit()
			}
		case errors.As(err, &fe):
			if errors.Is(fe.err, errStorage) {
				// A statement the database refused (read-only, out
				// of space, gone) fails the function.
				s.setCommitErr(fe.err)
			}
			return fe.err
		case errors.Is(err, errStorage):
			s.setCommitErr(err)
		case retryable(err):
			// Still conflicting after maxAttempts: the caller may try
			// again later (an SMTP client gets 451).
			return fault.Temporary(fmt.Errorf("store/postgres: still conflicting after %d attempts: %w", attempt, err))
		}
		return err
	}
}

func (s *DB) setCommitErr(err error) {
	s.commitMu.Lock()
	s.commitErr = err
	s.commitMu.Unlock()
}

// CommitFailing is the error of the last write transaction that could not
// begin or commit (the database is down, read-only, out of space), nil
// once one commits again.
func (s *DB) CommitFailing() error {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	return s.commitErr
}

// errStorage marks a transaction that failed to begin or commit.
var errStorage = errors.New("store/postgres: storage")

// errRehearsal rolls back the first run of Options.RunTwice; errFn marks
// that the rehearsed function itself failed.
var (
	errRehearsal = errors.New("store/postgres: rehearsal, rolled back")
	errFn        = errors.New("store/postgres: function failed")
)

// fnError carries the error the caller's function returned, as opposed to
// one of the transaction itself.
type fnError struct{ err error }

func (e *fnError) Error() string { return e.err.Error() }
func (e *fnError) Unwrap() error { return e.err }

// run runs fn once in a transaction of opts and commits it (or, when
// rehearse, rolls it back).
func (s *DB) run(ctx context.Context, fn func(store.Tx) error, opts pgx.TxOptions, rehearse bool) (*pgTx, error) {
	ptx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return nil, fault.Temporary(fmt.Errorf("%w: begin: %w", errStorage, err))
	}
	tx := &pgTx{ctx: ctx, tx: ptx, writable: opts.AccessMode != pgx.ReadOnly}
	ferr := callSafely(fn, tx)
	if rehearse || ferr != nil || tx.failed != nil {
		ptx.Rollback(ctx)
		switch {
		case tx.failed != nil && retryable(tx.failed):
			// The function may have swallowed it: the transaction is
			// aborted all the same, and a new one may succeed.
			return nil, tx.failed
		case ferr != nil:
			if retryable(ferr) {
				return nil, ferr
			}
			if rehearse {
				return nil, errFn
			}
			return nil, &fnError{ferr}
		case tx.failed != nil:
			return nil, fault.Temporary(fmt.Errorf("store/postgres: a statement failed and the function went on: %w", tx.failed))
		}
		return nil, errRehearsal
	}
	if err := ptx.Commit(ctx); err != nil {
		if retryable(err) {
			return nil, err
		}
		return nil, fault.Temporary(fmt.Errorf("%w: commit: %w", errStorage, err))
	}
	return tx, nil
}

// retryable reports a failure that a new transaction may not meet:
// serialization failure, deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}

func backoff(attempt int) {
	d := time.Duration(min(attempt, 20)) * time.Millisecond
	time.Sleep(d/2 + mrand.N(d))
}

// callSafely turns a panic in fn into its error.
func callSafely(fn func(store.Tx) error, tx *pgTx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fault.Permanentf("store/postgres: update function panicked: %v", p)
		}
	}()
	return fn(tx)
}

// Backup is not this backend's job: pg_dump takes a consistent logical
// copy of the whole database, blobs included, and pg_restore brings it
// back.
func (s *DB) Backup(io.Writer) error {
	return fault.Permanentf("store/postgres: backup of a PostgreSQL store is pg_dump's job: `pg_dump -Fc` of the database (records and blobs are all in it), restored with pg_restore")
}
