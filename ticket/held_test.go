package ticket_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// customerMail lists "template → recipient" of the mail queued on key to
// anyone but staff, after the first skip events.
func (e *testEngine) customerMail(t *testing.T, key string, skip int) []string {
	t.Helper()
	var out []string
	for _, ev := range only(e.events(t, key)[skip:], store.EvQueued) {
		if ev.Recipient != agent {
			out = append(out, ev.Template+" → "+ev.Recipient)
		}
	}
	return out
}

// heldMessage returns the last held message of key.
func (e *testEngine) heldMessage(t *testing.T, key string) *store.Message {
	t.Helper()
	var held *store.Message
	err := e.st.View(func(tx store.Tx) error {
		msgs, err := tx.TicketMessages(key)
		for _, m := range msgs {
			if m.Held != "" {
				held = m
			}
		}
		return err
	})
	if err != nil || held == nil {
		t.Fatalf("%s: no held message (%v)", key, err)
	}
	return held
}

// TestHeldMailPublish: each kind of held mail — a stranger's, an agent's
// without proof, an agent's reply quoting an internal note — published by
// the mail command "#held publish N" and by Engine.PublishHeld (the desk's
// and the CLI's way) queues the same customer mail, and becomes a public
// comment; the event names who published it and why it had been held.
func TestHeldMailPublish(t *testing.T) {
	const note = "Customer is on the legacy plan, no refund possible."
	cases := []struct {
		name string
		hold func(e *testEngine, key, ref string)
		want []string // the customer mail publishing queues
	}{
		{"stranger", func(e *testEngine, key, ref string) {
			// Naming the thread's Message-ID threads it; the sender is no
			// member of the ticket, so it is held.
			e.reply(t, "eve@stranger.example", key, ref, "s-"+key+"@stranger.example", "I have the same problem.", true)
		}, []string{"customer/public_comment_added → " + customer}},
		{"unverified agent", func(e *testEngine, key, _ string) {
			e.mail(t, agent, key, "u-"+key+"@example.com", "We replaced the toner.", false)
		}, []string{"customer/public_comment_added → " + customer}},
		{"quotes a note", func(e *testEngine, key, _ string) {
			if _, err := e.Comment(context.Background(), key, agent, note, true); err != nil {
				t.Fatal(err)
			}
			e.mail(t, agent, key, "q-"+key+"@example.com", "Sorry.\n\n"+note, true)
		}, []string{"customer/public_comment_added → " + customer}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEngine(t)
			byMail := e.request(t, "m1@customer.example").Ticket
			byDesk := e.request(t, "d1@customer.example").Ticket
			var got [2][]string
			for i, key := range []string{byMail, byDesk} {
				c.hold(e, key, []string{"m1@customer.example", "d1@customer.example"}[i])
				held := e.heldMessage(t, key)
				why := held.Held
				skip := len(e.events(t, key))
				if i == 0 {
					e.mail(t, agent, key, fmt.Sprintf("p-%s@example.com", key), fmt.Sprintf("#held publish %d", held.ID), true)
					if lines := e.answered(t, key); !hasLine(lines, "done: #held publish") {
						t.Fatalf("the mail command was answered %q", lines)
					}
				} else if _, err := e.PublishHeld(context.Background(), key, held.ID, agent); err != nil {
					t.Fatal(err)
				}
				got[i] = e.customerMail(t, key, skip)
				pub := only(e.events(t, key)[skip:], store.EvHeldPublished)
				if len(pub) != 1 || pub[0].Actor != agent || pub[0].Message != held.ID || pub[0].Reason != why {
					t.Fatalf("%s: held_published events %+v", key, pub)
				}
				m := e.heldMessage2(t, held.ID)
				if m.Held != "" || m.Internal || m.Kind != "comment" {
					t.Fatalf("%s: the published message is %+v", key, m)
				}
				// Published once: a second try is refused.
				if _, err := e.PublishHeld(context.Background(), key, held.ID, agent); !errors.Is(err, ticket.ErrRefused) {
					t.Fatalf("publishing twice: %v", err)
				}
			}
			if !slices.Equal(got[0], got[1]) || !slices.Equal(got[0], c.want) {
				t.Fatalf("customer mail by the mail command %v, by PublishHeld %v, want %v", got[0], got[1], c.want)
			}
		})
	}
}

