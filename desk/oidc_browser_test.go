package desk

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestOIDCSignInInBrowser: in Chromium, the sign-in page's provider button
// goes through the provider (whose authorization endpoint signs the agent
// in at once) and back to the desk's queue, under the desk's CSP, with the
// flow's cookie carried across the provider's redirect.
func TestOIDCSignInInBrowser(t *testing.T) {
	ctx := browser(t)
	e := newOIDCEnv(t)
	e.idp.signInAs(idpIdentity{Email: "alice@example.com", Verified: true})
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/desk/signin"),
		chromedp.WaitVisible(chromedp.ID("oidc")),
	)
	if err != nil {
		t.Fatal(err)
	}
	label := must(chromedp.Run(ctx, chromedp.Text(chromedp.ID("oidc"))))(t)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("oidc")), chromedp.WaitVisible(chromedp.CSS("table.queue"))); err != nil {
		t.Fatal(err)
	}
	who := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("header.top .who"))))(t)
	loc := must(chromedp.Run(ctx, chromedp.Location()))(t)
	if label != "Sign in with Test IdP" || !strings.Contains(who, "alice@example.com") || loc != e.srv.URL+"/desk/" {
		t.Fatalf("button %q, header %q, at %s", label, who, loc)
	}
	rows := must(chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('table.queue tbody tr').length`)))(t)
	if rows != 1 {
		t.Fatalf("%d rows in alice's queue, want her project's one ticket", rows)
	}
	if ss := e.sessions("alice@example.com"); len(ss) != 1 || ss[0].Via != "oidc" || e.idp.redeemed.Load() != 1 {
		t.Fatalf("sessions %+v, %d codes redeemed", ss, e.idp.redeemed.Load())
	}
}
