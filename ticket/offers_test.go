package ticket_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

const (
	bob  = "bob@example.com"
	dave = "dave@example.com"
)

func (e *testEngine) offer(t *testing.T, key string) *store.Offer {
	t.Helper()
	var o *store.Offer
	if err := e.st.View(func(tx store.Tx) error {
		var err error
		o, err = tx.Offer(key)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return o
}

func states(o *store.Offer) string {
	var s []string
	for _, a := range o.Agents {
		s = append(s, strings.TrimSuffix(a.Address, "@example.com")+"="+string(a.State))
	}
	return strings.Join(s, " ")
}

// TestOfferRounds: one agent at a time, on the engine's clock. Seen
// counts only for an agent offered it; the timeout asks the next; #pass
// asks the next; an unproven #take is refused; the proven one takes it
// into the first open status (the project has no "assigned"); a late
// take is told who was first.
func TestOfferRounds(t *testing.T) {
	e := newTestEngine(t, func(p *config.Project) {
		p.Agents = []string{agent, bob, dave}
		p.Offers = config.Offers{To: []string{agent, bob, dave}, AtOnce: 1, Timeout: 10 * time.Minute}
	})
	ctx := context.Background()
	key := e.request(t, "req1@customer.example").Ticket
	if got := states(e.offer(t, key)); got != "alice=offered bob=queued dave=queued" {
		t.Fatalf("first round: %s", got)
	}
	if err := e.SeenOnDesk(ctx, key, bob); err != nil {
		t.Fatal(err)
	}
	if err := e.SeenOnDesk(ctx, key, agent); err != nil {
		t.Fatal(err)
	}
	if err := e.SeenOnDesk(ctx, key, customer); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("a customer's desk: %v", err)
	}
	o := e.offer(t, key)
	if o.Agent(agent).Seen.IsZero() || !o.Agent(bob).Seen.IsZero() {
		t.Errorf("seen on the desk: alice %v, bob (not offered yet) %v", o.Agent(agent).Seen, o.Agent(bob).Seen)
	}
	if !o.Due.Equal(t0.Add(10 * time.Minute)) {
		t.Errorf("due %v", o.Due)
	}

	// Not yet due: nothing moves.
	*e.clock = t0.Add(9 * time.Minute)
	if moved, next, err := e.OfferTimers(ctx); err != nil || moved != 0 || !next.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("before the timeout: moved %d next %v err %v", moved, next, err)
	}
	*e.clock = t0.Add(10 * time.Minute)
	if moved, _, err := e.OfferTimers(ctx); err != nil || moved != 1 {
		t.Fatalf("at the timeout: moved %d err %v", moved, err)
	}
	if got := states(e.offer(t, key)); got != "alice=timed_out bob=offered dave=queued" {
		t.Fatalf("after the timeout: %s", got)
	}

	// bob's proven mail into the ticket counts as seen; an unproven one
	// from dave (not offered yet, and forgeable) does not.
	e.mail(t, dave, key, "d0@example.com", "#internal\nWhat is this?", false)
	if o := e.offer(t, key); !o.Agent(bob).Seen.IsZero() || !o.Agent(dave).Seen.IsZero() {
		t.Fatalf("seen before any proven mail: %s", states(o))
	}
	e.mail(t, bob, key, "b0@example.com", "#internal\nHaving a look.", true)
	if o := e.offer(t, key); o.Agent(bob).Seen.IsZero() {
		t.Fatal("bob's proven mail into the ticket did not count as seen")
	}
	e.mail(t, bob, key, "b1@example.com", "#pass\n", true)
	if got := states(e.offer(t, key)); got != "alice=timed_out bob=passed dave=offered" {
		t.Fatalf("after bob passed: %s", got)
	}
	e.mail(t, dave, key, "d1@example.com", "#take\n", false)
	if tk := e.ticket(t, key); tk.Assignee != "" {
		t.Fatalf("an unproven #take assigned %s", tk.Assignee)
	}
	if !hasLine(e.answered(t, key), "No command was run") {
		t.Errorf("the unproven #take was not answered: %q", e.answered(t, key))
	}
	e.mail(t, dave, key, "d2@example.com", "#take\n", true)
	tk := e.ticket(t, key)
	if tk.Assignee != dave || tk.Status != "working" {
		t.Fatalf("after dave's take: assignee %q status %q", tk.Assignee, tk.Status)
	}
	o = e.offer(t, key)
	if got := states(o); got != "alice=timed_out bob=passed dave=taken" || o.TakenBy != dave || !o.Due.IsZero() {
		t.Fatalf("after the take: %s %+v", got, o)
	}
	e.mail(t, agent, key, "a1@example.com", "#take\n", true)
	if lines := e.answered(t, key); !hasLine(lines, "refused: #take — already taken by "+dave) {
		t.Errorf("alice's late take: %q", lines)
	}
	if tk := e.ticket(t, key); tk.Assignee != dave {
		t.Errorf("a late take moved the ticket to %s", tk.Assignee)
	}
	var said []string
	for _, ev := range e.events(t, key) {
		switch ev.Kind {
		case store.EvOffered, store.EvOfferTimedOut, store.EvOfferPassed, store.EvOfferTaken:
			said = append(said, ticket.Describe(ev))
		}
	}
	if want := "offered to alice@example.com (round 1)|not taken in time by alice@example.com|offered to bob@example.com (round 1)|passed on|offered to dave@example.com (round 1)|taken by dave@example.com"; strings.Join(said, "|") != want {
		t.Errorf("history:\n%s\nwant\n%s", strings.Join(said, "|"), want)
	}
	// Nothing is due any more.
	*e.clock = t0.Add(time.Hour)
	if moved, next, err := e.OfferTimers(ctx); err != nil || moved != 0 || !next.IsZero() {
		t.Fatalf("after the take: moved %d next %v err %v", moved, next, err)
	}
}

