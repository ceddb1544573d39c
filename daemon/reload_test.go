package daemon

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// TestProjectRemovedByReload: a project taken out of the configuration
// stops receiving mail (550 at RCPT), while its tickets and their links
// stay readable.
func TestProjectRemovedByReload(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := testConfig(t, t.TempDir(), sink)
	d := start(t, c)
	mustSend(t, d.Addr("smtp"), "carl@beta.example", []string{"beta@help.example.org"},
		msg("carl@beta.example", "beta@help.example.org", "Beta problem", "b1@beta.example", "help"))
	waitMessages(t, sink, 2)
	l := linkRE.FindStringSubmatch(textBody(t, waitMailTo(t, sink, "carl@beta.example", "http://ticketgate.test/t/")))
	if l == nil {
		t.Fatal("no link")
	}

	next := testConfig(t, c.DataDir, sink)
	next.Inbound.SMTP.Listen, next.Web.Listen = c.Inbound.SMTP.Listen, c.Web.Listen
	next.Projects = next.Projects[:1] // BETA is gone
	if err := next.Finalize(); err != nil {
		t.Fatal(err)
	}
	d.Reload(next)

	err := send(t, d.Addr("smtp"), "carl@beta.example", []string{"beta@help.example.org"},
		msg("carl@beta.example", "beta@help.example.org", "Re: [BETA-1] Beta problem", "b2@beta.example", "more"))
	if err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("mail to a removed project: %v", err)
	}
	resp, page := get(t, "http://"+d.Addr("web")+l[1])
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "BETA-1") || !strings.Contains(page, "Beta problem") {
		t.Fatalf("link of a removed project's ticket: %d\n%s", resp.StatusCode, page)
	}
	if tk, _ := ticketOf(t, d, "BETA-1"); tk.Messages != 1 {
		t.Errorf("BETA-1 has %d messages", tk.Messages)
	}
	// ACME still works.
	mustSend(t, d.Addr("smtp"), "carl@beta.example", []string{"acme@support.example.com"},
		msg("carl@beta.example", "acme@support.example.com", "Other", "b3@beta.example", "hi"))
}
