package store

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Issue 17: drafts — mail that would open a ticket but whose sender is
// not entitled yet (no valid support key, not a known customer). A draft
// has its own number space (ACME-D17) so that strangers neither burn nor
// enumerate ticket numbers, and keeps its mails until it is accepted (it
// becomes a ticket) or expires.

// Draft is a request waiting for what its sender lacks.
type Draft struct {
	Key     string `json:"key"` // ACME-D17
	Project string `json:"project"`
	Number  uint64 `json:"number"`
	// Sender is the (lower-cased) address the draft is from; one open
	// draft per sender and project.
	Sender     string `json:"sender"`
	SenderName string `json:"sender_name,omitempty"`
	Subject    string `json:"subject"`
	// Subaddress is the +tag the first mail was sent to (request types).
	Subaddress string `json:"subaddress,omitempty"`
	// Missing says what the sender lacks: MissingKey or MissingKnown.
	Missing string    `json:"missing"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// Mails are the sender's mails, oldest first, as they will be stored
	// on the ticket (Ticket and ID are set when it is accepted).
	Mails []Message `json:"mails"`
	// Told lists the mails that told the sender what is missing (they
	// become "queued" events on the ticket the draft becomes).
	Told []DraftTold `json:"told,omitempty"`
}

// DraftTold is one mail queued to a draft's sender.
type DraftTold struct {
	Template  string    `json:"template"`
	MessageID string    `json:"message_id"`
	OutboxID  uint64    `json:"outbox_id"`
	Time      time.Time `json:"time"`
}

// What a draft's sender lacks.
const (
	MissingKey   = "key"
	MissingKnown = "known"
)

// DraftKey is "ACME-D17".
func DraftKey(project string, n uint64) string {
	return project + "-D" + strconv.FormatUint(n, 10)
}

// SplitDraftKey splits "ACME-D17" into ("ACME", 17).
func SplitDraftKey(key string) (string, uint64, bool) {
	i := strings.LastIndex(key, "-D")
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.ParseUint(key[i+2:], 10, 64)
	if err != nil || n == 0 {
		return "", 0, false
	}
	return key[:i], n, true
}

// forEachBlob calls fn with the blobs a draft's mails refer to.
func (d *Draft) forEachBlob(fn func(string)) {
	for _, m := range d.Mails {
		if m.Raw != "" {
			fn(m.Raw)
		}
		for _, a := range m.Attach {
			if a.Blob != "" {
				fn(a.Blob)
			}
		}
	}
}

// ForEachDraftBlob calls fn with every blob hash d refers to (for the
// backends' ForEachBlobRef).
func ForEachDraftBlob(d *Draft, fn func(string)) { d.forEachBlob(fn) }

var (
	bDraftSeq = []byte("draft_seq") // project → last draft number
	bDrafts   = []byte("drafts")    // project \0 be64(number) → Draft
	// bDraftsAccepted: project \0 be64(number) → the key of the ticket the
	// draft became (kept after the draft is deleted: a second acceptance
	// answers with it).
	bDraftsAccepted = []byte("drafts_accepted")
)

func draftDBKey(project string, n uint64) []byte { return join([]byte(project), putU64(n)) }

// NextDraftNumber allocates the next draft number of project (never
// reused, like ticket numbers).
func (tx *boltTx) NextDraftNumber(project string) (uint64, error) {
	b := tx.btx.Bucket(bDraftSeq)
	n, err := counter(bDraftSeq, []byte(project), b.Get([]byte(project)))
	if err != nil {
		return 0, err
	}
	n++
	return n, b.Put([]byte(project), putU64(n))
}

// PutDraft writes d.
func (tx *boltTx) PutDraft(d *Draft) error {
	return tx.put(bDrafts, draftDBKey(d.Project, d.Number), d)
}

// Draft reads a draft by key; ErrNotFound when there is none.
func (tx *boltTx) Draft(key string) (*Draft, error) {
	p, n, ok := SplitDraftKey(key)
	if !ok {
		return nil, fmt.Errorf("store: draft %q: %w", key, ErrNotFound)
	}
	var d Draft
	found, err := tx.get(bDrafts, draftDBKey(p, n), &d)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("store: draft %s: %w", key, ErrNotFound)
	}
	return &d, nil
}

// DeleteDraft removes a draft (accepted or expired).
func (tx *boltTx) DeleteDraft(key string) error {
	p, n, ok := SplitDraftKey(key)
	if !ok {
		return fmt.Errorf("store: draft %q: %w", key, ErrNotFound)
	}
	return tx.btx.Bucket(bDrafts).Delete(draftDBKey(p, n))
}

// MarkDraftAccepted records that draft key became ticket.
func (tx *boltTx) MarkDraftAccepted(key, ticket string) error {
	p, n, ok := SplitDraftKey(key)
	if !ok {
		return fmt.Errorf("store: draft %q: %w", key, ErrNotFound)
	}
	if _, _, ok := SplitTicketKey(ticket); !ok {
		return fmt.Errorf("store: draft %s accepted as %q: not a ticket key", key, ticket)
	}
	return tx.btx.Bucket(bDraftsAccepted).Put(draftDBKey(p, n), []byte(ticket))
}

// DraftAcceptedAs is the ticket draft key became, "" when none.
func (tx *boltTx) DraftAcceptedAs(key string) (string, error) {
	p, n, ok := SplitDraftKey(key)
	if !ok {
		return "", nil
	}
	v := tx.btx.Bucket(bDraftsAccepted).Get(draftDBKey(p, n))
	if v == nil {
		return "", nil
	}
	if _, _, ok := SplitTicketKey(string(v)); !ok {
		return "", fmt.Errorf("store: decode %s/%s: %q is no ticket key", bDraftsAccepted, key, v)
	}
	return string(v), nil
}

// Drafts lists the drafts of project ("" = all) in key order.
func (tx *boltTx) Drafts(project string) ([]*Draft, error) {
	var out []*Draft
	c := tx.btx.Bucket(bDrafts).Cursor()
	prefix := []byte(nil)
	if project != "" {
		prefix = append([]byte(project), 0)
	}
	for k, v := c.Seek(prefix); k != nil && (prefix == nil || hasPrefix(k, prefix)); k, v = c.Next() {
		var d Draft
		if err := json.Unmarshal(v, &d); err != nil {
			return nil, fmt.Errorf("store: decode %s/%x: %w", bDrafts, k, err)
		}
		out = append(out, &d)
	}
	return out, nil
}

// DraftOf is sender's open draft in project, or nil.
func (tx *boltTx) DraftOf(project, sender string) (*Draft, error) {
	all, err := tx.Drafts(project)
	if err != nil {
		return nil, err
	}
	// Addresses compare without case, as PostgreSQL's lower-cased
	// sender column does.
	for _, d := range all {
		if strings.EqualFold(d.Sender, sender) {
			return d, nil
		}
	}
	return nil, nil
}

func hasPrefix(b, prefix []byte) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == string(prefix)
}

// forEachDraftBlobRef reports the blobs of every draft.
func (tx *boltTx) forEachDraftBlobRef(fn func(string)) error {
	return tx.btx.Bucket(bDrafts).ForEach(func(k, v []byte) error {
		var d Draft
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("store: decode %s/%x: %w (its blobs cannot be told apart from unreferenced ones)", bDrafts, k, err)
		}
		d.forEachBlob(fn)
		return nil
	})
}
