package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// deskShowcase readies the daemon of TestDeskInBrowser for the docs'
// screenshots (issue 22): ACME gets request types and response targets,
// two typed requests arrive by mail (one answered by alice, one waiting
// for its first response), and a month of earlier tickets — with their
// clocks and ratings, as the domain stores them — fills the dashboard.
// It returns the key of the answered request.
func deskShowcase(t *testing.T, d *Daemon, sink *mailouttest.Sink) string {
	t.Helper()
	cfg := testConfig(t, d.Config().DataDir, sink)
	acme := &cfg.Projects[0]
	acme.Admins = []string{"adam@example.com"}
	acme.RequestTypes = []config.RequestType{
		{Name: "billing", Match: config.RequestTypeMatch{Keywords: []string{"invoice", "refund"}}},
		{Name: "outage", Match: config.RequestTypeMatch{Keywords: []string{"down", "outage"}}, Priority: "high"},
	}
	acme.Targets = &config.Targets{FirstResponse: map[string]time.Duration{"normal": 4 * time.Hour, "high": time.Hour},
		Resolution: map[string]time.Duration{"normal": 30 * time.Hour, "high": 10 * time.Hour}}
	if err := cfg.Finalize(); err != nil {
		t.Fatal(err)
	}
	d.Reload(cfg)

	// Earlier tickets, spread over the last 30 days: most resolved (and
	// rated), some waiting for the customer, the latest still open.
	now := time.Now().UTC()
	people := []string{"alice@example.com", "adam@example.com", ""}
	subjects := []string{"Cannot log in", "Export to CSV fails", "Invoice address wrong", "Password reset mail missing",
		"Refund for order 4711", "API returns 500", "Add a second admin", "Shop down for EU customers", "Change of plan", "Slow search"}
	types := []string{"", "", "billing", "", "billing", "outage", "", "outage", "billing", ""}
	const total = 42
	err := d.Store().Update(context.Background(), func(tx store.Tx) error {
		for i := range total {
			n, err := tx.NextTicketNumber("ACME")
			if err != nil {
				return err
			}
			created := now.Add(-time.Duration(29-i*29/total)*24*time.Hour - time.Duration(i*7%11)*time.Hour)
			answer := time.Duration(1+i*5%9) * time.Hour / 2
			tk := &store.Ticket{Key: store.TicketKey("ACME", n), Project: "ACME", Number: n, Subject: subjects[i%len(subjects)], Type: types[i%len(types)],
				Reporter: fmt.Sprintf("customer%d@customer.example", i), Priority: "normal", Assignee: people[(i/2)%3],
				Created: created, Updated: created.Add(answer), Status: "open"}
			tk.FirstResponse = &store.Clock{Budget: 4 * time.Hour, Done: created.Add(answer), Took: answer}
			if answer > 4*time.Hour {
				tk.FirstResponse.Breached = created.Add(4 * time.Hour)
			}
			switch {
			case i < total-8 && i%7 != 6:
				took := time.Duration(3+i*7%40) * time.Hour
				done := created.Add(took)
				if done.After(now) {
					done = now.Add(-time.Hour)
				}
				tk.Status, tk.Resolved, tk.Updated = "resolved", done, done
				tk.Resolution = &store.Clock{Budget: 30 * time.Hour, Done: done, Took: took}
				if took > 30*time.Hour {
					tk.Resolution.Breached = created.Add(30 * time.Hour)
				}
				if i%5 != 0 {
					r := &store.Rating{Project: "ACME", Ticket: tk.Key, Customer: tk.Reporter, Score: []int{5, 4, 5, 3, 5, 4, 2}[i%7], Scale: 5, Created: done.Add(time.Hour), Updated: done.Add(time.Hour)}
					if err := tx.PutRating(r); err != nil {
						return err
					}
				}
			case i < total-8:
				tk.Status = "waiting_for_customer"
				tk.Resolution = &store.Clock{Budget: 30 * time.Hour, Used: 5 * time.Hour}
			default:
				// Business hours paused the clocks over nights and
				// weekends: most are due in the coming hours, one is
				// overdue.
				tk.Status = []string{"open", "in_progress", "assigned"}[i%3]
				due := now.Add(time.Duration(i%5*7-3) * time.Hour)
				tk.Resolution = &store.Clock{Budget: 30 * time.Hour, Since: now.Add(-2 * time.Hour), Due: due}
				if due.Before(now) {
					tk.Resolution.Breached = due
				}
			}
			if err := tx.PutTicket(tk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Two typed requests by mail; alice answers the outage.
	mustSend(t, d.Addr("smtp"), "erin@customer.example", []string{"acme@support.example.com"},
		"From: Erin <erin@customer.example>\r\nTo: acme@support.example.com\r\nSubject: Shop is down for our customers\r\nMessage-ID: <down1@customer.example>\r\n\r\nSince 9:00 the shop answers 502 for every customer in Austria. Please hurry.\r\n")
	settle(t, d, sink)
	mustSend(t, d.Addr("smtp"), "frank@customer.example", []string{"acme@support.example.com"},
		"From: Frank <frank@customer.example>\r\nTo: acme@support.example.com\r\nSubject: Refund for the double invoice\r\nMessage-ID: <refund1@customer.example>\r\n\r\nWe were charged twice in November. Could you refund one of them?\r\n")
	settle(t, d, sink)
	var outage string
	err = d.Store().View(func(tx store.Tx) error {
		return tx.ForEachTicket("ACME", func(tk *store.Ticket) bool {
			if tk.Type == "outage" {
				outage = tk.Key
			}
			return true
		})
	})
	if err != nil || outage == "" {
		t.Fatalf("the outage request has no ticket of its type (%v)", err)
	}
	if _, err := d.engine.Comment(context.Background(), outage, "alice@example.com", "We are on it: one of the EU nodes lost its certificate. Expect it back within the hour.", false); err != nil {
		t.Fatal(err)
	}
	if _, err := d.engine.Comment(context.Background(), outage, "alice@example.com", "Renewal failed because the DNS challenge hit the old zone. Fixed by hand; ticket for the automation follows.", true); err != nil {
		t.Fatal(err)
	}
	// Back at work on it: the resolution clock runs again.
	if _, err := d.engine.Assign(context.Background(), outage, "alice@example.com", "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.engine.SetStatus(context.Background(), outage, "in_progress", "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	settle(t, d, sink)
	return outage
}

// deskScreenshots writes the queue, a ticket page and the dashboard at
// desktop and phone width into dir
// (TICKETGATE_SCREENSHOTS=$PWD/docs go test -run TestDeskInBrowser ./daemon/).
func deskScreenshots(t *testing.T, ctx context.Context, d *Daemon, web, dir string) {
	// The showcase's mail goes to a sink of its own (the browser test
	// reads the outbound maildir).
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	key := deskShowcase(t, d, sink)
	for _, s := range []struct {
		name, path string
		w, h       int64
	}{
		{"desk-queue-desktop.png", "/desk/?view=open&sort=due", 1280, 900}, {"desk-queue-phone.png", "/desk/?view=open&sort=due", 390, 844},
		{"desk-ticket-desktop.png", "/desk/t/" + key, 1280, 900}, {"desk-ticket-phone.png", "/desk/t/" + key, 390, 844},
		{"desk-dashboard-desktop.png", "/desk/dashboard", 1280, 900}, {"desk-dashboard-phone.png", "/desk/dashboard", 390, 844},
	} {
		err := chromedp.Do(ctx, chromedp.EmulateViewport(s.w, s.h), chromedp.Navigate(web+s.path), chromedp.WaitVisible(chromedp.CSS("h1")))
		if err != nil {
			t.Fatal(err)
		}
		png := must(chromedp.Run(ctx, chromedp.FullScreenshot(100)))(t)
		if err := os.WriteFile(filepath.Join(dir, s.name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
