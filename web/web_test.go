package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"

	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/web"
)

var t0 = time.Date(2026, 3, 2, 14, 5, 0, 0, time.UTC)

const (
	tokValid    = "validvalidvalidvalidvalid1"
	tokExpired  = "expiredexpiredexpiredexpi1"
	tokRevoked  = "revokedrevokedrevokedrevo1"
	tokReply    = "replyreplyreplyreplyreply1"
	tokGone     = "gonegonegonegonegonegoneg1"
	tokMismatch = "mismatchmismatchmismatchm1"
	tokForever  = "foreverforeverforeverfore1"
)

// The conversation of ACME-1 as the store holds it. Texts marked SECRET
// or AUTOMATIC must never reach the page.
var acme1 = []store.Message{
	{Direction: "in", Kind: "request", From: "carl@customer.example", FromName: "Carl Customer",
		Text: "My printer is on fire. Help.", Received: t0.Add(-48 * time.Hour),
		Attach: []store.Attachment{{Filename: "fire.jpg", ContentType: "image/jpeg", Size: 12345, Blob: strings.Repeat("a", 64)}}},
	{Direction: "in", Kind: "note", Internal: true, From: "alice@example.com", FromName: "Alice Agent",
		Text: "SECRET note: this customer set the last one on fire too.", Received: t0.Add(-47 * time.Hour)},
	{Direction: "out", Kind: "comment", From: "alice@example.com", FromName: "Alice Agent",
		Text: "We have sent a technician. Details: https://status.example.com/jobs/7.", Received: t0.Add(-30 * time.Hour)},
	{Direction: "in", Kind: "auto", From: "carl@customer.example", FromName: "Carl Customer",
		Text: "AUTOMATIC: I am out of the office until Monday.", Received: t0.Add(-29 * time.Hour)},
	{Direction: "in", Kind: "loop", Internal: true, From: "acme@support.example.com",
		Text: "AUTOMATIC: our own auto-reply came back.", Received: t0.Add(-28 * time.Hour)},
	{Direction: "in", Kind: "bounce", From: "mailer-daemon@customer.example",
		Text: "AUTOMATIC: Delivery to bob@customer.example failed.", Received: t0.Add(-27 * time.Hour)},
	{Direction: "in", Kind: "rejected", From: "spam@elsewhere.example",
		Text: "AUTOMATIC: buy cheap printers", Received: t0.Add(-26 * time.Hour)},
	{Direction: "in", Kind: "comment", Internal: true, From: "bob@example.com", FromName: "Bob Agent",
		Text: "SECRET comment: the technician is expensive.", Received: t0.Add(-25 * time.Hour)},
	{Direction: "in", Kind: "comment", From: "carl@customer.example", FromName: "Carl Customer",
		Text:     "Thanks, the fire is out.\r\n\r\nOn Sun, 1 Mar 2026 at 10:00, Acme Support\r\n<acme@support.example.com> wrote:\r\n> We have sent a technician.\r\n>\r\n> Kind regards\r\n",
		Received: t0.Add(-2 * time.Hour)},
}

type fixture struct {
	st  store.DB
	srv *httptest.Server
	now *atomic.Int64 // the handler's clock, Unix nanoseconds
	log *strings.Builder
	mu  *sync.Mutex
}

// lockedWriter keeps log output readable from the test while the server
// writes it.
type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (f *fixture) logs() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.log.String()
}

