package config

import "github.com/jackc/pgx/v5"

// Store selects the storage backend.
type Store struct {
	// Driver is bbolt (default: one file in data_dir, one node) or
	// postgres (a database several nodes share).
	Driver   string        `mapstructure:"driver"`
	Postgres StorePostgres `mapstructure:"postgres"`
}

// StorePostgres configures the PostgreSQL backend.
type StorePostgres struct {
	// DSNFile holds the connection string (libpq key=value or a
	// postgres:// URL), a secret in its own file like every other.
	DSNFile string `mapstructure:"dsn_file"`
	// MaxConns caps the connection pool. Default 20.
	MaxConns int `mapstructure:"max_conns"`
}

// Store drivers.
const (
	StoreDriverBolt     = "bbolt"
	StoreDriverPostgres = "postgres"
)

func defaultStore() Store {
	return Store{Driver: StoreDriverBolt, Postgres: StorePostgres{MaxConns: 20}}
}

func (s *Store) validate() []error {
	var errs []error
	switch s.Driver {
	case StoreDriverBolt:
	case StoreDriverPostgres:
		if s.Postgres.DSNFile == "" {
			errs = append(errs, fieldErr("store.postgres.dsn_file", "required with driver postgres"))
		}
		if s.Postgres.MaxConns < 1 || s.Postgres.MaxConns > 10000 {
			errs = append(errs, fieldErr("store.postgres.max_conns", "must be between 1 and 10000"))
		}
	default:
		errs = append(errs, fieldErr("store.driver", "want bbolt or postgres, got %q", s.Driver))
	}
	return errs
}

// checkStoreFiles reads the DSN file and parses what it holds (without
// echoing it: it may carry a password).
func (c *Config) checkStoreFiles() []error {
	if c.Store.Driver != StoreDriverPostgres || c.Store.Postgres.DSNFile == "" {
		return nil
	}
	dsn, err := SecretFromFile(c.Store.Postgres.DSNFile)
	if err != nil {
		return []error{&FieldError{Key: "store.postgres.dsn_file", Msg: err.Error(), Err: err}}
	}
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return []error{fieldErr("store.postgres.dsn_file", "the connection string in %s does not parse", c.Store.Postgres.DSNFile)}
	}
	return nil
}
