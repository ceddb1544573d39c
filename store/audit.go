package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ticketgate/ticketgate/msgid"
)

// The audit stream answers "what happened to this mail?" for one
// Message-ID. Its buckets are created on first write:
//
//	audit       canonical message id \0 be64(seq) → AuditEvent (compact
//	            since schema 8, JSON before: see auditcodec.go)
//	audit_time  be64(unix nanos) be64(seq) → audit key (for pruning by age)
var (
	bAudit     = []byte("audit")
	bAuditTime = []byte("audit_time")
)

// AuditType names what happened to a mail in its audit stream. It is
// stored by name; a name this version does not know is a decode error.
type AuditType string

// Audit event types.
const (
	AuditReceived  AuditType = "received"   // inbound copy for a project, with source and sender
	AuditThreaded  AuditType = "threaded"   // into an existing ticket, by Rule
	AuditNewTicket AuditType = "new_ticket" // opened Ticket
	AuditDuplicate AuditType = "duplicate"  // already stored: nothing changed
	AuditAutomatic AuditType = "automatic"  // automatic mail: nobody answered (Detail says why)
	AuditLoop      AuditType = "loop"       // our own mail came back
	AuditRefused   AuditType = "refused"    // stored for the agents but refused to the sender
	AuditRejected  AuditType = "rejected"   // not stored (Detail says why; temporary or not)
	AuditQueued    AuditType = "queued"     // an outbound mail was queued (Related: the other id)
	AuditHeld      AuditType = "suppressed" // an outbound mail was held back (Detail says why)
	AuditDelivered AuditType = "delivered"  // the relay accepted it
	AuditDeferred  AuditType = "deferred"   // temporary failure, retried later
	AuditGivenUp   AuditType = "given_up"   // permanent failure or too old: dropped
	AuditBounced   AuditType = "bounced"    // a delivery report says it failed (Related: the other id)
)

