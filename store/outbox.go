package store

import (
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
// The queue code is queue.go's, shared with the webhook deliveries; this
// file holds what is particular to mail.

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

	// stored is the row this item was decoded from by
	// UnmarshalOutboxItem's own reader ("" otherwise): see Stored.
	stored string
}

// Stored reports whether it was decoded (by the store, and not changed
// since) from exactly the row b: a transaction that finds that row still
// stored can use it instead of decoding the row again (DequeueSeen).
func (it *OutboxItem) Stored(b []byte) bool { return it.stored != "" && it.stored == string(b) }

// Enqueue adds an outbox item (ID is set) due at item.NextAttempt.
func (tx *boltTx) Enqueue(item *OutboxItem) error { return tx.outboxQueue().enqueue(item) }

// OutboxItem reads one queued item; ErrNotFound when it is gone.
func (tx *boltTx) OutboxItem(id uint64) (*OutboxItem, error) { return tx.outboxQueue().item(id) }

// Dequeue removes item id (sent, given up or dropped) and its index entry,
// and returns the row as it was stored; ErrNotFound when it is gone.
func (tx *boltTx) Dequeue(id uint64) (*OutboxItem, error) { return tx.outboxQueue().dequeue(id) }

// DequeueSeen is Dequeue for a caller that holds the row as OutboxItem
// read it in an earlier transaction, unchanged (the sender after a send):
// when the stored row is still that one, it is removed without being
// decoded again, its index entry derived from seen (which names the same
// due time), and a copy of seen is returned; otherwise it is Dequeue.
func (tx *boltTx) DequeueSeen(seen *OutboxItem) (*OutboxItem, error) {
	q := tx.outboxQueue()
	rows, due, err := q.buckets()
	if err != nil {
		return nil, err
	}
	key := putU64(seen.ID)
	dk := dueKey(seen.NextAttempt, seen.ID)
	// The index entry is looked up too: should seen have been changed
	// after all, its due time would name no entry, and the entry of
	// the stored row must go.
	if rows == nil || !seen.Stored(rows.Get(key)) || due.Get(dk) == nil {
		return q.dequeue(seen.ID)
	}
	if err := due.Delete(dk); err != nil {
		return nil, err
	}
	if err := rows.Delete(key); err != nil {
		return nil, err
	}
	cp := *seen
	return &cp, nil
}

// Reschedule re-reads item id, lets change set its new state (attempts,
// error, next attempt) and moves its index entry from the stored due time
// to the new one. It returns the row as stored; ErrNotFound when it is
// gone (dropped meanwhile).
func (tx *boltTx) Reschedule(id uint64, change func(*OutboxItem)) (*OutboxItem, error) {
	return tx.outboxQueue().reschedule(id, change)
}

// DueOutbox returns up to max items due at or before now, earliest first,
// and when the next item is due: the first not-yet-due item's time, now
// when more than max are due, zero when nothing else is queued. An index
// entry without its row, or naming another due time than its row, fails
// with ErrOutboxIndex.
func (tx *boltTx) DueOutbox(now time.Time, max int) ([]*OutboxItem, time.Time, error) {
	return tx.outboxQueue().dueRows(now, max)
}

// DueIDs is DueOutbox without decoding the rows (the sender's loop scans
// after every attempt): up to max ids due at or before now, earliest
// first, and when the next item is due. An index entry without its row
// fails with ErrOutboxIndex.
func (tx *boltTx) DueIDs(now time.Time, max int) ([]uint64, time.Time, error) {
	return tx.outboxQueue().dueIDs(now, max, nil)
}

// DueIDsExcept is DueIDs for a caller that already holds some due items
// (the sender's items in flight): ids skip says true for count against
// max but are neither returned nor looked up.
func (tx *boltTx) DueIDsExcept(now time.Time, max int, skip func(id uint64) bool) ([]uint64, time.Time, error) {
	return tx.outboxQueue().dueIDs(now, max, skip)
}

// ListOutbox returns up to max queued items in id (queueing) order.
func (tx *boltTx) ListOutbox(max int) ([]*OutboxItem, error) { return tx.outboxQueue().list(max) }

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
func (tx *boltTx) CheckOutbox() (OutboxCheck, error) { return tx.outboxQueue().check() }

// RepairOutbox makes the due index match the rows: entries without their
// row (or at another time than the row's) are deleted, rows without an
// entry get one at their due time. It returns how many entries it fixed.
// A row that fails to decode is an error: nothing is deleted on its
// strength.
func (tx *boltTx) RepairOutbox() (int, error) { return tx.outboxQueue().repair() }

// OutboxStats returns the number of queued items and the creation time of
// the oldest.
func (tx *boltTx) OutboxStats() (int, time.Time) {
	n, oldest, err := tx.outboxQueue().stats()
	if err != nil || oldest == nil {
		return n, time.Time{}
	}
	return n, oldest.Created
}

// OldestOutboxItem returns the longest-queued outbound mail (ids grow, so
// it is the first key), nil when the outbox is empty or its first row
// cannot be read. One seek.
func (tx *boltTx) OldestOutboxItem() *OutboxItem {
	_, oldest, err := tx.outboxQueue().stats()
	if err != nil {
		return nil
	}
	return oldest
}

// forEachOutboxBlobRef calls fn for every blob a queued item sends.
func (tx *boltTx) forEachOutboxBlobRef(fn func(string)) error {
	return tx.outboxQueue().forEach(func(_ uint64, it *OutboxItem) bool {
		if it.RawBlob != "" {
			fn(it.RawBlob)
		}
		for _, a := range it.Attach {
			if a.Blob != "" {
				fn(a.Blob)
			}
		}
		return true
	})
}
