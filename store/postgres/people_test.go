package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ticketgate/ticketgate/internal/pgtest"
	"github.com/ticketgate/ticketgate/store"
)

// TestCheckCustomersIndex: check-store reports a customers row missing,
// a stale one, and an accepted draft naming no ticket.
func TestCheckCustomersIndex(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.Database(t, "people")
	ctx := context.Background()
	db, err := Open(ctx, dsn, t.TempDir(), Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(ctx, func(tx store.Tx) error {
		n, err := tx.NextTicketNumber("ACME")
		if err != nil {
			return err
		}
		return tx.PutTicket(&store.Ticket{Key: store.TicketKey("ACME", n), Project: "ACME", Number: n, Reporter: "carl@customer.example",
			Participants: []store.Participant{{Address: "dora@customer.example"}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	problems := func() string {
		var out []string
		if err := db.Check(ctx, func(p store.Problem) { out = append(out, p.String()) }); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, "\n")
	}
	if p := problems(); p != "" {
		t.Fatalf("a healthy store: %s", p)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DELETE FROM customers WHERE address = 'dora@customer.example';
		INSERT INTO customers VALUES ('mallory@evil.example', 'ACME', 1);
		INSERT INTO drafts_accepted VALUES ('ACME', 7, 'ACME-99')`); err != nil {
		t.Fatal(err)
	}
	got := problems()
	for _, want := range []string{"customers/dora@customer.example/ACME-1: is missing", "customers/mallory@evil.example/ACME-1: is a stale entry", "drafts_accepted/ACME-D7: names ticket ACME-99"} {
		if !strings.Contains(got, want) {
			t.Errorf("check lacks %q:\n%s", want, got)
		}
	}
}