// AuditEvent is one thing that happened to one mail.
type AuditEvent struct {
	// MessageID is the canonical id (msgid.Canonical).
	MessageID string    `json:"message_id"`
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Type      AuditType `json:"type"`
	Project   string    `json:"project,omitempty"`
	Ticket    string    `json:"ticket,omitempty"`
	Source    string    `json:"source,omitempty"`
	From      string    `json:"from,omitempty"`
	Recipient string    `json:"recipient,omitempty"`
	// Rule is the threading rule (threaded, new_ticket).
	Rule   string `json:"rule,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Related links the other side: on an inbound mail's queued event the
	// outbound Message-ID, on an outbound mail's events the inbound
	// Message-ID that caused it.
	Related string `json:"related,omitempty"`
}

var auditTypes = []AuditType{AuditReceived, AuditThreaded, AuditNewTicket, AuditDuplicate, AuditAutomatic, AuditLoop,
	AuditRefused, AuditRejected, AuditQueued, AuditHeld, AuditDelivered, AuditDeferred, AuditGivenUp, AuditBounced}

// UnmarshalText accepts only the known audit types.
func (t *AuditType) UnmarshalText(b []byte) error {
	if !slices.Contains(auditTypes, AuditType(b)) {
		return fmt.Errorf("store: unknown audit event type %q", b)
	}
	*t = AuditType(b)
	return nil
}

func auditPrefix(id string) []byte { return append([]byte(id), 0) }

// AddAudit appends e to its Message-ID's stream (Seq is set).
func (tx *boltTx) AddAudit(e *AuditEvent) error {
	e.MessageID = msgid.Canonical(e.MessageID)
	if e.MessageID == "" {
		return nil // nothing to find it by
	}
	b, err := tx.auditBucket(bAudit)
	if err != nil {
		return err
	}
	bt, err := tx.auditBucket(bAuditTime)
	if err != nil {
		return err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	e.Seq = seq
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	// An event right after one of the same mail at the same time (an
	// inbound mail's received, threading and queued events) joins its
	// record: one key and one time index entry instead of several. A
	// record is encoded and written once, complete, by flushAudit: when
	// the next record begins, before the transaction reads the audit
	// trail, and at the end of each function of a write transaction.
	if g := tx.auditRun; g != nil && g.evs[0].MessageID == e.MessageID && g.evs[0].Time.Equal(e.Time) && g.next == seq {
		cp := *e
		g.evs = append(g.evs, &cp)
		g.next++
		g.dirty = true
		return nil
	}
	if err := tx.flushAudit(); err != nil {
		return err
	}
	// The record's key (Message-ID \0 be64(seq)) and its time index key
	// (be64(time) be64(seq)) in one allocation: bbolt keeps both until
	// the commit.
	keys := make([]byte, len(e.MessageID)+9+16)
	key := keys[:len(e.MessageID)+9]
	copy(key, e.MessageID)
	binary.BigEndian.PutUint64(key[len(e.MessageID)+1:], seq)
	tkey := keys[len(key):]
	binary.BigEndian.PutUint64(tkey, uint64(e.Time.UnixNano()))
	binary.BigEndian.PutUint64(tkey[8:], seq)
	run := &auditRun{key: key, next: seq + 1, dirty: true}
	run.first = *e
	run.evs = run.one[:]
	run.one[0] = &run.first
	tx.auditRun = run
	return bt.Put(tkey, key)
}

// auditBucket returns the audit bucket name, creating it if need be
// (CreateBucketIfNotExists copies the name on every call, even when the
// bucket exists, as it does after the first audit event).
func (tx *boltTx) auditBucket(name []byte) (*bolt.Bucket, error) {
	if b := tx.btx.Bucket(name); b != nil {
		return b, nil
	}
	b, err := tx.btx.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, fmt.Errorf("store: audit: %w", err)
	}
	return b, nil
}

// auditRun is the audit record a transaction wrote last, which the next
// event of the same mail and time joins (a group, see auditcodec.go).
type auditRun struct {
	key  []byte
	evs  []*AuditEvent
	next uint64 // the sequence number the next event must have to join
	// dirty: the record is not written as it stands (flushAudit).
	dirty bool
	// first and one hold the first event and evs' first backing array,
	// allocated with the run.
	first AuditEvent
	one   [1]*AuditEvent
}

// flushAudit writes the record of the transaction's current audit run
// unless it is written as it stands. Everything that ends a write
// transaction's function (the commit loop, a migration) or reads the
// audit trail in it calls this first; an encoding error is the error of
// the function that added the events.
func (tx *boltTx) flushAudit() error {
	g := tx.auditRun
	if g == nil || !g.dirty {
		return nil
	}
	data, err := encodeAuditRecord(g.evs)
	if err != nil {
		return fmt.Errorf("store: encode audit: %w", err)
	}
	if err := tx.btx.Bucket(bAudit).Put(g.key, data); err != nil {
		return err
	}
	g.dirty = false
	return nil
}

// Audit returns the stream of one Message-ID, oldest first.
func (tx *boltTx) Audit(messageID string) ([]*AuditEvent, error) {
	if err := tx.flushAudit(); err != nil {
		return nil, err
	}
	b := tx.btx.Bucket(bAudit)
	id := msgid.Canonical(messageID)
	if b == nil || id == "" {
		return nil, nil
	}
	prefix := auditPrefix(id)
	var out []*AuditEvent
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, v = c.Next() {
		evs, err := DecodeAudit(v, id, getU64(k[len(prefix):]))
		if err != nil {
			return nil, fmt.Errorf("store: decode audit %q: %w", k, err)
		}
		out = append(out, evs...)
	}
	return out, nil
}

// PruneAudit deletes audit records older than before, at most max of
// them (0: no limit), and returns how many went (a group of events is one
// record).
func (tx *boltTx) PruneAudit(before time.Time, max int) (int, error) {
	if err := tx.flushAudit(); err != nil {
		return 0, err
	}
	tx.auditRun = nil
	b, bt := tx.btx.Bucket(bAudit), tx.btx.Bucket(bAuditTime)
	if b == nil || bt == nil {
		return 0, nil
	}
	cut := putU64(uint64(before.UnixNano()))
	var dead [][2][]byte
	c := bt.Cursor()
	for k, v := c.First(); k != nil && bytes.Compare(k[:8], cut) < 0; k, v = c.Next() {
		if max > 0 && len(dead) >= max {
			break
		}
		dead = append(dead, [2][]byte{append([]byte(nil), k...), append([]byte(nil), v...)})
	}
	for _, d := range dead {
		if err := bt.Delete(d[0]); err != nil {
			return 0, err
		}
		if err := b.Delete(d[1]); err != nil {
			return 0, err
		}
	}
	return len(dead), nil
}
