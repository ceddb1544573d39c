package ticket_test

import (
	"context"
	"slices"
	"testing"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// hookProject has four hooks: A new requests for the agents, B entering
// working or solved for the admins, C assignments only, D assignments and
// every status change.
func hookProject() *config.Project {
	return &config.Project{Key: "ACME", Name: "Acme", Agents: []string{"Alice@example.com", "bob@example.com"}, Admins: []string{"boss@example.com"},
		Statuses: []config.StatusDef{{Name: "new", Category: config.CatNew}, {Name: "working", Category: config.CatOpen},
			{Name: "waiting", Category: config.CatPending}, {Name: "solved", Category: config.CatResolved}},
		Webhooks: []config.Webhook{
			{Name: "A", URL: "https://a.example", Events: []string{"request_created"}, To: []string{"agents"}},
			{Name: "B", URL: "https://b.example", Events: []string{"status_changed"}, StatusChanged: config.HookStatusRule{Statuses: []string{"working", "solved"}}, To: []string{"admins"}},
			{Name: "C", URL: "https://c.example", To: []string{"assignee"}},
			{Name: "D", URL: "https://d.example", Events: []string{"assigned", "status_changed"}, To: []string{"assignee", "agents"}},
		}}
}

// TestPlanHooks: which hook a domain event reaches, as what, for whom.
func TestPlanHooks(t *testing.T) {
	p := hookProject()
	type push struct {
		hook, kind string
		mention    []string
		assignment bool
	}
	for _, c := range []struct {
		name string
		ev   ticket.Event
		tk   store.Ticket
		want []push
	}{
		{"created in new", ticket.Event{Type: ticket.EvRequestCreated, Status: "new"}, store.Ticket{},
			[]push{{"A", "request_created", []string{"alice@example.com", "bob@example.com"}, false}}},
		{"created in a chosen status is a status change", ticket.Event{Type: ticket.EvRequestCreated, Status: "working"}, store.Ticket{},
			[]push{{"A", "request_created", []string{"alice@example.com", "bob@example.com"}, false}, {"B", "status_changed", []string{"boss@example.com"}, false}}},
		{"entering working", ticket.Event{Type: ticket.EvStatusChanged, Status: "working", OldStatus: "new"}, store.Ticket{},
			[]push{{"B", "status_changed", []string{"boss@example.com"}, false}, {"D", "status_changed", []string{"alice@example.com", "bob@example.com"}, false}}},
		{"entering waiting: not chosen by B", ticket.Event{Type: ticket.EvStatusChanged, Status: "waiting", OldStatus: "working"}, store.Ticket{},
			[]push{{"D", "status_changed", []string{"alice@example.com", "bob@example.com"}, false}}},
		{"a resolution is a status change", ticket.Event{Type: ticket.EvRequestResolved, Status: "solved", OldStatus: "working"}, store.Ticket{Assignee: "bob@example.com"},
			[]push{{"B", "status_changed", []string{"boss@example.com"}, false}, {"D", "status_changed", []string{"bob@example.com", "alice@example.com"}, false}}},
		{"assignment always reaches the assignee", ticket.Event{Type: ticket.EvAssigned}, store.Ticket{Assignee: "bob@example.com"},
			[]push{{"C", "assigned", []string{"bob@example.com"}, true}, {"D", "assigned", []string{"bob@example.com", "alice@example.com"}, false}}},
		{"a comment reaches nobody", ticket.Event{Type: ticket.EvCustomerCommentAdded}, store.Ticket{}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev := c.ev
			tk := c.tk
			tk.Key = "ACME-1"
			ev.Project, ev.Ticket = p, &tk
			var got []push
			for _, h := range ticket.PlanHooks(&ev) {
				got = append(got, push{h.Hook.HookName(), h.Kind.String(), h.Mention, h.Assignment})
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			for i := range got {
				if got[i].hook != c.want[i].hook || got[i].kind != c.want[i].kind || got[i].assignment != c.want[i].assignment || !slices.Equal(got[i].mention, c.want[i].mention) {
					t.Errorf("push %d: %+v, want %+v", i, got[i], c.want[i])
				}
			}
		})
	}
}

func (e *testEngine) hooks(t *testing.T) []*store.HookItem {
	t.Helper()
	var out []*store.HookItem
	if err := e.st.View(func(tx store.Tx) (err error) { out, err = tx.ListHooks(100); return err }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHooksQueuedWithTheChange: a new request and an assignment queue
// their deliveries in the change's transaction, each recorded on the
// ticket (webhook_queued naming the hook and the delivery), with the
// ticket's facts as they were; the sender is woken after the commit; the
// sender's outcomes are recorded as typed events.
func TestHooksQueuedWithTheChange(t *testing.T) {
	e := newTestEngine(t, func(p *config.Project) {
		p.Webhooks = []config.Webhook{
			{Name: "ops", URL: "https://ops.example", Events: []string{"request_created"}, To: []string{"agents"}},
			{Name: "phone", URL: "https://ntfy.example/x", Format: "ntfy", To: []string{"assignee"}},
		}
	})
	woken := 0
	e.HookQueued = func() { woken++ }
	res := e.request(t, "req1@customer.example")
	if _, err := e.Assign(context.Background(), res.Ticket, agent, agent); err != nil {
		t.Fatal(err)
	}
	items := e.hooks(t)
	if len(items) != 2 || woken != 2 {
		t.Fatalf("%d deliveries queued, sender woken %d times, want 2 and 2", len(items), woken)
	}
	created, assigned := items[0], items[1]
	if created.Hook != "ops" || created.Kind != store.EvRequestCreated || created.Vars.Subject != "Printer on fire" || created.Vars.Reporter != customer ||
		!slices.Equal(created.Mention, []string{agent}) || created.EventID == "" || created.Format != "json" {
		t.Errorf("request delivery %+v", created)
	}
	if assigned.Hook != "phone" || assigned.Kind != store.EvAssigned || !assigned.Assignment || assigned.Vars.Assignee != agent ||
		assigned.Format != "ntfy" || assigned.EventID == created.EventID {
		t.Errorf("assignment delivery %+v", assigned)
	}
	queued := only(e.events(t, res.Ticket), store.EvWebhookQueued)
	if len(queued) != 2 || queued[0].Template != "ops" || queued[0].OutboxID != created.ID || queued[1].Template != "phone" || queued[1].OutboxID != assigned.ID {
		t.Fatalf("webhook_queued events %+v", queued)
	}
	if err := e.st.Update(context.Background(), func(tx store.Tx) error {
		if err := e.HookDelivered(tx, created); err != nil {
			return err
		}
		assigned.Attempts = 3
		return e.HookFailed(tx, assigned, "permanent failure: endpoint answered 410 Gone")
	}); err != nil {
		t.Fatal(err)
	}
	evs := e.events(t, res.Ticket)
	d, f := only(evs, store.EvWebhookDelivered), only(evs, store.EvWebhookFailed)
	if len(d) != 1 || d[0].OutboxID != created.ID || d[0].Attempt != 1 || len(f) != 1 || f[0].Template != "phone" || f[0].Attempt != 3 {
		t.Errorf("delivered %+v failed %+v", d, f)
	}
	if got := ticket.Describe(f[0]); got != "webhook phone, delivery 2, given up after 3 attempt(s): permanent failure: endpoint answered 410 Gone" {
		t.Errorf("described as %q", got)
	}
}

// TestImpliedStatusChangeReachesHooks: an agent's answer moves the
// ticket to waiting without a status mail (the answer says it all), but
// a hook that chose waiting still hears of it.
func TestImpliedStatusChangeReachesHooks(t *testing.T) {
	e := newTestEngine(t, func(p *config.Project) {
		p.Webhooks = []config.Webhook{{Name: "ops", URL: "https://ops.example", Events: []string{"status_changed"},
			StatusChanged: config.HookStatusRule{Statuses: []string{"waiting"}}}}
	})
	res := e.request(t, "req1@customer.example")
	before := len(e.hooks(t))
	answer := e.mail(t, agent, res.Ticket, "a1@example.com", "We are on it.", true)
	if st := e.ticket(t, res.Ticket).Status; st != "waiting" {
		t.Fatalf("status %q after the answer, want waiting", st)
	}
	items := e.hooks(t)
	if before != 0 || len(items) != 1 || items[0].Kind != store.EvStatusChanged || items[0].Vars.Status != "waiting" || items[0].Vars.OldStatus != "new" {
		t.Fatalf("deliveries %+v (before the answer: %d)", items, before)
	}
	for _, ev := range only(e.events(t, res.Ticket), store.EvQueued) {
		if ev.Template == "internal/status_changed" || ev.Template == "customer/customer_visible_status_changed" {
			t.Errorf("the implied status change was mailed: %+v (answer queued %d)", ev, answer.Queued)
		}
	}
}

// TestRefusedChangeQueuesNoPush: a change that is refused (an assignment
// to someone who is not staff) rolls back with its deliveries.
func TestRefusedChangeQueuesNoPush(t *testing.T) {
	e := newTestEngine(t, func(p *config.Project) {
		p.Webhooks = []config.Webhook{{Name: "phone", URL: "https://ntfy.example/x", Format: "ntfy", To: []string{"assignee"}}}
	})
	woken := 0
	e.HookQueued = func() { woken++ }
	res := e.request(t, "req1@customer.example")
	if _, err := e.Assign(context.Background(), res.Ticket, customer, agent); err == nil {
		t.Fatal("assigning a customer succeeded")
	}
	if items := e.hooks(t); len(items) != 0 || woken != 0 || len(only(e.events(t, res.Ticket), store.EvWebhookQueued)) != 0 {
		t.Errorf("a refused change pushed: %d deliveries, woken %d times", len(items), woken)
	}
}