// newFixture opens a store holding ACME-1 (English) and its tokens, lets
// extra add more, and serves the handler.
func newFixture(t *testing.T, opts web.Options, extra func(store.Tx) error) *fixture {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	err = st.Update(context.Background(), func(tx store.Tx) error {
		tk := &store.Ticket{Key: "ACME-1", Project: "ACME", Number: 1, Subject: "Printer on fire",
			Status: "waiting_for_customer", Reporter: "carl@customer.example", ReporterName: "Carl Customer",
			Language: "en", Created: t0.Add(-48 * time.Hour), Updated: t0.Add(-2 * time.Hour)}
		if err := addTicket(tx, tk, acme1); err != nil {
			return err
		}
		for _, tok := range []store.Token{
			{Token: tokValid, Kind: store.TokenLink, Project: "ACME", Ticket: "ACME-1", Recipient: "carl@customer.example", Expires: t0.Add(24 * time.Hour)},
			{Token: tokForever, Kind: store.TokenLink, Project: "ACME", Ticket: "ACME-1", Recipient: "carl@customer.example"},
			{Token: tokExpired, Kind: store.TokenLink, Project: "ACME", Ticket: "ACME-1", Recipient: "carl@customer.example", Expires: t0},
			{Token: tokRevoked, Kind: store.TokenLink, Project: "ACME", Ticket: "ACME-1", Recipient: "carl@customer.example", Expires: t0.Add(24 * time.Hour), Revoked: true},
			{Token: tokReply, Kind: store.TokenReply, Project: "ACME", Ticket: "ACME-1", Recipient: "carl@customer.example"},
			{Token: tokGone, Kind: store.TokenLink, Project: "ACME", Ticket: "ACME-99", Recipient: "carl@customer.example"},
			{Token: tokMismatch, Kind: store.TokenLink, Project: "OTHER", Ticket: "ACME-1", Recipient: "carl@customer.example"},
		} {
			tok.Created = t0.Add(-48 * time.Hour)
			if err := tx.PutToken(&tok); err != nil {
				return err
			}
		}
		if extra != nil {
			return extra(tx)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, now: &atomic.Int64{}, log: &strings.Builder{}, mu: &sync.Mutex{}}
	f.now.Store(t0.UnixNano())
	opts.Now = func() time.Time { return time.Unix(0, f.now.Load()).UTC() }
	log := slog.New(slog.NewTextHandler(lockedWriter{f.mu, f.log}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.srv = httptest.NewServer(web.NewHandler(st, opts, log))
	t.Cleanup(f.srv.Close)
	return f
}

func addTicket(tx store.Tx, tk *store.Ticket, msgs []store.Message) error {
	for _, m := range msgs {
		m.Ticket, m.Project = tk.Key, tk.Project
		if err := tx.AddMessage(&m); err != nil {
			return err
		}
		tk.Messages++
	}
	return tx.PutTicket(tk)
}

func addToken(tx store.Tx, token, ticket string) error {
	p, _, _ := store.SplitTicketKey(ticket)
	return tx.PutToken(&store.Token{Token: token, Kind: store.TokenLink, Project: p, Ticket: ticket, Created: t0})
}

func (f *fixture) do(t *testing.T, method, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func (f *fixture) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	return f.do(t, http.MethodGet, path, nil)
}

// pageText returns what a reader of page sees: its text without markup,
// whitespace collapsed, block boundaries as a space. Text inside <style>
// and <title> is left out.
func pageText(page string) string {
	var b strings.Builder
	z := xhtml.NewTokenizer(strings.NewReader(page))
	skip := 0
	for {
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			return strings.Join(strings.Fields(b.String()), " ")
		case xhtml.StartTagToken, xhtml.EndTagToken, xhtml.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "style", "title":
				if tt == xhtml.StartTagToken {
					skip++
				} else if tt == xhtml.EndTagToken {
					skip--
				}
			case "a", "b", "i", "em", "strong", "u", "s", "small", "code", "tt", "sub", "sup", "mark", "abbr", "span", "font":
			default:
				b.WriteByte(' ')
			}
		case xhtml.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		}
	}
}

// inOrder reports whether each of parts occurs in s, each after the last.
func inOrder(s string, parts ...string) bool {
	for _, p := range parts {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}

func TestLinkPageShowsTicketAndPublicConversation(t *testing.T) {
	f := newFixture(t, web.Options{BaseURL: "https://help.example.com", ProjectName: func(key string) string {
		if key == "ACME" {
			return "Acme Support"
		}
		return ""
	}}, nil)
	resp, page := f.get(t, "/t/"+tokValid)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d:\n%s", resp.StatusCode, page)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	text := pageText(page)
	for _, want := range []string{
		"Acme Support", "Printer on fire", "ACME-1", "Waiting For Customer",
		"Opened 28 February 2026, 14:05 UTC", "Last update 2 March 2026, 12:05 UTC",
		"keep [ACME-1] in the subject", "works until 3 March 2026, 14:05 UTC",
		"fire.jpg 12 KB",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("page lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(page, `<title>[ACME-1] Printer on fire – Acme Support</title>`) {
		t.Errorf("title missing:\n%s", page)
	}
	// Oldest first, each with its author and date; the project's answer is
	// signed by the project, not the agent.
	if !inOrder(text,
		"Carl Customer 28 February 2026, 14:05 UTC My printer is on fire. Help.",
		"Acme Support 1 March 2026, 08:05 UTC We have sent a technician.",
		"Carl Customer 2 March 2026, 12:05 UTC Thanks, the fire is out.") {
		t.Errorf("conversation not shown in order:\n%s", text)
	}
	if strings.Contains(text, "Alice Agent") {
		t.Errorf("agent's own name shown instead of the project's:\n%s", text)
	}
	if !strings.Contains(page, `<article class="message ours">`) {
		t.Error("the project's message is not set apart")
	}
	// The quoted history is folded away but still there to open.
	if !inOrder(page, "Thanks, the fire is out.</div>", "<details>", "<summary>Show quoted text</summary>",
		"On Sun, 1 Mar 2026 at 10:00, Acme Support\n&lt;acme@support.example.com&gt; wrote:\n&gt; We have sent a technician.", "</details>") {
		t.Errorf("quoted history not folded:\n%s", page)
	}
	// Links in text are clickable and leak no referrer.
	if !strings.Contains(page, `<a href="https://status.example.com/jobs/7" rel="noopener noreferrer nofollow" target="_blank">https://status.example.com/jobs/7</a>.`) {
		t.Errorf("link in text not made clickable:\n%s", page)
	}
	// Attachments download through the link; the blob's name never shows.
	if !strings.Contains(page, `href="/t/`+tokValid+`/att/`) || strings.Contains(page, strings.Repeat("a", 64)) {
		t.Errorf("attachment not linked, or its blob exposed:\n%s", page)
	}
	assertInert(t, page)
}

func TestLinkPageNeverShowsInternalOrAutomaticMail(t *testing.T) {
	f := newFixture(t, web.Options{}, nil)
	for _, tok := range []string{tokValid, tokForever} {
		resp, page := f.get(t, "/t/"+tok)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		for _, bad := range []string{"SECRET", "AUTOMATIC", "naughty", "expensive", "Bob Agent", "Alice Agent", "out of the office", "mailer-daemon"} {
			if strings.Contains(page, bad) {
				t.Errorf("page shows %q:\n%s", bad, page)
			}
		}
		if n := strings.Count(page, `<article class="message`); n != 3 {
			t.Errorf("%d messages shown, want the 3 public ones", n)
		}
	}
}

func TestDeadLinksAllGetTheSameFriendly404(t *testing.T) {
	f := newFixture(t, web.Options{}, nil)
	_, want := f.get(t, "/t/"+strings.Repeat("z", 26))
	for name, path := range map[string]string{
		"expired":          "/t/" + tokExpired,
		"revoked":          "/t/" + tokRevoked,
		"reply token":      "/t/" + tokReply,
		"ticket gone":      "/t/" + tokGone,
		"project mismatch": "/t/" + tokMismatch,
		"no token":         "/t/",
		"extra segment":    "/t/" + tokValid + "/x",
		"odd characters":   "/t/%00%ff..",
		"long token":       "/t/" + strings.Repeat("x", 5000),
		"other path":       "/admin",
		"root":             "/",
	} {
		t.Run(name, func(t *testing.T) {
			resp, page := f.get(t, path)
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d, want 404", resp.StatusCode)
			}
			if page != want {
				t.Errorf("page differs from the unknown-token page:\n%s", page)
			}
		})
	}
	if !strings.Contains(pageText(want), "This link doesn’t work") || !strings.Contains(want, "reply to that email") {
		t.Errorf("404 page is not the friendly one:\n%s", want)
	}
	for _, leak := range []string{"ACME", "Printer", "Carl", "revoked"} {
		if strings.Contains(want, leak) {
			t.Errorf("404 page mentions %q", leak)
		}
	}
	// The reason is in the log for whoever investigates a complaint.
	logs := f.logs()
	for _, want := range []string{"ticket=ACME-1 reason=\"expired 2026-03-02T14:05:00Z\"", "ticket=ACME-1 reason=revoked", "reason=\"token of kind reply\"", "ticket=ACME-99 reason=\"ticket gone\""} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, tokExpired) {
		t.Error("log contains a token")
	}
}

func TestLinkStopsWorkingWhenItExpires(t *testing.T) {
	f := newFixture(t, web.Options{}, nil)
	if resp, _ := f.get(t, "/t/"+tokValid); resp.StatusCode != http.StatusOK {
		t.Fatalf("fresh link: %d", resp.StatusCode)
	}
	f.now.Store(t0.Add(24*time.Hour - time.Nanosecond).UnixNano())
	if resp, _ := f.get(t, "/t/"+tokValid); resp.StatusCode != http.StatusOK {
		t.Fatalf("link just before expiry: %d", resp.StatusCode)
	}
	f.now.Store(t0.Add(24 * time.Hour).UnixNano())
	if resp, _ := f.get(t, "/t/"+tokValid); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("link at expiry: %d, want 404", resp.StatusCode)
	}
	// A link without expiry only dies by revocation.
	f.now.Store(t0.Add(10 * 365 * 24 * time.Hour).UnixNano())
	resp, page := f.get(t, "/t/"+tokForever)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Please do not share it.") {
		t.Fatalf("link without expiry: %d\n%s", resp.StatusCode, page)
	}
}