// heldMessage2 reads message id.
func (e *testEngine) heldMessage2(t *testing.T, id uint64) *store.Message {
	t.Helper()
	var m *store.Message
	if err := e.st.View(func(tx store.Tx) (err error) { m, err = tx.Message(id); return err }); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestHeldMailDiscard: a discarded held message queues nothing for
// anybody, by mail or by Engine.DiscardHeld; it stays on the ticket as a
// discarded internal note, the event names who discarded it, and it can
// be neither published nor discarded again. Only staff may do either, and
// a message that is not held is refused.
func TestHeldMailDiscard(t *testing.T) {
	e := newTestEngine(t)
	ctx := context.Background()
	byMail := e.request(t, "m1@customer.example").Ticket
	byCall := e.request(t, "d1@customer.example").Ticket
	for i, key := range []string{byMail, byCall} {
		e.reply(t, "eve@stranger.example", key, []string{"m1@customer.example", "d1@customer.example"}[i], "s-"+key+"@stranger.example", "Buy cheap watches.", true)
		held := e.heldMessage(t, key)
		skip := len(e.events(t, key))
		if i == 0 {
			e.mail(t, agent, key, "x-"+key+"@example.com", fmt.Sprintf("#held discard %d", held.ID), true)
		} else if n, err := e.DiscardHeld(ctx, key, held.ID, agent); err != nil || n != 0 {
			t.Fatalf("DiscardHeld: %d queued, %v", n, err)
		}
		evs := e.events(t, key)[skip:]
		for _, ev := range only(evs, store.EvQueued) {
			if ev.Recipient != agent { // the mail command's answer goes to the agent
				t.Fatalf("discarding queued %s to %s", ev.Template, ev.Recipient)
			}
		}
		dis := only(evs, store.EvHeldDiscarded)
		if len(dis) != 1 || dis[0].Actor != agent || dis[0].Message != held.ID || !strings.Contains(dis[0].Reason, "eve@stranger.example") {
			t.Fatalf("held_discarded events %+v", dis)
		}
		if !strings.Contains(ticket.Describe(dis[0]), "discarded") {
			t.Errorf("history says %q", ticket.Describe(dis[0]))
		}
		if m := e.heldMessage2(t, held.ID); !m.Discarded || !m.Internal || m.Held == "" {
			t.Fatalf("the discarded message is %+v", m)
		}
		for _, try := range []func() (int, error){
			func() (int, error) { return e.PublishHeld(ctx, key, held.ID, agent) },
			func() (int, error) { return e.DiscardHeld(ctx, key, held.ID, agent) },
		} {
			if _, err := try(); !errors.Is(err, ticket.ErrRefused) {
				t.Fatalf("acting on a discarded message: %v", err)
			}
		}
	}
	first := e.heldMessage(t, byMail)
	if _, err := e.PublishHeld(ctx, byMail, first.ID, customer); !errors.Is(err, ticket.ErrRefused) {
		t.Fatalf("a customer published held mail: %v", err)
	}
	var request uint64
	e.st.View(func(tx store.Tx) error { m, _ := tx.TicketMessages(byCall); request = m[0].ID; return nil })
	if _, err := e.PublishHeld(ctx, byCall, request, agent); !errors.Is(err, ticket.ErrRefused) {
		t.Fatalf("publishing a message that is not held: %v", err)
	}
	if _, err := e.PublishHeld(ctx, byMail, request, agent); !errors.Is(err, ticket.ErrRefused) {
		t.Fatalf("publishing another ticket's message: %v", err)
	}
}
