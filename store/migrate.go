package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/msgid"
)

// migration turns a store of schema version From into From+1. Its Up runs
// inside the one transaction that migrates the file (all steps or none).
type migration struct {
	From int
	What string
	Up   func(tx *boltTx, now time.Time) error
}

// migrations is the ordered chain; the last one's From+1 is SchemaVersion.
func (s *boltDB) migrations() []migration {
	return []migration{
		{From: 1, What: "build the audit stream from the stored inbound mail, so `ticketgate trace` answers for mail received before the upgrade", Up: migrateAuditBackfill},
		{From: 2, What: "re-key the Message-ID index and the audit stream by the one canonical Message-ID (msgid.Canonical: domain lower-cased), so ids minted or stored under another form stay findable", Up: migrateCanonicalMessageIDs},
		{From: 3, What: "move the bytes of queued mail out of the outbox rows into blobs (rows become small; the mail is still sent as it was composed), and repair the due index", Up: s.migrateOutboxRaw},
		{From: 4, What: "index the tickets by resolution time (ticket_timers), so auto-close and the response-target timers find what is due without reading every ticket, and write their report facts by last change (ticket_facts) for `ticketgate report` (issue 21)", Up: migrateTimerIndex},
		{From: 5, What: "index the bounce tokens by expiry (token_prune), so the expired ones are deleted without reading every token (issue 21)", Up: migrateTokenPrune},
		{From: 6, What: "index the tickets' reporters and participants by address (customers), so open_to: known finds an earlier ticket of a sender with one seek instead of reading every ticket (issue 17)", Up: migratePeopleIndex},
		{From: 7, What: "rewrite the audit stream's records in their compact form (no field names, no Message-ID and sequence number repeated from the key: about a quarter of the bytes), as new ones are written", Up: migrateCompactAudit},
		{From: 8, What: "keep blobs of at most 32 KiB (most raw mail) inside ticketgate.db, bucket blobs, instead of as files (issue 13); existing files stay files. An older binary cannot read such blobs, hence the new version", Up: migrateInlineBlobs},
		{From: 9, What: "keep new inline blobs as content appended under a sequence number (blob_data) and an index from hash to it (blob_index), so a new blob no longer rewrites a page of others; the ones in blobs stay and read as before. An older binary cannot find the new ones, hence the new version", Up: migrateBlobIndex},
		{From: 10, What: "give every rate counter its expiry, so the ones no limit reads any more are pruned instead of kept for ever; the counters so far, which carry no window, are dropped: the rate limits count afresh from here", Up: migrateRateExpiry},
	}
}

// migrate upgrades an existing store whose schema is older than
// SchemaVersion: it first writes a copy of the database next to it
// (ticketgate.db.pre-migration-vN-<UTC timestamp>), then runs every step in
// one transaction and records the new version and the time in meta. A
// fresh file (no schema yet) and a current one are left alone; a newer one
// was refused by checkVersion.
func (s *boltDB) migrate() error {
	var v uint64
	s.db.View(func(btx *bolt.Tx) error {
		if b := btx.Bucket(bMeta); b != nil {
			v = getU64(b.Get([]byte("schema")))
		}
		return nil
	})
	if v == 0 || v >= SchemaVersion {
		return nil
	}
	now := time.Now().UTC()
	backup, err := s.backupDB(fmt.Sprintf("ticketgate.db.pre-migration-v%d-%s", v, now.Format("20060102T150405Z")))
	if err != nil {
		return fault.Temporary(fmt.Errorf("store: backup before migrating schema %d: %w", v, err))
	}
	s.log.Info("store schema migration: backed up", "from", v, "to", SchemaVersion, "backup", backup)
	err = s.db.Update(func(btx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := btx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		tx := &boltTx{btx: btx}
		for _, m := range s.migrations() {
			if uint64(m.From) < v {
				continue
			}
			start := time.Now()
			err := m.Up(tx, now)
			if err == nil {
				err = tx.flushAudit() // the next step may read what this one wrote
			}
			if err != nil {
				return fmt.Errorf("schema %d → %d (%s): %w", m.From, m.From+1, m.What, err)
			}
			s.log.Info("store schema migrated", "from", m.From, "to", m.From+1, "what", m.What, "took", time.Since(start))
		}
		meta := btx.Bucket(bMeta)
		if err := meta.Put([]byte(fmt.Sprintf("migrated_v%d", SchemaVersion)), []byte(now.Format(time.RFC3339))); err != nil {
			return err
		}
		return meta.Put([]byte("schema"), putU64(SchemaVersion))
	})
	if err != nil {
		return fault.Permanent(fmt.Errorf("store: migration failed, the file is unchanged (backup %s): %w", backup, err))
	}
	return nil
}

