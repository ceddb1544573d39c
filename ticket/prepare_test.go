package ticket_test

import (
	"context"
	"testing"

	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// TestChangeBetweenPrepareAndCommitPreparesAgain: a mail is prepared
// against a snapshot in which its sender may not write into [ACME-1], so
// it would open a new ticket; before its commit an agent adds the sender
// as a participant. The commit sees the ticket changed, the mail is
// prepared again and threads into ACME-1 as the participant's comment —
// what a serial run would have done.
func TestChangeBetweenPrepareAndCommitPreparesAgain(t *testing.T) {
	e := newTestEngine(t)
	res := e.request(t, "req1@customer.example")
	const dana = "dana@customer.example"
	var attempts []int
	ticket.SetPrepared(e.Engine, func(attempt int) {
		attempts = append(attempts, attempt)
		if attempt == 1 {
			if _, err := e.AddParticipant(context.Background(), res.Ticket, dana, agent); err != nil {
				t.Error(err)
			}
		}
	})
	got, err := e.Ingest(context.Background(), &ticket.Mail{Project: "ACME", Source: "smtp", From: dana, SenderProven: true,
		Subject: "Re: [ACME-1] Printer on fire", MessageID: "dana1@customer.example", Text: "Mine too.", Raw: "hash-dana1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(attempts) != 2 {
		t.Errorf("prepared %d times (%v), want 2", len(attempts), attempts)
	}
	if got.Ticket != res.Ticket || got.ThreadedBy != ticket.BySubjectToken || got.Created {
		t.Fatalf("result %+v, want a comment on %s by the subject token", got, res.Ticket)
	}
	tk := e.ticket(t, res.Ticket)
	if tk.Messages != 2 || len(tk.Participants) != 1 || tk.Participants[0].Address != dana {
		t.Errorf("ticket: %d messages, participants %+v", tk.Messages, tk.Participants)
	}
	var msg *store.Message
	e.st.View(func(tx store.Tx) error { msg, _ = tx.Message(got.Message); return nil })
	if msg == nil || msg.Held != "" || msg.Internal || msg.Kind != "comment" {
		t.Errorf("the participant's comment was stored as %+v", msg)
	}
	if n := e.lastNumber(t); n != 1 {
		t.Errorf("%d tickets, want 1 (no ticket opened by the stale preparation)", n)
	}
}

// TestReferenceStoredBetweenPrepareAndCommit: a reply names a Message-ID
// not yet in the index when it is prepared (it would open a ticket); the
// message with that ID is stored before the reply's commit, which then
// finds the index changed: prepared again, the reply threads by
// references.
func TestReferenceStoredBetweenPrepareAndCommit(t *testing.T) {
	e := newTestEngine(t)
	var parent *ticket.Result
	prepares := 0
	ticket.SetPrepared(e.Engine, func(int) {
		// The parent's own Ingest calls this too.
		if prepares++; prepares == 1 {
			parent = e.request(t, "parent@customer.example")
		}
	})
	got, err := e.Ingest(context.Background(), &ticket.Mail{Project: "ACME", Source: "smtp", From: customer, SenderProven: true,
		Subject: "Re: Printer on fire", MessageID: "child@customer.example", InReplyTo: []string{"parent@customer.example"},
		Text: "And smoke.", Raw: "hash-child"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Ticket != parent.Ticket || got.ThreadedBy != ticket.ByReferences || got.Created {
		t.Fatalf("reply %+v, want threaded into %s by references", got, parent.Ticket)
	}
	if n := e.lastNumber(t); n != 1 {
		t.Errorf("%d tickets, want 1", n)
	}
	// The reply: prepared, stale, prepared again; the parent: once.
	if prepares != 3 {
		t.Errorf("%d prepares, want 3", prepares)
	}
}

// TestPreparedAgainBounded: when the ticket changes after every prepare,
// Ingest gives up on snapshots after MaxPrepares and prepares under the
// writer, where nothing can change: the mail is stored once, correctly.
func TestPreparedAgainBounded(t *testing.T) {
	e := newTestEngine(t)
	res := e.request(t, "req1@customer.example")
	calls := 0
	ticket.SetPrepared(e.Engine, func(attempt int) {
		calls++
		if _, err := e.Comment(context.Background(), res.Ticket, agent, "note "+string(rune('a'+attempt)), true); err != nil {
			t.Error(err)
		}
	})
	got, err := e.Ingest(context.Background(), &ticket.Mail{Project: "ACME", Source: "smtp", From: customer, SenderProven: true,
		Subject: "Re: [ACME-1] Printer on fire", MessageID: "req2@customer.example", Text: "Still burning.", Raw: "hash-req2"})
	if err != nil {
		t.Fatal(err)
	}
	if calls != ticket.MaxPrepares {
		t.Errorf("prepared against a snapshot %d times, want %d", calls, ticket.MaxPrepares)
	}
	if got.Ticket != res.Ticket || got.Created {
		t.Fatalf("result %+v", got)
	}
	if tk := e.ticket(t, res.Ticket); tk.Messages != 2+ticket.MaxPrepares {
		t.Errorf("%d messages on the ticket, want the request, %d notes and the reply", tk.Messages, ticket.MaxPrepares)
	}
	// The same mail again is a duplicate, found at prepare.
	again, err := e.Ingest(context.Background(), &ticket.Mail{Project: "ACME", Source: "smtp", From: customer,
		Subject: "Re: [ACME-1] Printer on fire", MessageID: "req2@customer.example", Text: "Still burning.", Raw: "hash-req2"})
	if err != nil || !again.Duplicate || again.Message != got.Message {
		t.Errorf("again: %+v, %v", again, err)
	}
}
