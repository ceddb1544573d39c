package daemon

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

var closeFormRE = regexp.MustCompile(`action="([^"]+/close)">\s*<input type="hidden" name="csrf" value="([^"]+)"`)

// TestCustomerCloseGoesByCategory: a project that calls its closed
// status "done" (and has no status named "closed") — the customer
// presses "close" on the ticket page, through the real web handler, and
// the request ends in "done", recorded as a typed status change from the
// page. The page then offers no close button; the one-click mute is
// recorded the same way.
func TestCustomerCloseGoesByCategory(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := benchConfig(t.TempDir(), sink)
	c.Projects[0].Statuses = []config.StatusDef{
		{Name: "new", Category: config.CatNew},
		{Name: "working", Category: config.CatOpen},
		{Name: "waiting", Category: config.CatPending},
		{Name: "solved", Category: config.CatResolved},
		{Name: "done", Category: config.CatClosed},
	}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	d := start(t, c)
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		msg("carl@customer.example", "acme@support.example.com", "Printer", "close1@customer.example", "it is on fire"))
	ar := to(waitMessages(t, sink, 2), "carl@customer.example")
	if len(ar) != 1 {
		t.Fatalf("%d mails to the customer, want the auto-reply", len(ar))
	}
	m := linkRE.FindStringSubmatch(textBody(t, ar[0]))
	if m == nil {
		t.Fatal("no link in the auto-reply")
	}
	base := "http://" + d.Addr("web")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := func() string {
		resp, err := http.Get(base + m[1])
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	form := closeFormRE.FindStringSubmatch(page())
	if form == nil {
		t.Fatal("the page of a new request offers no close form")
	}
	resp, err := noRedirect.PostForm(base+form[1], url.Values{"csrf": {form[2]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("close answered %d, want 303", resp.StatusCode)
	}
	tk, _ := ticketOf(t, d, "ACME-1")
	if tk.Status != "done" || tk.Closed.IsZero() {
		t.Fatalf("after the customer's close: status %q closed %v, want done", tk.Status, tk.Closed)
	}
	if !hasEvent(events(t, d, "ACME-1"), store.EvStatusChanged, func(e *store.Event) bool {
		return e.OldStatus == "new" && e.NewStatus == "done" && e.Actor == "carl@customer.example" && e.Source == "web"
	}) {
		t.Errorf("no typed status change new → done from the page: %+v", events(t, d, "ACME-1"))
	}
	if strings.Contains(page(), "/close\"") {
		t.Error("a closed request still offers the close button")
	}

	resp, err = noRedirect.PostForm(base+m[1]+"/mute", url.Values{"List-Unsubscribe": {"One-Click"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click mute answered %d", resp.StatusCode)
	}
	tk, _ = ticketOf(t, d, "ACME-1")
	if len(tk.Muted) != 1 || tk.Muted[0] != "carl@customer.example" {
		t.Errorf("muted: %v", tk.Muted)
	}
	if !hasEvent(events(t, d, "ACME-1"), store.EvMuted, func(e *store.Event) bool {
		return e.Actor == "carl@customer.example" && len(e.Addresses) == 1
	}) {
		t.Error("no muted event")
	}
}
