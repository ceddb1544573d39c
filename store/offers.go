package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Offers and ratings (issue 18) live in their own buckets, created on
// first write:
//
//	offers     ticket key → Offer
//	offer_due  be64(due unix nanos) ticket key → nil: the offers whose
//	           agents time out, in due order (always derived from the row)
//	ratings    project \0 ticket key \0 customer → Rating
var (
	bOffers   = []byte("offers")
	bOfferDue = []byte("offer_due")
	bRatings  = []byte("ratings")
)

// OfferState is where one agent stands in an offer.
type OfferState string

// Offer states. An unknown state is a decode error.
const (
	// OfferQueued: on the list, not offered yet (a later round).
	OfferQueued OfferState = "queued"
	// OfferOpen: offered, no answer yet.
	OfferOpen     OfferState = "offered"
	OfferTaken    OfferState = "taken"
	OfferPassed   OfferState = "passed"
	OfferTimedOut OfferState = "timed_out"
	// OfferWithdrawn: the offer ended before this agent answered (another
	// took it, it was assigned by hand, the ticket closed).
	OfferWithdrawn OfferState = "withdrawn"
)

// UnmarshalText refuses states this version does not know.
func (s *OfferState) UnmarshalText(b []byte) error {
	switch v := OfferState(b); v {
	case OfferQueued, OfferOpen, OfferTaken, OfferPassed, OfferTimedOut, OfferWithdrawn:
		*s = v
		return nil
	}
	return fmt.Errorf("store: unknown offer state %q", b)
}

// OfferAgent is one agent of an offer.
type OfferAgent struct {
	Address string     `json:"address"`
	State   OfferState `json:"state"`
	// Offered is when the offer mail was queued to them (zero while
	// queued); Answered when they took, passed or timed out.
	Offered  time.Time `json:"offered,omitzero"`
	Answered time.Time `json:"answered,omitzero"`
	// Seen is the first time the agent did something with the ticket: a
	// POST on the offer page, a mail into the ticket, opening it on the
	// agents' desk. Never a GET a link scanner could have made.
	Seen time.Time `json:"seen,omitzero"`
	// Due is when an open offer to them times out.
	Due time.Time `json:"due,omitzero"`
}

// Offer is a ticket offered to agents, first to take it wins. One record
// per ticket: a new round (after a reassign to nobody) replaces it.
type Offer struct {
	Ticket  string       `json:"ticket"`
	Project string       `json:"project"`
	Round   int          `json:"round"`
	Agents  []OfferAgent `json:"agents"`
	Started time.Time    `json:"started"`
	// Due is the earliest time an agent offered now times out; zero once
	// the offer is over.
	Due time.Time `json:"due,omitzero"`
	// TakenBy is the agent who took it; Ended is when the offer ended,
	// and End why: taken, assigned (by hand), unanswered (everyone passed
	// or timed out), closed.
	TakenBy string    `json:"taken_by,omitempty"`
	Ended   time.Time `json:"ended,omitzero"`
	End     string    `json:"end,omitempty"`
}

// Agent returns the entry of addr, or nil.
func (o *Offer) Agent(addr string) *OfferAgent {
	for i := range o.Agents {
		if o.Agents[i].Address == addr {
			return &o.Agents[i]
		}
	}
	return nil
}