func TestMarkupInSubjectNameAndTextIsEscaped(t *testing.T) {
	f := newFixture(t, web.Options{}, func(tx store.Tx) error {
		tk := &store.Ticket{Key: "ACME-2", Project: "ACME", Number: 2, Subject: `<script>alert("subject")</script> & <b>bold</b>`,
			Status: "new", Language: "en", Created: t0, Updated: t0}
		err := addTicket(tx, tk, []store.Message{{Direction: "in", Kind: "request", From: "x@customer.example",
			FromName: `<script>alert('name')</script>`, Text: "<img src=x onerror=alert(1)> javascript:alert(2) https://ok.example/\"onmouseover=\"alert(3)",
			HTML: "<p>ignored: text is present</p>", Received: t0,
			Attach: []store.Attachment{{Filename: `<svg onload=alert(4)>.pdf`, Size: 10}}}})
		if err != nil {
			return err
		}
		return addToken(tx, "markupmarkupmarkupmarkupm1", "ACME-2")
	})
	resp, page := f.get(t, "/t/markupmarkupmarkupmarkupm1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{
		`&lt;script&gt;alert(&#34;subject&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;`,
		`&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;`,
		`&lt;img src=x onerror=alert(1)&gt;`,
		`&lt;svg onload=alert(4)&gt;.pdf`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks escaped %s:\n%s", want, page)
		}
	}
	if strings.Contains(page, "ignored: text is present") {
		t.Error("HTML body shown although the message has text")
	}
	assertInert(t, page)
}

