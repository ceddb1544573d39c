package daemon

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// TestOfferAndRatingPagesInBrowser drives a real Chromium (issue 18):
// opening an offer link takes nothing; pressing "Take it" takes the
// ticket; the other agent's page then says who took it. The resolved
// mail's rating link opens with its score selected; the button records
// it; once the ticket closed the page says so.
func TestOfferAndRatingPagesInBrowser(t *testing.T) {
	ctx := browser(t)
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := offerConfig(t, sink)
	c.Projects[0].Ratings.Enabled = true
	d := startAt(t, c, nil)
	web := "http://" + d.Addr("web")
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Printer on fire", "r1@customer.example", "It is on fire."))
	bobLink := offerLinkRE.FindStringSubmatch(textBody(t, waitMailTo(t, sink, bob, "is offered to you")))[1]
	aliceLink := offerLinkRE.FindStringSubmatch(textBody(t, waitMailTo(t, sink, alice, "is offered to you")))[1]

	err := chromedp.Do(ctx,
		chromedp.Navigate(web+bobLink),
		chromedp.WaitVisible(chromedp.ID("take")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if tk, _ := ticketOf(t, d, "ACME-1"); tk.Assignee != "" {
		t.Fatalf("opening the offer page assigned %s", tk.Assignee)
	}
	if a := offerOf(t, d, "ACME-1").Agent(bob); !a.Seen.IsZero() {
		t.Fatal("opening the offer page counted as seen")
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("take")),
		chromedp.WaitVisible(chromedp.ID("offer-state")),
	)
	if err != nil {
		t.Fatal(err)
	}
	state := must(chromedp.Run(ctx, chromedp.Text(chromedp.ID("offer-state"))))(t)
	if !strings.Contains(state, "You took this request") {
		t.Fatalf("after Take it: %q", state)
	}
	tk, _ := ticketOf(t, d, "ACME-1")
	if tk.Assignee != bob || tk.Status != "assigned" {
		t.Fatalf("after Take it: assignee %q status %q", tk.Assignee, tk.Status)
	}
	if !hasEvent(events(t, d, "ACME-1"), store.EvOfferTaken, func(e *store.Event) bool { return e.Actor == bob && e.Source == "web" }) {
		t.Error("the take is not recorded as from the page")
	}
	waitMailTo(t, sink, alice, "was taken by "+bob)
	if err := chromedp.Do(ctx, chromedp.Navigate(web+aliceLink), chromedp.WaitVisible(chromedp.ID("offer-state"))); err != nil {
		t.Fatal(err)
	}
	state = must(chromedp.Run(ctx, chromedp.Text(chromedp.ID("offer-state"))))(t)
	buttons := must(chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('button').length`)))(t)
	if !strings.Contains(state, "Already taken by "+bob) || buttons != 0 {
		t.Fatalf("alice's page after bob took it: %q, %d buttons", state, buttons)
	}

	// Bob resolves it; carl rates from the link for 4.
	mustSend(t, d.Addr("smtp"), bob, []string{acmeAddr}, msg(bob, acmeAddr, "Re: [ACME-1] Printer on fire", "b1@example.com", "#resolve\r\n", proof))
	m := ratingLinkRE.FindAllStringSubmatch(textBody(t, waitMailTo(t, sink, carl, "has been resolved")), -1)
	var four string
	for _, l := range m {
		if l[2] == "4" {
			four = l[1] + "?s=4"
		}
	}
	if four == "" {
		t.Fatalf("no link for 4 in %v", m)
	}
	err = chromedp.Do(ctx, chromedp.Navigate(web+four), chromedp.WaitVisible(chromedp.ID("rate")))
	if err != nil {
		t.Fatal(err)
	}
	checked := must(chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('input[name=score]:checked').value`)))(t)
	if checked != "4" {
		t.Fatalf("score pre-selected: %q, want 4", checked)
	}
	if r := ratingOf(t, d, "ACME-1", carl); r != nil {
		t.Fatalf("opening the rating page recorded %+v", r)
	}
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("comment"), "Fast and friendly."),
		chromedp.Click(chromedp.ID("rate")),
		chromedp.WaitVisible(chromedp.ID("rating-done")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if r := ratingOf(t, d, "ACME-1", carl); r == nil || r.Score != 4 || r.Comment != "Fast and friendly." {
		t.Fatalf("rating from the page: %+v", r)
	}
	// Without close_after_rating it stays resolved and the rating may
	// change: the page offers the form with the rating given.
	again := must(chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('input[name=score]:checked').value + "|" + document.getElementById('comment').value`)))(t)
	if again != "4|Fast and friendly." {
		t.Errorf("the page after rating shows %q", again)
	}
	if _, err := d.engine.SetStatus(ctx, "ACME-1", "closed", bob); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx, chromedp.Navigate(web+four), chromedp.WaitVisible(chromedp.ID("rating-closed")))
	if err != nil {
		t.Fatal(err)
	}
	if n := must(chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('form').length`)))(t); n != 0 {
		t.Errorf("the closed request's rating page has %d forms", n)
	}
}