// Rating is one customer's satisfaction rating of a ticket: one per
// ticket and customer, replaced while the ticket is open to change.
type Rating struct {
	Project  string `json:"project"`
	Ticket   string `json:"ticket"`
	Customer string `json:"customer"`
	// Score is 1..Scale (Scale 2: 1 bad, 2 good).
	Score   int       `json:"score"`
	Scale   int       `json:"scale"`
	Comment string    `json:"comment,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// OfferTx stores offers and their due order.
type OfferTx interface {
	// PutOffer creates or replaces the offer of o.Ticket and moves it in
	// the due order from the stored due time to o.Due (none when zero).
	PutOffer(o *Offer) error
	// Offer reads a ticket's offer; ErrNotFound when it has none.
	Offer(ticket string) (*Offer, error)
	// DueOffers returns up to max tickets whose offer is due at or before
	// now, earliest first, and when the next one is due (zero if none).
	DueOffers(now time.Time, max int) ([]string, time.Time, error)
}

// RatingTx stores ratings.
type RatingTx interface {
	// PutRating creates or replaces the rating of (r.Ticket, r.Customer).
	PutRating(r *Rating) error
	// Rating reads one; ErrNotFound when there is none.
	Rating(ticket, customer string) (*Rating, error)
	// Ratings lists the ratings of project ("" = all) updated at or after
	// since (zero = all).
	Ratings(project string, since time.Time) ([]*Rating, error)
}

func offerDueKey(due time.Time, ticket string) []byte {
	return append(putU64(uint64(due.UnixNano())), ticket...)
}

func ratingKey(project, ticket, customer string) []byte {
	return join([]byte(project), []byte(ticket), []byte(customer))
}

// bucketFor returns a bucket of issue 18, created on first write; nil in
// a read-only transaction before the first write.
func (tx *boltTx) bucketFor(name []byte) (*bolt.Bucket, error) {
	if b := tx.btx.Bucket(name); b != nil || !tx.btx.Writable() {
		return b, nil
	}
	b, err := tx.btx.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, fmt.Errorf("store: create bucket %s: %w", name, err)
	}
	return b, nil
}

// PutOffer stores o and keeps the due index derived from the stored row.
func (tx *boltTx) PutOffer(o *Offer) error {
	b, err := tx.bucketFor(bOffers)
	if err != nil {
		return err
	}
	due, err := tx.bucketFor(bOfferDue)
	if err != nil {
		return err
	}
	if v := b.Get([]byte(o.Ticket)); v != nil {
		var old Offer
		if err := json.Unmarshal(v, &old); err != nil {
			return fmt.Errorf("store: decode offer %s: %w", o.Ticket, err)
		}
		if !old.Due.IsZero() {
			if err := due.Delete(offerDueKey(old.Due, old.Ticket)); err != nil {
				return err
			}
		}
	}
	data, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("store: encode offer: %w", err)
	}
	if err := b.Put([]byte(o.Ticket), data); err != nil {
		return err
	}
	if !o.Due.IsZero() {
		return due.Put(offerDueKey(o.Due, o.Ticket), nil)
	}
	return nil
}

// Offer reads a ticket's offer.
func (tx *boltTx) Offer(ticket string) (*Offer, error) {
	b := tx.btx.Bucket(bOffers)
	var v []byte
	if b != nil {
		v = b.Get([]byte(ticket))
	}
	if v == nil {
		return nil, fmt.Errorf("offer of %s: %w", ticket, ErrNotFound)
	}
	var o Offer
	if err := json.Unmarshal(v, &o); err != nil {
		return nil, fmt.Errorf("store: decode offer %s: %w", ticket, err)
	}
	return &o, nil
}

// DueOffers walks the due index from its start: one seek.
func (tx *boltTx) DueOffers(now time.Time, max int) ([]string, time.Time, error) {
	b := tx.btx.Bucket(bOfferDue)
	if b == nil {
		return nil, time.Time{}, nil
	}
	limit := putU64(uint64(now.UnixNano()))
	var out []string
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) < 9 {
			return nil, time.Time{}, fmt.Errorf("store: offer_due key %x: %w", k, ErrDamaged)
		}
		if bytes.Compare(k[:8], limit) > 0 || len(out) >= max {
			return out, time.Unix(0, int64(getU64(k[:8]))).UTC(), nil
		}
		out = append(out, string(k[8:]))
	}
	return out, time.Time{}, nil
}

// PutRating stores r.
func (tx *boltTx) PutRating(r *Rating) error {
	b, err := tx.bucketFor(bRatings)
	if err != nil {
		return err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("store: encode rating: %w", err)
	}
	return b.Put(ratingKey(r.Project, r.Ticket, r.Customer), data)
}

// Rating reads one rating.
func (tx *boltTx) Rating(ticket, customer string) (*Rating, error) {
	project, _, ok := SplitTicketKey(ticket)
	b := tx.btx.Bucket(bRatings)
	if !ok || b == nil {
		return nil, fmt.Errorf("rating of %s by %s: %w", ticket, customer, ErrNotFound)
	}
	v := b.Get(ratingKey(project, ticket, customer))
	if v == nil {
		return nil, fmt.Errorf("rating of %s by %s: %w", ticket, customer, ErrNotFound)
	}
	var r Rating
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("store: decode rating %s/%s: %w", ticket, customer, err)
	}
	return &r, nil
}

// Ratings lists ratings, of one project by prefix.
func (tx *boltTx) Ratings(project string, since time.Time) ([]*Rating, error) {
	b := tx.btx.Bucket(bRatings)
	if b == nil {
		return nil, nil
	}
	var prefix []byte
	if project != "" {
		prefix = append([]byte(project), 0)
	}
	var out []*Rating
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var r Rating
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, fmt.Errorf("store: decode rating %q: %w", k, err)
		}
		if since.IsZero() || !r.Updated.Before(since) {
			out = append(out, &r)
		}
	}
	return out, nil
}

// checkOffers decodes every offer and holds the due index against the
// rows both ways (issue 18).
func (c *checker) checkOffers() error {
	if err := c.each(bOffers, func(k, v []byte) {
		var o Offer
		if !c.decode(bOffers, k, v, &o) {
			return
		}
		if !o.Due.IsZero() && !c.has(bOfferDue, offerDueKey(o.Due, o.Ticket)) {
			c.report(bOffers, k, "due at %s but not in offer_due", o.Due.Format(time.RFC3339Nano))
		}
	}); err != nil {
		return err
	}
	return c.each(bOfferDue, func(k, v []byte) {
		if len(k) < 9 {
			c.report(bOfferDue, k, "key too short")
			return
		}
		b := c.btx.Bucket(bOffers)
		var o Offer
		if b == nil || b.Get(k[8:]) == nil {
			c.report(bOfferDue, k, "names the offer of %s, which does not exist", k[8:])
		} else if json.Unmarshal(b.Get(k[8:]), &o) == nil && !bytes.Equal(offerDueKey(o.Due, o.Ticket), k) {
			c.report(bOfferDue, k, "disagrees with the offer of %s (due %s)", o.Ticket, o.Due.Format(time.RFC3339Nano))
		}
	})
}
