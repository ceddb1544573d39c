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
	switch cfg.Store.Driver {
	case "", config.StoreDriverBolt:
		return store.Open(cfg.DataDir, store.Options{Logger: log})
	case config.StoreDriverPostgres:
		dsn, err := config.SecretFromFile(cfg.Store.Postgres.DSNFile)
		if err != nil {
			return nil, fault.Permanent(fmt.Errorf("store.postgres.dsn_file: %w", err))
		}
		ctx, cancel := context.WithTimeout(context.Background(), postgresOpenTimeout)
		defer cancel()
		db, err := postgres.Open(ctx, dsn, cfg.DataDir, postgres.Options{MaxConns: int32(cfg.Store.Postgres.MaxConns), Logger: log})
		if err != nil {
			return nil, err
		}
		return db, nil
	default:
		return nil, fault.Permanentf("store.driver %q: want bbolt or postgres", cfg.Store.Driver)
	}
}
