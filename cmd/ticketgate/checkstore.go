package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/postgres"
)

// exitDamagedStore: the store is damaged or belongs to another
// installation. Restarting cannot help (the unit lists it in
// RestartPreventExitStatus); the way out is a restore from backup.
const exitDamagedStore = 3

// startFailureCode picks serve's exit status for a start-up failure: a
// damaged store gets its own code, so systemd stops restarting and the
// operator sees why.
func startFailureCode(err error) int {
	if errors.Is(err, store.ErrDamaged) {
		return exitDamagedStore
	}
	return exitFailure
}

// cmdCheckStore runs the full consistency check of the store (daemon
// stopped): exit 0 when clean, 3 when damaged.
func cmdCheckStore(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("check-store", stderr)
	dir := fs.String("dir", "", "check the store in this folder instead of data_dir (a copy, a restored backup)")
	if fs.Parse(args) != nil || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: ticketgate check-store [--dir DIR]   (daemon stopped)")
		return exitConfig
	}
	var st store.DB
	var err error
	if *dir == "" {
		cfg, code := offlineConfig(af, stderr)
		if cfg == nil {
			return code
		}
		*dir = cfg.DataDir
		if cfg.Store.Driver == config.StoreDriverPostgres {
			*dir = "the PostgreSQL database"
			st, err = openPostgresForCheck(cfg)
		} else {
			st, err = store.Open(*dir, store.Options{ReadOnly: true})
		}
	} else {
		st, err = store.Open(*dir, store.Options{ReadOnly: true})
	}
	if err != nil {
		fmt.Fprintf(stderr, "ticketgate check-store: %v\n", err)
		switch {
		case errors.Is(err, store.ErrDamaged):
			return exitDamagedStore
		case fault.IsTemporary(err):
			return exitTempFail
		}
		return exitFailure
	}
	defer st.Close()
	problems := 0
	err = st.Check(context.Background(), func(p store.Problem) {
		problems++
		fmt.Fprintln(stdout, p)
	})
	if err != nil {
		fmt.Fprintf(stderr, "ticketgate check-store: %v\n", err)
		if errors.Is(err, store.ErrDamaged) {
			return exitDamagedStore
		}
		return exitFailure
	}
	if problems > 0 {
		fmt.Fprintf(stderr, "%s: %d problem(s); see README \"Restoring from a backup\"\n", *dir, problems)
		return exitDamagedStore
	}
	fmt.Fprintf(stdout, "%s: ok (installation %s, %d bytes)\n", *dir, st.InstallationID(), st.Size())
	return exitOK
}

// openPostgresForCheck opens the configured PostgreSQL store without
// migrating it.
func openPostgresForCheck(cfg *config.Config) (store.DB, error) {
	dsn, err := config.SecretFromFile(cfg.Store.Postgres.DSNFile)
	if err != nil {
		return nil, fmt.Errorf("store.postgres.dsn_file: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return postgres.Open(ctx, dsn, cfg.DataDir, postgres.Options{ReadOnly: true})
}
