package postgres

import (
	"github.com/jackc/pgx/v5"

	"github.com/ticketgate/ticketgate/store"
)

// The search indexes' feed (store.SearchTx): events in number order, and
// each node's cursor in table search_cursor. Event numbers come from a
// sequence, so a transaction that commits late can hold a number below
// one already read: package search re-reads a window before its cursor
// on such a store (re-indexing a ticket twice is harmless).

func (tx *pgTx) EventsAfter(after uint64, max int) ([]store.EventRef, error) {
	var out []store.EventRef
	err := tx.rows("list events after", "SELECT seq, ticket FROM events WHERE seq > $1 ORDER BY seq LIMIT $2", func(r pgx.Rows) error {
		var seq int64
		var t string
		if err := r.Scan(&seq, &t); err != nil {
			return err
		}
		out = append(out, store.EventRef{Seq: uint64(seq), Ticket: t})
		return nil
	}, int64(after), max)
	return out, err
}

func (tx *pgTx) LastEventSeq() (uint64, error) {
	var seq int64
	err := tx.rows("last event", "SELECT coalesce(max(seq), 0) FROM events", func(r pgx.Rows) error { return r.Scan(&seq) })
	return uint64(seq), err
}

func (tx *pgTx) SearchCursor(node string) (uint64, bool, error) {
	var seq int64
	found := false
	err := tx.rows("read search cursor", "SELECT seq FROM search_cursor WHERE node = $1", func(r pgx.Rows) error {
		found = true
		return r.Scan(&seq)
	}, node)
	return uint64(seq), found, err
}

func (tx *pgTx) SetSearchCursor(node string, seq uint64) error {
	_, err := tx.exec("set search cursor", "INSERT INTO search_cursor VALUES ($1, $2) ON CONFLICT (node) DO UPDATE SET seq = excluded.seq", node, int64(seq))
	return err
}
