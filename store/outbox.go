package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The outbox is a queue of small rows, one per recipient of a mail we
// send, and a due index:
//
//	outbox      be64(id) → OutboxItem (JSON, no message bytes)
//	outbox_due  be64(next attempt, unix nanos) be64(id) → nil
//
// Every method that changes a row reads it by id inside the transaction and
// derives the index key from the stored row, never from a caller's copy: a
// stale copy (a worker's snapshot, an admin listing) can therefore never
// orphan or double an index entry. CheckOutbox walks both for tests and
// start-up; RepairOutbox fixes what an older binary or a damaged file left.

// ErrOutboxIndex is returned by DueOutbox when the due index names a row
// that is not there (or not due then): RepairOutbox fixes it.
var ErrOutboxIndex = errors.New("store: outbox due index disagrees with the rows")

// OutboxHeader holds the header values of a queued mail that the sender
// cannot derive from the row's other fields: fixed when the mail is queued,
// so a retry sends the same header whatever the configuration became.
type OutboxHeader struct {
	FromName    string `json:"from_name,omitempty"`
	From        string `json:"from"`
	ReplyTo     string `json:"reply_to,omitempty"`
	ReplyToName string `json:"reply_to_name,omitempty"`
	Subject     string `json:"subject"`
	// AutoSubmitted is the RFC 3834 value; empty for a person's message
	// relayed by us.
	AutoSubmitted string `json:"auto_submitted,omitempty"`
	// Loop is the value of our loop header (the project address).
	Loop string `json:"loop,omitempty"`
	// Unsubscribe is the recipient's ticket link; the one-click mute is
	// Unsubscribe + "/mute".
	Unsubscribe string `json:"unsubscribe,omitempty"`
}

// OutboxVars are the template values of a queued mail besides the causing
// message (read by id at send time): what the ticket looked like when the
// mail was queued, so a retry renders the same text.
type OutboxVars struct {
	ProjectKey     string   `json:"project_key,omitempty"`
	ProjectName    string   `json:"project_name,omitempty"`
	ProjectAddress string   `json:"project_address,omitempty"`
	TicketSubject  string   `json:"ticket_subject,omitempty"`
	TicketStatus   string   `json:"ticket_status,omitempty"`
	Reporter       string   `json:"reporter,omitempty"`
	Assignee       string   `json:"assignee,omitempty"`
	Link           string   `json:"link,omitempty"`
	AgentLink      string   `json:"agent_link,omitempty"`
	Marker         string   `json:"marker,omitempty"`
	Actor          string   `json:"actor,omitempty"`
	Added          []string `json:"added,omitempty"`
	Recipients     []string `json:"recipients,omitempty"`
	Status         string   `json:"status,omitempty"`
	OldStatus      string   `json:"old_status,omitempty"`
	Detail         string   `json:"detail,omitempty"`
	// Reopened: the causing comment reopened the ticket.
	Reopened bool `json:"reopened,omitempty"`
	// Target and Due of a response-target or snooze mail (issue 21).
	Target string `json:"target,omitempty"`
	Due    string `json:"due,omitempty"`
	// Draft is the draft (ACME-D17) a mail to its sender is about; the
	// row then names no ticket (issue 17).
	Draft string `json:"draft,omitempty"`
	// issue 18: the offer page of an offer mail; the rating page of a
	// resolved mail (one link per score: RatingLink?s=N) and its scale;
	// a rating's comment.
	OfferLink   string `json:"offer_link,omitempty"`
	RatingLink  string `json:"rating_link,omitempty"`
	RatingScale int    `json:"rating_scale,omitempty"`
	Comment     string `json:"comment,omitempty"`
	// AttachKey: the project's OpenPGP public key is attached at send
	// time (issue 19).
	AttachKey bool `json:"attach_key,omitempty"`
	// Digest is the list of an agent's daily digest (issue 21).
	Digest *DigestVars `json:"digest,omitempty"`
}

