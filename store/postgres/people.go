package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ticketgate/ticketgate/store"
)

// Issue 17: the customers index (store/people.go) is the table
// customers, derived by PutTicket; and drafts_accepted, the ticket
// each accepted draft became (migration 10).

// indexPeople makes t's rows in customers what t says, in one
// statement: rows of addresses it no longer has go, new ones come.
func (tx *pgTx) indexPeople(t *store.Ticket) error {
	people := store.TicketPeople(t)
	if people == nil {
		people = []string{}
	}
	_, err := tx.exec("index ticket people", `WITH gone AS (
			DELETE FROM customers WHERE project = $1 AND number = $2 AND NOT (address = ANY($3::text[])))
		INSERT INTO customers SELECT a, $1, $2 FROM unnest($3::text[]) AS a ON CONFLICT DO NOTHING`,
		t.Project, int64(t.Number), people)
	return err
}

// IsCustomer implements store.CustomerTx with one index probe.
func (tx *pgTx) IsCustomer(project, address string) (bool, error) {
	address = strings.ToLower(strings.TrimSpace(address))
	if address == "" {
		return false, nil
	}
	var one int
	err := tx.tx.QueryRow(tx.ctx, "SELECT 1 FROM customers WHERE address = $1 AND project = $2 LIMIT 1", address, project).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, tx.fail("is a customer", err)
	}
	return true, nil
}

// CustomerProjects implements store.CustomerTx.
func (tx *pgTx) CustomerProjects(address string) ([]string, error) {
	address = strings.ToLower(strings.TrimSpace(address))
	if address == "" {
		return nil, nil
	}
	var out []string
	err := tx.rows("customer projects", "SELECT DISTINCT project FROM customers WHERE address = $1 ORDER BY project", func(r pgx.Rows) error {
		var p string
		if err := r.Scan(&p); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	}, address)
	return out, err
}

func (tx *pgTx) MarkDraftAccepted(key, ticket string) error {
	p, n, ok := store.SplitDraftKey(key)
	if !ok {
		return fmt.Errorf("store: draft %q: %w", key, store.ErrNotFound)
	}
	if _, _, ok := store.SplitTicketKey(ticket); !ok {
		return fmt.Errorf("store: draft %s accepted as %q: not a ticket key", key, ticket)
	}
	_, err := tx.exec("mark draft accepted", `INSERT INTO drafts_accepted VALUES ($1, $2, $3)
		ON CONFLICT (project, number) DO UPDATE SET ticket = excluded.ticket`, p, int64(n), ticket)
	return err
}

func (tx *pgTx) DraftAcceptedAs(key string) (string, error) {
	p, n, ok := store.SplitDraftKey(key)
	if !ok {
		return "", nil
	}
	var t string
	err := tx.tx.QueryRow(tx.ctx, "SELECT ticket FROM drafts_accepted WHERE project = $1 AND number = $2", p, int64(n)).Scan(&t)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", tx.fail("read accepted draft", err)
	}
	if _, _, ok := store.SplitTicketKey(t); !ok {
		return "", fmt.Errorf("store/postgres: decode drafts_accepted/%s: %q is no ticket key", key, t)
	}
	return t, nil
}

// peopleFromTickets is the customers rows the tickets' JSON implies
// (the migration's and the check's derivation).
const peopleFromTickets = `SELECT DISTINCT lower(btrim(a)) AS address, project, number FROM (
		SELECT project, number, j->>'reporter' AS a FROM (SELECT project, number, convert_from(data, 'UTF8')::jsonb AS j FROM tickets) t
		UNION ALL
		SELECT project, number, p->>'address' FROM (SELECT project, number, convert_from(data, 'UTF8')::jsonb AS j FROM tickets) t,
			jsonb_array_elements(CASE WHEN jsonb_typeof(j->'participants') = 'array' THEN j->'participants' ELSE '[]'::jsonb END) AS p
	) x WHERE a IS NOT NULL AND btrim(a) <> ''`

// checkPeople reports customers rows no ticket implies and the
// reverse, and accepted drafts naming no ticket.
func checkPeople(ctx context.Context, tx pgx.Tx, problem func(store.Problem)) error {
	for _, q := range []struct{ sql, what string }{
		{`SELECT address, project, number FROM customers EXCEPT ` + peopleFromTickets, "is a stale entry of the customers index: the ticket does not have it"},
		{peopleFromTickets + ` EXCEPT SELECT address, project, number FROM customers`, "is missing from the customers index"},
	} {
		rows, err := tx.Query(ctx, q.sql)
		if err != nil {
			return err
		}
		for rows.Next() {
			var a, p string
			var n int64
			if err := rows.Scan(&a, &p, &n); err != nil {
				rows.Close()
				return err
			}
			problem(store.Problem{Where: fmt.Sprintf("customers/%s/%s-%d", a, p, n), What: q.what})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	rows, err := tx.Query(ctx, `SELECT d.project, d.number, d.ticket FROM drafts_accepted d
		WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.project || '-' || t.number = d.ticket)
		OR EXISTS (SELECT 1 FROM drafts o WHERE o.project = d.project AND o.number = d.number)`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var p, t string
		var n int64
		if err := rows.Scan(&p, &n, &t); err != nil {
			return err
		}
		problem(store.Problem{Where: fmt.Sprintf("drafts_accepted/%s-D%d", p, n), What: "names ticket " + t + ", which does not exist, or is still an open draft"})
	}
	return rows.Err()
}
