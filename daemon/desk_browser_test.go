package daemon

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/ticketgate/ticketgate/store"
)

var deskLinkRE = regexp.MustCompile(`http://ticketgate\.test(/desk/signin/[A-Za-z0-9_-]+)`)

// mailWithAttachment is a customer's request whose body holds a word
// found nowhere else, with a file attached.
func mailWithAttachment(from, subject, msgid, body, file string, data []byte) string {
	return "From: " + from + "\r\nTo: acme@support.example.com\r\nSubject: " + subject + "\r\nMessage-ID: <" + msgid + ">\r\n" +
		"Date: Mon, 02 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n" +
		"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n" +
		"--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"" + file + "\"\r\n\r\n" + string(data) + "\r\n--XX--\r\n"
}

// customerTemplates lists the templates of the mail queued to rcpt on a
// ticket, oldest first, and the texts of those messages.
func customerTemplates(t *testing.T, d *Daemon, key, rcpt string) []string {
	t.Helper()
	var out []string
	err := d.Store().View(func(tx store.Tx) error {
		evs, err := tx.Events(key)
		for _, e := range evs {
			if e.Kind == store.EvQueued && e.Recipient == rcpt {
				out = append(out, e.Template)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDeskInBrowser drives Chromium through the desk: sign in by the
// link mailed into the outbound maildir (the default transport), the
// queue, the ticket, download its attachment, reply with a file, a note,
// assign and resolve; the customer gets the same mail as the same actions
// through the domain's CLI verbs cause, and never the note. An agent link
// leads the signed-in agent to the desk; a reload that removes her ends
// her session and her agent links.
func TestDeskInBrowser(t *testing.T) {
	ctx := browser(t)
	cfg := maildirConfig(t, t.TempDir())
	box := openMaildir(t, cfg.Outbound.Maildir.Path)
	d := start(t, cfg)
	web := "http://" + d.Addr("web")
	pdf := []byte("%PDF-1.4 flamingo invoice bytes")
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		mailWithAttachment("Carl <carl@customer.example>", "Invoice wrong", "inv1@customer.example", "The zanzibarian total is off.", "invoice.pdf", pdf))
	mustSend(t, d.Addr("smtp"), "dora@customer.example", []string{"acme@support.example.com"},
		mailWithAttachment("Dora <dora@customer.example>", "Invoice wrong too", "inv2@customer.example", "My total is off as well.", "bill.pdf", pdf))
	box.settle(d)
	<-d.SearchReady()

	dl := t.TempDir()
	yes := true
	// No session: the desk sends the browser to the sign-in page.
	err := chromedp.Do(ctx,
		chromedp.Navigate(web+"/desk/t/ACME-1"),
		chromedp.WaitVisible(chromedp.ID("address")),
	)
	if err != nil {
		t.Fatal(err)
	}
	loc := must(chromedp.Run(ctx, chromedp.Location()))(t)
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("address"), "alice@example.com"),
		chromedp.Submit(chromedp.ID("address")),
		chromedp.WaitVisible(chromedp.ID("sent")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(loc, "/desk/signin") {
		t.Fatalf("without a session the ticket page went to %s", loc)
	}
	m := deskLinkRE.FindStringSubmatch(textBody(t, box.mailTo("alice@example.com", "/desk/signin/")))
	if m == nil {
		t.Fatal("no sign-in link in the mail")
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(web+m[1]),
		chromedp.Click(chromedp.ID("confirm")),
		chromedp.WaitVisible(chromedp.ID("view-open")),
	)
	if err != nil {
		t.Fatal(err)
	}
	queue := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"))))(t)
	if !strings.Contains(queue, "ACME-1") || !strings.Contains(queue, "Invoice wrong") || !strings.Contains(queue, "ACME-2") {
		t.Fatalf("queue:\n%s", queue)
	}

	// Search a word only the first request's body holds.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("q"), "zanzibarian"),
		chromedp.Click(chromedp.ID("apply")),
		// The answer's search box carries the word as its attribute; the
		// page it was typed into has it only as the box's value.
		chromedp.WaitVisible(chromedp.CSS(`input#q[value="zanzibarian"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	keys := must(chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('a.key')].map(a => a.textContent)`)))(t)
	if !slices.Equal(keys, []string{"ACME-1"}) {
		t.Fatalf("search for the body's word found %v", keys)
	}

	// Open it and download the attachment.
	progress := chromedp.Events(ctx, cdpbrowser.DownloadProgress)
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("a.key")),
		chromedp.WaitVisible(chromedp.ID("reply")),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dl, EventsEnabled: &yes})
			return err
		}),
		chromedp.Click(chromedp.CSS("a.attachment")),
	)
	if err != nil {
		t.Fatal(err)
	}
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		if ev.State != cdpbrowser.DownloadProgressStateCompleted {
			continue
		}
		got, err := os.ReadFile(filepath.Join(dl, ev.GUID))
		if err != nil || !bytes.Equal(got, pdf) {
			t.Fatalf("downloaded %q (%v), want the attachment's bytes", got, err)
		}
		break
	}
	page := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"))))(t)
	if !strings.Contains(page, "zanzibarian") || !strings.Contains(page, "invoice.pdf") {
		t.Fatalf("ticket page:\n%s", page)
	}

	// Reply with a file, add a note, assign, resolve.
	file := filepath.Join(t.TempDir(), "credit-note.txt")
	if err := os.WriteFile(file, []byte("credit 42"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Each action posts and the desk answers with a new page that shows a
	// notice. The page before carries a notice too, so it is marked first
	// and only a notice on an unmarked page counts: else the next click
	// could hit the old page while the new one loads.
	mark := func() error {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.body.dataset.old = "1"; true`))
		return err
	}
	fresh := chromedp.WaitVisible(chromedp.CSS("body:not([data-old]) .notice"))
	actions := [][]chromedp.Action[chromedp.Void]{
		{chromedp.SetValue(chromedp.ID("text"), "We corrected the total; the credit note is attached."),
			chromedp.SetUploadFiles(chromedp.ID("files"), []string{file}),
			chromedp.Click(chromedp.ID("send"))},
		{chromedp.SetValue(chromedp.ID("text"), "Internal: secret squirrel discount."),
			chromedp.Click(chromedp.ID("internal")),
			chromedp.Click(chromedp.ID("send"))},
		{chromedp.SetValue(chromedp.ID("assign-arg"), "alice@example.com"),
			chromedp.Click(chromedp.ID("assign-go"))},
		{chromedp.Click(chromedp.ID("resolve"))},
	}
	for i, steps := range actions {
		if err := mark(); err != nil {
			t.Fatalf("action %d: %v", i, err)
		}
		for j, s := range append(steps, fresh) {
			if err := chromedp.Do(ctx, s); err != nil {
				t.Fatalf("action %d, step %d: %v", i, j, err)
			}
		}
	}
	tk, msgs := ticketOf(t, d, "ACME-1")
	if tk.Assignee != "alice@example.com" || tk.Status != "resolved" {
		t.Fatalf("ticket after the desk: %+v", tk)
	}
	if len(msgs) != 3 || msgs[1].Source != "desk" || len(msgs[1].Attach) != 1 || msgs[1].Attach[0].Filename != "credit-note.txt" || !msgs[2].Internal {
		t.Fatalf("messages after the desk: %+v", msgs)
	}

	// The same actions through the domain's CLI verbs on ACME-2.
	c := context.Background()
	if _, err := d.engine.Comment(c, "ACME-2", "alice@example.com", "We corrected the total.", false); err != nil {
		t.Fatal(err)
	}
	if _, err := d.engine.Comment(c, "ACME-2", "alice@example.com", "Internal: secret squirrel discount.", true); err != nil {
		t.Fatal(err)
	}
	if _, err := d.engine.Assign(c, "ACME-2", "alice@example.com", "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.engine.SetStatus(c, "ACME-2", "resolved", "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	all := box.settle(d)
	desk, cli := customerTemplates(t, d, "ACME-1", "carl@customer.example"), customerTemplates(t, d, "ACME-2", "dora@customer.example")
	if !slices.Equal(desk, cli) || len(desk) < 3 {
		t.Fatalf("customer mail from the desk %v, from the CLI verbs %v", desk, cli)
	}
	var withFile bool
	for _, m := range to(all, "carl@customer.example") {
		if bytes.Contains(m.Data, []byte("secret squirrel")) {
			t.Fatal("the internal note reached the customer")
		}
		if bytes.Contains(m.Data, []byte("credit-note.txt")) {
			withFile = true
		}
	}
	if !withFile {
		t.Fatal("the customer's copy of the reply lacks the file")
	}
	if dir := os.Getenv("TICKETGATE_SCREENSHOTS"); dir != "" {
		deskScreenshots(t, ctx, d, web, dir)
	}

	// The agent link of a notification leads a signed-in agent to the
	// desk's page of the ticket.
	a := regexp.MustCompile(`http://ticketgate\.test(/a/[a-z0-9]+)`).FindStringSubmatch(textBody(t, box.mailTo("alice@example.com", "ACME-1")))
	if a == nil {
		t.Fatal("no agent link in alice's notification")
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(web+a[1]), chromedp.WaitVisible(chromedp.ID("reply"))); err != nil {
		t.Fatal(err)
	}
	if loc := must(chromedp.Run(ctx, chromedp.Location()))(t); loc != web+"/desk/t/ACME-1" {
		t.Fatalf("the agent link led a signed-in agent to %s", loc)
	}
	// Removed from the config, alice loses her session and her agent
	// links at the reload.
	cfg = maildirConfig(t, d.Config().DataDir)
	cfg.Projects[0].Agents = []string{"someone@example.com"}
	if err := cfg.Finalize(); err != nil {
		t.Fatal(err)
	}
	d.Reload(cfg)
	var left []*store.Session
	d.Store().View(func(tx store.Tx) error { left, _ = tx.Sessions("alice@example.com"); return nil })
	if len(left) != 0 {
		t.Fatalf("alice keeps %d session(s) after the reload removed her", len(left))
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(web+"/desk/"), chromedp.WaitVisible(chromedp.ID("address"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(web+a[1]), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		t.Fatal(err)
	}
	if loc := must(chromedp.Run(ctx, chromedp.Location()))(t); loc != web+a[1] {
		t.Fatalf("after the reload alice's agent link led to %s", loc)
	}
	if page := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body"))))(t); strings.Contains(page, "zanzibarian") {
		t.Fatalf("after the reload alice's agent link still shows the ticket:\n%s", page)
	}
	if code := getStatus(t, web+a[1]); code != http.StatusNotFound {
		t.Fatalf("after the reload alice's agent link answers %d", code)
	}
}

// getStatus is the status of a plain GET (no cookies, no redirects).
func getStatus(t *testing.T, u string) int {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