func TestHTMLOnlyMessageIsSanitised(t *testing.T) {
	const body = `<html><head><style>body{background:url(http://evil/bg.png)}</style><base href="http://evil/">
<script>alert('x')</script></head><body>
<p onclick="alert(1)">Hello <b>there</b>, see <a href="javascript:alert(2)">this</a> and <a href="https://ok.example/doc">the manual</a>.</p>
<img src=x onerror=alert(3)>
<img src="http://evil/x.png" alt="logo" width="1" height="1">
<img src="HTTPS://evil/track.gif">
<img src="cid:part1.diagram@customer.example" alt="ignored alt">
<img src="data:image/png;base64,iVBORw0KGgo=" alt="dot">
<img src="data:text/html;base64,PHNjcmlwdD5hbGVydCg1KTwvc2NyaXB0Pg==">
<div style="background-image: url('http://evil/bg2.png')">styled</div>
<table background="http://evil/t.png"><tr><td>cell</td></tr></table>
<iframe src="http://evil/frame"></iframe><form action="http://evil/post"><input name=pw></form>
<svg><image href="http://evil/svg.png"/></svg>
<blockquote>quoted earlier mail</blockquote>
</body></html>`
	f := newFixture(t, web.Options{}, func(tx store.Tx) error {
		tk := &store.Ticket{Key: "ACME-3", Project: "ACME", Number: 3, Subject: "HTML only", Status: "new", Language: "en", Created: t0, Updated: t0}
		err := addTicket(tx, tk, []store.Message{{Direction: "in", Kind: "request", From: "h@customer.example", HTML: body, Received: t0,
			Attach: []store.Attachment{{Filename: "diagram.png", ContentType: "image/png", Size: 2048, ContentID: "part1.diagram@customer.example", Inline: true}}}})
		if err != nil {
			return err
		}
		return addToken(tx, "htmlhtmlhtmlhtmlhtmlhtmlh1", "ACME-3")
	})
	resp, page := f.get(t, "/t/htmlhtmlhtmlhtmlhtmlhtmlh1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	assertInert(t, page)
	for _, bad := range []string{"<script", "alert(", "onerror", "onclick", "javascript:", "url(", "style=", `src="http`, "<iframe", "<form", "<input", "<base", "<svg", "background="} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q:\n%s", bad, page)
		}
	}
	text := pageText(page)
	for _, want := range []string{"Hello there, see this and the manual.", "[image: logo]", "[image: diagram.png]", "styled", "cell", "quoted earlier mail", "diagram.png 2 KB"} {
		if !strings.Contains(text, want) {
			t.Errorf("page text lacks %q:\n%s", want, text)
		}
	}
	for _, want := range []string{
		"<b>there</b>",
		`<a href="https://ok.example/doc" rel="nofollow noreferrer noopener" target="_blank">the manual</a>`,
		// A remote image becomes a link the reader may choose to follow.
		`<a href="http://evil/x.png" rel="nofollow noreferrer noopener" target="_blank">[image: logo]</a>`,
		`<img src="data:image/png;base64,iVBORw0KGgo=" alt="dot">`,
		"<blockquote>quoted earlier mail</blockquote>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s:\n%s", want, page)
		}
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	f := newFixture(t, web.Options{}, nil)
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"Referrer-Policy":         "no-referrer",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "no-store",
	}
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/t/" + tokValid, 200},
		{"HEAD", "/t/" + tokValid, 200},
		{"GET", "/t/" + tokExpired, 404},
		{"GET", "/nowhere", 404},
		{"POST", "/t/" + tokValid, 405},
		{"GET", "/healthz", 200},
	} {
		resp, _ := f.do(t, c.method, c.path, nil)
		if resp.StatusCode != c.code {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, resp.StatusCode, c.code)
		}
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s %s: %s = %q, want %q", c.method, c.path, k, got, v)
			}
		}
	}
}

