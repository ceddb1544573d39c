package config

import (
	"strconv"
	"strings"
	"time"
)

// Offers offers a project's new tickets to agents, the first to take one
// wins (issue 18). A ticket whose request type names agents is offered to
// those agents instead of To, with the same at_once, timeout and status
// (Project.OffersFor is the one place that picks them).
type Offers struct {
	// To lists the agents offered a ticket, in order.
	To []string `mapstructure:"to"`
	// AtOnce is how many are offered at a time (0 = all).
	AtOnce int `mapstructure:"at_once"`
	// Timeout: not taken in time → offered to the next ones (default 30m).
	Timeout time.Duration `mapstructure:"timeout"`
	// StatusOnTake is the status a taken ticket moves to (default
	// "assigned" when the project has it, else the first open status).
	StatusOnTake string `mapstructure:"status_on_take"`
}

// DefaultOfferTimeout is how long offered agents have to answer.
const DefaultOfferTimeout = 30 * time.Minute

// Enabled reports whether tickets are offered at all.
func (o *Offers) Enabled() bool { return len(o.To) > 0 }

// Wait is the timeout in force.
func (o *Offers) Wait() time.Duration {
	if o.Timeout <= 0 {
		return DefaultOfferTimeout
	}
	return o.Timeout
}

// Batch is how many agents are offered at a time.
func (o *Offers) Batch() int {
	if o.AtOnce <= 0 || o.AtOnce > len(o.To) {
		return len(o.To)
	}
	return o.AtOnce
}

// OffersFor returns the offer settings that apply to a ticket of p of
// request type typ ("" for none): the project's, offered to the type's
// agents when the type names some. A project offers only when its offers
// name agents (To), so a type cannot switch offers on by itself.
func (p *Project) OffersFor(typ string) *Offers {
	if !p.Offers.Enabled() {
		return &p.Offers
	}
	if rt, ok := p.RequestType(typ); ok && len(rt.Agents) > 0 {
		o := p.Offers
		o.To = rt.Agents
		return &o
	}
	return &p.Offers
}

// StatusOnTake is the status a taken ticket of p moves to.
func (p *Project) StatusOnTake() string {
	if s := p.Offers.StatusOnTake; s != "" {
		if st, ok := p.Status(s); ok {
			return st.Name
		}
	}
	if st, ok := p.Status("assigned"); ok {
		return st.Name
	}
	return p.FirstOf(CatOpen)
}

// Ratings asks customers to rate a resolved request (CSAT, issue 18).
type Ratings struct {
	Enabled bool `mapstructure:"enabled"`
	// Scale is 5 (1..5) or 2 (1 bad, 2 good); default 5.
	Scale int `mapstructure:"scale"`
	// AskOn names the mail that carries the survey: request_resolved (the
	// only one today, and the default).
	AskOn string `mapstructure:"ask_on"`
	// CloseAfterRating closes the ticket at once when the rating is at
	// least CloseMinScore (default: 4 on scale 5, 2 on scale 2); a lower
	// one leaves it resolved and tells the assignee.
	CloseAfterRating bool `mapstructure:"close_after_rating"`
	CloseMinScore    int  `mapstructure:"close_min_score"`
}

// RatingsAskOnResolved is the one ask_on value.
const RatingsAskOnResolved = "request_resolved"

// Points is the scale in force.
func (r *Ratings) Points() int {
	if r.Scale == 2 {
		return 2
	}
	return 5
}

// MinScore is the score at or above which close_after_rating closes.
func (r *Ratings) MinScore() int {
	if r.CloseMinScore > 0 {
		return r.CloseMinScore
	}
	if r.Points() == 2 {
		return 2
	}
	return 4
}

// AsksOnResolved reports whether the resolved mail carries the survey.
func (r *Ratings) AsksOnResolved() bool {
	return r.Enabled && (r.AskOn == "" || r.AskOn == RatingsAskOnResolved)
}

// validateOffers checks a project's offers and ratings.
func validateOffers(pre string, p *Project) []error {
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, fieldErr(pre+key, format, args...)) }
	o := &p.Offers
	seen := map[string]bool{}
	for i, a := range o.To {
		a = strings.ToLower(strings.TrimSpace(a))
		switch {
		case !p.IsStaff(a):
			add(".offers.to["+strconv.Itoa(i)+"]", "%q is not an agent or admin of the project", a)
		case seen[a]:
			add(".offers.to["+strconv.Itoa(i)+"]", "%q is listed twice", a)
		}
		seen[a] = true
	}
	if o.AtOnce < 0 {
		add(".offers.at_once", "must be 0 (all) or more")
	}
	if o.Timeout != 0 && o.Timeout < time.Minute {
		add(".offers.timeout", "must be at least 1m")
	}
	if o.StatusOnTake != "" {
		if st, ok := p.Status(o.StatusOnTake); !ok {
			add(".offers.status_on_take", "unknown status %q", o.StatusOnTake)
		} else if st.Category != CatNew && st.Category != CatOpen {
			add(".offers.status_on_take", "%q is not a new or open status", o.StatusOnTake)
		}
	}
	if p.StatusOnTake() == "" && o.Enabled() {
		add(".offers", "the project has no open status to move a taken ticket to")
	}
	r := &p.Ratings
	if r.Scale != 0 && r.Scale != 2 && r.Scale != 5 {
		add(".ratings.scale", "must be 5 or 2")
	}
	if r.AskOn != "" && r.AskOn != RatingsAskOnResolved {
		add(".ratings.ask_on", "must be %s", RatingsAskOnResolved)
	}
	if r.CloseMinScore < 0 || r.CloseMinScore > r.Points() {
		add(".ratings.close_min_score", "must be between 1 and %d", r.Points())
	}
	return errs
}
