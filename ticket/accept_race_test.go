package ticket_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/internal/pgtest"
	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/postgres"
	"github.com/ticketgate/ticketgate/templates"
	"github.com/ticketgate/ticketgate/ticket"
)

// TestAcceptRace: a draft accepted four ways at once — two agents'
// #accept mails, `ticketgate accept`, and the customer's reply with a
// valid key — becomes exactly one ticket, whoever wins; every losing
// mail is threaded into that ticket (never a ticket of its own), a
// losing #accept is answered "already accepted as ACME-n", and a losing
// `ticketgate accept` is refused saying the same. On bbolt and on
// PostgreSQL, several rounds so that different acceptances win.
func TestAcceptRace(t *testing.T) {
	backends := []struct {
		name string
		open func(t *testing.T) store.DB
	}{
		{"bbolt", func(t *testing.T) store.DB {
			db, err := store.Open(t.TempDir(), store.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			return db
		}},
		{"postgres", func(t *testing.T) store.DB {
			srv := pgtest.Start(t)
			db, err := postgres.Open(context.Background(), srv.Database(t, "accept"), t.TempDir(), postgres.Options{MaxConns: 8})
			if err != nil {
				t.Fatal(err)
			}
			return db
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			t.Cleanup(func() { db.Close() })
			acceptRace(t, db)
		})
	}
}

func acceptRace(t *testing.T, db store.DB) {
	const dave = "dave@example.com"
	keys := filepath.Join(t.TempDir(), "keys.csv")
	if err := os.WriteFile(keys, []byte("OX-1111-AAAAAA,customer.example,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	c.DataDir = t.TempDir()
	c.Web.BaseURL = "http://ticketgate.test"
	c.Limits.AutoPerRecipient.Count = 1 << 20
	c.Limits.NewTicketsPerSender.Count = 1 << 20
	c.Projects = []config.Project{{Key: "ACME", Name: "Acme Support", Address: "acme@support.example.com", Agents: []string{agent, dave},
		Notifications: config.DefaultNotifications(), OpenTo: config.OpenToKey,
		SupportKeys: config.SupportKeys{File: keys, Pattern: `OX-[0-9]{4}-[A-Z0-9]{6}`}}}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	cfg := func() *config.Config { return c }
	tmpl := templates.New("")
	now := func() time.Time { return t0 }
	log := slog.New(slog.DiscardHandler)
	e := ticket.NewEngine(db, cfg, notify.New(cfg, func() *templates.Set { return tmpl }, now, log), now, log)
	ctx := context.Background()

	tickets := func() []string {
		var out []string
		if err := db.View(func(tx store.Tx) error {
			return tx.ForEachTicket("ACME", func(tk *store.Ticket) bool { out = append(out, tk.Key); return true })
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	winners := map[string]int{}
	const rounds = 6
	for round := range rounds {
		cust := fmt.Sprintf("carl%d@customer.example", round)
		res, err := e.Ingest(ctx, &ticket.Mail{Project: "ACME", Source: "smtp", From: cust, To: []string{"acme@support.example.com"},
			Subject: "Printer on fire", MessageID: fmt.Sprintf("ask%d@customer.example", round), Text: "It burns.", Raw: fmt.Sprintf("raw-ask%d", round)})
		if err != nil || res.Draft == "" {
			t.Fatalf("round %d: the stranger's mail: %+v, %v", round, res, err)
		}
		draft := res.Draft
		before := tickets()

		mails := []*ticket.Mail{
			{Project: "ACME", Source: "smtp", From: agent, SenderProven: true, To: []string{"acme@support.example.com"}, Subject: "[" + draft + "] Printer on fire",
				MessageID: fmt.Sprintf("alice%d@example.com", round), Text: "#accept\nWe are on it.", Raw: fmt.Sprintf("raw-alice%d", round)},
			{Project: "ACME", Source: "smtp", From: dave, SenderProven: true, To: []string{"acme@support.example.com"}, Subject: "[" + draft + "] Printer on fire",
				MessageID: fmt.Sprintf("dave%d@example.com", round), Text: "#accept", Raw: fmt.Sprintf("raw-dave%d", round)},
			{Project: "ACME", Source: "smtp", From: cust, To: []string{"acme@support.example.com"}, Subject: "Re: [" + draft + "] Printer on fire",
				MessageID: fmt.Sprintf("key%d@customer.example", round), Text: "My key is OX-1111-AAAAAA.", Raw: fmt.Sprintf("raw-key%d", round)},
		}
		results := make([]*ticket.Result, len(mails))
		errs := make([]error, len(mails)+1)
		var cliTicket string
		// All four start together; in every second and third round one
		// of them (alice's #accept, the customer's key) is let through
		// first, so that each way of accepting also wins on a store that
		// serialises its writers (bbolt).
		start := make(chan struct{})
		done := make([]chan struct{}, len(mails)+1)
		for i := range done {
			done[i] = make(chan struct{})
		}
		first := -1
		switch round % 3 {
		case 1:
			first = 0
		case 2:
			first = 2
		}
		wait := func(i int) {
			<-start
			if first >= 0 && i != first {
				<-done[first]
			}
		}
		var wg sync.WaitGroup
		for i, m := range mails {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(done[i])
				wait(i)
				results[i], errs[i] = e.Ingest(ctx, m)
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[len(mails)])
			wait(len(mails))
			cliTicket, _, errs[len(mails)] = e.AcceptDraft(ctx, draft, agent)
		}()
		close(start)
		wg.Wait()

		after := tickets()
		if len(after) != len(before)+1 {
			t.Fatalf("round %d: %d tickets opened by four acceptances of %s, want 1 (%v → %v)", round, len(after)-len(before), draft, before, after)
		}
		tk := after[len(after)-1]
		var as string
		if err := db.View(func(tx store.Tx) error {
			var err error
			as, err = tx.DraftAcceptedAs(draft)
			if err == nil {
				if _, derr := tx.Draft(draft); !errors.Is(derr, store.ErrNotFound) {
					err = fmt.Errorf("the draft is still open: %v", derr)
				}
			}
			return err
		}); err != nil || as != tk {
			t.Fatalf("round %d: %s accepted as %q (%v), the new ticket is %s", round, draft, as, err, tk)
		}
		for i, err := range errs[:len(mails)] {
			if err != nil {
				t.Fatalf("round %d: mail %d: %v", round, i, err)
			}
			if results[i].Ticket != tk || results[i].Draft != "" {
				t.Errorf("round %d: mail from %s went to %q (draft %q), want %s", round, mails[i].From, results[i].Ticket, results[i].Draft, tk)
			}
		}
		var refusal *ticket.RefusedError
		switch err := errs[len(mails)]; {
		case err == nil:
			winners["ticketgate accept"]++
			if cliTicket != tk {
				t.Errorf("round %d: ticketgate accept answered %s, the ticket is %s", round, cliTicket, tk)
			}
		case errors.As(err, &refusal):
			if want := draft + " was already accepted as " + tk; refusal.Reason != want {
				t.Errorf("round %d: ticketgate accept lost with %q, want %q", round, refusal.Reason, want)
			}
		default:
			t.Fatalf("round %d: ticketgate accept: %v", round, err)
		}

		// The history: one acceptance; every mail on the ticket once; a
		// losing #accept told which ticket the draft became.
		var evs []*store.Event
		var msgs []*store.Message
		if err := db.View(func(tx store.Tx) error {
			var err error
			if evs, err = tx.Events(tk); err != nil {
				return err
			}
			msgs, err = tx.TicketMessages(tk)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		accepted := 0
		answers := map[string][]string{}
		for _, ev := range evs {
			switch ev.Kind {
			case store.EvDraftAccepted:
				accepted++
			case store.EvCommandsAnswered:
				answers[ev.Actor] = append(answers[ev.Actor], ev.Lines...)
			}
		}
		if accepted != 1 {
			t.Errorf("round %d: %d draft_accepted events on %s, want 1", round, accepted, tk)
		}
		ids := map[string]int{}
		for _, m := range msgs {
			ids[m.MessageID]++
		}
		for _, id := range append([]string{fmt.Sprintf("ask%d@customer.example", round)}, mails[0].MessageID, mails[1].MessageID, mails[2].MessageID) {
			if ids[id] != 1 {
				t.Errorf("round %d: message %s is %d times on %s, want once", round, id, ids[id], tk)
			}
		}
		// Exactly one acceptance won: a #accept mail not told it lost, the
		// CLI without a refusal, or the customer's key.
		won := 0
		if errs[len(mails)] == nil {
			won++
		}
		for _, ev := range evs {
			if ev.Kind == store.EvDraftAccepted && strings.HasPrefix(ev.Reason, "the sender sent a valid support key") {
				won++
				winners["the customer's key"]++
			}
		}
		for _, who := range []string{agent, dave} {
			told := false
			for _, l := range answers[who] {
				if strings.Contains(l, "#accept") && strings.Contains(l, draft+" was already accepted as "+tk) {
					told = true
				}
			}
			if !told {
				won++
				winners["#accept of "+who]++
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d acceptances won, want 1 (answers %q)", round, won, answers)
		}
	}
	t.Logf("winners over %d rounds: %v", rounds, winners)
}
