package daemon

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/internal/pgtest"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store/postgres"
)

// postgresConfig is testConfig on a fresh database of srv (store.driver
// postgres, the DSN in a file).
func postgresConfig(t *testing.T, srv *pgtest.Server, db string, sink *mailouttest.Sink) *config.Config {
	t.Helper()
	dsnFile := filepath.Join(t.TempDir(), "pg.dsn")
	if err := os.WriteFile(dsnFile, []byte(srv.Database(t, db)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := benchConfig(t.TempDir(), sink)
	c.Store.Driver = config.StoreDriverPostgres
	c.Store.Postgres.DSNFile = dsnFile
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNewRequestOnPostgres: with store.driver postgres a request over
// SMTP makes a ticket in the database, with its raw mail as a blob there,
// and the customer gets the auto-reply.
func TestNewRequestOnPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	cfg := postgresConfig(t, srv, "daemon", sink)
	d := start(t, cfg)
	if _, ok := d.Store().(*postgres.DB); !ok {
		t.Fatalf("store is %T, want the PostgreSQL backend", d.Store())
	}
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		msg(`"Carl Customer" <carl@customer.example>`, "acme@support.example.com", "Printer on fire", "req1@customer.example", "It is on fire. Help."))
	msgs := waitMessages(t, sink, 2)
	if n := len(to(msgs, "carl@customer.example")); n != 1 {
		t.Fatalf("customer got %d mails, want 1", n)
	}
	tk, stored := ticketOf(t, d, "ACME-1")
	if tk.Subject != "Printer on fire" || len(stored) != 1 || stored[0].Raw == "" {
		t.Fatalf("ticket %+v, %d messages", tk, len(stored))
	}
	f, err := d.Store().OpenBlob(stored[0].Raw)
	if err != nil {
		t.Fatalf("raw mail blob: %v", err)
	}
	f.Close()
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "ticketgate.db")); !os.IsNotExist(err) {
		t.Errorf("a bbolt file in data_dir with driver postgres: %v", err)
	}
}
