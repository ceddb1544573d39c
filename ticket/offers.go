package ticket

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// Offers (issue 18): a new ticket of a project with offers is offered to
// its agents, offers.at_once at a time; the first to take it wins. Every
// step runs inside one store transaction through the engine, so two takes
// at the same moment are serialised by the store: the first commits, the
// second finds the offer taken.

// Offer event kinds, for the domain's callers.
const (
	EvOffered         = store.EvOffered
	EvOfferTaken      = store.EvOfferTaken
	EvOfferPassed     = store.EvOfferPassed
	EvOfferTimedOut   = store.EvOfferTimedOut
	EvOfferUnanswered = store.EvOfferUnanswered
)

// Why an offer ended (store.Offer.End).
const (
	OfferEndTaken      = "taken"
	OfferEndAssigned   = "assigned"
	OfferEndUnanswered = "unanswered"
	OfferEndClosed     = "closed"
)

// startOffer offers t to the project's agents from the start (a new
// round: everyone is asked again, also those who passed before).
func startOffer(tx store.Tx, p *config.Project, t *store.Ticket, now time.Time, emit func(*Event) error) error {
	offers := p.OffersFor(t.Type)
	if !offers.Enabled() || t.Assignee != "" || isDone(p, t.Status) {
		return nil
	}
	round := 1
	if old, err := tx.Offer(t.Key); err == nil {
		if old.Ended.IsZero() {
			return nil // on offer already
		}
		round = old.Round + 1
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	o := &store.Offer{Ticket: t.Key, Project: p.Key, Round: round, Started: now}
	for _, a := range offers.To {
		o.Agents = append(o.Agents, store.OfferAgent{Address: strings.ToLower(strings.TrimSpace(a)), State: store.OfferQueued})
	}
	return refill(tx, p, t, o, now, emit)
}

// refill offers t to queued agents until offers.at_once are waiting for
// an answer, and stores o. When nobody is left to ask the offer ends and
// the admins are told.
func refill(tx store.Tx, p *config.Project, t *store.Ticket, o *store.Offer, now time.Time, emit func(*Event) error) error {
	offers := p.OffersFor(t.Type)
	open := 0
	for _, a := range o.Agents {
		if a.State == store.OfferOpen {
			open++
		}
	}
	var asked []string
	for i := range o.Agents {
		a := &o.Agents[i]
		if open >= offers.Batch() {
			break
		}
		if a.State != store.OfferQueued {
			continue
		}
		a.State, a.Offered, a.Due = store.OfferOpen, now, now.Add(offers.Wait())
		asked = append(asked, a.Address)
		open++
	}
	o.Due = time.Time{}
	for _, a := range o.Agents {
		if a.State == store.OfferOpen && (o.Due.IsZero() || a.Due.Before(o.Due)) {
			o.Due = a.Due
		}
	}
	if open == 0 {
		o.Ended, o.End = now, OfferEndUnanswered
		if err := tx.PutOffer(o); err != nil {
			return err
		}
		if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvOfferUnanswered, Count: o.Round}); err != nil {
			return err
		}
		return emit(&Event{Type: EvOfferUnanswered, Actor: SystemActor})
	}
	if err := tx.PutOffer(o); err != nil {
		return err
	}
	if len(asked) == 0 {
		return nil
	}
	if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvOffered, Addresses: asked, Count: o.Round}); err != nil {
		return err
	}
	req, err := requestMessage(tx, t)
	if err != nil {
		return err
	}
	return emit(&Event{Type: EvOffered, Actor: SystemActor, Recipients: asked, Message: req})
}

// requestMessage is the first message of t (the request the offer mail
// shows), nil when it has none.
func requestMessage(tx store.Tx, t *store.Ticket) (*store.Message, error) {
	msgs, err := tx.TicketMessages(t.Key)
	if err != nil || len(msgs) == 0 {
		return nil, err
	}
	return msgs[0], nil
}

