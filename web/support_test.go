package web_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/web"
)

// TestAgentAnswersLookLikeSupport: an agent's answer reads as support's
// on the customer page however it was sent — by mail (stored inbound from
// the agent's address), from the desk or the CLI (stored outbound) — set
// apart like the project's messages and signed "Name via Project"; a
// customer's message keeps the customer's name and look.
func TestAgentAnswersLookLikeSupport(t *testing.T) {
	f := newFixture(t, web.Options{
		ProjectName: func(string) string { return "Acme Support" },
		IsStaff:     func(project, addr string) bool { return project == "ACME" && addr == "alice@example.com" },
	}, func(tx store.Tx) error {
		tk, err := tx.Ticket("ACME-1")
		if err != nil {
			return err
		}
		return addTicket(tx, tk, []store.Message{{Direction: "in", Kind: "comment", From: "alice@example.com", FromName: "Alice Agent",
			Text: "Answered by mail from my own client.", Received: t0.Add(-time.Hour)}})
	})
	_, page := f.get(t, "/t/"+tokValid)
	articles := regexp.MustCompile(`(?s)<article class="message([^"]*)">(.*?)</article>`).FindAllStringSubmatch(page, -1)
	var byMail, byDesk, customer bool
	for _, a := range articles {
		class, body := a[1], a[2]
		switch {
		case strings.Contains(body, "Thanks, the fire is out"):
			// quotes the agent's answer; not the answer itself
		case strings.Contains(body, "Answered by mail"):
			byMail = strings.Contains(class, "ours") && strings.Contains(body, "Alice Agent via Acme Support")
		case strings.Contains(body, "We have sent a technician"):
			byDesk = strings.Contains(class, "ours") && strings.Contains(body, "Alice Agent via Acme Support")
		case strings.Contains(body, "My printer is on fire"):
			customer = !strings.Contains(class, "ours") && strings.Contains(body, "Carl Customer") && !strings.Contains(body, " via ")
		}
	}
	if !byMail || !byDesk || !customer {
		t.Fatalf("agent by mail styled as support %v, from the desk %v, customer as customer %v\n%s", byMail, byDesk, customer, page)
	}
}
