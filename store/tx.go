package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/ticketgate/ticketgate/msgid"
)

var (
	bMeta       = []byte("meta")
	bTicketSeq  = []byte("ticket_seq")  // project → last ticket number
	bTickets    = []byte("tickets")     // project \0 be64(number) → Ticket
	bMessages   = []byte("messages")    // be64(id) → Message
	bTicketMsgs = []byte("ticket_msgs") // ticket key \0 be64(message id) → nil
	bMsgIDs     = []byte("msgids")      // project \0 message-id \0 content hash → ref
	bEvents     = []byte("events")      // ticket key \0 be64(seq) → Event
	bTokens     = []byte("tokens")      // token → Token
	bOutbox     = []byte("outbox")      // be64(id) → OutboxItem
	bOutboxDue  = []byte("outbox_due")  // be64(unix nanos) be64(id) → nil
	bState      = []byte("state")       // free-form small state (IMAP cursors …)
	bSuppress   = []byte("suppress")    // address → Suppression
	bRate       = []byte("rate")        // limit key → window counters
	bBlocked    = []byte("blocked")     // project \0 address → Block
	bOrgs       = []byte("orgs")        // project \0 name → Organization
	// bTicketTimers indexes tickets by time (issue 21, timers.go):
	// 'w'|'r' be64(unix nanos) ticket key → nil, for Wake and Resolved.
	bTicketTimers = []byte("ticket_timers")
	// bTicketFacts: what reports read, by last change (facts.go).
	bTicketFacts = []byte("ticket_facts")
)

var allBuckets = [][]byte{bMeta, bTicketSeq, bTickets, bMessages, bTicketMsgs, bMsgIDs, bEvents, bTokens, bOutbox, bOutboxDue, bState, bSuppress, bRate, bBlocked, bOrgs,
	bTicketTimers, bTicketFacts, bDraftSeq, bDrafts, // issue 21: store/timers.go, facts; issue 17: store/drafts.go
	bTokenPrune,                 // issue 21: store/tokenprune.go
	bDraftsAccepted, bCustomers, // issue 17: store/people.go
	bBlobs, bBlobData, bBlobIndex} // issue 13: small blobs inside the database, store/blob.go

// boltTx is the bbolt implementation of Tx.
type boltTx struct {
	btx *bolt.Tx
	// after holds the AfterCommit functions of this attempt.
	after []func()
	// auditRun is the audit record written last (AddAudit).
	auditRun *auditRun
	// cursors serve the point reads of this transaction, opened the
	// buckets a read-only one has opened (lookup.go).
	cursors []*bolt.Cursor
	opened  []openedBucket
}

// AfterCommit registers fn to run once the transaction is durable.
func (tx *boltTx) AfterCommit(fn func()) {
	tx.after = append(tx.after, fn)
}

// runAfterCommit runs the registered functions in order; a panic in one is
// logged and does not stop the others (or the commit loop).
func (tx *boltTx) runAfterCommit(log *slog.Logger) {
	for _, fn := range tx.after {
		func() {
			defer func() {
				if p := recover(); p != nil {
					log.Error("store: after-commit function panicked", "panic", p)
				}
			}()
			fn()
		}()
	}
	tx.after = nil
}

func putU64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// counter decodes a stored be64 counter: absent is 0, anything but 8 bytes
// is an error (a damaged counter must not restart at 0).
func counter(bucket, key, v []byte) (uint64, error) {
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("store: decode %s/%q: counter of %d bytes", bucket, key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func getU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, []byte{0}) }

// SplitTicketKey splits "ACME-42" into ("ACME", 42).
func SplitTicketKey(key string) (string, uint64, bool) {
	i := strings.LastIndexByte(key, '-')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.ParseUint(key[i+1:], 10, 64)
	if err != nil || n == 0 {
		return "", 0, false
	}
	return key[:i], n, true
}

// TicketKey formats a project key and number as "ACME-42".
func TicketKey(project string, n uint64) string {
	return project + "-" + strconv.FormatUint(n, 10)
}

func ticketDBKey(project string, n uint64) []byte {
	return join([]byte(project), putU64(n))
}

func (tx *boltTx) put(bucket, key []byte, v any) error {
	data, err := marshalRow(v)
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", bucket, err)
	}
	return tx.btx.Bucket(bucket).Put(key, data)
}

func (tx *boltTx) get(bucket, key []byte, v any) (bool, error) {
	data := tx.read(bucket, key)
	if data == nil {
		return false, nil
	}
	var err error
	switch r := v.(type) {
	case *Message:
		err = UnmarshalMessage(data, r)
	case *Ticket:
		err = UnmarshalTicket(data, r)
	default:
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		return false, fmt.Errorf("store: decode %s/%x: %w", bucket, key, err)
	}
	return true, nil
}

// NextTicketNumber allocates the next number of project. Numbers are never
// reused: the counter is part of the transaction, so a rolled-back ticket
// gives its number back and a committed one keeps it.
func (tx *boltTx) NextTicketNumber(project string) (uint64, error) {
	n, err := tx.LastTicketNumber(project)
	if err != nil {
		return 0, err
	}
	n++
	if err := tx.btx.Bucket(bTicketSeq).Put([]byte(project), putU64(n)); err != nil {
		return 0, err
	}
	return n, nil
}

