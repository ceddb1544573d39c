package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/msgid"
	"github.com/ticketgate/ticketgate/store"
)

// pgTx is one transaction: the store.Tx of this backend.
type pgTx struct {
	ctx      context.Context
	tx       pgx.Tx
	writable bool
	// failed is the first statement that failed: PostgreSQL aborts the
	// transaction then, whatever the function does with the error.
	failed error
	after  []func()
}

// pageSize is how many rows an iteration reads at a time: the callback
// may use the transaction, so rows are read in pages, not held open.
const pageSize = 500

func (tx *pgTx) fail(what string, err error) error {
	if tx.failed == nil {
		tx.failed = err
	}
	if retryable(err) {
		return fmt.Errorf("store/postgres: %s: %w", what, err)
	}
	return fault.Temporary(fmt.Errorf("%w: %s: %w", errStorage, what, err))
}

func (tx *pgTx) exec(what, sql string, args ...any) (int64, error) {
	if !tx.writable {
		return 0, fault.Permanentf("store/postgres: %s in a read-only transaction", what)
	}
	tag, err := tx.tx.Exec(tx.ctx, sql, args...)
	if err != nil {
		return 0, tx.fail(what, err)
	}
	return tag.RowsAffected(), nil
}

// one reads the single bytea column of the row sql names: nil, nil when
// there is none.
func (tx *pgTx) one(what, sql string, args ...any) ([]byte, error) {
	var b []byte
	err := tx.tx.QueryRow(tx.ctx, sql, args...).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, tx.fail(what, err)
	}
	return b, nil
}

// rows reads every row of sql with scan.
func (tx *pgTx) rows(what, sql string, scan func(pgx.Rows) error, args ...any) error {
	rs, err := tx.tx.Query(tx.ctx, sql, args...)
	if err != nil {
		return tx.fail(what, err)
	}
	defer rs.Close()
	for rs.Next() {
		if err := scan(rs); err != nil {
			return err
		}
	}
	if err := rs.Err(); err != nil {
		return tx.fail(what, err)
	}
	return nil
}

func encode(what string, v any) ([]byte, error) {
	var b []byte
	var err error
	if it, ok := v.(*store.OutboxItem); ok {
		b, err = store.MarshalOutboxItem(it) // the same bytes, without reflection
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return nil, fmt.Errorf("store/postgres: encode %s: %w", what, err)
	}
	return b, nil
}

func decode(what string, b []byte, v any) error {
	var err error
	switch v := v.(type) {
	case *store.OutboxItem:
		// The sender reads every row it sends and the message it
		// renders: the store's decoders without reflection.
		err = store.UnmarshalOutboxItem(b, v)
	case *store.Message:
		err = store.UnmarshalMessage(b, v)
	default:
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return fmt.Errorf("store/postgres: decode %s: %w", what, err)
	}
	return nil
}

func (tx *pgTx) nextval(seq string) (uint64, error) {
	var n int64
	if err := tx.tx.QueryRow(tx.ctx, "SELECT nextval('"+seq+"')").Scan(&n); err != nil {
		return 0, tx.fail("nextval "+seq, err)
	}
	return uint64(n), nil
}

// AfterCommit registers fn to run once the transaction is committed.
func (tx *pgTx) AfterCommit(fn func()) { tx.after = append(tx.after, fn) }

func (tx *pgTx) runAfterCommit(log *slog.Logger) {
	for _, fn := range tx.after {
		func() {
			defer func() {
				if p := recover(); p != nil {
					log.Error("store/postgres: after-commit function panicked", "panic", p)
				}
			}()
			fn()
		}()
	}
	tx.after = nil
}

// --- tickets

// NextTicketNumber allocates the next number of project: the counter row
// is updated (and locked) in this transaction, so a rolled-back ticket
// gives its number back and concurrent ones serialize on it.
func (tx *pgTx) NextTicketNumber(project string) (uint64, error) {
	if _, err := tx.LastTicketNumber(project); err != nil {
		return 0, err
	}
	var n int64
	err := tx.tx.QueryRow(tx.ctx, `INSERT INTO ticket_seq VALUES ($1, 1)
		ON CONFLICT (project) DO UPDATE SET last = ticket_seq.last + 1 RETURNING last`, project).Scan(&n)
	if err != nil {
		return 0, tx.fail("allocate ticket number", err)
	}
	return uint64(n), nil
}

