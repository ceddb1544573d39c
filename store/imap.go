package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// IMAP state lives in its own buckets, created on first write:
//
//	imap_cursor    account → IMAPCursor (JSON)
//	imap_attempts  account \0 be32(uidvalidity) be32(uid) → IMAPAttempt (JSON)
//
// An account key names one mailbox of one login (the imapin package builds
// it from project, host, user and mailbox).
var (
	bIMAPCursor   = []byte("imap_cursor")
	bIMAPAttempts = []byte("imap_attempts")
)

// IMAPCursor is how far a mailbox has been read.
type IMAPCursor struct {
	// UIDValidity is the mailbox's UIDVALIDITY the UIDs below belong to.
	UIDValidity uint32 `json:"uidvalidity"`
	// LastUID is the highest UID such that every message up to it has been
	// handled (stored and moved, moved to the error mailbox, or skipped by
	// start: now).
	LastUID uint32 `json:"last_uid"`
	// QuietUpTo: messages up to this UID are ingested quietly (start:
	// all-quiet on the first start).
	QuietUpTo uint32 `json:"quiet_up_to,omitempty"`
}

// IMAPAttempt is the bookkeeping of one message above the cursor.
type IMAPAttempt struct {
	// Attempts counts processing attempts, each recorded before the
	// attempt starts (a message that crashes the daemon is counted too).
	Attempts int `json:"attempts"`
	// Done marks a message handled while an older one is still pending,
	// so that it is not fetched again.
	Done bool `json:"done,omitempty"`
	// LastError is the last permanent failure.
	LastError string `json:"last_error,omitempty"`
}

func (tx *boltTx) imapBucket(name []byte) (*bolt.Bucket, error) {
	if b := tx.btx.Bucket(name); b != nil || !tx.btx.Writable() {
		return b, nil
	}
	b, err := tx.btx.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, fmt.Errorf("store: create bucket %s: %w", name, err)
	}
	return b, nil
}

// IMAPCursor reads an account's cursor; false when the mailbox was never
// read (the first start).
func (tx *boltTx) IMAPCursor(account string) (IMAPCursor, bool, error) {
	var c IMAPCursor
	b := tx.btx.Bucket(bIMAPCursor)
	if b == nil {
		return c, false, nil
	}
	v := b.Get([]byte(account))
	if v == nil {
		return c, false, nil
	}
	if err := json.Unmarshal(v, &c); err != nil {
		return c, false, fmt.Errorf("store: decode imap cursor %q: %w", account, err)
	}
	return c, true, nil
}

// SetIMAPCursor writes an account's cursor and forgets the attempt records
// it has passed, and all of an older UIDVALIDITY.
func (tx *boltTx) SetIMAPCursor(account string, c IMAPCursor) error {
	b, err := tx.imapBucket(bIMAPCursor)
	if err != nil {
		return err
	}
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("store: encode imap cursor: %w", err)
	}
	if err := b.Put([]byte(account), data); err != nil {
		return err
	}
	ab := tx.btx.Bucket(bIMAPAttempts)
	if ab == nil {
		return nil
	}
	prefix := append([]byte(account), 0)
	cur := ab.Cursor()
	var stale [][]byte
	for k, _ := cur.Seek(prefix); k != nil && len(k) == len(prefix)+8 && string(k[:len(prefix)]) == string(prefix); k, _ = cur.Next() {
		uv := binary.BigEndian.Uint32(k[len(prefix):])
		uid := binary.BigEndian.Uint32(k[len(prefix)+4:])
		if uv != c.UIDValidity || uid <= c.LastUID {
			stale = append(stale, append([]byte(nil), k...))
		}
	}
	for _, k := range stale {
		if err := ab.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func imapAttemptKey(account string, uidValidity, uid uint32) []byte {
	k := make([]byte, 0, len(account)+9)
	k = append(k, account...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint32(k, uidValidity)
	return binary.BigEndian.AppendUint32(k, uid)
}

// IMAPAttempt reads one message's record (zero when absent).
func (tx *boltTx) IMAPAttempt(account string, uidValidity, uid uint32) (IMAPAttempt, error) {
	var a IMAPAttempt
	b := tx.btx.Bucket(bIMAPAttempts)
	if b == nil {
		return a, nil
	}
	v := b.Get(imapAttemptKey(account, uidValidity, uid))
	if v == nil {
		return a, nil
	}
	if err := json.Unmarshal(v, &a); err != nil {
		return a, fmt.Errorf("store: decode imap attempt: %w", err)
	}
	return a, nil
}

// PutIMAPAttempt writes one message's record.
func (tx *boltTx) PutIMAPAttempt(account string, uidValidity, uid uint32, a IMAPAttempt) error {
	b, err := tx.imapBucket(bIMAPAttempts)
	if err != nil {
		return err
	}
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("store: encode imap attempt: %w", err)
	}
	return b.Put(imapAttemptKey(account, uidValidity, uid), data)
}
