package daemon

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

var agentLinkRE = regexp.MustCompile(`http://ticketgate\.test(/a/[a-z0-9]+)`)

func TestPortalOrganizationsDownloadsAgentView(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := start(t, testConfig(t, t.TempDir(), sink))
	ctx := context.Background()
	web := "http://" + d.Addr("web")
	proj := "acme@support.example.com"

	// Carl's request with an attachment; Dora, a colleague of his, writes
	// a request of her own.
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{proj}, withAttachments("carl@customer.example", "Invoice wrong", "o1@customer.example", 1))
	mustSend(t, d.Addr("smtp"), "dora@customer.example", []string{proj}, msg("dora@customer.example", proj, "My own problem", "o2@customer.example", "hi"))
	// Each link from that person's own auto-reply, waited for: counting
	// all mail could count another's twice (delivery is at least once).
	linkOf := func(who string) string {
		if l := linkRE.FindStringSubmatch(textBody(t, waitMailTo(t, sink, who, "http://ticketgate.test/t/"))); l != nil {
			return web + l[1]
		}
		t.Fatalf("no link for %s", who)
		return ""
	}
	carl, dora := linkOf("carl@customer.example"), linkOf("dora@customer.example")

	// Downloads: an attachment, never rendered on our origin.
	_, page := get(t, carl)
	att := regexp.MustCompile(`href="(/t/[a-z0-9]+/att/\d+/\d+)"`).FindStringSubmatch(page)
	if att == nil {
		t.Fatalf("no download link:\n%s", page)
	}
	resp, body := get(t, web+att[1])
	if resp.StatusCode != 200 || body != "data 0" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") ||
		resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("download: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if resp, _ := get(t, dora+strings.TrimPrefix(att[1], carl[len(web):])); resp.StatusCode != 404 {
		t.Fatalf("Dora downloads Carl's attachment through her link: %d", resp.StatusCode)
	}

	// Organizations: free-mail domains are refused; sharing lets members
	// see the request through their own links.
	err := d.engine.PutOrganization(ctx, "ACME", "Customer Corp", []string{"gmail.com"}, nil, "alice@example.com")
	if !errors.Is(err, ticket.ErrRefused) {
		t.Fatalf("free-mail domain accepted: %v", err)
	}
	if err := d.engine.PutOrganization(ctx, "ACME", "Customer Corp", []string{"customer.example"}, []string{"erin@partner.example"}, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	_, my := get(t, dora+"/my")
	if strings.Contains(my, "ACME-1") || !strings.Contains(my, "ACME-2") {
		t.Fatalf("Dora's /my before sharing:\n%s", my)
	}
	if resp, _ := get(t, dora+"/my/ACME-1"); resp.StatusCode != 404 {
		t.Fatalf("Dora sees Carl's unshared request: %d", resp.StatusCode)
	}
	n, err := d.engine.Share(ctx, "ACME-1", "Customer Corp", "alice@example.com")
	if err != nil || n != 1 {
		t.Fatalf("share: %d %v", n, err)
	}
	waitMailTo(t, sink, "erin@partner.example", "shared with your")
	_, my = get(t, dora+"/my")
	if !strings.Contains(my, "ACME-1") || !strings.Contains(my, "ACME-2") {
		t.Fatalf("Dora's /my after sharing:\n%s", my)
	}
	resp, page = get(t, dora+"/my/ACME-1")
	if resp.StatusCode != 200 || !strings.Contains(page, "Invoice wrong") || strings.Contains(page, "<form") {
		t.Fatalf("Dora's view of the shared request: %d", resp.StatusCode)
	}
	// A member may write into it by subject token.
	mustSend(t, d.Addr("smtp"), "dora@customer.example", []string{proj}, msg("dora@customer.example", proj, "Re: [ACME-1] Invoice wrong", "o3@customer.example", "Same invoice here."))
	_, stored := ticketOf(t, d, "ACME-1")
	if last := stored[len(stored)-1]; last.MessageID != "o3@customer.example" || last.ThreadedBy != "subject-token" {
		t.Fatalf("member's mail: %+v", last)
	}

	// The agent view: the whole ticket, internal notes included, read-only.
	if _, err := d.engine.Comment(ctx, "ACME-1", "bob@example.org", "x", true); !errors.Is(err, ticket.ErrRefused) {
		t.Fatalf("an agent of another project wrote a note: %v", err)
	}
	if _, err := d.engine.Comment(ctx, "ACME-1", "alice@example.com", "Check the VAT rate.", true); err != nil {
		t.Fatal(err)
	}
	// Alice is not told of her own note: the link comes from her
	// notice of Dora's comment on ACME-1, waited for — the last mail
	// to her may be about ACME-2, or that notice may not be there yet.
	l := agentLinkRE.FindStringSubmatch(textBody(t, waitMailTo(t, sink, "alice@example.com", "Same invoice here.")))
	if l == nil {
		t.Fatal("no agent link in the notice of Dora's comment")
	}
	agentLink := web + l[1]
	resp, page = get(t, agentLink)
	if resp.StatusCode != 200 || !strings.Contains(page, "Check the VAT rate.") || !strings.Contains(page, "Internal") || strings.Contains(page, "<form") {
		t.Fatalf("agent view: %d\n%s", resp.StatusCode, page)
	}
	// Its history is told from the events' typed fields.
	for _, want := range []string{"<code>request_created</code> carl@customer.example — threaded by new", "<code>organization_added</code>",
		"<code>internal_note_added</code> alice@example.com", "<code>queued</code> ticketgate — customer/request_created to carl@customer.example (tg."} {
		if !strings.Contains(page, want) {
			t.Errorf("agent view history lacks %q", want)
		}
	}
	// The agent downloads Carl's attachment from the agent view: a
	// download with the same safe headers as the customer's.
	agentAtt := regexp.MustCompile(`href="(/a/[a-z0-9]+/att/\d+/\d+)"`).FindStringSubmatch(page)
	if agentAtt == nil {
		t.Fatalf("no download link on the agent view:\n%s", page)
	}
	resp, body = get(t, web+agentAtt[1])
	if resp.StatusCode != 200 || body != "data 0" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") ||
		resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("agent download: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	// Neither a customer link under /a/ nor the agent link for another
	// ticket's message opens it.
	if resp, _ := get(t, web+"/a/"+strings.TrimPrefix(carl, web+"/t/")+strings.TrimPrefix(agentAtt[1], agentAtt[1][:strings.Index(agentAtt[1], "/att/")])); resp.StatusCode != 404 {
		t.Fatalf("a customer link downloads through /a/: %d", resp.StatusCode)
	}
	_, page = get(t, carl)
	if strings.Contains(page, "Check the VAT rate.") || strings.Contains(page, "<code>request_created</code>") {
		t.Fatal("internal note on the customer's page")
	}
	if resp, _ := get(t, strings.Replace(carl, "/t/", "/a/", 1)); resp.StatusCode != 404 {
		t.Fatalf("a customer link opens the agent view: %d", resp.StatusCode)
	}
}

// TestWebReplyReopeningMailsAgentsOnce: a customer's reply on the ticket
// page to a resolved request reopens it, and each agent gets one mail
// about it (the comment, saying it reopened the ticket), not two.
func TestWebReplyReopeningMailsAgentsOnce(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := start(t, testConfig(t, t.TempDir(), sink))
	ctx := context.Background()
	proj := "acme@support.example.com"
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{proj}, msg("carl@customer.example", proj, "Printer on fire", "w1@customer.example", "hi"))
	l := linkRE.FindStringSubmatch(textBody(t, waitMailTo(t, sink, "carl@customer.example", "http://ticketgate.test/t/")))
	if l == nil {
		t.Fatal("no link in the auto-reply")
	}
	if _, err := d.engine.SetStatus(ctx, "ACME-1", "resolved", "bob@example.org"); err == nil {
		t.Fatal("an agent of another project resolved ACME-1")
	}
	if _, err := d.engine.SetStatus(ctx, "ACME-1", "resolved", "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	waitMailTo(t, sink, "carl@customer.example", "has been resolved")
	before := len(to(sink.Messages(), "alice@example.com"))

	var tok *store.Token
	d.Store().View(func(tx store.Tx) error { tok, _ = tx.Token(strings.TrimPrefix(l[1], "/t/")); return nil })
	if err := d.webReply(ctx, tok, "Still smoking, please hurry."); err != nil {
		t.Fatal(err)
	}
	if tk, _ := ticketOf(t, d, "ACME-1"); tk.Status != "open" {
		t.Fatalf("status after the customer's reply: %s", tk.Status)
	}
	got := waitMailTo(t, sink, "alice@example.com", "Still smoking, please hurry.")
	if !strings.Contains(textBody(t, got), "reopened") {
		t.Errorf("the agent's mail does not say the ticket was reopened:\n%s", textBody(t, got))
	}
	settle(t, d, sink)
	if n := len(to(sink.Messages(), "alice@example.com")) - before; n != 1 {
		t.Fatalf("alice got %d mails for one reply that reopened the ticket, want 1", n)
	}
}
