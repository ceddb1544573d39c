package daemon

import (
	"context"
	"time"

	"github.com/ticketgate/ticketgate/metrics"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
	"github.com/ticketgate/ticketgate/web"
)

// offerCheck is the longest the offer timer sleeps: a new offer's due
// time is found within it (offers time out after minutes, not seconds).
const offerCheck = time.Minute

// offerLoop passes on offers whose agents did not answer in time (issue
// 18). It runs with the other timers, on one node of a shared store; the
// due offers come from their index, so a check costs one seek.
func (d *Daemon) offerLoop(ctx context.Context) {
	d.timerLoop(ctx, offerCheck, func() time.Time {
		moved, next, err := d.engine.OfferTimers(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("offer timers failed", "err", err)
		} else if moved > 0 {
			d.log.Info("offers passed on", "offers", moved)
		}
		return next
	})
}

// timerLoop runs step until ctx ends: again when the time step returns
// is reached (at least a second later), and at the latest after every.
func (d *Daemon) timerLoop(ctx context.Context, every time.Duration, step func() (next time.Time)) {
	for {
		next := step()
		if ctx.Err() != nil {
			return
		}
		wait := every
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(d.now()), time.Second))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// pageActions are the POSTs of the offer and rating pages: the domain
// does them; its refusals become the pages' "how things stand".
func (d *Daemon) pageActions() web.PageActions {
	return web.PageActions{
		TakeOffer: func(ctx context.Context, token string) error {
			return linkRefused(d.engine.TakeOffer(ctx, token))
		},
		PassOffer: func(ctx context.Context, token string) error {
			return linkRefused(d.engine.PassOffer(ctx, token))
		},
		Rate: func(ctx context.Context, token string, score int, comment string) error {
			return linkRefused(d.engine.Rate(ctx, token, score, comment))
		},
		RatingScale: func(project string) int {
			if p := d.Config().Project(project); p != nil {
				return p.Ratings.Points()
			}
			return 5
		},
	}
}

// ratingSummaries sums up the stored ratings for the metrics.
func ratingSummaries(st store.DB) ([]metrics.RatingSummary, error) {
	var list []*store.Rating
	if err := st.View(func(tx store.Tx) error {
		var err error
		list, err = tx.Ratings("", time.Time{})
		return err
	}); err != nil {
		return nil, err
	}
	var out []metrics.RatingSummary
	for _, s := range ticket.SummarizeRatings(list) {
		out = append(out, metrics.RatingSummary{Project: s.Project, Scale: s.Scale, Average: s.Average, Scores: s.Scores})
	}
	return out, nil
}