func TestOnlyGetAndHeadOnLinks(t *testing.T) {
	f := newFixture(t, web.Options{}, nil)
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		for _, path := range []string{"/t/" + tokValid, "/t/" + strings.Repeat("z", 26)} {
			resp, page := f.do(t, m, path, nil)
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d, want 405", m, path, resp.StatusCode)
			}
			if got := resp.Header.Get("Allow"); got != "GET, HEAD" {
				t.Errorf("%s: Allow %q", m, got)
			}
			if strings.Contains(page, "Printer") {
				t.Errorf("%s answered with ticket content", m)
			}
			if !strings.Contains(page, "This page can only be viewed") {
				t.Errorf("%s: 405 page:\n%s", m, page)
			}
		}
	}
	resp, page := f.do(t, "HEAD", "/t/"+tokValid, nil)
	if resp.StatusCode != http.StatusOK || page != "" || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("HEAD: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), page)
	}
}

func TestHealthz(t *testing.T) {
	f := newFixture(t, web.Options{}, nil)
	resp, body := f.get(t, "/healthz")
	if resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}
}

func TestGermanTicketIsShownInGerman(t *testing.T) {
	f := newFixture(t, web.Options{}, func(tx store.Tx) error {
		tk := &store.Ticket{Key: "ACME-4", Project: "ACME", Number: 4, Subject: "Drucker brennt", Status: "new",
			Language: "de-CH", Created: t0, Updated: t0.Add(72 * time.Hour)}
		err := addTicket(tx, tk, []store.Message{{Direction: "in", Kind: "request", From: "grete@kunde.example",
			Text:     "Hilfe!\n\nAm 01.03.2026 um 10:00 schrieb Acme <acme@support.example.com>:\n> Alt\n",
			Received: t0, Attach: []store.Attachment{{Size: 1536}}}})
		if err != nil {
			return err
		}
		return tx.PutToken(&store.Token{Token: "deutschdeutschdeutschdeut1", Kind: store.TokenLink, Project: "ACME", Ticket: "ACME-4", Expires: t0.Add(24 * time.Hour)})
	})
	// The browser's language does not matter for a ticket's page.
	resp, page := f.do(t, "GET", "/t/deutschdeutschdeutschdeut1", map[string]string{"Accept-Language": "en-US,en;q=0.9"})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !strings.Contains(page, `<html lang="de">`) {
		t.Error("page not marked German")
	}
	text := pageText(page)
	for _, want := range []string{"Anfrage ACME-4", "Status Neu", "Eröffnet 2. März 2026, 14:05 UTC", "Zuletzt aktualisiert 5. März 2026, 14:05 UTC",
		"Verlauf", "grete@kunde.example", "Hilfe!", "Zitierten Text anzeigen", "Anhang ohne Namen 1,5 KB", "gilt bis 3. März 2026, 14:05 UTC"} {
		if !strings.Contains(text, want) {
			t.Errorf("page lacks %q:\n%s", want, text)
		}
	}
	if !inOrder(page, "Hilfe!</div>", "<details>", "Am 01.03.2026 um 10:00 schrieb") {
		t.Errorf("German attribution not folded:\n%s", page)
	}
}

