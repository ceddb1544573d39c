package daemon

import (
	"net/http"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// TestAgentLinkRevokedOnReload: an agent removed from the project in the
// config kept reading its tickets, internal notes included, through the
// agent links in old notifications. After the reload that removes them the
// link answers 404; the remaining agent's link still works.
func TestAgentLinkRevokedOnReload(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	dir := filepath.Join(t.TempDir(), "data")
	c := benchConfig(dir, sink)
	c.Projects[0].Agents = []string{"alice@example.com", "erin@example.com"}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	d := start(t, c)
	web := "http://" + d.Addr("web")
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		withAttachments("carl@customer.example", "Printer on fire", "link1@customer.example", 1))
	msgs := waitMessages(t, sink, 3)
	linkOf := func(who string) string {
		t.Helper()
		for _, m := range to(msgs, who) {
			if l := agentLinkRE.FindStringSubmatch(textBody(t, m)); l != nil {
				return web + l[1]
			}
		}
		t.Fatalf("no agent link for %s", who)
		return ""
	}
	alice, erin := linkOf("alice@example.com"), linkOf("erin@example.com")
	for _, l := range []string{alice, erin} {
		if resp, _ := get(t, l); resp.StatusCode != http.StatusOK {
			t.Fatalf("agent link before the reload: %d", resp.StatusCode)
		}
	}
	// The attachment behind erin's link, which must close with it.
	_, page := get(t, erin)
	att := regexp.MustCompile(`href="(/a/[a-z0-9]+/att/\d+/\d+)"`).FindStringSubmatch(page)
	if att == nil {
		t.Fatalf("no attachment link on the agent page:\n%s", page)
	}
	erinAtt := web + att[1]
	if resp, _ := get(t, erinAtt); resp.StatusCode != http.StatusOK {
		t.Fatalf("agent attachment before the reload: %d", resp.StatusCode)
	}

	c2 := benchConfig(dir, sink)
	c2.Projects[0].Agents = []string{"alice@example.com"}
	if err := c2.Finalize(); err != nil {
		t.Fatal(err)
	}
	d.Reload(c2)
	if resp, page := get(t, erin); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("removed agent's link after the reload: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := get(t, erinAtt); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("removed agent's attachment link after the reload: %d", resp.StatusCode)
	}
	if resp, _ := get(t, alice); resp.StatusCode != http.StatusOK {
		t.Fatalf("remaining agent's link after the reload: %d", resp.StatusCode)
	}
}
