package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/postgres"
)

// postgresOpenTimeout bounds connecting and migrating at start.
const postgresOpenTimeout = time.Minute

// OpenStore opens the storage backend cfg.Store selects: the bbolt file in
// data_dir, or the PostgreSQL database whose DSN is in
// store.postgres.dsn_file.
func OpenStore(cfg *config.Config, log *slog.Logger) (store.DB, error) {
	return openStore(cfg, log, nil)
}

// openStore is OpenStore with the store's OnCommit hook.
func openStore(cfg *config.Config, log *slog.Logger, onCommit func()) (store.DB, error) {
	switch cfg.Store.Driver {
	case "", config.StoreDriverBolt:
		return store.Open(cfg.DataDir, store.Options{Logger: log, OnCommit: onCommit})
	case config.StoreDriverPostgres:
		dsn, err := config.SecretFromFile(cfg.Store.Postgres.DSNFile)
		if err != nil {
			return nil, fault.Permanent(fmt.Errorf("store.postgres.dsn_file: %w", err))
		}
		ctx, cancel := context.WithTimeout(context.Background(), postgresOpenTimeout)
		defer cancel()
		db, err := postgres.Open(ctx, dsn, cfg.DataDir, postgres.Options{MaxConns: int32(cfg.Store.Postgres.MaxConns), Logger: log, OnCommit: onCommit})
		if err != nil {
			return nil, err
		}
		return db, nil
	default:
		return nil, fault.Permanentf("store.driver %q: want bbolt or postgres", cfg.Store.Driver)
	}
}

// onOneNode runs fn until ctx ends. On a store several nodes share
// (store.NodeLocker) it runs fn only while this node holds the lock name:
// fn's context ends when the lock is lost, and the node waits to take it
// again. On bbolt it just runs fn.
func (d *Daemon) onOneNode(ctx context.Context, name string, fn func(context.Context)) {
	locker, ok := d.store.(store.NodeLocker)
	if !ok {
		fn(ctx)
		return
	}
	for ctx.Err() == nil {
		held, err := locker.Lock(ctx, name)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.log.Warn("could not take a node lock; retrying", "lock", name, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Second):
			}
			continue
		}
		d.log.Info("this node runs the jobs of a node lock", "lock", name)
		lctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-held.Lost():
				cancel()
			case <-lctx.Done():
			}
		}()
		fn(lctx)
		cancel()
		held.Release()
	}
}
