package postgres

import (
	"context"
	"encoding/binary"
	"encoding/json"

	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
)

var _ store.Copier = (*DB)(nil)

// sequences maps the neutral form's sequence names to this schema's.
var sequences = map[string]string{
	store.SeqMessages: "messages_id_seq",
	store.SeqEvents:   "events_seq",
	store.SeqOutbox:   "outbox_id_seq",
	store.SeqAudit:    "audit_seq",
	store.SeqHooks:    "hooks_id_seq",
}

// exports are the queries of ExportRecords, kind by kind, each row scanned
// into a record. Orders follow the primary keys (bbolt's key order, for
// text keys compared as bytes).
var exports = []struct {
	kind store.RecordKind
	sql  string
	scan func(pgx.Rows, *store.Record) error
}{
	{store.RecMeta, `SELECT name, value FROM meta ORDER BY name`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.Key, &c.Data) }},
	{store.RecTicketSeq, `SELECT project, last FROM ticket_seq ORDER BY project`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.Key, &c.N) }},
	{store.RecTicket, `SELECT project, number, data FROM tickets ORDER BY project, number`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.Key, &c.N, &c.Data) }},
	{store.RecMessage, `SELECT id, ticket, data FROM messages ORDER BY id`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.N, &c.Key, &c.Data) }},
	{store.RecMsgID, `SELECT project, msgid, hash, ref FROM msgids ORDER BY project, msgid, hash`, func(r pgx.Rows, c *store.Record) error {
		var b []byte
		if err := r.Scan(&c.Key, &c.Key2, &c.Key3, &b); err != nil {
			return err
		}
		var err error
		c.Ref, err = decodeRef(fmt.Sprintf("msgids/%q/%q", c.Key, c.Key2), b)
		return err
	}},
	{store.RecEvent, `SELECT seq, ticket, data FROM events ORDER BY ticket, seq`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.N, &c.Key, &c.Data) }},
	{store.RecToken, `SELECT token, data FROM tokens ORDER BY token`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.Key, &c.Data) }},
	{store.RecOutbox, `SELECT id, due, data FROM outbox ORDER BY id`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.N, &c.M, &c.Data) }},
	{store.RecState, `SELECT name, data FROM state ORDER BY name`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.Key, &c.Data) }},
	{store.RecSuppression, `SELECT address, data FROM suppress ORDER BY address`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.Key, &c.Data) }},
	{store.RecRate, `SELECT key, idx, n, expires FROM rate ORDER BY key, idx`, func(r pgx.Rows, c *store.Record) error {
		var exp int64
		if err := r.Scan(&c.Key, &c.N, &c.M, &exp); err != nil {
			return err
		}
		c.Data = binary.BigEndian.AppendUint64(nil, uint64(exp))
		return nil
	}},
	{store.RecBlocked, `SELECT project, address, data FROM blocked ORDER BY project, address`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.Key, &c.Key2, &c.Data) }},
	{store.RecOrg, `SELECT project, lname, data FROM orgs ORDER BY project, lname`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.Key, &c.Key2, &c.Data) }},
	{store.RecIMAPCursor, `SELECT account, data FROM imap_cursor ORDER BY account`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.Key, &c.Data) }},
	{store.RecIMAPAttempt, `SELECT account, uidvalidity, uid, data FROM imap_attempts ORDER BY account, uidvalidity, uid`, func(r pgx.Rows, c *store.Record) error {
		return r.Scan(&c.Key, &c.N, &c.M, &c.Data)
	}},
	{store.RecAudit, `SELECT seq, msgid, time, data FROM audit ORDER BY msgid, seq`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.N, &c.Key, &c.M, &c.Data) }},
	{store.RecDraftSeq, `SELECT project, last FROM draft_seq ORDER BY project`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.Key, &c.N) }},
	{store.RecDraft, `SELECT project, number, data FROM drafts ORDER BY project, number`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.Key, &c.N, &c.Data) }},
	{store.RecDeskSignIn, `SELECT hash, data FROM desk_signin ORDER BY hash`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.Key, &c.Data) }},
	{store.RecOffer, `SELECT ticket, data FROM offers ORDER BY ticket`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.Key, &c.Data) }},
	{store.RecRating, `SELECT project, ticket, customer, data FROM ratings ORDER BY project, ticket, customer`, func(r pgx.Rows, c *store.Record) error {
		return r.Scan(&c.Key, &c.Key2, &c.Key3, &c.Data)
	}},
	{store.RecPGPProjectKey, `SELECT project, data FROM pgp_project_keys ORDER BY project`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.Key, &c.Data) }},
	{store.RecPGPKey, `SELECT address, data FROM pgp_keys ORDER BY address`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.Key, &c.Data) }},
	{store.RecHook, `SELECT id, due, data FROM hooks ORDER BY id`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.N, &c.M, &c.Data) }},
	{store.RecDigestPref, `SELECT agent, data FROM digest_prefs ORDER BY agent`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.Key, &c.Data) }},
	{store.RecDigestMark, `SELECT agent, data FROM digest_marks ORDER BY agent`, func(r pgx.Rows, c *store.Record) error { return r.Scan(&c.Key, &c.Data) }},
	{store.RecDraftAccepted, `SELECT project, number, ticket FROM drafts_accepted ORDER BY project, number`, func(r pgx.Rows, c *store.Record) error {
		return r.Scan(&c.Key, &c.N, &c.Key2)
	}},
}