func TestNotFoundPageSpeaksTheBrowsersLanguage(t *testing.T) {
	f := newFixture(t, web.Options{}, nil)
	resp, page := f.do(t, "GET", "/t/"+tokExpired, map[string]string{"Accept-Language": "de-AT,de;q=0.9,en;q=0.5"})
	if resp.StatusCode != 404 || !strings.Contains(page, "Dieser Link funktioniert nicht") || !strings.Contains(page, `lang="de"`) {
		t.Errorf("German 404: %d\n%s", resp.StatusCode, page)
	}
	resp, page = f.do(t, "POST", "/t/"+tokValid, map[string]string{"Accept-Language": "de"})
	if resp.StatusCode != 405 || !strings.Contains(page, "Diese Seite kann nur angesehen werden") {
		t.Errorf("German 405: %d\n%s", resp.StatusCode, page)
	}
	_, page = f.do(t, "GET", "/t/"+tokExpired, map[string]string{"Accept-Language": "fr-FR, ja;q=0.5"})
	if !strings.Contains(pageText(page), "This link doesn’t work") {
		t.Errorf("unsupported language does not fall back to English:\n%s", page)
	}
}

func TestStatusAndProjectNamesFromOptions(t *testing.T) {
	f := newFixture(t, web.Options{
		StatusName: func(project, status string) string {
			if project == "ACME" && status == "waiting_for_customer" {
				return "Waiting for your answer"
			}
			return ""
		},
	}, nil)
	_, page := f.get(t, "/t/"+tokValid)
	text := pageText(page)
	if !strings.Contains(text, "Status Waiting for your answer") {
		t.Errorf("configured status name not used:\n%s", text)
	}
	// Without a ProjectName function the key signs the project's mail.
	if !strings.Contains(text, "ACME 1 March 2026, 08:05 UTC We have sent a technician.") {
		t.Errorf("project key not used as author:\n%s", text)
	}
}

