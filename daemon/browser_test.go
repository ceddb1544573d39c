package daemon

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// browser starts a headless Chromium (Debian's package) or skips.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (apt-get install chromium; CI installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

// TestCustomerPageInBrowser drives a real Chromium through the link of an
// auto-reply: read the conversation, reply, close; the mail's HTML carries
// a script, an onerror handler and a remote image, none of which may act.
func TestCustomerPageInBrowser(t *testing.T) {
	ctx := browser(t)
	// A server standing in for a tracker's remote image: it must never be
	// asked for anything.
	var fetched atomic.Int64
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	tracker := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fetched.Add(1) })}
	go tracker.Serve(ln)
	defer tracker.Close()
	remote := "http://" + ln.Addr().String() + "/pixel.png"

	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := testConfig(t, t.TempDir(), sink)
	d := start(t, c)
	html := `<html><body><p>My <b>printer</b> is on fire.</p>` +
		`<script>document.title='pwned';window.pwned=1</script>` +
		`<img src="x" onerror="window.pwned=2;document.body.innerHTML='pwned'">` +
		`<img src="` + remote + `"><a href="javascript:window.pwned=3">click</a></body></html>`
	raw := "From: \"Carl\" <carl@customer.example>\r\nTo: acme@support.example.com\r\nSubject: Printer on fire\r\nMessage-ID: <br1@customer.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n"
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"}, raw)
	waitMessages(t, sink, 2)
	// Their own auto-reply, waited for, not whichever mail came first.
	ar := waitMailTo(t, sink, "carl@customer.example", "http://ticketgate.test/t/")
	m := linkRE.FindStringSubmatch(textBody(t, ar))
	if m == nil {
		t.Fatal("no link in the auto-reply")
	}
	page := "http://" + d.Addr("web") + m[1]

	err := chromedp.Do(ctx,
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.CSS("h1")),
		chromedp.Sleep(300*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	title := must(chromedp.Run(ctx, chromedp.Title()))(t)
	body := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"))))(t)
	pwned := must(chromedp.Run(ctx, chromedp.Evaluate[bool](`window.pwned !== undefined`)))(t)
	if strings.Contains(title, "pwned") || pwned || strings.Contains(body, "pwned") {
		t.Fatalf("script from the mail ran: title %q, pwned %v", title, pwned)
	}
	if !strings.Contains(title, "ACME-1") || !strings.Contains(body, "Printer on fire") || !strings.Contains(body, "is on fire") {
		t.Fatalf("page: %q\n%s", title, body)
	}
	if n := fetched.Load(); n != 0 {
		t.Fatalf("the page loaded %d remote resource(s)", n)
	}
	if dir := os.Getenv("TICKETGATE_SCREENSHOTS"); dir != "" {
		screenshots(t, ctx, page, dir)
	}

	// Reply through the form: it arrives like mail, threaded by our token.
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("textarea[name=text]"), "Still smoking, please hurry."),
		chromedp.Click(chromedp.CSS("form.reply button")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if err != nil {
		t.Fatal(err)
	}
	body = must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"))))(t)
	if !strings.Contains(body, "your reply was added") || !strings.Contains(body, "Still smoking, please hurry.") {
		t.Fatalf("after reply:\n%s", body)
	}
	_, msgs := ticketOf(t, d, "ACME-1")
	last := msgs[len(msgs)-1]
	if len(msgs) != 2 || last.From != "carl@customer.example" || last.ThreadedBy != "reply-token" || last.Source != "web" || last.Text != "Still smoking, please hurry." {
		t.Fatalf("reply stored as %+v", last)
	}
	// The agents hear of it like of a mailed comment.
	if len(waitTo(t, sink, "alice@example.com", 2, 5*time.Second)) != 2 {
		t.Fatal("agent not told of the reply from the page")
	}

	// Close it.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("section.actions form button.secondary")),
		chromedp.WaitNotPresent(chromedp.CSS("button.secondary")),
	)
	if err != nil {
		t.Fatal(err)
	}
	body = must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"))))(t)
	tk, _ := ticketOf(t, d, "ACME-1")
	if tk.Status != "closed" || tk.Closed.IsZero() || !strings.Contains(body, "Closed") {
		t.Fatalf("after close: status %s\n%s", tk.Status, body)
	}
	closeButtons := must(chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('button.secondary').length`)))(t)
	if closeButtons != 0 {
		t.Error("a closed request still offers to close it")
	}
	// A forged form post (no CSRF token) changes nothing.
	resp, err := http.PostForm(page+"/reply", map[string][]string{"text": {"forged"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("reply without CSRF token: %d", resp.StatusCode)
	}
	var n int
	d.Store().View(func(tx store.Tx) error { m, _ := tx.TicketMessages("ACME-1"); n = len(m); return nil })
	if n != 2 {
		t.Errorf("forged post stored: %d messages", n)
	}
}

// screenshots writes the page at desktop and phone width into dir (run
// with TICKETGATE_SCREENSHOTS=docs to refresh the ones in docs/).
func screenshots(t *testing.T, ctx context.Context, page, dir string) {
	for _, s := range []struct {
		name string
		w, h int64
	}{{"customer-page-desktop.png", 1280, 900}, {"customer-page-phone.png", 390, 844}} {
		err := chromedp.Do(ctx,
			chromedp.EmulateViewport(s.w, s.h),
			chromedp.Navigate(page),
			chromedp.WaitVisible(chromedp.CSS("h1")),
		)
		if err != nil {
			t.Fatal(err)
		}
		png := must(chromedp.Run(ctx, chromedp.FullScreenshot(100)))(t)
		if err := os.WriteFile(filepath.Join(dir, s.name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900))
}

// must turns (value, error) into a value, failing the test on error.
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
