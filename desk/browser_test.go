package desk

import (
	"context"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

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
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

// TestCustomerHTMLInertInBrowser: a customer's HTML mail with scripts,
// event handlers, a form, remote images, remote CSS, a meta refresh, an
// iframe, an object and CSS tricks renders in the desk's sandboxed frame
// without running anything or sending a single request (counted at a
// loopback server standing in for the tracker).
func TestCustomerHTMLInertInBrowser(t *testing.T) {
	ctx := browser(t)
	var fetched atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tracker := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fetched.Add(1) })}
	go tracker.Serve(ln)
	defer tracker.Close()
	remote := "http://" + ln.Addr().String()

	e := newEnv(t)
	hostile := `<html><head><meta http-equiv="refresh" content="0;url=` + remote + `/refresh">` +
		`<link rel="stylesheet" href="` + remote + `/css"><style>@import url(` + remote + `/import); body{background:url(` + remote + `/bg)}</style>` +
		`<base href="` + remote + `/"></head><body onload="parent.pwned=1">` +
		`<p>My <b>printer</b> is on fire.</p>` +
		`<script>parent.document.title='pwned';top.pwned=2;new Image().src='` + remote + `/script'</script>` +
		`<img src="x" onerror="top.pwned=3">` +
		`<img src="` + remote + `/pixel.png"><img srcset="` + remote + `/srcset.png 2x">` +
		`<div style="background-image:url(` + remote + `/inline)">styled</div>` +
		`<svg><image href="` + remote + `/svg.png"/><script>top.pwned=4</script></svg>` +
		`<iframe src="` + remote + `/frame"></iframe><object data="` + remote + `/object"></object><embed src="` + remote + `/embed">` +
		`<video poster="` + remote + `/poster"></video><audio src="` + remote + `/audio" autoplay></audio>` +
		`<form action="` + remote + `/form" method="post"><input name="x" value="y"><button id="b">go</button></form>` +
		`<a href="javascript:top.pwned=5" id="js">click</a></body></html>`
	err = e.db.Update(context.Background(), func(tx store.Tx) error {
		m, err := tx.TicketMessages("ACME-1")
		if err != nil {
			return err
		}
		m[0].HTML = hostile
		return tx.PutMessage(m[0])
	})
	if err != nil {
		t.Fatal(err)
	}
	// A session made the way the sign-in makes one, its cookie handed to
	// the browser.
	secret := newSecret()
	now := e.clock()
	if err := e.db.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutSession(&store.Session{Hash: hashOf(secret), Agent: "alice@example.com", Created: now, LastSeen: now, Via: "mail"})
	}); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(e.srv.URL, "http://")
	yes := true
	err = chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: sessionCookie, Value: secret, Domain: strings.Split(host, ":")[0], Path: "/", HTTPOnly: &yes})
			return err
		}),
		chromedp.Navigate(e.srv.URL+"/desk/t/ACME-1"),
		chromedp.WaitVisible(chromedp.CSS("iframe.html")),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Navigate returned at the page's load event, which waits for the
	// frame and everything the frame loads (it is not lazy): whatever it
	// would have fetched, it has tried.
	if state := must(chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState`)))(t); state != "complete" {
		t.Fatalf("page state %q", state)
	}
	if n := fetched.Load(); n != 0 {
		t.Fatalf("the ticket page sent %d request(s) to the mail's remote addresses", n)
	}
	title := must(chromedp.Run(ctx, chromedp.Title()))(t)
	pwned := must(chromedp.Run(ctx, chromedp.Evaluate[bool](`window.pwned !== undefined`)))(t)
	srcdoc := must(chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('iframe.html').getAttribute('srcdoc')`)))(t)
	sandbox := must(chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('iframe.html').getAttribute('sandbox')`)))(t)
	if pwned || strings.Contains(title, "pwned") {
		t.Fatalf("a script of the mail ran: title %q", title)
	}
	if sandbox != "" {
		t.Fatalf("the frame's sandbox allows %q", sandbox)
	}
	if !strings.Contains(srcdoc, "printer") || strings.Contains(srcdoc, "<script") || strings.Contains(srcdoc, "onerror") || strings.Contains(srcdoc, "<form") {
		t.Fatalf("frame document:\n%s", srcdoc)
	}
	// Clicking inside the frame (the form's button, the javascript: link)
	// does nothing either.
	frameClicks := chromedp.Evaluate[bool](`(() => { try { const d = document.querySelector('iframe.html').contentDocument; return d !== null } catch (e) { return false } })()`)
	if reachable := must(chromedp.Run(ctx, frameClicks))(t); reachable {
		t.Fatal("the page can reach into the mail's frame: it is not sandboxed to an opaque origin")
	}
}

func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
