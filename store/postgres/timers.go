package postgres

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketgate/ticketgate/store"
)

// indexTimers makes t's rows in ticket_timers (issue 21) what the ticket
// being stored says: its Wake and its Resolved.
func (tx *pgTx) indexTimers(t *store.Ticket) error {
	if err := tx.indexFacts(t); err != nil {
		return err
	}
	if _, err := tx.exec("index ticket timers", "DELETE FROM ticket_timers WHERE project = $1 AND number = $2", t.Project, int64(t.Number)); err != nil {
		return err
	}
	for _, e := range []struct {
		kind string
		at   time.Time
	}{{"w", t.Wake}, {"r", t.Resolved}} {
		if e.at.IsZero() {
			continue
		}
		if _, err := tx.exec("index ticket timers", "INSERT INTO ticket_timers VALUES ($1, $2, $3, $4)", e.kind, e.at.UnixNano(), t.Project, int64(t.Number)); err != nil {
			return err
		}
	}
	return nil
}

// indexFacts writes t's report facts (issue 21) under its last change.
func (tx *pgTx) indexFacts(t *store.Ticket) error {
	f := store.FactsOf(t)
	b, err := encode("ticket facts", f)
	if err != nil {
		return err
	}
	_, err = tx.exec("put ticket facts", `INSERT INTO ticket_facts VALUES ($1, $2, $3, $4)
		ON CONFLICT (project, number) DO UPDATE SET changed = excluded.changed, data = excluded.data`, t.Project, int64(t.Number), f.Changed().UnixNano(), b)
	return err
}

// FactsSince implements store.FactsTx, a page at a time.
func (tx *pgTx) FactsSince(project string, since time.Time, fn func(*store.TicketFacts) bool) error {
	lastC, lastP, lastN := since.UnixNano()-1, "", int64(-1)
	if since.IsZero() {
		lastC = -1 << 63
	}
	for {
		var page []*store.TicketFacts
		scan := func(r pgx.Rows) error {
			var b []byte
			if err := r.Scan(&lastC, &lastP, &lastN, &b); err != nil {
				return err
			}
			var f store.TicketFacts
			if err := decode(fmt.Sprintf("ticket_facts/%s-%d", lastP, lastN), b, &f); err != nil {
				return err
			}
			page = append(page, &f)
			return nil
		}
		err := tx.rows("ticket facts", `SELECT changed, project, number, data FROM ticket_facts
			WHERE (changed, project, number) > ($1, $2, $3) AND ($4 = '' OR project = $4)
			ORDER BY changed, project, number LIMIT $5`, scan, lastC, lastP, lastN, project, pageSize)
		if err != nil {
			return err
		}
		for _, f := range page {
			if !fn(f) {
				return nil
			}
		}
		if len(page) < pageSize {
			return nil
		}
	}
}

// DueTickets implements store.TimerTx.
func (tx *pgTx) DueTickets(now time.Time, max int) ([]string, time.Time, error) {
	var out []string
	var next time.Time
	err := tx.rows("due tickets", `SELECT at, project, number FROM ticket_timers WHERE kind = 'w' ORDER BY at, project, number LIMIT $1`,
		func(r pgx.Rows) error {
			var at, n int64
			var p string
			if err := r.Scan(&at, &p, &n); err != nil {
				return err
			}
			if !next.IsZero() {
				return nil
			}
			if t := time.Unix(0, at).UTC(); t.After(now) || len(out) >= max {
				next = t
				return nil
			}
			out = append(out, store.TicketKey(p, uint64(n)))
			return nil
		}, max+1)
	if err != nil {
		return nil, time.Time{}, err
	}
	return out, next, nil
}

// ResolvedBefore implements store.TimerTx, a page at a time.
func (tx *pgTx) ResolvedBefore(t time.Time, fn func(string, time.Time) bool) error {
	lastAt, lastP, lastN := int64(-1<<63), "", int64(-1)
	for {
		type row struct {
			key string
			at  time.Time
		}
		var page []row
		err := tx.rows("resolved tickets", `SELECT at, project, number FROM ticket_timers WHERE kind = 'r' AND at <= $1
			AND (at, project, number) > ($2, $3, $4) ORDER BY at, project, number LIMIT $5`, func(r pgx.Rows) error {
			var at, n int64
			var p string
			if err := r.Scan(&at, &p, &n); err != nil {
				return err
			}
			lastAt, lastP, lastN = at, p, n
			page = append(page, row{store.TicketKey(p, uint64(n)), time.Unix(0, at).UTC()})
			return nil
		}, t.UnixNano(), lastAt, lastP, lastN, pageSize)
		if err != nil {
			return err
		}
		for _, r := range page {
			if !fn(r.key, r.at) {
				return nil
			}
		}
		if len(page) < pageSize {
			return nil
		}
	}
}
