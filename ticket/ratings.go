package ticket

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ticketgate/ticketgate/store"
)

// Ratings (issue 18): a customer rates a resolved request from the links
// of the resolved mail; only the rating page's POST records it.

// Rating event kinds, for the domain's callers.
const (
	EvRated     = store.EvRated
	EvRatingLow = store.EvRatingLow
)

// ErrRatingClosed refuses a rating of a ticket that is closed: a rating
// may change until then, not after.
var ErrRatingClosed = &RefusedError{Reason: "the request is closed; its rating can no longer change"}

// MaxRatingComment bounds a rating's comment (runes).
const MaxRatingComment = 4000

// Rate records the rating of the link's customer, replacing theirs: an
// event on the ticket, a mail to the assignee, and with
// close_after_rating a score at or above close_min_score closes the
// ticket at once (a lower one leaves it resolved and tells the assignee).
func (e *Engine) Rate(ctx context.Context, token string, score int, comment string) error {
	comment = strings.TrimSpace(comment)
	if !utf8.ValidString(comment) {
		return refused("the comment is not valid text")
	}
	if utf8.RuneCountInString(comment) > MaxRatingComment {
		return refused("the comment is longer than %d characters", MaxRatingComment)
	}
	queued := 0
	err := e.store.Update(ctx, func(tx store.Tx) error {
		queued = 0
		now := e.now().UTC()
		tok, err := tx.Token(token)
		if err != nil {
			return err
		}
		if tok.Kind != store.TokenRating || !tok.Valid(now) {
			return refused("not a valid rating link")
		}
		t, err := tx.Ticket(tok.Ticket)
		if err != nil {
			return err
		}
		p := e.cfg().Project(t.Project)
		if p == nil || t.Project != tok.Project {
			return refused("project %s is not configured any more", t.Project)
		}
		r := &p.Ratings
		if !r.Enabled {
			return refused("%s does not ask for ratings", p.Key)
		}
		if isFinal(p, t.Status) {
			return ErrRatingClosed
		}
		if score < 1 || score > r.Points() {
			return refused("the score must be between 1 and %d", r.Points())
		}
		customer := strings.ToLower(tok.Recipient)
		rt := &store.Rating{Project: p.Key, Ticket: t.Key, Customer: customer, Score: score, Scale: r.Points(),
			Comment: comment, Created: now, Updated: now}
		if old, err := tx.Rating(t.Key, customer); err == nil {
			rt.Created = old.Created
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.PutRating(rt); err != nil {
			return err
		}
		if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvRated, Actor: customer, Source: "web", Score: score, Comment: comment}); err != nil {
			return err
		}
		emit := func(ev *Event) error {
			ev.Project, ev.Ticket = p, t
			if ev.Actor == "" {
				ev.Actor = customer
			}
			n, err := e.notifyIn(tx, ev, now)
			queued += n
			return err
		}
		detail := ratingDetail(score, r.Points())
		if err := emit(&Event{Type: EvRated, Detail: detail, Comment: comment, Status: t.Status}); err != nil {
			return err
		}
		if r.CloseAfterRating && categoryOf(p, t.Status) == CatResolved {
			if score >= r.MinScore() {
				if err := setStatusFrom(tx, p, t, firstOf(p, CatClosed), customer, "web", now, emit); err != nil {
					return err
				}
			} else {
				to := p.Agents
				if t.Assignee != "" {
					to = []string{t.Assignee}
				}
				if err := emit(&Event{Type: EvRatingLow, Detail: detail, Comment: comment, Recipients: to, Status: t.Status}); err != nil {
					return err
				}
			}
		}
		t.Updated = now
		return e.putTicket(tx, p, t, now)
	})
	if err == nil && queued > 0 && e.Queued != nil {
		e.Queued()
	}
	return err
}

// ratingDetail is a score as the agents' mail shows it ("4/5").
func ratingDetail(score, scale int) string {
	if scale == 2 {
		if score == 2 {
			return "good"
		}
		return "bad"
	}
	return strings.Repeat("★", score) + strings.Repeat("☆", scale-score)
}

// RatingSummary sums up one project's ratings (per scale: a project that
// changed its scale has one summary per scale, averages of different
// scales mean different things).
type RatingSummary struct {
	Project string  `json:"project"`
	Scale   int     `json:"scale"`
	Count   int     `json:"count"`
	Average float64 `json:"average"`
	// Scores counts the ratings per score: Scores[s-1] for score s.
	Scores []int `json:"scores"`
}

// SummarizeRatings sums up ratings per project and scale, in project
// order.
func SummarizeRatings(list []*store.Rating) []RatingSummary {
	type key struct {
		project string
		scale   int
	}
	idx := map[key]int{}
	var out []RatingSummary
	for _, r := range list {
		if r.Scale < 1 || r.Score < 1 || r.Score > r.Scale {
			continue // not a rating this version recorded
		}
		k := key{r.Project, r.Scale}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, RatingSummary{Project: r.Project, Scale: r.Scale, Scores: make([]int, r.Scale)})
		}
		s := &out[i]
		s.Count++
		s.Scores[r.Score-1]++
		s.Average += float64(r.Score)
	}
	for i := range out {
		out[i].Average /= float64(out[i].Count)
	}
	slices.SortFunc(out, func(a, b RatingSummary) int {
		if c := strings.Compare(a.Project, b.Project); c != 0 {
			return c
		}
		return a.Scale - b.Scale
	})
	return out
}