// OutboxItem is one mail waiting to be sent to one recipient: what to
// render and how to address it, never its MIME. The sender composes the
// message from the row at send time, deterministically (same row, same
// message record and templates → same bytes, same Message-ID), and streams
// attachments from their blobs.
type OutboxItem struct {
	ID      uint64 `json:"id"`
	Project string `json:"project"`
	Ticket  string `json:"ticket,omitempty"`
	// Kind is the domain event that caused the mail.
	Kind EventKind `json:"kind,omitempty"`
	// Event is the template rendered for it ("customer/request_created").
	Event    string `json:"event"`
	Language string `json:"language,omitempty"`
	// Internal marks staff mail (the role rule was applied when queued).
	Internal      bool   `json:"internal,omitempty"`
	Recipient     string `json:"recipient"`
	RecipientName string `json:"recipient_name,omitempty"`
	// MailFrom is the envelope sender: the project's bounce address with
	// this copy's bounce secret (Bounce), which appears in no header.
	MailFrom string `json:"mail_from"`
	Bounce   string `json:"bounce,omitempty"`
	// MessageID carries the recipient's reply token.
	MessageID string    `json:"message_id"`
	Date      time.Time `json:"date,omitzero"`
	// InReplyTo and References hold only ids this recipient has seen.
	InReplyTo  []string `json:"in_reply_to,omitempty"`
	References []string `json:"references,omitempty"`
	// Message is the causing message (its text is rendered), 0 for none.
	Message uint64 `json:"message,omitempty"`
	// Attach are files sent with the mail, streamed from their blobs.
	Attach []Attachment `json:"attachments,omitempty"`
	Header OutboxHeader `json:"header,omitzero"`
	Vars   OutboxVars   `json:"vars,omitzero"`
	// RawBlob, for mail queued by schema 2 (whole MIME rows), is the blob
	// holding the message as it was composed then: sent as it is.
	RawBlob string `json:"raw_blob,omitempty"`
	// Automatic mail counts against rate limits; a person's answer does not.
	Automatic   bool      `json:"automatic,omitempty"`
	Created     time.Time `json:"created"`
	NextAttempt time.Time `json:"next_attempt"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error,omitempty"`
}

func dueKey(t time.Time, id uint64) []byte {
	return append(putU64(uint64(t.UnixNano())), putU64(id)...)
}

// Enqueue adds an outbox item (ID is set) due at item.NextAttempt.
func (tx *boltTx) Enqueue(item *OutboxItem) error {
	b := tx.btx.Bucket(bOutbox)
	id, err := b.NextSequence()
	if err != nil {
		return err
	}
	item.ID = id
	if err := tx.put(bOutbox, putU64(id), item); err != nil {
		return err
	}
	return tx.btx.Bucket(bOutboxDue).Put(dueKey(item.NextAttempt, id), nil)
}

// OutboxItem reads one queued item; ErrNotFound when it is gone.
func (tx *boltTx) OutboxItem(id uint64) (*OutboxItem, error) {
	var it OutboxItem
	found, err := tx.get(bOutbox, putU64(id), &it)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("store: outbox item %d: %w", id, ErrNotFound)
	}
	return &it, nil
}

// Dequeue removes item id (sent, given up or dropped) and its index entry,
// and returns the row as it was stored; ErrNotFound when it is gone.
func (tx *boltTx) Dequeue(id uint64) (*OutboxItem, error) {
	it, err := tx.OutboxItem(id)
	if err != nil {
		return nil, err
	}
	if err := tx.btx.Bucket(bOutboxDue).Delete(dueKey(it.NextAttempt, id)); err != nil {
		return nil, err
	}
	if err := tx.btx.Bucket(bOutbox).Delete(putU64(id)); err != nil {
		return nil, err
	}
	return it, nil
}

// Reschedule re-reads item id, lets change set its new state (attempts,
// error, next attempt) and moves its index entry from the stored due time
// to the new one. It returns the row as stored; ErrNotFound when it is
// gone (dropped meanwhile).
func (tx *boltTx) Reschedule(id uint64, change func(*OutboxItem)) (*OutboxItem, error) {
	it, err := tx.OutboxItem(id)
	if err != nil {
		return nil, err
	}
	if err := tx.btx.Bucket(bOutboxDue).Delete(dueKey(it.NextAttempt, id)); err != nil {
		return nil, err
	}
	change(it)
	it.ID = id
	if err := tx.put(bOutbox, putU64(id), it); err != nil {
		return nil, err
	}
	if err := tx.btx.Bucket(bOutboxDue).Put(dueKey(it.NextAttempt, id), nil); err != nil {
		return nil, err
	}
	return it, nil
}

