package postgres

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketgate/ticketgate/store"
)

// Offers and ratings (issue 18): the tables of migration 4. An offer's
// due time is a column written in the same statement as its row, so the
// due order cannot disagree with it; NULL when the offer is over.

func (tx *pgTx) PutOffer(o *store.Offer) error {
	b, err := encode("offer", o)
	if err != nil {
		return err
	}
	var due *int64
	if !o.Due.IsZero() {
		d := o.Due.UnixNano()
		due = &d
	}
	_, err = tx.exec("put offer", "INSERT INTO offers VALUES ($1, $2, $3) ON CONFLICT (ticket) DO UPDATE SET due = excluded.due, data = excluded.data",
		o.Ticket, due, b)
	return err
}

func (tx *pgTx) Offer(ticket string) (*store.Offer, error) {
	b, err := tx.one("read offer", "SELECT data FROM offers WHERE ticket = $1", ticket)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("offer of %s: %w", ticket, store.ErrNotFound)
	}
	var o store.Offer
	if err := decode("offers/"+ticket, b, &o); err != nil {
		return nil, err
	}
	return &o, nil
}

func (tx *pgTx) DueOffers(now time.Time, max int) ([]string, time.Time, error) {
	var out []string
	var next time.Time
	err := tx.rows("due offers", "SELECT ticket, due FROM offers WHERE due IS NOT NULL ORDER BY due, ticket LIMIT $1", func(r pgx.Rows) error {
		var k string
		var due int64
		if err := r.Scan(&k, &due); err != nil {
			return err
		}
		if due > now.UnixNano() || len(out) >= max {
			if next.IsZero() {
				next = time.Unix(0, due).UTC()
			}
			return nil
		}
		out = append(out, k)
		return nil
	}, max+1)
	return out, next, err
}

func (tx *pgTx) PutRating(r *store.Rating) error {
	b, err := encode("rating", r)
	if err != nil {
		return err
	}
	_, err = tx.exec("put rating", "INSERT INTO ratings VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project, ticket, customer) DO UPDATE SET updated = excluded.updated, data = excluded.data",
		r.Project, r.Ticket, r.Customer, r.Updated.UnixNano(), b)
	return err
}

func (tx *pgTx) Rating(ticket, customer string) (*store.Rating, error) {
	b, err := tx.one("read rating", "SELECT data FROM ratings WHERE ticket = $1 AND customer = $2", ticket, customer)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("rating of %s by %s: %w", ticket, customer, store.ErrNotFound)
	}
	var r store.Rating
	if err := decode("ratings/"+ticket+"/"+customer, b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (tx *pgTx) Ratings(project string, since time.Time) ([]*store.Rating, error) {
	var from int64
	if !since.IsZero() {
		from = since.UnixNano()
	}
	var out []*store.Rating
	err := tx.rows("list ratings", "SELECT ticket, customer, data FROM ratings WHERE ($1 = '' OR project = $1) AND updated >= $2 ORDER BY project, ticket, customer", func(r pgx.Rows) error {
		var t, c string
		var b []byte
		if err := r.Scan(&t, &c, &b); err != nil {
			return err
		}
		var rt store.Rating
		if err := decode("ratings/"+t+"/"+c, b, &rt); err != nil {
			return err
		}
		out = append(out, &rt)
		return nil
	}, project, from)
	return out, err
}