// LastTicketNumber is the highest number allocated in project; a counter
// that is not a valid number is an error, never 0.
func (tx *pgTx) LastTicketNumber(project string) (uint64, error) {
	var n int64
	err := tx.tx.QueryRow(tx.ctx, "SELECT last FROM ticket_seq WHERE project = $1", project).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, tx.fail("read ticket counter", err)
	}
	if n < 0 {
		return 0, fmt.Errorf("store/postgres: decode ticket_seq/%q: counter %d", project, n)
	}
	return uint64(n), nil
}

func (tx *pgTx) PutTicket(t *store.Ticket) error {
	b, err := encode("ticket", t)
	if err != nil {
		return err
	}
	if _, err = tx.exec("put ticket", `INSERT INTO tickets VALUES ($1, $2, $3)
		ON CONFLICT (project, number) DO UPDATE SET data = excluded.data`, t.Project, int64(t.Number), b); err != nil {
		return err
	}
	if err := tx.indexPeople(t); err != nil {
		return err
	}
	return tx.indexTimers(t)
}

func (tx *pgTx) Ticket(key string) (*store.Ticket, error) {
	p, n, ok := store.SplitTicketKey(key)
	if !ok {
		return nil, fmt.Errorf("store: ticket %q: %w", key, store.ErrNotFound)
	}
	b, err := tx.one("read ticket", "SELECT data FROM tickets WHERE project = $1 AND number = $2", p, int64(n))
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("store: ticket %s: %w", key, store.ErrNotFound)
	}
	var t store.Ticket
	if err := decode("ticket "+key, b, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// ForEachTicket calls fn per ticket of project ("" = all) in key order
// (project, number), reading a page at a time.
func (tx *pgTx) ForEachTicket(project string, fn func(*store.Ticket) bool) error {
	return tx.forEachTicket(project, "", -1, fn)
}

// ForEachTicketAfter calls fn per ticket after the one keyed after ("" =
// from the first), in ForEachTicket("")'s order, until fn returns false.
func (tx *pgTx) ForEachTicketAfter(after string, fn func(*store.Ticket) bool) error {
	if after == "" {
		return tx.forEachTicket("", "", -1, fn)
	}
	p, n, ok := store.SplitTicketKey(after)
	if !ok {
		return fmt.Errorf("postgres: tickets after %q: not a ticket key", after)
	}
	return tx.forEachTicket("", p, int64(n), fn)
}

// forEachTicket pages through project's tickets ("" = all) after
// (lastP, lastN).
func (tx *pgTx) forEachTicket(project, lastP string, lastN int64, fn func(*store.Ticket) bool) error {
	for {
		var page []*store.Ticket
		var err error
		if project == "" {
			err = tx.rows("list tickets", `SELECT project, number, data FROM tickets WHERE (project, number) > ($1, $2)
				ORDER BY project, number LIMIT $3`, func(r pgx.Rows) error { return scanTicket(r, &page, &lastP, &lastN) }, lastP, lastN, pageSize)
		} else {
			err = tx.rows("list tickets", `SELECT project, number, data FROM tickets WHERE project = $1 AND number > $2
				ORDER BY number LIMIT $3`, func(r pgx.Rows) error { return scanTicket(r, &page, &lastP, &lastN) }, project, lastN, pageSize)
		}
		if err != nil {
			return err
		}
		for _, t := range page {
			if !fn(t) {
				return nil
			}
		}
		if len(page) < pageSize {
			return nil
		}
	}
}

func scanTicket(r pgx.Rows, page *[]*store.Ticket, lastP *string, lastN *int64) error {
	var b []byte
	if err := r.Scan(lastP, lastN, &b); err != nil {
		return err
	}
	var t store.Ticket
	if err := decode(fmt.Sprintf("ticket %s-%d", *lastP, *lastN), b, &t); err != nil {
		return err
	}
	*page = append(*page, &t)
	return nil
}

// --- messages

func (tx *pgTx) AddMessage(m *store.Message) error {
	id, err := tx.nextval("messages_id_seq")
	if err != nil {
		return err
	}
	m.ID = id
	b, err := encode("message", m)
	if err != nil {
		return err
	}
	_, err = tx.exec("add message", "INSERT INTO messages VALUES ($1, $2, $3)", int64(id), m.Ticket, b)
	return err
}

func (tx *pgTx) PutMessage(m *store.Message) error {
	if m.ID == 0 {
		return fmt.Errorf("store: PutMessage without id")
	}
	b, err := encode("message", m)
	if err != nil {
		return err
	}
	_, err = tx.exec("put message", `INSERT INTO messages VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET ticket = excluded.ticket, data = excluded.data`, int64(m.ID), m.Ticket, b)
	return err
}

func (tx *pgTx) MoveMessage(m *store.Message, ticket string) error {
	m.Ticket = ticket
	return tx.PutMessage(m)
}

func (tx *pgTx) Message(id uint64) (*store.Message, error) {
	b, err := tx.one("read message", "SELECT data FROM messages WHERE id = $1", int64(id))
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("store: message %d: %w", id, store.ErrNotFound)
	}
	var m store.Message
	if err := decode(fmt.Sprintf("messages/%d", id), b, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

func (tx *pgTx) TicketMessages(ticket string) ([]*store.Message, error) {
	var out []*store.Message
	err := tx.rows("list messages", "SELECT id, data FROM messages WHERE ticket = $1 ORDER BY id", func(r pgx.Rows) error {
		var id int64
		var b []byte
		if err := r.Scan(&id, &b); err != nil {
			return err
		}
		var m store.Message
		if err := decode(fmt.Sprintf("messages/%d", id), b, &m); err != nil {
			return err
		}
		out = append(out, &m)
		return nil
	}, ticket)
	return out, err
}

// ref is the stored form of a store.MessageRef.
type ref struct {
	Ticket   string `json:"t"`
	Message  uint64 `json:"m,omitempty"`
	Outbound bool   `json:"o,omitempty"`
}

func (tx *pgTx) IndexMessageID(project, id, hash string, r store.MessageRef) error {
	if id == "" && hash == "" {
		return nil
	}
	b, err := encode("message-id reference", ref{r.Ticket, r.Message, r.Outbound})
	if err != nil {
		return err
	}
	_, err = tx.exec("index message-id", `INSERT INTO msgids VALUES ($1, $2, $3, $4)
		ON CONFLICT (project, msgid, hash) DO UPDATE SET ref = excluded.ref`, project, msgid.Canonical(id), hash, b)
	return err
}

func decodeRef(what string, b []byte) (store.MessageRef, error) {
	var r ref
	if err := decode(what, b, &r); err != nil {
		return store.MessageRef{}, err
	}
	return store.MessageRef{Ticket: r.Ticket, Message: r.Message, Outbound: r.Outbound}, nil
}

func (tx *pgTx) Duplicate(project, id, hash string) (store.MessageRef, bool, error) {
	id = msgid.Canonical(id)
	b, err := tx.one("look up duplicate", "SELECT ref FROM msgids WHERE project = $1 AND msgid = $2 AND hash = $3", project, id, hash)
	if err != nil || b == nil {
		return store.MessageRef{}, false, err
	}
	r, err := decodeRef(fmt.Sprintf("msgids/%s/%s", project, id), b)
	return r, err == nil, err
}

func (tx *pgTx) LookupMessageID(project, id string) (store.MessageRef, bool, error) {
	id = msgid.Canonical(id)
	if id == "" {
		return store.MessageRef{}, false, nil
	}
	b, err := tx.one("look up message-id", "SELECT ref FROM msgids WHERE project = $1 AND msgid = $2 ORDER BY hash LIMIT 1", project, id)
	if err != nil || b == nil {
		return store.MessageRef{}, false, err
	}
	r, err := decodeRef(fmt.Sprintf("msgids/%s/%s", project, id), b)
	return r, err == nil, err
}

// --- events

func (tx *pgTx) AddEvent(e *store.Event) error {
	seq, err := tx.nextval("events_seq")
	if err != nil {
		return err
	}
	e.Seq = seq
	b, err := encode("event", e)
	if err != nil {
		return err
	}
	_, err = tx.exec("add event", "INSERT INTO events VALUES ($1, $2, $3)", int64(seq), e.Ticket, b)
	return err
}

func (tx *pgTx) Events(ticket string) ([]*store.Event, error) {
	var out []*store.Event
	err := tx.rows("list events", "SELECT seq, data FROM events WHERE ticket = $1 ORDER BY seq", func(r pgx.Rows) error {
		var seq int64
		var b []byte
		if err := r.Scan(&seq, &b); err != nil {
			return err
		}
		var e store.Event
		if err := decode(fmt.Sprintf("events/%d", seq), b, &e); err != nil {
			return err
		}
		out = append(out, &e)
		return nil
	}, ticket)
	return out, err
}

// --- tokens, state, meta

func (tx *pgTx) PutToken(t *store.Token) error {
	b, err := encode("token", t)
	if err != nil {
		return err
	}
	_, err = tx.exec("put token", `INSERT INTO tokens (token, data, prune_at) VALUES ($1, $2, $3)
		ON CONFLICT (token) DO UPDATE SET data = excluded.data, prune_at = excluded.prune_at`, t.Token, b, pruneAt(t))
	return err
}

func (tx *pgTx) Token(token string) (*store.Token, error) {
	b, err := tx.one("read token", "SELECT data FROM tokens WHERE token = $1", token)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, store.ErrNotFound
	}
	var t store.Token
	if err := decode("token", b, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

func (tx *pgTx) SetState(name string, v any) error {
	b, err := encode("state "+name, v)
	if err != nil {
		return err
	}
	_, err = tx.exec("set state", "INSERT INTO state VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET data = excluded.data", name, b)
	return err
}

func (tx *pgTx) State(name string, v any) (bool, error) {
	b, err := tx.one("read state", "SELECT data FROM state WHERE name = $1", name)
	if err != nil || b == nil {
		return false, err
	}
	if err := decode("state/"+name, b, v); err != nil {
		return false, err
	}
	return true, nil
}

// Meta reads a per-installation value; nil when absent (or unreadable).
func (tx *pgTx) Meta(name string) []byte {
	b, _ := tx.one("read meta", "SELECT value FROM meta WHERE name = $1", name)
	return b
}

func (tx *pgTx) SetMeta(name string, v []byte) error {
	_, err := tx.exec("set meta", "INSERT INTO meta VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value", name, v)
	return err
}

// --- limits

func (tx *pgTx) Suppress(s *store.Suppression) error {
	b, err := encode("suppression", s)
	if err != nil {
		return err
	}
	_, err = tx.exec("suppress", "INSERT INTO suppress VALUES ($1, $2) ON CONFLICT (address) DO UPDATE SET data = excluded.data", s.Address, b)
	return err
}

func (tx *pgTx) Suppressed(addr string, now time.Time) (*store.Suppression, error) {
	b, err := tx.one("read suppression", "SELECT data FROM suppress WHERE address = $1", addr)
	if err != nil || b == nil {
		return nil, err
	}
	var s store.Suppression
	if err := decode("suppress/"+addr, b, &s); err != nil {
		return nil, err
	}
	if !now.Before(s.Until) {
		return nil, nil
	}
	return &s, nil
}

func (tx *pgTx) Suppressions() ([]*store.Suppression, error) {
	var out []*store.Suppression
	err := tx.rows("list suppressions", "SELECT address, data FROM suppress ORDER BY address", func(r pgx.Rows) error {
		var a string
		var b []byte
		if err := r.Scan(&a, &b); err != nil {
			return err
		}
		var s store.Suppression
		if err := decode("suppress/"+a, b, &s); err != nil {
			return err
		}
		out = append(out, &s)
		return nil
	})
	return out, err
}

func (tx *pgTx) ClearSuppression(addr string) error {
	_, err := tx.exec("clear suppression", "DELETE FROM suppress WHERE address = $1", addr)
	return err
}

func (tx *pgTx) rateCounter(key string, idx int64) (int64, error) {
	var n int64
	err := tx.tx.QueryRow(tx.ctx, "SELECT n FROM rate WHERE key = $1 AND idx = $2", key, idx).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, tx.fail("read rate counter", err)
	}
	if n < 0 {
		return 0, fmt.Errorf("store/postgres: decode rate/%q/%d: counter %d", key, idx, n)
	}
	return n, nil
}

// RateCount estimates the events under key within window before now (the
// same sliding-window estimate as bbolt).
func (tx *pgTx) RateCount(key string, window time.Duration, now time.Time) (float64, error) {
	idx := now.UnixNano() / int64(window)
	c, err := tx.rateCounter(key, idx)
	if err != nil {
		return 0, err
	}
	p, err := tx.rateCounter(key, idx-1)
	if err != nil {
		return 0, err
	}
	elapsed := float64(now.UnixNano()-idx*int64(window)) / float64(window)
	return float64(c) + float64(p)*(1-elapsed), nil
}

func (tx *pgTx) RateAdd(key string, window time.Duration, now time.Time) error {
	idx := now.UnixNano() / int64(window)
	if _, err := tx.exec("count rate", `INSERT INTO rate (key, idx, n, expires) VALUES ($1, $2, 1, $3)
		ON CONFLICT (key, idx) DO UPDATE SET n = rate.n + 1`, key, idx, (idx+2)*int64(window)); err != nil {
		return err
	}
	_, err := tx.exec("prune rate", "DELETE FROM rate WHERE key = $1 AND idx < $2", key, idx-1)
	return err
}

func (tx *pgTx) Block(b *store.Block) error {
	data, err := encode("block", b)
	if err != nil {
		return err
	}
	_, err = tx.exec("block", "INSERT INTO blocked VALUES ($1, $2, $3) ON CONFLICT (project, address) DO UPDATE SET data = excluded.data", b.Project, b.Address, data)
	return err
}

func (tx *pgTx) Blocked(project, addr string) (*store.Block, error) {
	data, err := tx.one("read block", "SELECT data FROM blocked WHERE project = $1 AND address = $2", project, addr)
	if err != nil || data == nil {
		return nil, err
	}
	var b store.Block
	if err := decode("blocked/"+project+"/"+addr, data, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

func (tx *pgTx) Unblock(project, addr string) error {
	_, err := tx.exec("unblock", "DELETE FROM blocked WHERE project = $1 AND address = $2", project, addr)
	return err
}

// --- organizations

func (tx *pgTx) PutOrganization(o *store.Organization) error {
	b, err := encode("organization", o)
	if err != nil {
		return err
	}
	_, err = tx.exec("put organization", "INSERT INTO orgs VALUES ($1, $2, $3) ON CONFLICT (project, lname) DO UPDATE SET data = excluded.data",
		o.Project, strings.ToLower(o.Name), b)
	return err
}

func (tx *pgTx) Organization(project, name string) (*store.Organization, error) {
	b, err := tx.one("read organization", "SELECT data FROM orgs WHERE project = $1 AND lname = $2", project, strings.ToLower(name))
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("organization %q: %w", name, store.ErrNotFound)
	}
	var o store.Organization
	if err := decode("orgs/"+project+"/"+name, b, &o); err != nil {
		return nil, err
	}
	return &o, nil
}

func (tx *pgTx) DeleteOrganization(project, name string) error {
	_, err := tx.exec("delete organization", "DELETE FROM orgs WHERE project = $1 AND lname = $2", project, strings.ToLower(name))
	return err
}

func (tx *pgTx) Organizations(project string) ([]*store.Organization, error) {
	var out []*store.Organization
	err := tx.rows("list organizations", "SELECT project, lname, data FROM orgs WHERE $1 = '' OR project = $1 ORDER BY project, lname", func(r pgx.Rows) error {
		var p, n string
		var b []byte
		if err := r.Scan(&p, &n, &b); err != nil {
			return err
		}
		var o store.Organization
		if err := decode("orgs/"+p+"/"+n, b, &o); err != nil {
			return err
		}
		out = append(out, &o)
		return nil
	}, project)
	return out, err
}

// OrganizationOf is the organization addr belongs to in project: a member
// listing wins over a domain.
func (tx *pgTx) OrganizationOf(project, addr string) (*store.Organization, error) {
	orgs, err := tx.Organizations(project)
	if err != nil {
		return nil, err
	}
	var byDomain *store.Organization
	for _, o := range orgs {
		if slices.Contains(o.Members, strings.ToLower(addr)) {
			return o, nil
		}
		if byDomain == nil && o.Has(addr) {
			byDomain = o
		}
	}
	return byDomain, nil
}

// --- audit

func (tx *pgTx) AddAudit(e *store.AuditEvent) error {
	e.MessageID = msgid.Canonical(e.MessageID)
	if e.MessageID == "" {
		return nil
	}
	seq, err := tx.nextval("audit_seq")
	if err != nil {
		return err
	}
	e.Seq = seq
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	b, err := encode("audit", e)
	if err != nil {
		return err
	}
	_, err = tx.exec("add audit", "INSERT INTO audit VALUES ($1, $2, $3, $4)", int64(seq), e.MessageID, e.Time.UnixNano(), b)
	return err
}

func (tx *pgTx) Audit(messageID string) ([]*store.AuditEvent, error) {
	id := msgid.Canonical(messageID)
	if id == "" {
		return nil, nil
	}
	var out []*store.AuditEvent
	err := tx.rows("read audit", "SELECT seq, data FROM audit WHERE msgid = $1 ORDER BY seq", func(r pgx.Rows) error {
		var seq int64
		var b []byte
		if err := r.Scan(&seq, &b); err != nil {
			return err
		}
		// PostgreSQL writes JSON, one event a row; a store copied from
		// bbolt brings compact bodies and groups (store.DecodeAudit
		// reads every form).
		evs, err := store.DecodeAudit(b, id, uint64(seq))
		if err != nil {
			return fmt.Errorf("store/postgres: decode audit/%d: %w", seq, err)
		}
		out = append(out, evs...)
		return nil
	}, id)
	return out, err
}

func (tx *pgTx) PruneAudit(before time.Time, max int) (int, error) {
	limit := int64(max)
	if max <= 0 {
		limit = -1
	}
	n, err := tx.exec("prune audit", `DELETE FROM audit WHERE seq IN (SELECT seq FROM audit WHERE time < $1
		ORDER BY time, seq LIMIT CASE WHEN $2 < 0 THEN NULL ELSE $2 END)`, before.UnixNano(), limit)
	return int(n), err
}

// --- IMAP

func (tx *pgTx) IMAPCursor(account string) (store.IMAPCursor, bool, error) {
	var c store.IMAPCursor
	b, err := tx.one("read imap cursor", "SELECT data FROM imap_cursor WHERE account = $1", account)
	if err != nil || b == nil {
		return c, false, err
	}
	if err := decode("imap cursor "+account, b, &c); err != nil {
		return c, false, err
	}
	return c, true, nil
}

func (tx *pgTx) SetIMAPCursor(account string, c store.IMAPCursor) error {
	b, err := encode("imap cursor", c)
	if err != nil {
		return err
	}
	if _, err := tx.exec("set imap cursor", "INSERT INTO imap_cursor VALUES ($1, $2) ON CONFLICT (account) DO UPDATE SET data = excluded.data", account, b); err != nil {
		return err
	}
	_, err = tx.exec("prune imap attempts", "DELETE FROM imap_attempts WHERE account = $1 AND (uidvalidity <> $2 OR uid <= $3)",
		account, int64(c.UIDValidity), int64(c.LastUID))
	return err
}

func (tx *pgTx) IMAPAttempt(account string, uidValidity, uid uint32) (store.IMAPAttempt, error) {
	var a store.IMAPAttempt
	b, err := tx.one("read imap attempt", "SELECT data FROM imap_attempts WHERE account = $1 AND uidvalidity = $2 AND uid = $3",
		account, int64(uidValidity), int64(uid))
	if err != nil || b == nil {
		return a, err
	}
	err = decode("imap attempt", b, &a)
	return a, err
}

func (tx *pgTx) PutIMAPAttempt(account string, uidValidity, uid uint32, a store.IMAPAttempt) error {
	b, err := encode("imap attempt", a)
	if err != nil {
		return err
	}
	_, err = tx.exec("put imap attempt", `INSERT INTO imap_attempts VALUES ($1, $2, $3, $4)
		ON CONFLICT (account, uidvalidity, uid) DO UPDATE SET data = excluded.data`, account, int64(uidValidity), int64(uid), b)
	return err
}

// --- blob references

// ForEachBlobRef calls fn with every blob a message or an outbox item
// names; a record that does not decode stops the scan with an error.
func (tx *pgTx) ForEachBlobRef(fn func(string)) error {
	if err := tx.forEachDraftBlobRef(fn); err != nil {
		return err
	}
	for _, table := range []string{"outbox", "messages"} {
		last := int64(-1)
		for {
			var page [][]byte
			var ids []int64
			err := tx.rows("scan "+table, "SELECT id, data FROM "+table+" WHERE id > $1 ORDER BY id LIMIT $2", func(r pgx.Rows) error {
				var b []byte
				if err := r.Scan(&last, &b); err != nil {
					return err
				}
				page, ids = append(page, b), append(ids, last)
				return nil
			}, last, pageSize)
			if err != nil {
				return err
			}
			for i, b := range page {
				var hashes []string
				var err error
				if table == "messages" {
					var m store.Message
					err = json.Unmarshal(b, &m)
					hashes = append(hashes, m.Raw)
					for _, a := range m.Attach {
						hashes = append(hashes, a.Blob)
					}
				} else {
					var it store.OutboxItem
					err = json.Unmarshal(b, &it)
					hashes = append(hashes, it.RawBlob)
					for _, a := range it.Attach {
						hashes = append(hashes, a.Blob)
					}
				}
				if err != nil {
					return fmt.Errorf("store/postgres: decode %s/%d: %w (its blobs cannot be told apart from unreferenced ones)", table, ids[i], err)
				}
				for _, h := range hashes {
					if h != "" {
						fn(h)
					}
				}
			}
			if len(page) < pageSize {
				break
			}
		}
	}
	return nil
}