// TestRatingRules: scale 2 (close_min_score 2 by default), through the
// engine with a rating token.
func TestRatingRules(t *testing.T) {
	e := newTestEngine(t, func(p *config.Project) {
		p.Ratings = config.Ratings{Enabled: true, Scale: 2, CloseAfterRating: true}
	})
	ctx := context.Background()
	key := e.request(t, "req1@customer.example").Ticket
	tok := e.token(t, &store.Token{Token: "rate-1", Kind: store.TokenRating, Ticket: key})
	link := e.token(t, &store.Token{Token: "link-1", Kind: store.TokenLink, Ticket: key})
	if err := e.Rate(ctx, link, 2, ""); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("a ticket link rated: %v", err)
	}
	// Not resolved: recorded, and nothing closes.
	if err := e.Rate(ctx, tok, 2, "early"); err != nil {
		t.Fatal(err)
	}
	if tk := e.ticket(t, key); tk.Status != "new" {
		t.Errorf("a rating of an open ticket moved it to %s", tk.Status)
	}
	if _, err := e.SetStatus(ctx, key, "solved", agent); err != nil {
		t.Fatal(err)
	}
	if err := e.Rate(ctx, tok, 5, ""); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("5 on a scale of 2: %v", err)
	}
	if err := e.Rate(ctx, tok, 1, strings.Repeat("x", ticket.MaxRatingComment+1)); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("an overlong comment: %v", err)
	}
	if err := e.Rate(ctx, tok, 1, "meh"); err != nil {
		t.Fatal(err)
	}
	if tk := e.ticket(t, key); tk.Status != "solved" {
		t.Errorf("a bad rating moved it to %s", tk.Status)
	}
	if err := e.Rate(ctx, tok, 2, "fine after all"); err != nil {
		t.Fatal(err)
	}
	if tk := e.ticket(t, key); tk.Status != "done" {
		t.Errorf("a good rating left it %s", tk.Status)
	}
	if err := e.Rate(ctx, tok, 1, "no"); err != ticket.ErrRatingClosed && !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("rating a closed ticket: %v", err)
	}
	var list []*store.Rating
	e.st.View(func(tx store.Tx) error { list, _ = tx.Ratings("", time.Time{}); return nil })
	if len(list) != 1 || list[0].Score != 2 || list[0].Comment != "fine after all" || !list[0].Created.Equal(t0) {
		t.Fatalf("stored ratings: %+v", list)
	}
	rated := only(e.events(t, key), store.EvRated)
	if len(rated) != 3 || rated[2].Score != 2 || rated[2].Actor != customer {
		t.Errorf("rated events: %+v", rated)
	}
	sum := ticket.SummarizeRatings(list)
	if len(sum) != 1 || sum[0].Count != 1 || sum[0].Average != 2 || sum[0].Scores[1] != 1 {
		t.Errorf("summary: %+v", sum)
	}
}

// TestOfferGoesToTheTypesAgents: a request of a type that names agents is
// offered to them, not to the project's offer list; an untyped one to the
// list.
func TestOfferGoesToTheTypesAgents(t *testing.T) {
	e := newTestEngine(t, func(p *config.Project) {
		p.Agents = []string{agent, bob, dave}
		p.Offers = config.Offers{To: []string{agent, bob}, AtOnce: 1, Timeout: 10 * time.Minute}
		p.RequestTypes = []config.RequestType{
			{Name: "incident", Match: config.RequestTypeMatch{Keywords: []string{"fire"}}, Agents: []string{dave}},
			{Name: "question", Default: true},
		}
	})
	// "Printer on fire": the incident type, whose agent is dave.
	key := e.request(t, "typed@customer.example").Ticket
	if got := states(e.offer(t, key)); got != "dave=offered" {
		t.Fatalf("typed request offered: %s, want dave only", got)
	}
	// A question (no agents of its own) goes to the project's list.
	res, err := e.Ingest(context.Background(), &ticket.Mail{Project: "ACME", Source: "smtp", From: customer, To: []string{"acme@support.example.com"},
		Subject: "How do I print", MessageID: "untyped@customer.example", Text: "Where is the button?", Raw: "hash-untyped"})
	if err != nil {
		t.Fatal(err)
	}
	if got := states(e.offer(t, res.Ticket)); got != "alice=offered bob=queued" {
		t.Fatalf("untyped request offered: %s", got)
	}
}
