package desk

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ticketgate/ticketgate/store"
)

// TestHeldMailButtonsInBrowser: in Chromium, under the desk's CSP, the
// held message's Publish and Discard buttons and a participant's Remove
// button do what they say; the page that answers shows the outcome.
func TestHeldMailButtonsInBrowser(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t)
	if _, err := e.eng.AddParticipant(context.Background(), "ACME-1", "dana@customer.example", "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	e.mail("eve@stranger.example", "ACME-1", "ACME@customer.example", "eve1@stranger.example", "Same here.", true)
	first := e.lastHeld("ACME-1")
	e.mail("eve@stranger.example", "ACME-1", "ACME@customer.example", "eve2@stranger.example", "Cheap watches.", true)
	second := e.lastHeld("ACME-1")

	secret := newSecret()
	now := e.clock()
	if err := e.db.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutSession(&store.Session{Hash: hashOf(secret), Agent: "alice@example.com", Created: now, LastSeen: now, Via: "mail"})
	}); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(e.srv.URL, "http://")
	yes := true
	done := chromedp.WaitVisible(chromedp.CSS("body:not([data-old]) .notice"))
	mark := chromedp.Evaluate[bool](`document.body.dataset.old = "1"; true`)
	err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: sessionCookie, Value: secret, Domain: strings.Split(host, ":")[0], Path: "/", HTTPOnly: &yes})
			return err
		}),
		chromedp.Navigate(e.srv.URL+"/desk/t/ACME-1"),
		chromedp.WaitVisible(chromedp.ID(fmt.Sprintf("publish-%d", first.ID))),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{fmt.Sprintf("publish-%d", first.ID), fmt.Sprintf("discard-%d", second.ID)} {
		if _, err := chromedp.Run(ctx, mark); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID(id)), done); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	if _, err := chromedp.Run(ctx, mark); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`span.participant button`)), done); err != nil {
		t.Fatalf("remove participant: %v", err)
	}
	tk, msgs := e.ticket("ACME-1")
	byID := map[uint64]*store.Message{}
	for _, m := range msgs {
		byID[m.ID] = m
	}
	if m := byID[first.ID]; m.Held != "" || m.Internal {
		t.Errorf("the published message: %+v", m)
	}
	if m := byID[second.ID]; !m.Discarded || !m.Internal {
		t.Errorf("the discarded message: %+v", m)
	}
	if len(tk.Participants) != 0 {
		t.Errorf("participants after the removal: %v", tk.Participants)
	}
	page := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("section"))))(t)
	left := must(chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('span.participant').length`)))(t)
	if !strings.Contains(page, "discarded") || left != 0 {
		t.Errorf("the page after the actions (%d participants shown):\n%s", left, page)
	}
}