// backupDB writes a consistent copy of the bbolt file (one read
// transaction) into the store folder under name, fsynced. Blobs are
// immutable and untouched by migrations, so the file alone restores the
// state before them.
func (s *boltDB) backupDB(name string) (string, error) {
	path := filepath.Join(s.dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return "", err
	}
	err = s.db.View(func(btx *bolt.Tx) error {
		_, err := btx.WriteTo(f)
		return err
	})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		os.Remove(path)
		return "", err
	}
	return path, nil
}

// migrateAuditBackfill (1 → 2) records a "received" and a threading
// event in the audit stream for every stored inbound mail, from what the
// message records say (source, sender, ticket, rule).
func migrateAuditBackfill(tx *boltTx, now time.Time) error {
	var list []*Message
	err := tx.btx.Bucket(bMessages).ForEach(func(k, v []byte) error {
		var m Message
		if err := json.Unmarshal(v, &m); err != nil {
			return nil // unreadable records are not the migration's business
		}
		if m.Direction == "in" && m.MessageID != "" {
			list = append(list, &m)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range list {
		detail := "from the stored message (schema migration " + now.Format(time.RFC3339) + ")"
		if err := tx.AddAudit(&AuditEvent{MessageID: m.MessageID, Time: m.Received, Type: AuditReceived,
			Project: m.Project, Ticket: m.Ticket, Source: m.Source, From: m.From, Detail: detail}); err != nil {
			return err
		}
		typ := AuditThreaded
		if m.ThreadedBy == "new" {
			typ = AuditNewTicket
		}
		if err := tx.AddAudit(&AuditEvent{MessageID: m.MessageID, Time: m.Received, Type: typ,
			Project: m.Project, Ticket: m.Ticket, Rule: m.ThreadedBy}); err != nil {
			return err
		}
	}
	return nil
}

// migrateCanonicalMessageIDs (2 → 3) re-keys every msgids entry and audit
// event whose Message-ID is not in msgid.Canonical form (before, the
// audit stream and ids we minted kept the domain's case while the parser
// lower-cased it, so one mail had two keys and `trace` missed it).
func migrateCanonicalMessageIDs(tx *boltTx, _ time.Time) error {
	ids := tx.btx.Bucket(bMsgIDs)
	type move struct{ old, new, val []byte }
	var moves []move
	err := ids.ForEach(func(k, v []byte) error {
		i, j := bytes.IndexByte(k, 0), bytes.LastIndexByte(k, 0)
		if i < 0 || j <= i {
			return fmt.Errorf("msgids key %q: not project\\0id\\0hash", k)
		}
		id := string(k[i+1 : j])
		if c := msgid.Canonical(id); c != id {
			nk := join(k[:i], []byte(c), k[j+1:])
			moves = append(moves, move{append([]byte(nil), k...), nk, append([]byte(nil), v...)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range moves {
		if err := ids.Delete(m.old); err != nil {
			return err
		}
		if err := ids.Put(m.new, m.val); err != nil {
			return err
		}
	}
	audit, atime := tx.btx.Bucket(bAudit), tx.btx.Bucket(bAuditTime)
	if audit == nil || atime == nil {
		return nil
	}
	moves = moves[:0]
	err = audit.ForEach(func(k, v []byte) error {
		// Events the 1 → 2 backfill just wrote are in the compact form.
		if len(k) < 10 {
			return fmt.Errorf("audit %q: not Message-ID \\0 be64(seq)", k)
		}
		evs, err := DecodeAudit(v, string(k[:len(k)-9]), getU64(k[len(k)-8:]))
		if err != nil {
			return fmt.Errorf("audit %q: %w", k, err)
		}
		changed := false
		for _, e := range evs {
			id, rel := msgid.Canonical(e.MessageID), msgid.Canonical(e.Related)
			changed = changed || id != e.MessageID || rel != e.Related
			e.MessageID, e.Related = id, rel
		}
		if !changed {
			return nil
		}
		data, err := encodeAuditRecord(evs)
		if err != nil {
			return err
		}
		moves = append(moves, move{append([]byte(nil), k...), append(auditPrefix(evs[0].MessageID), putU64(evs[0].Seq)...), data})
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range moves {
		if err := audit.Delete(m.old); err != nil {
			return err
		}
		if err := audit.Put(m.new, m.val); err != nil {
			return err
		}
	}
	if len(moves) == 0 {
		return nil
	}
	// The time index points at audit keys: repoint the moved ones.
	moved := map[string][]byte{}
	for _, m := range moves {
		moved[string(m.old)] = m.new
	}
	c := atime.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if nk, ok := moved[string(v)]; ok {
			if err := atime.Put(append([]byte(nil), k...), nk); err != nil {
				return err
			}
		}
	}
	return nil
}

// migrateOutboxRaw (3 → 4) moves each queued mail's whole MIME (the "raw"
// field of schema 2 rows) into a blob and keeps a reference to it: the
// sender streams such a row's blob as it is, same bytes and Message-ID as
// before the upgrade. The blob is durable (Commit fsyncs it) before the
// transaction that refers to it commits. Index entries a schema-2 sender
// orphaned are repaired on the way.
func (s *boltDB) migrateOutboxRaw(tx *boltTx, now time.Time) error {
	type legacy struct {
		OutboxItem
		Raw []byte `json:"raw"`
	}
	b := tx.btx.Bucket(bOutbox)
	var rows []*legacy
	err := b.ForEach(func(k, v []byte) error {
		var it legacy
		if err := json.Unmarshal(v, &it); err != nil {
			return fmt.Errorf("decode outbox/%x: %w", k, err)
		}
		it.ID = getU64(k)
		rows = append(rows, &it)
		return nil
	})
	if err != nil {
		return err
	}
	for _, it := range rows {
		if it.Raw != nil {
			h, err := s.putBlobIn(tx, now, bytes.NewReader(it.Raw))
			if err != nil {
				return fmt.Errorf("outbox item %d: %w", it.ID, err)
			}
			it.RawBlob = h
		}
		if err := tx.put(bOutbox, putU64(it.ID), &it.OutboxItem); err != nil {
			return err
		}
	}
	n, err := tx.RepairOutbox()
	if err != nil {
		return err
	}
	if n > 0 {
		s.log.Warn("store schema migration: repaired outbox due index", "entries", n)
	}
	return nil
}

// migrateCompactAudit (7 → 8) rewrites every audit record still in JSON
// into the compact form (auditcodec.go). A record that does not decode
// fails the migration: nothing is dropped on the strength of it.
func migrateCompactAudit(tx *boltTx, _ time.Time) error {
	audit := tx.btx.Bucket(bAudit)
	if audit == nil {
		return nil
	}
	type rewrite struct{ key, val []byte }
	var todo []rewrite
	err := audit.ForEach(func(k, v []byte) error {
		if len(v) == 0 || v[0] != '{' {
			return nil
		}
		if len(k) < 10 || k[len(k)-9] != 0 {
			return fmt.Errorf("audit %q: not Message-ID \\0 be64(seq)", k)
		}
		evs, err := DecodeAudit(v, string(k[:len(k)-9]), getU64(k[len(k)-8:]))
		if err != nil {
			return fmt.Errorf("audit %q: %w", k, err)
		}
		data, err := encodeAudit(evs[0])
		if err != nil {
			return fmt.Errorf("audit %q: %w", k, err)
		}
		todo = append(todo, rewrite{append([]byte(nil), k...), data})
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range todo {
		if err := audit.Put(r.key, r.val); err != nil {
			return err
		}
	}
	return nil
}

// migrateInlineBlobs (8 → 9) creates the bucket of inline blobs (issue
// 13). Nothing is moved: blob files stay where they are and are read as
// before. The version changes so that an older binary, which would not
// find inline blobs, refuses the store instead of losing mail.
func migrateInlineBlobs(tx *boltTx, _ time.Time) error {
	_, err := tx.btx.CreateBucketIfNotExists(bBlobs)
	return err
}

// migrateRateExpiry (10 → 11) empties the rate bucket: its counters
// carry no expiry (nor the window that would give one), so they could
// never be told from live ones; the limits count afresh, as after any
// pause of their windows' length.
func migrateRateExpiry(tx *boltTx, _ time.Time) error {
	if err := tx.btx.DeleteBucket(bRate); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
		return err
	}
	_, err := tx.btx.CreateBucket(bRate)
	return err
}

// migrateBlobIndex (9 → 10) creates the buckets of the inline blobs'
// second layout (store/blob.go). Nothing is moved.
func migrateBlobIndex(tx *boltTx, _ time.Time) error {
	for _, name := range [][]byte{bBlobData, bBlobIndex} {
		if _, err := tx.btx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}
