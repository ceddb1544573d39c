package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
)

// Check runs the full consistency check in one snapshot: every record
// decodes, every outbox row's due order agrees with it, every blob a
// record names exists, every blob's chunks add up to its size. The
// database's own structure is PostgreSQL's business (amcheck).
func (s *DB) Check(ctx context.Context, problem func(store.Problem)) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fault.Temporary(fmt.Errorf("store/postgres: check: %w", err))
	}
	defer tx.Rollback(ctx)
	tables := []struct {
		table, key string
		into       func() any
	}{
		{"tickets", "project || '-' || number", func() any { return new(store.Ticket) }},
		{"messages", "id::text", func() any { return new(store.Message) }},
		{"msgids", "project || '/' || msgid || '/' || hash", func() any { return new(ref) }},
		{"events", "seq::text", func() any { return new(store.Event) }},
		{"tokens", "token", func() any { return new(store.Token) }},
		{"outbox", "id::text", func() any { return new(store.OutboxItem) }},
		{"hooks", "id::text", func() any { return new(store.HookItem) }},
		{"suppress", "address", func() any { return new(store.Suppression) }},
		{"blocked", "project || '/' || address", func() any { return new(store.Block) }},
		{"orgs", "project || '/' || lname", func() any { return new(store.Organization) }},
		{"drafts", "project || '-D' || number", func() any { return new(store.Draft) }},
		{"imap_cursor", "account", func() any { return new(store.IMAPCursor) }},
		{"imap_attempts", "account || '/' || uidvalidity || '/' || uid", func() any { return new(store.IMAPAttempt) }},
		{"audit", "seq::text", func() any { return new(store.AuditEvent) }},
		{"offers", "ticket", func() any { return new(store.Offer) }},
		{"ratings", "project || '/' || ticket || '/' || customer", func() any { return new(store.Rating) }},
		{"pgp_project_keys", "project", func() any { return new(store.PGPProjectKey) }},
		{"pgp_keys", "address", func() any { return new(store.PGPKey) }},
		{"digest_prefs", "agent", func() any { return new(store.DigestPref) }},
		{"digest_marks", "agent", func() any { return new(store.DigestMark) }},
	}
	named := map[string]string{} // blob → first record naming it
	tickets, exists := map[string]*store.Ticket{}, map[string]bool{}
	for _, t := range tables {
		col := "data"
		if t.table == "msgids" {
			col = "ref"
		}
		rows, err := tx.Query(ctx, "SELECT "+t.key+", "+col+" FROM "+t.table)
		if err != nil {
			return fault.Temporary(fmt.Errorf("store/postgres: check %s: %w", t.table, err))
		}
		for rows.Next() {
			var k string
			var b []byte
			if err := rows.Scan(&k, &b); err != nil {
				rows.Close()
				return fault.Temporary(fmt.Errorf("store/postgres: check %s: %w", t.table, err))
			}
			where := t.table + "/" + k
			if t.table == "tickets" {
				exists[k] = true
			}
			if t.table == "audit" {
				// Either form: a copy from bbolt brings compact bodies.
				if _, err := store.DecodeAudit(b, "", 0); err != nil {
					problem(store.Problem{Where: where, What: "does not decode: " + err.Error()})
				}
				continue
			}
			v := t.into()
			if err := json.Unmarshal(b, v); err != nil {
				problem(store.Problem{Where: where, What: "does not decode: " + err.Error()})
				continue
			}
			switch r := v.(type) {
			case *store.Ticket:
				tickets[k] = r
			case *store.Message:
				for _, h := range append([]string{r.Raw}, attachmentBlobs(r.Attach)...) {
					if h != "" && named[h] == "" {
						named[h] = where
					}
				}
			case *store.Draft:
				store.ForEachDraftBlob(r, func(h string) {
					if named[h] == "" {
						named[h] = where
					}
				})
			case *store.OutboxItem:
				for _, h := range append([]string{r.RawBlob}, attachmentBlobs(r.Attach)...) {
					if h != "" && named[h] == "" {
						named[h] = where
					}
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fault.Temporary(fmt.Errorf("store/postgres: check %s: %w", t.table, err))
		}
	}
	if err := checkPeople(ctx, tx, problem); err != nil {
		return fault.Temporary(fmt.Errorf("store/postgres: check customers: %w", err))
	}
	var counters []string
	rows, err := tx.Query(ctx, "SELECT project FROM ticket_seq WHERE last < 0")
	if err == nil {
		counters, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return fault.Temporary(fmt.Errorf("store/postgres: check ticket_seq: %w", err))
	}
	for _, p := range counters {
		problem(store.Problem{Where: "ticket_seq/" + p, What: "counter is negative"})
	}
	if err := checkIndexes(ctx, tx, tickets, exists, problem); err != nil {
		return err
	}
	ptx := &pgTx{ctx: ctx, tx: tx}
	if c, err := ptx.CheckOutbox(); err == nil && !c.OK() {
		problem(store.Problem{Where: "outbox", What: c.String()})
	}
	if c, err := ptx.CheckHooks(); err == nil && !c.OK() {
		problem(store.Problem{Where: "hooks", What: c.String()})
	}
	type blobRow struct {
		Hash   string
		Size   int64
		Chunks int64
	}
	rows, err = tx.Query(ctx, `SELECT b.hash, b.size, coalesce(sum(length(c.data)), 0)::bigint
		FROM blobs b LEFT JOIN blob_chunks c USING (hash) GROUP BY b.hash, b.size`)
	var blobs []blobRow
	if err == nil {
		blobs, err = pgx.CollectRows(rows, pgx.RowToStructByPos[blobRow])
	}
	if err != nil {
		return fault.Temporary(fmt.Errorf("store/postgres: check blobs: %w", err))
	}
	have := map[string]bool{}
	for _, b := range blobs {
		have[b.Hash] = true
		if b.Size != b.Chunks {
			problem(store.Problem{Where: "blobs/" + b.Hash, What: fmt.Sprintf("%d bytes recorded, %d in its chunks", b.Size, b.Chunks)})
		}
	}
	for h, where := range named {
		if !have[h] {
			problem(store.Problem{Where: where, What: "names blob " + h + ", which is missing"})
		}
	}
	return nil
}

func attachmentBlobs(as []store.Attachment) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Blob)
	}
	return out
}
