package ticket_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

func typedEngine(t *testing.T) *testEngine {
	return newTestEngine(t, func(p *config.Project) {
		p.RequestTypes = []config.RequestType{
			{Name: "incident", Match: config.RequestTypeMatch{Keywords: []string{"outage"}}, Priority: "high"},
			{Name: "billing"},
			{Name: "question", Default: true},
		}
	})
}

// TestOpenInternalThenPublish: an agent opens an internal ticket for a
// customer from the CLI (no customer mail), names its requester, and
// publishing it sends the request-created mail once; the way back is
// refused, as are bad requests.
func TestOpenInternalThenPublish(t *testing.T) {
	e := typedEngine(t)
	ctx := context.Background()
	for _, bad := range []ticket.OpenRequest{
		{Project: "ACME", From: "not an address", Subject: "s", Text: "t"},
		{Project: "ACME", From: customer, Subject: " ", Text: "t"},
		{Project: "ACME", From: customer, Subject: "s", Text: ""},
		{Project: "NOPE", From: customer, Subject: "s", Text: "t"},
		{Project: "ACME", From: "acme@support.example.com", Subject: "s", Text: "t"},
	} {
		if _, _, err := e.Open(ctx, bad, agent); !errors.Is(err, ticket.ErrRefused) {
			t.Errorf("Open(%+v): %v, want a refusal", bad, err)
		}
	}
	if _, _, err := e.Open(ctx, ticket.OpenRequest{Project: "ACME", From: customer, Subject: "s", Text: "t"}, "mallory@customer.example"); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("a non-agent opened a ticket: %v", err)
	}

	key, _, err := e.Open(ctx, ticket.OpenRequest{Project: "acme", From: "Dora <dora@customer.example>", Subject: "Total outage", Text: "Nothing works.", Internal: true}, agent)
	if err != nil {
		t.Fatal(err)
	}
	tk := e.ticket(t, key)
	if !tk.Internal() || tk.Reporter != "dora@customer.example" || tk.Type != "incident" || tk.Priority != "high" {
		t.Fatalf("the opened ticket: %+v", tk)
	}
	for _, it := range e.outbox(t) {
		if it.Recipient == "dora@customer.example" {
			t.Fatalf("the customer was mailed about an internal ticket: %+v", it)
		}
	}

	// #requester names someone else; #type changes the type.
	if _, err := e.Command(ctx, key, agent, "requester", []string{"erin@customer.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Command(ctx, key, agent, "requester", []string{"acme@support.example.com"}); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("our own address as requester: %v", err)
	}
	if _, err := e.Command(ctx, key, agent, "type", []string{"billing"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Command(ctx, key, agent, "type", []string{"nonsense"}); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("an unknown type: %v", err)
	}
	if _, err := e.Command(ctx, key, agent, "type", nil); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("#type without a name: %v", err)
	}
	if tk := e.ticket(t, key); tk.Reporter != "erin@customer.example" || tk.Type != "billing" {
		t.Fatalf("after #requester and #type: %+v", tk)
	}
	if _, err := e.SetVisibility(ctx, key, "internal", agent); err != nil {
		t.Errorf("internal → internal: %v", err)
	}
	if _, err := e.SetVisibility(ctx, key, "secret", agent); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("an unknown visibility: %v", err)
	}

	before := len(e.outbox(t))
	if _, err := e.SetVisibility(ctx, key, "Public", agent); err != nil {
		t.Fatal(err)
	}
	var toErin int
	for _, it := range e.outbox(t) {
		if it.Recipient == "erin@customer.example" {
			toErin++
			if it.Event != "customer/request_created" {
				t.Errorf("the requester got %s", it.Event)
			}
		}
	}
	if toErin != 1 || len(e.outbox(t)) <= before {
		t.Errorf("after publishing: %d mails to the requester", toErin)
	}
	evs := e.events(t, key)
	for _, k := range []store.EventKind{store.EvRequesterChanged, store.EvTypeChanged, store.EvVisibilityChanged} {
		if len(only(evs, k)) != 1 {
			t.Errorf("%s events: %v", k, kinds(evs))
		}
	}
	if _, err := e.SetVisibility(ctx, key, "internal", agent); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("public → internal: %v", err)
	}
	if _, err := e.SetVisibility(ctx, key, "public", agent); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("publishing twice: %v", err)
	}
	if _, err := e.Command(ctx, key, agent, "requester", []string{"fred@customer.example"}); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("#requester on a public ticket: %v", err)
	}
	if _, err := e.Command(ctx, key, agent, "accept", nil); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("#accept on a ticket: %v", err)
	}
}

