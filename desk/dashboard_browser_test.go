package desk

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/ticketgate/ticketgate/store"
)

// cspWatch collects, before any page's own content runs, every Content
// Security Policy violation of the documents the tab opens (a listener
// the DevTools protocol installs: the page's CSP does not apply to it).
const cspWatch = `window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));`

// consoleProblems records the errors a tab reports: console.error calls,
// uncaught exceptions and the browser's own error entries (a blocked
// resource, a CSP violation).
type consoleProblems struct {
	mu   sync.Mutex
	list []string
	// seen gets a token when a problem is recorded.
	seen chan struct{}
}

func (c *consoleProblems) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			msg = "console." + string(ev.Type)
		}
	case *runtime.EventExceptionThrown:
		msg = "exception: " + ev.ExceptionDetails.Text
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError && !strings.HasSuffix(ev.Entry.URL, "/favicon.ico") {
			msg = "log: " + ev.Entry.Text
		}
	}
	if msg != "" {
		c.mu.Lock()
		c.list = append(c.list, msg)
		c.mu.Unlock()
		select {
		case c.seen <- struct{}{}:
		default:
		}
	}
}

func (c *consoleProblems) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.list
	c.list = nil
	return out
}

// TestDashboardInBrowser opens the dashboard in Chromium at desktop and
// phone width: no console error, no CSP violation (the watcher is shown
// to work by a script injected at the end, which the CSP blocks), every
// chart drawn with its bars, lines and titles, two columns on a desktop
// and one on a phone without sideways scrolling.
func TestDashboardInBrowser(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t)
	seedDashboard(t, e)
	secret := newSecret()
	now := e.clock()
	if err := e.db.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutSession(&store.Session{Hash: hashOf(secret), Agent: "alice@example.com", Created: now, LastSeen: now, Via: "mail"})
	}); err != nil {
		t.Fatal(err)
	}
	problems := consoleProblems{seen: make(chan struct{}, 1)}
	if err := chromedp.Listen(ctx, problems.listen); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(e.srv.URL, "http://")
	yes := true
	err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
				return err
			}
			if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatch}); err != nil {
				return err
			}
			_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: sessionCookie, Value: secret, Domain: strings.Split(host, ":")[0], Path: "/", HTTPOnly: &yes})
			return err
		}),
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(e.srv.URL+"/desk/"),
		chromedp.Click(chromedp.ID("nav-dashboard")),
		chromedp.WaitVisible(chromedp.ID("chart-days")),
	)
	if err != nil {
		t.Fatal(err)
	}
	type layout struct {
		Charts, Bars, Lines, Titles, Sections, Columns int
		Lefts                                          []float64
		ScrollWidth, Width                             float64
		CSP                                            []string
	}
	measure := chromedp.Evaluate[layout](`(() => {
		const secs = [...document.querySelectorAll('.dash > section')];
		const lefts = [...new Set(secs.map(s => Math.round(s.getBoundingClientRect().left)))];
		return {
			Charts: document.querySelectorAll('svg.chart[role=img]').length,
			Bars: document.querySelectorAll('svg.chart rect.bar').length,
			Lines: document.querySelectorAll('svg.chart polyline.line').length,
			Titles: document.querySelectorAll('svg.chart title').length,
			Sections: secs.length, Columns: lefts.length, Lefts: lefts,
			ScrollWidth: document.documentElement.scrollWidth, Width: window.innerWidth,
			CSP: window.__csp,
		};
	})()`)
	desk := must(chromedp.Run(ctx, measure))(t)
	if desk.Charts != 6 || desk.Sections != 6 || desk.Lines != 2 || desk.Bars < 12 || desk.Titles < 6+12+31 {
		t.Fatalf("dashboard elements: %+v", desk)
	}
	if desk.Columns != 2 {
		t.Errorf("%d columns at 1280 px, want 2: %+v", desk.Columns, desk)
	}
	// The bars are drawn with the page's colours (the stylesheet applies
	// inside the SVG).
	fill := must(chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('svg.chart rect.bar')).fill`)))(t)
	if fill == "" || fill == "none" {
		t.Errorf("bar fill %q", fill)
	}
	if loc := must(chromedp.Run(ctx, chromedp.Location()))(t); !strings.HasSuffix(loc, "/desk/dashboard") {
		t.Fatalf("the navigation's link led to %s", loc)
	}

	err = chromedp.Do(ctx, chromedp.EmulateViewport(390, 844), chromedp.Navigate(e.srv.URL+"/desk/dashboard"), chromedp.WaitVisible(chromedp.ID("chart-days")))
	if err != nil {
		t.Fatal(err)
	}
	phone := must(chromedp.Run(ctx, measure))(t)
	if phone.Columns != 1 || phone.Charts != 6 {
		t.Errorf("phone: %d columns (lefts %v), %d charts", phone.Columns, phone.Lefts, phone.Charts)
	}
	if phone.ScrollWidth > phone.Width {
		t.Errorf("phone: the page is %v px wide in a %v px window", phone.ScrollWidth, phone.Width)
	}
	svgWidth := must(chromedp.Run(ctx, chromedp.Evaluate[float64](`Math.max(...[...document.querySelectorAll('svg.chart')].map(s => s.getBoundingClientRect().right))`)))(t)
	if svgWidth > phone.Width {
		t.Errorf("phone: a chart reaches %v px in a %v px window", svgWidth, phone.Width)
	}
	if dir := os.Getenv("TICKETGATE_DASHBOARD_SHOTS"); dir != "" {
		for _, s := range []struct {
			name string
			w, h int64
		}{{"dashboard-phone.png", 390, 844}, {"dashboard-desktop.png", 1280, 900}} {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(s.w, s.h), chromedp.Navigate(e.srv.URL+"/desk/dashboard"), chromedp.WaitVisible(chromedp.ID("chart-days"))); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, s.name), must(chromedp.Run(ctx, chromedp.FullScreenshot(100)))(t), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(desk.CSP)+len(phone.CSP) > 0 {
		t.Errorf("CSP violations: %v %v", desk.CSP, phone.CSP)
	}
	if p := problems.take(); len(p) > 0 {
		t.Errorf("the browser reported: %v", p)
	}
	// The watchers work: a script injected into the page is refused by
	// the CSP, and both see it.
	for len(problems.seen) > 0 {
		<-problems.seen
	}
	err = chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1'; document.body.append(s) })()`),
		chromedp.Poll[chromedp.Void](`window.__csp.length > 0`))
	if err != nil {
		t.Fatalf("the injected script's violation went unseen: %v", err)
	}
	if ran := must(chromedp.Run(ctx, chromedp.Evaluate[bool](`window.ran === 1`)))(t); ran {
		t.Fatal("the injected script ran")
	}
	select {
	case <-problems.seen:
	case <-ctx.Done():
		t.Fatal("the browser's error log did not report the refused script")
	}
}