// ExportRecords reads every table in one REPEATABLE READ snapshot.
func (s *DB) ExportRecords(fn func(*store.Record) error) error {
	ctx := context.Background()
	var fnErr error
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// The sequences, at their place in the order of RecordKinds.
		seqDone := false
		exportSequences := func() error {
			seqDone = true
			for _, name := range []string{store.SeqMessages, store.SeqEvents, store.SeqOutbox, store.SeqAudit, store.SeqHooks} {
				var last int64
				var called bool
				if err := tx.QueryRow(ctx, "SELECT last_value, is_called FROM "+sequences[name]).Scan(&last, &called); err != nil {
					return err
				}
				if !called {
					continue // never used: nothing handed out yet
				}
				if err := fn(&store.Record{Kind: store.RecSequence, Key: name, N: last}); err != nil {
					fnErr = err
					return err
				}
			}
			return nil
		}
		for _, e := range exports {
			if e.kind > store.RecSequence && !seqDone {
				if err := exportSequences(); err != nil {
					return err
				}
			}
			rows, err := tx.Query(ctx, e.sql)
			if err != nil {
				return err
			}
			for rows.Next() {
				r := &store.Record{Kind: e.kind}
				if err := e.scan(rows, r); err != nil {
					rows.Close()
					return err
				}
				if r.Kind == store.RecMeta && store.InternalMeta(r.Key) {
					continue
				}
				if err := fn(r); err != nil {
					rows.Close()
					fnErr = err
					return err
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		if !seqDone {
			return exportSequences()
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fault.Temporary(fmt.Errorf("store/postgres: export: %w", err))
	}
	return nil
}

// imports are the tables and columns ImportRecords copies into, per kind
// (meta, ticket numbers and sequences are written row by row).
var imports = map[store.RecordKind]struct {
	table string
	cols  []string
	row   func(*store.Record) ([]any, error)
}{
	store.RecTicket:  {"tickets", []string{"project", "number", "data"}, func(r *store.Record) ([]any, error) { return []any{r.Key, r.N, r.Data}, nil }},
	store.RecMessage: {"messages", []string{"id", "ticket", "data"}, func(r *store.Record) ([]any, error) { return []any{r.N, r.Key, r.Data}, nil }},
	store.RecMsgID:   {"msgids", []string{"project", "msgid", "hash", "ref"}, msgIDRow},
	store.RecEvent:   {"events", []string{"seq", "ticket", "data"}, func(r *store.Record) ([]any, error) { return []any{r.N, r.Key, r.Data}, nil }},
	store.RecToken: {"tokens", []string{"token", "data", "prune_at"}, func(r *store.Record) ([]any, error) {
		// The prune_at PutToken derives from the token.
		var t store.Token
		if err := decode("tokens", r.Data, &t); err != nil {
			return nil, err
		}
		return []any{r.Key, r.Data, pruneAt(&t)}, nil
	}},
	store.RecOutbox:      {"outbox", []string{"id", "due", "data"}, func(r *store.Record) ([]any, error) { return []any{r.N, r.M, r.Data}, nil }},
	store.RecState:       {"state", []string{"name", "data"}, func(r *store.Record) ([]any, error) { return []any{r.Key, r.Data}, nil }},
	store.RecSuppression: {"suppress", []string{"address", "data"}, func(r *store.Record) ([]any, error) { return []any{r.Key, r.Data}, nil }},
	store.RecRate: {"rate", []string{"key", "idx", "n", "expires"}, func(r *store.Record) ([]any, error) {
		if len(r.Data) != 8 {
			return nil, fmt.Errorf("store/postgres: import rate/%q: expiry of %d bytes, want 8", r.Key, len(r.Data))
		}
		return []any{r.Key, r.N, r.M, int64(binary.BigEndian.Uint64(r.Data))}, nil
	}},
	store.RecBlocked:     {"blocked", []string{"project", "address", "data"}, func(r *store.Record) ([]any, error) { return []any{r.Key, r.Key2, r.Data}, nil }},
	store.RecOrg:         {"orgs", []string{"project", "lname", "data"}, func(r *store.Record) ([]any, error) { return []any{r.Key, r.Key2, r.Data}, nil }},
	store.RecIMAPCursor:  {"imap_cursor", []string{"account", "data"}, func(r *store.Record) ([]any, error) { return []any{r.Key, r.Data}, nil }},
	store.RecIMAPAttempt: {"imap_attempts", []string{"account", "uidvalidity", "uid", "data"}, func(r *store.Record) ([]any, error) { return []any{r.Key, r.N, r.M, r.Data}, nil }},
	store.RecAudit:       {"audit", []string{"seq", "msgid", "time", "data"}, func(r *store.Record) ([]any, error) { return []any{r.N, r.Key, r.M, r.Data}, nil }},
	store.RecDraftSeq:    {"draft_seq", []string{"project", "last"}, func(r *store.Record) ([]any, error) { return []any{r.Key, r.N}, nil }},
	store.RecDraftAccepted: {"drafts_accepted", []string{"project", "number", "ticket"}, func(r *store.Record) ([]any, error) {
		return []any{r.Key, r.N, r.Key2}, nil
	}},
	store.RecDraft: {"drafts", []string{"project", "number", "sender", "data"}, func(r *store.Record) ([]any, error) {
		// The sender column PutDraft derives from the draft.
		var d store.Draft
		if err := decode("drafts", r.Data, &d); err != nil {
			return nil, err
		}
		return []any{r.Key, r.N, strings.ToLower(d.Sender), r.Data}, nil
	}},
	store.RecDeskSignIn: {"desk_signin", []string{"hash", "expires", "data"}, func(r *store.Record) ([]any, error) {
		var si store.SignIn
		if err := decode("desk_signin", r.Data, &si); err != nil {
			return nil, err
		}
		return []any{r.Key, si.Expires.UnixNano(), r.Data}, nil
	}},
	store.RecOffer: {"offers", []string{"ticket", "due", "data"}, func(r *store.Record) ([]any, error) {
		var o store.Offer
		if err := decode("offers", r.Data, &o); err != nil {
			return nil, err
		}
		var due *int64
		if !o.Due.IsZero() {
			d := o.Due.UnixNano()
			due = &d
		}
		return []any{r.Key, due, r.Data}, nil
	}},
	store.RecRating: {"ratings", []string{"project", "ticket", "customer", "updated", "data"}, func(r *store.Record) ([]any, error) {
		var rt store.Rating
		if err := decode("ratings", r.Data, &rt); err != nil {
			return nil, err
		}
		return []any{r.Key, r.Key2, r.Key3, rt.Updated.UnixNano(), r.Data}, nil
	}},
	store.RecPGPProjectKey: {"pgp_project_keys", []string{"project", "data"}, func(r *store.Record) ([]any, error) { return []any{r.Key, r.Data}, nil }},
	store.RecPGPKey:        {"pgp_keys", []string{"address", "data"}, func(r *store.Record) ([]any, error) { return []any{r.Key, r.Data}, nil }},
	store.RecHook:          {"hooks", []string{"id", "due", "data"}, func(r *store.Record) ([]any, error) { return []any{r.N, r.M, r.Data}, nil }},
	store.RecDigestPref:    {"digest_prefs", []string{"agent", "data"}, func(r *store.Record) ([]any, error) { return []any{r.Key, r.Data}, nil }},
	store.RecDigestMark:    {"digest_marks", []string{"agent", "data"}, func(r *store.Record) ([]any, error) { return []any{r.Key, r.Data}, nil }},
}

var _ store.Layout = (*DB)(nil)

// Layout lists every table of the schema and whether it holds rows.
func (s *DB) Layout() (string, []store.Container, error) {
	ctx := context.Background()
	var out []store.Container
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`)
		if err != nil {
			return err
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, n := range names {
			var has bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+pgx.Identifier{n}.Sanitize()+")").Scan(&has); err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
			out = append(out, store.Container{Name: n, Empty: !has})
		}
		return nil
	})
	if err != nil {
		return "", nil, fault.Temporary(fmt.Errorf("store/postgres: list tables: %w", err))
	}
	return store.BackendPostgres, out, nil
}

func msgIDRow(r *store.Record) ([]any, error) {
	b, err := json.Marshal(ref{r.Ref.Ticket, r.Ref.Message, r.Ref.Outbound})
	if err != nil {
		return nil, err
	}
	return []any{r.Key, r.Key2, r.Key3, b}, nil
}

// ImportRecords writes recs in one transaction: the bulk kinds by COPY
// (which fails on a key already there: the target must be empty), meta
// and ticket numbers row by row, sequences moved forward to what the
// source had handed out.
func (s *DB) ImportRecords(ctx context.Context, recs []*store.Record) error {
	byKind := map[store.RecordKind][][]any{}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, r := range recs {
			switch r.Kind {
			case store.RecMeta:
				if store.InternalMeta(r.Key) {
					continue
				}
				if _, err := tx.Exec(ctx, "INSERT INTO meta VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value", r.Key, r.Data); err != nil {
					return err
				}
			case store.RecTicketSeq:
				if _, err := tx.Exec(ctx, "INSERT INTO ticket_seq VALUES ($1, $2)", r.Key, r.N); err != nil {
					return err
				}
			case store.RecSequence:
				seq, ok := sequences[r.Key]
				if !ok {
					return fmt.Errorf("unknown sequence %q", r.Key)
				}
				if r.N > 0 {
					if _, err := tx.Exec(ctx, "SELECT setval('"+seq+"', greatest($1, (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM "+seq+")))", r.N); err != nil {
						return err
					}
				}
			case store.RecTicket:
				// The timers and report facts PutTicket derives.
				var t store.Ticket
				if err := json.Unmarshal(r.Data, &t); err != nil {
					return fmt.Errorf("decode ticket %s-%d: %w", r.Key, r.N, err)
				}
				ptx := &pgTx{ctx: ctx, tx: tx, writable: true}
				if err := ptx.indexTimers(&t); err != nil {
					return err
				}
				if err := ptx.indexPeople(&t); err != nil {
					return err
				}
				if ptx.failed != nil {
					return ptx.failed
				}
				fallthrough
			default:
				im, ok := imports[r.Kind]
				if !ok {
					return fmt.Errorf("unknown record kind %d", r.Kind)
				}
				row, err := im.row(r)
				if err != nil {
					return err
				}
				byKind[r.Kind] = append(byKind[r.Kind], row)
			}
		}
		for _, k := range store.RecordKinds() {
			rows := byKind[k]
			if len(rows) == 0 {
				continue
			}
			im := imports[k]
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{im.table}, im.cols, pgx.CopyFromRows(rows)); err != nil {
				return fmt.Errorf("%s: %w", im.table, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store/postgres: import: %w", err)
	}
	return nil
}