// TestDeskCommandsAndLists: the desk's comment and command entry points
// write what mail would, and the lists it offers come from the project.
func TestDeskCommandsAndLists(t *testing.T) {
	e := newTestEngine(t)
	ctx := context.Background()
	key := e.request(t, "desk1@customer.example").Ticket
	if _, err := e.DeskComment(ctx, key, agent, "We are on it.", false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DeskComment(ctx, key, agent, "Printer model X200.", true, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Command(ctx, key, agent, "priority", []string{"high"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Command(ctx, key, agent, "status", []string{"done"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Command(ctx, key, agent, "priority", []string{"whenever"}); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("a bad priority: %v", err)
	}
	evs := e.events(t, key)
	for _, k := range []store.EventKind{store.EvAgentCommentAdded, store.EvInternalNoteAdded, store.EvPriorityChanged} {
		if len(only(evs, k)) != 1 {
			t.Errorf("%s: %v", k, kinds(evs))
		}
	}
	tk := e.ticket(t, key)
	if tk.Priority != "high" || tk.Status != "done" {
		t.Errorf("after the commands: %+v", tk)
	}
	for _, it := range e.outbox(t) {
		if it.Recipient == customer && it.Message != 0 {
			var m *store.Message
			e.st.View(func(tx store.Tx) error { m, _ = tx.Message(it.Message); return nil })
			if m != nil && m.Internal {
				t.Errorf("the note was mailed to the customer: %+v", it)
			}
		}
	}
	p := e.cfg.Project("ACME")
	if got := ticket.Statuses(p); !slices.Equal(got, []string{"new", "working", "waiting", "solved", "done"}) {
		t.Errorf("statuses: %v", got)
	}
	if ticket.StatusCategory(p, "done") != config.CatClosed || ticket.StatusCategory(p, "waiting") != config.CatPending {
		t.Error("status categories")
	}
	if pr := ticket.Priorities(); len(pr) < 3 || !slices.Contains(pr, "high") {
		t.Errorf("priorities: %v", pr)
	}
}

// TestPGPEventsOnTickets: an undecryptable mail is noted and its sender
// told; a customer's key change is noted on each of their tickets and
// told once.
func TestPGPEventsOnTickets(t *testing.T) {
	e := newTestEngine(t)
	ctx := context.Background()
	a := e.request(t, "pgp1@customer.example")
	b := e.request(t, "pgp2@customer.example")
	before := len(e.outbox(t))
	if err := e.PGPUndecryptable(ctx, a, customer, "no secret key"); err != nil {
		t.Fatal(err)
	}
	// What the mail caused now names the notice queued to its sender.
	if c := a.Caused(); len(c) == 0 || c[len(c)-1].Kind != store.EvQueued || c[len(c)-1].Template != "customer/pgp_undecryptable" {
		t.Errorf("caused after the undecryptable notice: %+v", c)
	}
	if ev := only(e.events(t, a.Ticket), store.EvPGPUndecryptable); len(ev) != 1 || ev[0].Reason != "no secret key" {
		t.Errorf("undecryptable: %+v", ev)
	}
	if err := e.PGPKeyChanged(ctx, nil, "ACME", "Carl@Customer.example", "AAAA", "BBBB"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{a.Ticket, b.Ticket} {
		if ev := only(e.events(t, k), store.EvPGPKeyChanged); len(ev) != 1 || ev[0].Reason != "AAAA → BBBB" {
			t.Errorf("%s: key change events %+v", k, ev)
		}
	}
	if got := len(e.outbox(t)) - before; got != 2 {
		t.Errorf("%d mails for one undecryptable mail and one key change, want 2", got)
	}
	if err := e.PGPKeyChanged(ctx, nil, "NOPE", customer, "A", "B"); err != nil {
		t.Errorf("an unknown project: %v", err)
	}
	if err := e.PGPUndecryptable(ctx, &ticket.Result{Ticket: "ACME-999", Message: 1}, customer, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown ticket: %v", err)
	}
}