// LastTicketNumber returns the highest number allocated in project.
func (tx *boltTx) LastTicketNumber(project string) (uint64, error) {
	return counter(bTicketSeq, []byte(project), tx.read(bTicketSeq, []byte(project)))
}

// PutTicket writes t.
func (tx *boltTx) PutTicket(t *Ticket) error {
	key := ticketDBKey(t.Project, t.Number)
	old := tx.read(bTickets, key)
	if old != nil && !bytes.Contains(old, []byte(`"wake"`)) && !bytes.Contains(old, []byte(`"resolved"`)) {
		old = nil // the stored row has no index entries
	}
	if err := tx.indexTimers(old, t); err != nil {
		return err
	}
	if err := tx.indexFacts(t); err != nil {
		return err
	}
	if err := tx.indexPeople(t); err != nil {
		return err
	}
	return tx.put(bTickets, key, t)
}

// Ticket reads a ticket by key ("ACME-42").
func (tx *boltTx) Ticket(key string) (*Ticket, error) {
	p, n, ok := SplitTicketKey(key)
	if !ok {
		return nil, fmt.Errorf("ticket %q: %w", key, ErrNotFound)
	}
	var t Ticket
	found, err := tx.get(bTickets, ticketDBKey(p, n), &t)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("ticket %s: %w", key, ErrNotFound)
	}
	return &t, nil
}

// ForEachTicket calls fn for each ticket of project ("" = all) in key order
// until fn returns false.
func (tx *boltTx) ForEachTicket(project string, fn func(*Ticket) bool) error {
	c := tx.btx.Bucket(bTickets).Cursor()
	var prefix []byte
	if project != "" {
		prefix = append([]byte(project), 0)
	}
	k, v := c.Seek(prefix)
	return eachTicket(c, k, v, prefix, fn)
}

// ForEachTicketAfter calls fn for each ticket after the one keyed after
// ("" = from the first) in key order until fn returns false.
func (tx *boltTx) ForEachTicketAfter(after string, fn func(*Ticket) bool) error {
	c := tx.btx.Bucket(bTickets).Cursor()
	var k, v []byte
	if after == "" {
		k, v = c.First()
	} else {
		p, n, ok := SplitTicketKey(after)
		if !ok {
			return fmt.Errorf("store: tickets after %q: not a ticket key", after)
		}
		start := ticketDBKey(p, n)
		if k, v = c.Seek(start); bytes.Equal(k, start) {
			k, v = c.Next()
		}
	}
	return eachTicket(c, k, v, nil, fn)
}

// eachTicket decodes the tickets from c's position (k, v) on while their
// keys start with prefix, calling fn until it returns false.
func eachTicket(c *bolt.Cursor, k, v, prefix []byte, fn func(*Ticket) bool) error {
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var t Ticket
		if err := UnmarshalTicket(v, &t); err != nil {
			return fmt.Errorf("store: decode ticket %x: %w", k, err)
		}
		if !fn(&t) {
			return nil
		}
	}
	return nil
}

// AddMessage stores m with a new id (set on m) and links it to its ticket.
func (tx *boltTx) AddMessage(m *Message) error {
	b := tx.btx.Bucket(bMessages)
	id, err := b.NextSequence()
	if err != nil {
		return err
	}
	m.ID = id
	if err := tx.put(bMessages, putU64(id), m); err != nil {
		return err
	}
	return tx.btx.Bucket(bTicketMsgs).Put(join([]byte(m.Ticket), putU64(id)), nil)
}

// PutMessage rewrites an existing message (retention, edits).
func (tx *boltTx) PutMessage(m *Message) error {
	if m.ID == 0 {
		return fmt.Errorf("store: PutMessage without id")
	}
	return tx.put(bMessages, putU64(m.ID), m)
}

// Message reads one message.
func (tx *boltTx) Message(id uint64) (*Message, error) {
	key := putU64(id)
	data := tx.read(bMessages, key)
	if data == nil {
		return nil, fmt.Errorf("store: message %d: %w", id, ErrNotFound)
	}
	m := new(Message)
	if err := UnmarshalMessage(data, m); err != nil {
		return nil, fmt.Errorf("store: decode %s/%x: %w", bMessages, key, err)
	}
	return m, nil
}