// DueOutbox returns up to max items due at or before now, earliest first,
// and when the next item is due: the first not-yet-due item's time, now
// when more than max are due, zero when nothing else is queued. An index
// entry without its row, or naming another due time than its row, fails
// with ErrOutboxIndex.
func (tx *boltTx) DueOutbox(now time.Time, max int) ([]*OutboxItem, time.Time, error) {
	var out []*OutboxItem
	next, err := tx.scanDue(now, max, func(id uint64, due time.Time) error {
		it, err := tx.OutboxItem(id)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: index entry %d without its row", ErrOutboxIndex, id)
		}
		if err != nil {
			return err
		}
		if it.NextAttempt.UnixNano() != due.UnixNano() {
			return fmt.Errorf("%w: index entry of %d at %s, row due %s", ErrOutboxIndex, id, due, it.NextAttempt)
		}
		out = append(out, it)
		return nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	return out, next, nil
}

// DueIDs is DueOutbox without decoding the rows (the sender's loop scans
// after every attempt): up to max ids due at or before now, earliest
// first, and when the next item is due. An index entry without its row
// fails with ErrOutboxIndex.
func (tx *boltTx) DueIDs(now time.Time, max int) ([]uint64, time.Time, error) {
	rows := tx.btx.Bucket(bOutbox)
	var out []uint64
	next, err := tx.scanDue(now, max, func(id uint64, _ time.Time) error {
		if rows.Get(putU64(id)) == nil {
			return fmt.Errorf("%w: index entry %d without its row", ErrOutboxIndex, id)
		}
		out = append(out, id)
		return nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	return out, next, nil
}

// scanDue walks the due index in order and calls take for up to max
// entries due at or before now. It returns when the next item is due:
// the first not-yet-due entry's time, now when more than max are due,
// zero when nothing else is queued.
func (tx *boltTx) scanDue(now time.Time, max int, take func(id uint64, due time.Time) error) (time.Time, error) {
	c := tx.btx.Bucket(bOutboxDue).Cursor()
	n := 0
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) != 16 {
			return time.Time{}, fmt.Errorf("%w: index key %x", ErrOutboxIndex, k)
		}
		due := time.Unix(0, int64(getU64(k[:8])))
		if due.After(now) {
			return due, nil
		}
		if n >= max {
			return now, nil
		}
		if err := take(getU64(k[8:]), due); err != nil {
			return time.Time{}, err
		}
		n++
	}
	return time.Time{}, nil
}

// ListOutbox returns up to max queued items in id (queueing) order.
func (tx *boltTx) ListOutbox(max int) ([]*OutboxItem, error) {
	var out []*OutboxItem
	c := tx.btx.Bucket(bOutbox).Cursor()
	for k, v := c.First(); k != nil && len(out) < max; k, v = c.Next() {
		var it OutboxItem
		if err := json.Unmarshal(v, &it); err != nil {
			return nil, fmt.Errorf("store: decode outbox/%x: %w", k, err)
		}
		out = append(out, &it)
	}
	return out, nil
}

// OutboxCheck is what CheckOutbox found.
type OutboxCheck struct {
	Rows, Index int
	// NoRow lists index entries without their row; NoIndex rows without
	// an index entry at their due time; Extra rows with more than one.
	NoRow, NoIndex, Extra []uint64
}

// OK reports whether rows and index agree exactly.
func (c OutboxCheck) OK() bool {
	return c.Rows == c.Index && len(c.NoRow) == 0 && len(c.NoIndex) == 0 && len(c.Extra) == 0
}

func (c OutboxCheck) String() string {
	return fmt.Sprintf("%d rows, %d index entries; entries without row %v, rows without entry %v, rows with several %v",
		c.Rows, c.Index, c.NoRow, c.NoIndex, c.Extra)
}

// CheckOutbox walks the rows and the due index and reports every
// disagreement. A row that fails to decode is an error.
func (tx *boltTx) CheckOutbox() (OutboxCheck, error) {
	var c OutboxCheck
	due := map[uint64]int64{} // id → due time in the row
	err := tx.btx.Bucket(bOutbox).ForEach(func(k, v []byte) error {
		var it OutboxItem
		if err := json.Unmarshal(v, &it); err != nil {
			return fmt.Errorf("store: decode outbox/%x: %w", k, err)
		}
		c.Rows++
		due[getU64(k)] = it.NextAttempt.UnixNano()
		return nil
	})
	if err != nil {
		return c, err
	}
	entries := map[uint64]int{}
	err = tx.btx.Bucket(bOutboxDue).ForEach(func(k, _ []byte) error {
		c.Index++
		if len(k) != 16 {
			c.NoRow = append(c.NoRow, 0)
			return nil
		}
		id := getU64(k[8:])
		d, ok := due[id]
		if !ok || d != int64(getU64(k[:8])) {
			c.NoRow = append(c.NoRow, id)
			return nil
		}
		entries[id]++
		return nil
	})
	if err != nil {
		return c, err
	}
	for id := range due {
		switch n := entries[id]; {
		case n == 0:
			c.NoIndex = append(c.NoIndex, id)
		case n > 1:
			c.Extra = append(c.Extra, id)
		}
	}
	return c, nil
}

// RepairOutbox makes the due index match the rows: entries without their
// row (or at another time than the row's) are deleted, rows without an
// entry get one at their due time. It returns how many entries it fixed.
// A row that fails to decode is an error: nothing is deleted on its
// strength.
func (tx *boltTx) RepairOutbox() (int, error) {
	c, err := tx.CheckOutbox()
	if err != nil || c.OK() {
		return 0, err
	}
	idx := tx.btx.Bucket(bOutboxDue)
	var stale [][]byte
	err = idx.ForEach(func(k, _ []byte) error {
		if len(k) != 16 {
			stale = append(stale, bytes.Clone(k))
			return nil
		}
		it, err := tx.OutboxItem(getU64(k[8:]))
		if errors.Is(err, ErrNotFound) || (err == nil && it.NextAttempt.UnixNano() != int64(getU64(k[:8]))) {
			stale = append(stale, bytes.Clone(k))
			return nil
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	for _, k := range stale {
		if err := idx.Delete(k); err != nil {
			return 0, err
		}
	}
	for _, id := range c.NoIndex {
		it, err := tx.OutboxItem(id)
		if err != nil {
			return 0, err
		}
		if err := idx.Put(dueKey(it.NextAttempt, id), nil); err != nil {
			return 0, err
		}
	}
	return len(stale) + len(c.NoIndex), nil
}

// OutboxStats returns the number of queued items and the creation time of
// the oldest.
func (tx *boltTx) OutboxStats() (int, time.Time) {
	b := tx.btx.Bucket(bOutbox)
	n := b.Stats().KeyN
	var oldest time.Time
	if it := tx.OldestOutboxItem(); it != nil {
		oldest = it.Created
	}
	return n, oldest
}

// OldestOutboxItem returns the longest-queued outbound mail (ids grow, so
// it is the first key), nil when the outbox is empty or its first row
// cannot be read. One seek.
func (tx *boltTx) OldestOutboxItem() *OutboxItem {
	k, v := tx.btx.Bucket(bOutbox).Cursor().First()
	if k == nil {
		return nil
	}
	var it OutboxItem
	if json.Unmarshal(v, &it) != nil {
		return nil
	}
	return &it
}

// forEachOutboxBlobRef calls fn for every blob a queued item sends.
func (tx *boltTx) forEachOutboxBlobRef(fn func(string)) error {
	return tx.btx.Bucket(bOutbox).ForEach(func(k, v []byte) error {
		var it OutboxItem
		if err := json.Unmarshal(v, &it); err != nil {
			return fmt.Errorf("store: decode outbox/%x: %w", k, err)
		}
		if it.RawBlob != "" {
			fn(it.RawBlob)
		}
		for _, a := range it.Attach {
			if a.Blob != "" {
				fn(a.Blob)
			}
		}
		return nil
	})
}