func TestBaseURLWithPathWorksBehindEitherKindOfProxy(t *testing.T) {
	f := newFixture(t, web.Options{BaseURL: "https://example.com/support/"}, nil)
	for _, path := range []string{"/support/t/" + tokValid, "/t/" + tokValid} {
		if resp, page := f.get(t, path); resp.StatusCode != 200 || !strings.Contains(page, "Printer on fire") {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
	if resp, body := f.get(t, "/support/healthz"); resp.StatusCode != 200 || body != "ok" {
		t.Errorf("healthz under prefix: %d %q", resp.StatusCode, body)
	}
	if resp, _ := f.get(t, "/supportx/t/"+tokValid); resp.StatusCode != 404 {
		t.Errorf("look-alike prefix: %d, want 404", resp.StatusCode)
	}
}

func TestConcurrentReaders(t *testing.T) {
	f := newFixture(t, web.Options{}, func(tx store.Tx) error {
		tk := &store.Ticket{Key: "ACME-5", Project: "ACME", Number: 5, Subject: "Busy", Status: "new", Created: t0, Updated: t0}
		err := addTicket(tx, tk, []store.Message{{Direction: "in", Kind: "request", From: "b@customer.example",
			HTML: `<p>Busy <img src="http://evil/x.png" alt="px"><script>alert(1)</script></p>`, Received: t0}})
		if err != nil {
			return err
		}
		return addToken(tx, "busybusybusybusybusybusyb1", "ACME-5")
	})
	cases := []struct {
		path, want string
		code       int
	}{
		{"/t/" + tokValid, "Printer on fire", 200},
		{"/t/busybusybusybusybusybusyb1", "[image: px]", 200},
		{"/t/" + tokRevoked, "This link doesn’t work", 404},
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 48 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cases[i%len(cases)]
			resp, err := f.srv.Client().Get(f.srv.URL + c.path)
			if err != nil {
				errs <- err.Error()
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.code || !strings.Contains(string(body), c.want) {
				errs <- c.path + ": " + resp.Status + " without " + c.want
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// assertInert fails if page could run code, load anything from elsewhere,
// or submit anywhere: the properties the page must keep whatever the mail
// it shows contained.
func assertInert(t *testing.T, page string) {
	t.Helper()
	z := xhtml.NewTokenizer(strings.NewReader(page))
	styles := 0
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			break
		}
		if tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		switch tok.Data {
		case "script", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "input", "button",
			"textarea", "select", "base", "link", "svg", "math", "video", "audio", "source", "picture", "noscript":
			t.Errorf("page has a <%s> element", tok.Data)
		case "style":
			styles++
		case "meta":
			for _, a := range tok.Attr {
				if a.Key == "http-equiv" {
					t.Errorf("page has <meta http-equiv=%q>", a.Val)
				}
			}
		}
		for _, a := range tok.Attr {
			key := strings.ToLower(a.Key)
			val := strings.ToLower(strings.TrimSpace(a.Val))
			switch {
			case strings.HasPrefix(key, "on"), key == "style", key == "srcset", key == "background", key == "formaction", key == "action":
				t.Errorf("<%s> has attribute %s=%q", tok.Data, a.Key, a.Val)
			case key == "src" && !strings.HasPrefix(val, "data:image/"):
				t.Errorf("<%s src=%q> loads from elsewhere", tok.Data, a.Val)
			case key == "href" && !(strings.HasPrefix(val, "http://") || strings.HasPrefix(val, "https://") || strings.HasPrefix(val, "mailto:") || strings.HasPrefix(val, "/t/")):
				t.Errorf("<%s href=%q>", tok.Data, a.Val)
			}
		}
	}
	if styles != 1 {
		t.Errorf("page has %d <style> elements, want only its own", styles)
	}
}

// A message whose text was cut at inbound.max_text_bytes says so on the
// page; one that was not says nothing (issue 13, item 8).
func TestCutTextIsAnnounced(t *testing.T) {
	f := newFixture(t, web.Options{}, func(tx store.Tx) error {
		tk := &store.Ticket{Key: "ACME-3", Project: "ACME", Number: 3, Subject: "logs", Status: "new", Language: "en", Created: t0, Updated: t0}
		err := addTicket(tx, tk, []store.Message{
			{Direction: "in", Kind: "request", From: "x@customer.example", Text: "the first megabyte of the log", TextCut: true, Received: t0},
			{Direction: "out", Kind: "comment", From: "acme@support.example.com", Text: "thanks, we will look", Received: t0.Add(time.Minute)},
		})
		if err != nil {
			return err
		}
		return addToken(tx, "cutcutcutcutcutcutcutcutc1", "ACME-3")
	})
	resp, page := f.get(t, "/t/cutcutcutcutcutcutcutcutc1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if n := strings.Count(page, "its text was cut"); n != 1 {
		t.Errorf("the cut notice appears %d times, want once:\n%s", n, page)
	}
	if !inOrder(pageText(page), "the first megabyte of the log", "its text was cut", "thanks, we will look") {
		t.Errorf("notice not under the cut message:\n%s", pageText(page))
	}
}