// endOffer withdraws the open offers of t (assigned by hand, closed).
func endOffer(tx store.Tx, t *store.Ticket, why string, now time.Time) error {
	o, err := tx.Offer(t.Key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || !o.Ended.IsZero() {
		return err
	}
	for i := range o.Agents {
		if a := &o.Agents[i]; a.State == store.OfferOpen {
			a.State, a.Due = store.OfferWithdrawn, time.Time{}
		}
	}
	o.Ended, o.End, o.Due = now, why, time.Time{}
	return tx.PutOffer(o)
}

// take gives t to agent, the first to take it: assigned, moved to
// offers.status_on_take, the others told.
func take(tx store.Tx, p *config.Project, t *store.Ticket, agent, source string, now time.Time, emit func(*Event) error) error {
	agent = strings.ToLower(agent)
	o, err := tx.Offer(t.Key)
	if errors.Is(err, store.ErrNotFound) {
		return refused("%s is not offered to anyone", t.Key)
	} else if err != nil {
		return err
	}
	a := o.Agent(agent)
	if a != nil && a.Seen.IsZero() && a.State != store.OfferQueued {
		// Taking or passing is a person's act: seen, even when refused.
		a.Seen = now
		if err := tx.PutOffer(o); err != nil {
			return err
		}
	}
	switch {
	case o.TakenBy != "":
		return refused("already taken by %s", o.TakenBy)
	case !o.Ended.IsZero():
		return refused("the offer of %s is over (%s)", t.Key, o.End)
	case isDone(p, t.Status):
		return refused("%s is %s", t.Key, t.Status)
	case a == nil:
		return refused("%s was not offered to %s", t.Key, agent)
	case a.State != store.OfferOpen && a.State != store.OfferTimedOut:
		return refused("%s was not offered to you at the moment (%s)", t.Key, a.State)
	}
	var others []string
	for i := range o.Agents {
		b := &o.Agents[i]
		switch {
		case b.Address == agent:
			b.State, b.Answered, b.Due = store.OfferTaken, now, time.Time{}
		case b.State == store.OfferOpen:
			b.State, b.Due = store.OfferWithdrawn, time.Time{}
			others = append(others, b.Address)
		case b.State == store.OfferTimedOut || b.State == store.OfferPassed:
			others = append(others, b.Address)
		}
	}
	o.TakenBy, o.Ended, o.End, o.Due = agent, now, OfferEndTaken, time.Time{}
	if err := tx.PutOffer(o); err != nil {
		return err
	}
	if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvOfferTaken, Actor: agent, Assignee: agent, Source: source}); err != nil {
		return err
	}
	t.Assignee = agent
	if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvAssigned, Actor: agent, Source: source, Assignee: agent}); err != nil {
		return err
	}
	if st := p.StatusOnTake(); st != "" {
		if c := categoryOf(p, t.Status); c == CatNew || c == CatOpen {
			if err := setStatusFrom(tx, p, t, st, agent, source, now, emit); err != nil {
				return err
			}
		}
	}
	if len(others) == 0 {
		return nil
	}
	return emit(&Event{Type: EvOfferTaken, Actor: agent, Recipients: others})
}

// pass records that agent passes t on; the next agent is asked.
func pass(tx store.Tx, p *config.Project, t *store.Ticket, agent, source string, now time.Time, emit func(*Event) error) error {
	agent = strings.ToLower(agent)
	o, err := tx.Offer(t.Key)
	if errors.Is(err, store.ErrNotFound) {
		return refused("%s is not offered to anyone", t.Key)
	} else if err != nil {
		return err
	}
	a := o.Agent(agent)
	if a != nil && a.Seen.IsZero() && a.State != store.OfferQueued {
		// Taking or passing is a person's act: seen, even when refused.
		a.Seen = now
		if err := tx.PutOffer(o); err != nil {
			return err
		}
	}
	switch {
	case o.TakenBy != "":
		return refused("already taken by %s", o.TakenBy)
	case !o.Ended.IsZero():
		return refused("the offer of %s is over (%s)", t.Key, o.End)
	case a == nil:
		return refused("%s was not offered to %s", t.Key, agent)
	case a.State != store.OfferOpen:
		return refused("%s is not waiting for your answer (%s)", t.Key, a.State)
	}
	a.State, a.Answered, a.Due = store.OfferPassed, now, time.Time{}
	if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvOfferPassed, Actor: agent, Source: source}); err != nil {
		return err
	}
	return refill(tx, p, t, o, now, emit)
}

