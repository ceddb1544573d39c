package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
)

// lockSpace is the first key of the two-key advisory locks of NodeLocker
// ("tg"); the second is the hash of the lock's name.
const lockSpace = 0x7467

// lockPing is how often a held lock's connection is checked.
const lockPing = 2 * time.Second

// heldLock is a session-level advisory lock on a connection taken out of
// the pool for it.
type heldLock struct {
	s    *DB
	name string
	mu   sync.Mutex // serialises the connection between ping and Release
	conn *pgx.Conn
	lost chan struct{}
	quit chan struct{}
	once sync.Once
	done chan struct{}
}

var _ store.NodeLocker = (*DB)(nil)

// Lock blocks until this node holds the advisory lock name (or ctx ends).
// The lock lives on its own connection: released when that connection
// ends, whether by Release, Close or the process dying.
func (s *DB) Lock(ctx context.Context, name string) (store.HeldLock, error) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fault.Temporary(fmt.Errorf("store/postgres: lock %s: %w", name, err))
	}
	conn := pc.Hijack()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1, hashtext($2))", lockSpace, name); err != nil {
		conn.Close(context.Background())
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fault.Temporary(fmt.Errorf("store/postgres: lock %s: %w", name, err))
	}
	l := &heldLock{s: s, name: name, conn: conn, lost: make(chan struct{}), quit: make(chan struct{}), done: make(chan struct{})}
	s.locksMu.Lock()
	if s.locks == nil {
		s.locks = map[*heldLock]bool{}
	}
	s.locks[l] = true
	s.locksMu.Unlock()
	go l.watch()
	return l, nil
}

// watch pings the lock's connection; when a ping fails the lock is lost.
func (l *heldLock) watch() {
	defer close(l.done)
	t := time.NewTicker(lockPing)
	defer t.Stop()
	for {
		select {
		case <-l.quit:
			return
		case <-t.C:
		}
		l.mu.Lock()
		ctx, cancel := context.WithTimeout(context.Background(), lockPing)
		err := l.conn.Ping(ctx)
		cancel()
		l.mu.Unlock()
		if err != nil {
			l.s.log.Warn("lost a node lock: its connection failed", "lock", l.name, "err", err)
			close(l.lost)
			return
		}
	}
}

func (l *heldLock) Lost() <-chan struct{} { return l.lost }

// Release ends the lock's connection, and with it the lock.
func (l *heldLock) Release() {
	l.once.Do(func() {
		close(l.quit)
		<-l.done
		l.mu.Lock()
		l.conn.Close(context.Background())
		l.mu.Unlock()
		l.s.locksMu.Lock()
		delete(l.s.locks, l)
		l.s.locksMu.Unlock()
	})
}
