package postgres

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ticketgate/ticketgate/store"
)

// Issue 17: drafts (see store/drafts.go), tables draft_seq and drafts
// (migration 4).

func (tx *pgTx) NextDraftNumber(project string) (uint64, error) {
	var n int64
	err := tx.tx.QueryRow(tx.ctx, `INSERT INTO draft_seq VALUES ($1, 1)
		ON CONFLICT (project) DO UPDATE SET last = draft_seq.last + 1 RETURNING last`, project).Scan(&n)
	if err != nil {
		return 0, tx.fail("allocate draft number", err)
	}
	if n < 1 {
		return 0, fmt.Errorf("store/postgres: draft counter of %s is %d: damaged", project, n)
	}
	return uint64(n), nil
}

func (tx *pgTx) PutDraft(d *store.Draft) error {
	b, err := encode("draft", d)
	if err != nil {
		return err
	}
	_, err = tx.exec("put draft", `INSERT INTO drafts VALUES ($1, $2, $3, $4)
		ON CONFLICT (project, number) DO UPDATE SET sender = excluded.sender, data = excluded.data`,
		d.Project, int64(d.Number), strings.ToLower(d.Sender), b)
	return err
}

func (tx *pgTx) Draft(key string) (*store.Draft, error) {
	p, n, ok := store.SplitDraftKey(key)
	if !ok {
		return nil, fmt.Errorf("store: draft %q: %w", key, store.ErrNotFound)
	}
	b, err := tx.one("read draft", "SELECT data FROM drafts WHERE project = $1 AND number = $2", p, int64(n))
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("store: draft %s: %w", key, store.ErrNotFound)
	}
	var d store.Draft
	if err := decode("draft "+key, b, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func (tx *pgTx) DeleteDraft(key string) error {
	p, n, ok := store.SplitDraftKey(key)
	if !ok {
		return fmt.Errorf("store: draft %q: %w", key, store.ErrNotFound)
	}
	_, err := tx.exec("delete draft", "DELETE FROM drafts WHERE project = $1 AND number = $2", p, int64(n))
	return err
}

func (tx *pgTx) scanDrafts(what, query string, args ...any) ([]*store.Draft, error) {
	var out []*store.Draft
	err := tx.rows(what, query, func(r pgx.Rows) error {
		var p string
		var n int64
		var b []byte
		if err := r.Scan(&p, &n, &b); err != nil {
			return err
		}
		var d store.Draft
		if err := decode(fmt.Sprintf("draft %s-D%d", p, n), b, &d); err != nil {
			return err
		}
		out = append(out, &d)
		return nil
	}, args...)
	return out, err
}

func (tx *pgTx) Drafts(project string) ([]*store.Draft, error) {
	return tx.scanDrafts("list drafts", "SELECT project, number, data FROM drafts WHERE $1 = '' OR project = $1 ORDER BY project, number", project)
}

func (tx *pgTx) DraftOf(project, sender string) (*store.Draft, error) {
	ds, err := tx.scanDrafts("read a sender's draft", "SELECT project, number, data FROM drafts WHERE project = $1 AND sender = $2 ORDER BY number LIMIT 1",
		project, strings.ToLower(sender))
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	return ds[0], nil
}

// forEachDraftBlobRef reports the blobs of every draft; a draft that does
// not decode stops the scan.
func (tx *pgTx) forEachDraftBlobRef(fn func(string)) error {
	var bodies [][]byte
	var keys []string
	err := tx.rows("scan drafts", "SELECT project || '-D' || number, data FROM drafts", func(r pgx.Rows) error {
		var k string
		var b []byte
		if err := r.Scan(&k, &b); err != nil {
			return err
		}
		keys, bodies = append(keys, k), append(bodies, b)
		return nil
	})
	if err != nil {
		return err
	}
	for i, b := range bodies {
		var d store.Draft
		if err := json.Unmarshal(b, &d); err != nil {
			return fmt.Errorf("store/postgres: decode drafts/%s: %w (its blobs cannot be told apart from unreferenced ones)", keys[i], err)
		}
		store.ForEachDraftBlob(&d, fn)
	}
	return nil
}