// markSeen notes that agent did something with t (a mail into it, the
// desk): the offer shows them as having seen it. Nothing when t has no
// offer or agent is not on it.
func markSeen(tx store.Tx, t *store.Ticket, agent string, now time.Time) error {
	o, err := tx.Offer(t.Key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	a := o.Agent(strings.ToLower(agent))
	if a == nil || !a.Seen.IsZero() || a.State == store.OfferQueued {
		return nil
	}
	a.Seen = now
	return tx.PutOffer(o)
}

// offerLink checks an offer page's token and loads its ticket and
// project; the agent is the token's recipient, who must still be staff.
func (e *Engine) offerLink(tx store.Tx, token string, now time.Time) (*store.Token, *store.Ticket, *config.Project, error) {
	tok, err := tx.Token(token)
	if err != nil {
		return nil, nil, nil, err
	}
	if tok.Kind != store.TokenOffer || !tok.Valid(now) {
		return nil, nil, nil, refused("not a valid offer link")
	}
	t, err := tx.Ticket(tok.Ticket)
	if err != nil {
		return nil, nil, nil, err
	}
	p := e.cfg().Project(t.Project)
	if p == nil || t.Project != tok.Project {
		return nil, nil, nil, refused("project %s is not configured any more", t.Project)
	}
	if !p.IsStaff(tok.Recipient) {
		return nil, nil, nil, refused("%s is not an agent of %s any more", tok.Recipient, p.Key)
	}
	return tok, t, p, nil
}

// offerAct runs fn (take or pass) for the agent of an offer link.
func (e *Engine) offerAct(ctx context.Context, token string, fn func(tx store.Tx, p *config.Project, t *store.Ticket, agent, source string, now time.Time, emit func(*Event) error) error) error {
	queued := 0
	var refusal error
	err := e.store.Update(ctx, func(tx store.Tx) error {
		queued, refusal = 0, nil
		now := e.now().UTC()
		tok, t, p, err := e.offerLink(tx, token, now)
		if err != nil {
			return err
		}
		emit := func(ev *Event) error {
			ev.Project, ev.Ticket = p, t
			if ev.Actor == "" {
				ev.Actor = tok.Recipient
			}
			n, err := e.notifyIn(tx, ev, now)
			queued += n
			return err
		}
		err = fn(tx, p, t, tok.Recipient, "web", now, emit)
		if errors.Is(err, ErrRefused) {
			// A refused take still counts as seen: keep that, and
			// report the refusal.
			refusal = err
			return nil
		}
		if err != nil {
			return err
		}
		t.Updated = now
		return e.putTicket(tx, p, t, now)
	})
	if err == nil && queued > 0 && e.Queued != nil {
		e.Queued()
	}
	if err != nil {
		return err
	}
	return refusal
}

// TakeOffer takes the ticket of an offer link for its agent (the offer
// page's POST); someone else being first is a refusal.
func (e *Engine) TakeOffer(ctx context.Context, token string) error {
	return e.offerAct(ctx, token, take)
}

// PassOffer passes the ticket of an offer link on (the offer page's POST).
func (e *Engine) PassOffer(ctx context.Context, token string) error {
	return e.offerAct(ctx, token, pass)
}

// SeenOnDesk records that agent opened ticket key on the agents' desk:
// for its offer, the agent has seen it. Only a person's act may call it
// (an opened page, never a prefetch).
func (e *Engine) SeenOnDesk(ctx context.Context, key, agent string) error {
	agent = strings.ToLower(agent)
	return e.store.Update(ctx, func(tx store.Tx) error {
		t, err := tx.Ticket(strings.ToUpper(key))
		if err != nil {
			return err
		}
		p := e.cfg().Project(t.Project)
		if p == nil || !p.IsStaff(agent) {
			return refused("%s is not an agent of %s", agent, t.Project)
		}
		return markSeen(tx, t, agent, e.now().UTC())
	})
}

// OfferTimers passes on the offers whose agents did not answer in time
// and returns how many offers it moved and when the next one is due
// (zero: none). Due offers are read from their index, never by a scan of
// the tickets.
func (e *Engine) OfferTimers(ctx context.Context) (int, time.Time, error) {
	moved := 0
	for {
		now := e.now().UTC()
		var keys []string
		var next time.Time
		if err := e.store.View(func(tx store.Tx) error {
			var err error
			keys, next, err = tx.DueOffers(now, 100)
			return err
		}); err != nil {
			return moved, time.Time{}, fmt.Errorf("ticket: due offers: %w", err)
		}
		if len(keys) == 0 {
			return moved, next, nil
		}
		progressed := false
		for _, key := range keys {
			if ctx.Err() != nil {
				return moved, time.Time{}, ctx.Err()
			}
			did, err := e.offerTimeout(ctx, key, now)
			if err != nil {
				return moved, time.Time{}, fmt.Errorf("ticket: offer of %s: %w", key, err)
			}
			if did {
				moved++
				progressed = true
			}
		}
		if !progressed {
			// Every offer listed was no longer due when read (answered
			// meanwhile): look again at the next tick, not in a loop.
			return moved, now.Add(time.Second), nil
		}
	}
}

// offerTimeout times out the agents of key's offer whose time is up and
// asks the next ones.
func (e *Engine) offerTimeout(ctx context.Context, key string, now time.Time) (bool, error) {
	queued := 0
	did := false
	err := e.store.Update(ctx, func(tx store.Tx) error {
		queued, did = 0, false
		o, err := tx.Offer(key)
		if err != nil {
			return err
		}
		if o.Due.IsZero() || o.Due.After(now) {
			return nil // answered since the look-up
		}
		did = true
		t, err := tx.Ticket(key)
		if err != nil {
			return err
		}
		p := e.cfg().Project(t.Project)
		if p == nil || isDone(p, t.Status) || t.Assignee != "" {
			// Nothing left to offer: closed, assigned, or the project
			// is gone from the configuration.
			return endOffer(tx, t, OfferEndClosed, now)
		}
		emit := func(ev *Event) error {
			ev.Project, ev.Ticket = p, t
			n, err := e.notifyIn(tx, ev, now)
			queued += n
			return err
		}
		var late []string
		for i := range o.Agents {
			if a := &o.Agents[i]; a.State == store.OfferOpen && !a.Due.After(now) {
				a.State, a.Answered, a.Due = store.OfferTimedOut, now, time.Time{}
				late = append(late, a.Address)
			}
		}
		if len(late) > 0 {
			if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvOfferTimedOut, Addresses: late}); err != nil {
				return err
			}
		}
		return refill(tx, p, t, o, now, emit)
	})
	if err == nil && queued > 0 && e.Queued != nil {
		e.Queued()
	}
	return did, err
}
