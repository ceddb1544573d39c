package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
)

// checkIndexes compares ticket_timers and ticket_facts (issue 21) with the
// tickets in both directions, as bbolt's check does and in its words: a
// ticket without its timer entries (its timers and auto-close would never
// run) or its report facts, an entry of a ticket that does not exist or
// for a time the ticket does not have. tickets holds every decoded ticket
// by key; exists every ticket row, decoded or not (an undecodable one is
// reported already).
func checkIndexes(ctx context.Context, tx pgx.Tx, tickets map[string]*store.Ticket, exists map[string]bool, problem func(store.Problem)) error {
	type entry struct {
		kind string
		at   int64
		key  string
	}
	var timers []entry
	rows, err := tx.Query(ctx, "SELECT kind, at, project, number FROM ticket_timers ORDER BY project, number, kind, at")
	if err == nil {
		timers, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (entry, error) {
			var e entry
			var p string
			var n int64
			err := r.Scan(&e.kind, &e.at, &p, &n)
			e.key = store.TicketKey(p, uint64(n))
			return e, err
		})
	}
	if err != nil {
		return fault.Temporary(fmt.Errorf("store/postgres: check ticket_timers: %w", err))
	}
	indexed := map[entry]bool{}
	for _, e := range timers {
		where := fmt.Sprintf("ticket_timers/%s|%d|%s", e.kind, e.at, e.key)
		indexed[e] = true
		t := tickets[e.key]
		switch {
		case e.kind != "w" && e.kind != "r":
			problem(store.Problem{Where: where, What: "malformed key"})
		case !exists[e.key]:
			problem(store.Problem{Where: where, What: "names ticket " + e.key + ", which does not exist"})
		case t != nil && !slices.Contains(timerEntries(t), [2]any{e.kind, e.at}):
			problem(store.Problem{Where: where, What: "is a stale entry of ticket " + e.key})
		}
	}

	facts := map[string]bool{}
	rows, err = tx.Query(ctx, "SELECT project, number, data FROM ticket_facts ORDER BY project, number")
	if err != nil {
		return fault.Temporary(fmt.Errorf("store/postgres: check ticket_facts: %w", err))
	}
	for rows.Next() {
		var p string
		var n int64
		var b []byte
		if err := rows.Scan(&p, &n, &b); err != nil {
			rows.Close()
			return fault.Temporary(fmt.Errorf("store/postgres: check ticket_facts: %w", err))
		}
		key := store.TicketKey(p, uint64(n))
		where := "ticket_facts/" + key
		facts[key] = true
		var f store.TicketFacts
		if err := decode(where, b, &f); err != nil {
			problem(store.Problem{Where: where, What: "does not decode: " + err.Error()})
			continue
		}
		switch {
		case f.Key != key:
			problem(store.Problem{Where: where, What: "is a stale entry of ticket " + f.Key})
		case !exists[key]:
			problem(store.Problem{Where: where, What: "names no ticket or no facts"})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fault.Temporary(fmt.Errorf("store/postgres: check ticket_facts: %w", err))
	}

	keys := make([]string, 0, len(tickets))
	for k := range tickets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t := tickets[k]
		if !facts[k] {
			problem(store.Problem{Where: "tickets/" + k, What: "has no report facts (ticket_facts)"})
		}
		for _, te := range timerEntries(t) {
			if !indexed[entry{kind: te[0].(string), at: te[1].(int64), key: k}] {
				problem(store.Problem{Where: "tickets/" + k, What: fmt.Sprintf("has no entry in the timer index (%s) (its timers or auto-close would never run)", te[0])})
			}
		}
	}
	return nil
}

// timerEntries are the (kind, at) pairs ticket_timers must hold for t, as
// indexTimers writes them.
func timerEntries(t *store.Ticket) [][2]any {
	var out [][2]any
	if !t.Wake.IsZero() {
		out = append(out, [2]any{"w", t.Wake.UnixNano()})
	}
	if !t.Resolved.IsZero() {
		out = append(out, [2]any{"r", t.Resolved.UnixNano()})
	}
	return out
}
