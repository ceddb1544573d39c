package desk

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/search"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/templates"
	"github.com/ticketgate/ticketgate/ticket"
)

// env is a desk on a real store, engine, notifier and search index,
// behind a loopback HTTP server.
type env struct {
	t    *testing.T
	db   store.DB
	cfg  atomic.Pointer[config.Config]
	eng  *ticket.Engine
	h    *Handler
	srv  *httptest.Server
	now  atomic.Int64
	blob string
}

func (e *env) clock() time.Time { return time.Unix(0, e.now.Load()) }

func testConfig(t *testing.T) *config.Config {
	c := config.Default()
	c.DataDir = t.TempDir()
	c.Web.BaseURL = "http://desk.test"
	c.Projects = []config.Project{
		{Key: "ACME", Name: "Acme Support", Address: "acme@support.example.com", Agents: []string{"alice@example.com"}, Admins: []string{"adam@example.com"}, Notifications: config.DefaultNotifications()},
		{Key: "BETA", Name: "Beta Help", Address: "beta@help.example.org", Agents: []string{"bob@example.org"}, Notifications: config.DefaultNotifications()},
	}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	return c
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t}
	e.now.Store(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC).UnixNano())
	cfg := testConfig(t)
	e.cfg.Store(cfg)
	db, err := store.Open(cfg.DataDir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	tmpl := templates.New("")
	n := notify.New(e.cfg.Load, func() *templates.Set { return tmpl }, e.clock, nil)
	e.eng = ticket.NewEngine(db, e.cfg.Load, n, e.clock, nil)
	if e.blob, _, err = db.PutBlob(strings.NewReader("%PDF secret invoice")); err != nil {
		t.Fatal(err)
	}
	raw, _, err := db.PutBlob(strings.NewReader("From: carl@customer.example\r\n\r\nraw bytes"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range []struct{ project, reporter, html string }{
		{"ACME", "carl@customer.example", ""}, {"BETA", "dora@customer.example", ""},
	} {
		err := db.Update(context.Background(), func(tx store.Tx) error {
			now := e.clock()
			t := &store.Ticket{Key: tk.project + "-1", Project: tk.project, Number: 1, Subject: "Invoice wrong", Status: "new", Priority: "normal",
				Reporter: tk.reporter, Created: now, Updated: now, Messages: 1}
			m := &store.Message{Direction: "in", Kind: "request", From: tk.reporter, Subject: "Invoice wrong", MessageID: tk.project + "@customer.example",
				Received: now, Text: "The zanzibarian total is off.", HTML: tk.html, Raw: raw, RawSize: 40,
				Attach: []store.Attachment{{Filename: "invoice.pdf", ContentType: "application/pdf", Size: 19, Blob: e.blob}}}
			if err := ticket.Import(tx, t, []ticket.Imported{{Message: m, Hash: tk.project, Event: store.EvRequestCreated, Actor: tk.reporter}}, nil, nil); err != nil {
				return err
			}
			return tx.PutTicket(t)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	idx, err := search.Open(context.Background(), t.TempDir(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); idx.Run(ctx, search.Pace{Every: time.Hour}) }()
	t.Cleanup(func() { cancel(); wg.Wait(); idx.Close() })
	<-idx.Ready()
	e.h = New(db, Options{BaseURL: cfg.Web.BaseURL, Config: e.cfg.Load, Engine: e.eng, Secret: []byte("0123456789abcdef0123456789abcdef"),
		MailSignIn: n.QueueSignIn, Now: e.clock, DescribeEvent: ticket.Describe, Search: idx.Search}, nil)
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(e.srv.Close)
	return e
}

// browser is an HTTP client with its own cookies that does not follow
// redirects (the tests look at them).
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (e *env) get(c *http.Client, path string) (int, string) {
	e.t.Helper()
	resp, err := c.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *env) post(c *http.Client, path string, form url.Values) (*http.Response, string) {
	e.t.Helper()
	resp, err := c.PostForm(e.srv.URL+path, form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in\n%s", page)
	}
	return m[1]
}

// signInMails lists the sign-in links queued so far, per recipient.
func (e *env) signInMails() map[string][]string {
	out := map[string][]string{}
	err := e.db.View(func(tx store.Tx) error {
		items, err := tx.ListOutbox(1000)
		for _, it := range items {
			if it.Event == notify.SignInTemplate {
				out[it.Recipient] = append(out[it.Recipient], strings.TrimPrefix(it.Vars.Link, "http://desk.test"))
			}
		}
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// requestLink asks for a sign-in link for addr in browser c and returns
// the answer's status and body.
func (e *env) requestLink(c *http.Client, addr string) (int, string) {
	e.t.Helper()
	_, page := e.get(c, "/desk/signin")
	resp, body := e.post(c, "/desk/signin", url.Values{"csrf": {csrfOf(e.t, page)}, "address": {addr}})
	return resp.StatusCode, body
}

// confirm follows a sign-in link in browser c and presses the button.
func (e *env) confirm(c *http.Client, link string) *http.Response {
	e.t.Helper()
	_, page := e.get(c, link)
	resp, _ := e.post(c, link, url.Values{"csrf": {csrfOf(e.t, page)}})
	return resp
}

// signIn signs addr in with a new browser.
func (e *env) signIn(addr string) *http.Client {
	e.t.Helper()
	c := e.browser()
	e.requestLink(c, addr)
	links := e.signInMails()[addr]
	if len(links) == 0 {
		e.t.Fatalf("no sign-in link mailed to %s", addr)
	}
	if resp := e.confirm(c, links[len(links)-1]); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/desk/" {
		e.t.Fatalf("confirming %s's link: %d %s", addr, resp.StatusCode, resp.Header.Get("Location"))
	}
	return c
}

// csrf is the token of c's session, read from the queue page.
func (e *env) csrf(c *http.Client) string {
	e.t.Helper()
	_, page := e.get(c, "/desk/")
	return csrfOf(e.t, page)
}

func (e *env) ticket(key string) (*store.Ticket, []*store.Message) {
	e.t.Helper()
	var tk *store.Ticket
	var msgs []*store.Message
	err := e.db.View(func(tx store.Tx) error {
		var err error
		if tk, err = tx.Ticket(key); err != nil {
			return err
		}
		msgs, err = tx.TicketMessages(key)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return tk, msgs
}

var regexpSeen = regexp.MustCompile(`name="seen" value="([0-9]+)"`)