// TicketMessages returns the messages of a ticket, oldest first.
func (tx *boltTx) TicketMessages(ticket string) ([]*Message, error) {
	prefix := append([]byte(ticket), 0)
	c := tx.btx.Bucket(bTicketMsgs).Cursor()
	var out []*Message
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		m, err := tx.Message(getU64(k[len(prefix):]))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// msgIDKey is the msgids key of a Message-ID; the id is made canonical
// here, whatever the caller passed, so a lookup with the id as written in
// a header finds what was stored under the parser's form.
func msgIDKey(project, id, hash string) []byte {
	return join([]byte(project), []byte(msgid.Canonical(id)), []byte(hash))
}

func encodeRef(r MessageRef) []byte {
	flag := byte(0)
	if r.Outbound {
		flag = 1
	}
	out := append([]byte(r.Ticket), 0)
	out = append(out, putU64(r.Message)...)
	return append(out, flag)
}

func decodeRef(k, v []byte) (MessageRef, error) {
	i := bytes.IndexByte(v, 0)
	if i <= 0 || len(v) != i+10 || v[i+9] > 1 {
		return MessageRef{}, fmt.Errorf("store: decode %s/%q: malformed reference %q", bMsgIDs, k, v)
	}
	return MessageRef{Ticket: string(v[:i]), Message: getU64(v[i+1 : i+9]), Outbound: v[i+9] == 1}, nil
}

// IndexMessageID records that Message-ID id (made canonical) with content hash belongs
// to ref in project. Outbound ids are indexed with an empty hash.
func (tx *boltTx) IndexMessageID(project, id, hash string, ref MessageRef) error {
	if id == "" && hash == "" {
		return nil
	}
	return tx.btx.Bucket(bMsgIDs).Put(msgIDKey(project, id, hash), encodeRef(ref))
}

// Duplicate returns the ref of a message already stored in project with the
// same Message-ID and content hash.
func (tx *boltTx) Duplicate(project, id, hash string) (MessageRef, bool, error) {
	k := msgIDKey(project, id, hash)
	v := tx.read(bMsgIDs, k)
	if v == nil {
		return MessageRef{}, false, nil
	}
	r, err := decodeRef(k, v)
	return r, err == nil, err
}

// LookupMessageID returns what project knows of msgid: any stored inbound
// copy or an id we minted. Cost is one seek, whatever the store's size.
func (tx *boltTx) LookupMessageID(project, id string) (MessageRef, bool, error) {
	id = msgid.Canonical(id)
	if id == "" {
		return MessageRef{}, false, nil
	}
	prefix := join([]byte(project), []byte(id), nil)
	c := tx.cursor(tx.bucket(bMsgIDs))
	k, v := c.Seek(prefix)
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return MessageRef{}, false, nil
	}
	r, err := decodeRef(k, v)
	return r, err == nil, err
}

// AddEvent appends an event to its ticket's history (Seq is set).
func (tx *boltTx) AddEvent(e *Event) error {
	b := tx.btx.Bucket(bEvents)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	e.Seq = seq
	if err := tx.put(bEvents, join([]byte(e.Ticket), putU64(seq)), e); err != nil {
		return err
	}
	return tx.logEvent(e)
}

// Events returns a ticket's history, oldest first.
func (tx *boltTx) Events(ticket string) ([]*Event, error) {
	prefix := append([]byte(ticket), 0)
	c := tx.btx.Bucket(bEvents).Cursor()
	var out []*Event
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("store: decode event: %w", err)
		}
		out = append(out, &e)
	}
	return out, nil
}

// PutToken stores a token.
func (tx *boltTx) PutToken(t *Token) error {
	if err := tx.indexToken(tx.read(bTokens, []byte(t.Token)), t); err != nil {
		return err
	}
	return tx.put(bTokens, []byte(t.Token), t)
}

// Token reads a token; ErrNotFound when unknown.
func (tx *boltTx) Token(token string) (*Token, error) {
	var t Token
	found, err := tx.get(bTokens, []byte(token), &t)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrNotFound
	}
	return &t, nil
}

// SetState stores a small named state value (JSON).
func (tx *boltTx) SetState(name string, v any) error {
	return tx.put(bState, []byte(name), v)
}

// State reads a state value; false when absent.
func (tx *boltTx) State(name string, v any) (bool, error) {
	return tx.get(bState, []byte(name), v)
}

// Meta reads a per-installation value (e.g. a generated key).
func (tx *boltTx) Meta(name string) []byte {
	v := tx.btx.Bucket(bMeta).Get([]byte(name))
	if v == nil {
		return nil
	}
	return append([]byte(nil), v...)
}

// SetMeta writes a per-installation value.
func (tx *boltTx) SetMeta(name string, v []byte) error {
	return tx.btx.Bucket(bMeta).Put([]byte(name), v)
}

func (tx *boltTx) ForEachBlobRef(fn func(string)) error {
	if err := tx.forEachOutboxBlobRef(fn); err != nil {
		return err
	}
	if err := tx.forEachDraftBlobRef(fn); err != nil {
		return err
	}
	return tx.btx.Bucket(bMessages).ForEach(func(k, v []byte) error {
		// UnmarshalMessage accepts and refuses what encoding/json does,
		// without its reflection: on a store of a million messages the
		// hourly scan took 40 s, 16 of them decoding.
		var m Message
		if err := UnmarshalMessage(v, &m); err != nil {
			return fmt.Errorf("store: decode %s/%d: %w (its blobs cannot be told apart from unreferenced ones)", bMessages, getU64(k), err)
		}
		// The decoded strings share the record's one allocation: fn
		// gets copies, so whatever it keeps does not hold whole records.
		if m.Raw != "" {
			fn(strings.Clone(m.Raw))
		}
		for _, a := range m.Attach {
			if a.Blob != "" {
				fn(a.Blob)
			}
		}
		return nil
	})
}
