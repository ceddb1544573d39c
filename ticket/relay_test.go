package ticket

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// TestRelayComment checks the relay rules on a real store: who is related
// to the author, and the per-sender budget across tickets.
func TestRelayComment(t *testing.T) {
	s, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := config.Default()
	cfg.Projects = []config.Project{{Key: "ACME", Address: "acme@support.example.com", Agents: []string{"alice@example.com"}}}
	cfg.Limits.RelayPerTicket = config.Rate{Count: 100, Per: time.Hour}
	cfg.Limits.RelayPerSender = config.Rate{Count: 5, Per: 24 * time.Hour}
	if err := cfg.Finalize(); err != nil {
		t.Fatal(err)
	}
	p := cfg.Project("ACME")
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	author := "mallory@attacker.example"
	ticketFor := func(n int) *store.Ticket {
		return &store.Ticket{Key: "ACME-" + string(rune('0'+n)), Project: "ACME", Reporter: "carl@customer.example", Participants: []store.Participant{
			{Address: author, Via: "cc"},
			{Address: "m2@attacker.example", Via: "cc"},            // the author's domain
			{Address: "boss@partner.example", Via: "cc"},           // the author's organization
			{Address: "dana@elsewhere.example", Via: "cc"},         // nothing in common
			{Address: "erin@elsewhere.example", ByAgent: true},     // an agent added her
			{Address: "old@elsewhere.example", Via: "agent alice"}, // stored before ByAgent
			{Address: "muted@attacker.example", Via: "cc"},
		}, Muted: []string{"muted@attacker.example"}}
	}
	var first, second relay
	err = s.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.PutOrganization(&store.Organization{Project: "ACME", Name: "Partner", Members: []string{author, "boss@partner.example"}}); err != nil {
			return err
		}
		msg := &store.Message{}
		if first, err = relayComment(tx, cfg, p, ticketFor(1), msg, author, []string{"carl@customer.example"}, now); err != nil {
			return err
		}
		second, err = relayComment(tx, cfg, p, ticketFor(2), msg, author, nil, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// carl got the mail directly (To/Cc): no copy, not counted.
	if want := []string{"m2@attacker.example", "boss@partner.example", "erin@elsewhere.example", "old@elsewhere.example"}; !slices.Equal(first.to, want) {
		t.Errorf("relayed to %q, want %q", first.to, want)
	}
	if !slices.Equal(first.unrelated, []string{"dana@elsewhere.example"}) || len(first.held) != 0 {
		t.Errorf("unrelated %q held %q", first.unrelated, first.held)
	}
	// Another ticket, same sender: 4 + 5 copies is past the 5 a day.
	if len(second.to) != 0 || len(second.held) != 5 || second.why == "" {
		t.Errorf("per-sender budget: to %q held %q (%s)", second.to, second.held, second.why)
	}
	// Unverified mail is held from everyone.
	err = s.Update(context.Background(), func(tx store.Tx) error {
		r, err := relayComment(tx, cfg, p, ticketFor(3), &store.Message{Unverified: true}, "x@other.example", nil, now)
		if len(r.to) != 0 || len(r.held) == 0 {
			t.Errorf("unverified: to %q held %q", r.to, r.held)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
