package desk

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// logBuffer collects the desk's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// oidcEnv is the desk of newEnv with web.oidc pointing at a test identity
// provider, served on a loopback listener whose URL is web.base_url (so
// the provider's redirect really comes back to it).
type oidcEnv struct {
	*env
	idp  *testIdP
	logs *logBuffer
}

func newOIDCEnv(t *testing.T) *oidcEnv {
	t.Helper()
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	idp := newTestIdP(t, base+config.OIDCCallbackPath, e.clock)
	secretFile := filepath.Join(t.TempDir(), "oidc.secret")
	if err := os.WriteFile(secretFile, []byte(idp.secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := *e.cfg.Load()
	cfg.Web.BaseURL = base
	cfg.Web.OIDC = &config.OIDC{Issuer: idp.srv.URL, ClientID: idp.clientID, ClientSecretFile: secretFile,
		RedirectURL: base + config.OIDCCallbackPath, Name: "Test IdP"}
	if errs := cfg.Validate(); len(errs) != 0 {
		t.Fatalf("the test's config does not pass check-config: %v", errs)
	}
	e.cfg.Store(&cfg)
	logs := &logBuffer{}
	opts := e.h.opts
	opts.BaseURL = base
	e.h = New(e.db, opts, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	srv := httptest.NewUnstartedServer(e.h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	e.srv = srv
	return &oidcEnv{env: e, idp: idp, logs: logs}
}

var oidcLinkRE = regexp.MustCompile(`<a id="oidc" href="([^"]+)"[^>]*>([^<]+)</a>`)

// flow is one browser's way through the provider up to (not into) the
// desk's callback.
type flow struct {
	authorize *url.URL // the provider's authorization URL the desk sent to
	callback  string   // where the provider sent the browser back
	cookie    *http.Cookie
}

// start presses the sign-in page's provider button in browser c and
// follows the provider's redirect back, stopping before the callback.
func (e *oidcEnv) start(c *http.Client) *flow {
	e.t.Helper()
	code, page := e.get(c, "/desk/signin")
	m := oidcLinkRE.FindStringSubmatch(page)
	if code != http.StatusOK || m == nil {
		e.t.Fatalf("sign-in page without the provider's button: %d\n%s", code, page)
	}
	resp, err := c.Get(e.srv.URL + m[1])
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("the button answered %d, want a redirect to the provider", resp.StatusCode)
	}
	f := &flow{}
	if f.authorize, err = url.Parse(resp.Header.Get("Location")); err != nil || !strings.HasPrefix(f.authorize.String(), e.idp.srv.URL+"/authorize?") {
		e.t.Fatalf("the button sent to %q", resp.Header.Get("Location"))
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == oidcCookie {
			f.cookie = ck
		}
	}
	resp, err = c.Get(f.authorize.String())
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("the provider answered the authorization request %d", resp.StatusCode)
	}
	f.callback = resp.Header.Get("Location")
	if !strings.HasPrefix(f.callback, e.srv.URL+config.OIDCCallbackPath+"?") {
		e.t.Fatalf("the provider sent back to %q", f.callback)
	}
	return f
}

// finish follows the provider's redirect into the desk's callback.
func (e *oidcEnv) finish(c *http.Client, callback string) (*http.Response, string) {
	e.t.Helper()
	resp, err := c.Get(callback)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		e.t.Fatal(err)
	}
	return resp, b.String()
}

// sessions lists the store's desk sessions of agent.
func (e *oidcEnv) sessions(agent string) []*store.Session {
	e.t.Helper()
	var out []*store.Session
	if err := e.db.View(func(tx store.Tx) error {
		var err error
		out, err = tx.Sessions(agent)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// TestOIDCSignIn: a configured agent signs in through the identity
// provider (authorization code, PKCE S256, state and nonce bound to the
// browser) and gets the mail path's session: same cookie flags and
// lifetime, usable on /desk/, listed with via "oidc", and ended by
// revoking the agent's sessions as `ticketgate sessions revoke` does.
func TestOIDCSignIn(t *testing.T) {
	e := newOIDCEnv(t)
	if e.idp.discoveries.Load() != 0 {
		t.Fatal("the desk asked the provider before anyone pressed its button")
	}
	c := e.browser()
	_, page := e.get(c, "/desk/signin")
	if m := oidcLinkRE.FindStringSubmatch(page); m == nil || m[2] != "Sign in with Test IdP" {
		t.Fatalf("button %q", m)
	}
	e.idp.signInAs(idpIdentity{Email: "Alice@Example.COM", Verified: true})
	f := e.start(c)
	q := f.authorize.Query()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("nonce") == "" || q.Get("state") == "" ||
		q.Get("redirect_uri") != e.srv.URL+config.OIDCCallbackPath || q.Get("code_verifier") != "" {
		t.Fatalf("authorization request %v", q)
	}
	if f.cookie == nil || !f.cookie.HttpOnly || f.cookie.SameSite != http.SameSiteLaxMode || f.cookie.MaxAge != int(oidcFlowTTL/time.Second) ||
		strings.Contains(f.cookie.Value, q.Get("state")) || strings.Contains(f.cookie.Value, q.Get("nonce")) {
		t.Fatalf("flow cookie %+v", f.cookie)
	}
	resp, _ := e.finish(c, f.callback)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/desk/" {
		t.Fatalf("callback answered %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		switch ck.Name {
		case sessionCookie:
			sess = ck
		case oidcCookie:
			if ck.MaxAge >= 0 {
				t.Errorf("the flow cookie was not cleared: %+v", ck)
			}
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Secure || sess.Path != "/" || sess.MaxAge != int(SessionMaxAge/time.Second) {
		t.Fatalf("session cookie %+v", sess)
	}
	if e.idp.redeemed.Load() != 1 {
		t.Fatalf("%d codes redeemed", e.idp.redeemed.Load())
	}
	code, queue := e.get(c, "/desk/")
	if code != http.StatusOK || !strings.Contains(queue, "alice@example.com") || !strings.Contains(queue, "Invoice wrong") {
		t.Fatalf("queue after sign-in: %d\n%s", code, queue)
	}
	if code, _ := e.get(c, "/desk/t/ACME-1"); code != http.StatusOK {
		t.Fatalf("her ticket: %d", code)
	}
	if code, _ := e.get(c, "/desk/t/BETA-1"); code != http.StatusNotFound {
		t.Fatalf("another project's ticket: %d", code)
	}
	ss := e.sessions("alice@example.com")
	if len(ss) != 1 || ss[0].Via != "oidc" || !ss[0].Created.Equal(e.clock()) {
		t.Fatalf("sessions %+v", ss)
	}
	if logs := e.logs.String(); !strings.Contains(logs, `msg="desk: signed in" agent=alice@example.com via=oidc`) || strings.Contains(logs, e.idp.secret) {
		t.Fatalf("log:\n%s", logs)
	}
	// An admin signs in the same way.
	e.idp.signInAs(idpIdentity{Email: "adam@example.com", Verified: "true"})
	a := e.browser()
	if resp, _ := e.finish(a, e.start(a).callback); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin: %d", resp.StatusCode)
	}
	// Revoked: the next request has no session.
	if err := e.db.Update(context.Background(), func(tx store.Tx) error {
		for _, se := range e.sessions("alice@example.com") {
			if err := tx.DeleteSession(se.Hash); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if code, _ := e.get(c, "/desk/"); code != http.StatusSeeOther {
		t.Fatalf("after revoking: %d", code)
	}
	// The idle limit is the mail path's too.
	e.now.Add(int64(SessionIdle))
	if code, _ := e.get(a, "/desk/"); code != http.StatusSeeOther {
		t.Fatalf("after 12 idle hours: %d", code)
	}
}

// TestOIDCRefusals: every answer the desk must not take — an address that
// is no agent's, an unverified or unstated email, a wrong nonce or state,
// a code used twice, an expired token, one signed with another key, one
// for another audience, a provider error, a callback in a browser that
// did not start the flow, a flow cookie too old — gets the same page,
// opens no session and leaves the browser signed out.
func TestOIDCRefusals(t *testing.T) {
	e := newOIDCEnv(t)
	agent := idpIdentity{Email: "alice@example.com", Verified: true}
	type attempt func(t *testing.T, c *http.Client) (*http.Response, string)
	through := func(who idpIdentity) attempt {
		return func(t *testing.T, c *http.Client) (*http.Response, string) {
			e.idp.signInAs(who)
			return e.finish(c, e.start(c).callback)
		}
	}
	cases := []struct {
		name   string
		try    attempt
		reason string
		// opened is how many sessions the case opens on the way (the
		// first, good use of a code later replayed).
		opened int
	}{
		{"not an agent", through(idpIdentity{Email: "carl@customer.example", Verified: true}), "not an agent or admin", 0},
		{"email_verified false", through(idpIdentity{Email: "alice@example.com", Verified: false}), "email not verified", 0},
		{"email_verified missing", through(idpIdentity{Email: "alice@example.com"}), "email not verified", 0},
		{"wrong nonce", through(idpIdentity{Email: "alice@example.com", Verified: true, Nonce: "replayed-nonce"}), "nonce does not match", 0},
		{"expired token", through(idpIdentity{Email: "alice@example.com", Verified: true, Lifetime: -time.Minute}), "token is expired", 0},
		{"signed with another key", through(idpIdentity{Email: "alice@example.com", Verified: true, OtherKey: true}), "failed to verify signature", 0},
		{"wrong audience", through(idpIdentity{Email: "alice@example.com", Verified: true, Audience: []string{"another-app"}}), "expected audience", 0},
		{"two audiences, azp not us", through(idpIdentity{Email: "alice@example.com", Verified: true, Audience: []string{"another-app", "ticketgate-desk"}}), "another party (azp)", 0},
		{"wrong state", func(t *testing.T, c *http.Client) (*http.Response, string) {
			e.idp.signInAs(agent)
			f := e.start(c)
			u, _ := url.Parse(f.callback)
			q := u.Query()
			q.Set("state", strings.Repeat("A", len(q.Get("state"))))
			u.RawQuery = q.Encode()
			return e.finish(c, u.String())
		}, "state does not match", 0},
		{"provider error", func(t *testing.T, c *http.Client) (*http.Response, string) {
			e.idp.signInAs(agent)
			f := e.start(c)
			u, _ := url.Parse(f.callback)
			return e.finish(c, e.srv.URL+config.OIDCCallbackPath+"?error=access_denied&state="+url.QueryEscape(u.Query().Get("state")))
		}, "the provider answered access_denied", 0},
		{"another browser's answer", func(t *testing.T, c *http.Client) (*http.Response, string) {
			e.idp.signInAs(agent)
			f := e.start(e.browser())
			return e.finish(c, f.callback)
		}, "no flow cookie", 0},
		{"flow older than its limit", func(t *testing.T, c *http.Client) (*http.Response, string) {
			e.idp.signInAs(agent)
			f := e.start(c)
			e.now.Add(int64(oidcFlowTTL))
			return e.finish(c, f.callback)
		}, "no flow cookie", 0},
		{"code used twice", func(t *testing.T, c *http.Client) (*http.Response, string) {
			// The first answer signs the agent in; the same answer
			// replayed with the same flow cookie (both stolen) is
			// refused at the provider.
			e.idp.signInAs(agent)
			first := e.browser()
			f := e.start(first)
			if resp, _ := e.finish(first, f.callback); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("first use: %d", resp.StatusCode)
			}
			u, _ := url.Parse(e.srv.URL)
			c.Jar.SetCookies(u, []*http.Cookie{{Name: oidcCookie, Value: f.cookie.Value, Path: "/desk/"}})
			return e.finish(c, f.callback)
		}, "token endpoint refused the code: invalid_grant", 1},
	}
	var page string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.sessions(""))
			logged := len(e.logs.String())
			c := e.browser()
			resp, body := tc.try(t, c)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("answered %d, want 403", resp.StatusCode)
			}
			if page == "" {
				page = body
				if !strings.Contains(page, "This sign-in did not work.") {
					t.Fatalf("refusal page:\n%s", page)
				}
			} else if body != page {
				t.Errorf("the page differs from the other refusals':\n%s\n---\n%s", body, page)
			}
			for _, ck := range resp.Cookies() {
				if ck.Name == sessionCookie {
					t.Errorf("a session cookie was set: %+v", ck)
				}
			}
			if n := len(e.sessions("")); n != before+tc.opened {
				t.Errorf("%d sessions before, %d after", before, n)
			}
			if code, _ := e.get(c, "/desk/"); code != http.StatusSeeOther {
				t.Errorf("signed in after a refusal: %d", code)
			}
			if logs := e.logs.String()[logged:]; !strings.Contains(logs, "desk: OIDC sign-in refused") || !strings.Contains(logs, tc.reason) {
				t.Errorf("log has no %q:\n%s", tc.reason, logs)
			}
		})
	}
	if strings.Contains(e.logs.String(), e.idp.secret) {
		t.Error("the client secret is in the log")
	}
}

// TestOIDCProviderDown: the desk starts and shows its sign-in page without
// asking the provider; while the provider is down the button answers a
// clear page (and the log says why) without asking it again for the retry
// delay, mail sign-in keeps working, and once the provider is back and
// the delay passed the button works.
func TestOIDCProviderDown(t *testing.T) {
	e := newOIDCEnv(t)
	e.idp.down.Store(true)
	c := e.browser()
	if code, page := e.get(c, "/desk/signin"); code != http.StatusOK || !strings.Contains(page, "Sign in with Test IdP") {
		t.Fatalf("sign-in page %d", code)
	}
	if e.idp.discoveries.Load() != 0 {
		t.Fatal("discovery before the button was pressed")
	}
	for i := 0; i < 2; i++ {
		resp, err := c.Get(e.srv.URL + "/desk/oidc")
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "30" ||
			!strings.Contains(b.String(), "Test IdP cannot be reached right now. Try again in a minute, or ask for a sign-in link by mail.") {
			t.Fatalf("try %d: %d\n%s", i, resp.StatusCode, b.String())
		}
	}
	if n := e.idp.discoveries.Load(); n != 1 {
		t.Fatalf("%d discovery requests, want 1 (the second try within the retry delay must not ask)", n)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "desk: OIDC provider discovery failed") || !strings.Contains(logs, "issuer="+e.idp.srv.URL) {
		t.Fatalf("log:\n%s", logs)
	}
	if code, _ := e.requestLink(e.browser(), "alice@example.com"); code != http.StatusOK || len(e.signInMails()["alice@example.com"]) != 1 {
		t.Fatalf("mail sign-in while the provider is down: %d", code)
	}
	e.idp.down.Store(false)
	e.now.Add(int64(oidcRetryAfter))
	e.idp.signInAs(idpIdentity{Email: "bob@example.org", Verified: true})
	resp, _ := e.finish(c, e.start(c).callback)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the provider came back: %d", resp.StatusCode)
	}
	if code, page := e.get(c, "/desk/"); code != http.StatusOK || !strings.Contains(page, "bob@example.org") {
		t.Fatalf("queue %d", code)
	}
	if !strings.Contains(e.logs.String(), "desk: OIDC provider reachable again") {
		t.Error("no log line when the provider came back")
	}
}

// TestOIDCOffWithoutConfig: without web.oidc there is no button and the
// OIDC URLs are 404.
func TestOIDCOffWithoutConfig(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	if _, page := e.get(c, "/desk/signin"); strings.Contains(page, `id="oidc"`) {
		t.Fatal("a provider button without web.oidc")
	}
	for _, u := range []string{"/desk/oidc", config.OIDCCallbackPath + "?code=x&state=y"} {
		if code, _ := e.get(c, u); code != http.StatusNotFound {
			t.Errorf("%s: %d", u, code)
		}
	}
}

// TestOIDCGerman: the button and the provider-down page speak the
// browser's language like the rest of the desk.
func TestOIDCGerman(t *testing.T) {
	e := newOIDCEnv(t)
	e.idp.down.Store(true)
	c := e.browser()
	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		req.Header.Set("Accept-Language", "de-DE,de;q=0.9,en;q=0.5")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	if _, page := get("/desk/signin"); !strings.Contains(page, ">Anmelden mit Test IdP</a>") {
		t.Errorf("German sign-in page:\n%s", page)
	}
	if code, page := get("/desk/oidc"); code != http.StatusServiceUnavailable || !strings.Contains(page, "Test IdP ist gerade nicht erreichbar.") {
		t.Errorf("German provider-down page: %d\n%s", code, page)
	}
}

// TestOIDCIssuerChangedAtReload: a reload that names another provider is
// followed at the next press of the button (the old provider's discovery
// is not kept).
func TestOIDCIssuerChangedAtReload(t *testing.T) {
	e := newOIDCEnv(t)
	e.idp.signInAs(idpIdentity{Email: "alice@example.com", Verified: true})
	c := e.browser()
	if resp, _ := e.finish(c, e.start(c).callback); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first provider: %d", resp.StatusCode)
	}
	second := newTestIdP(t, e.idp.redirect, e.clock)
	second.signInAs(idpIdentity{Email: "bob@example.org", Verified: true})
	cfg := *e.cfg.Load()
	o := *cfg.Web.OIDC
	o.Issuer = second.srv.URL
	cfg.Web.OIDC = &o
	e.cfg.Store(&cfg)
	e.idp = second
	b := e.browser()
	if resp, _ := e.finish(b, e.start(b).callback); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second provider: %d", resp.StatusCode)
	}
	if second.discoveries.Load() != 1 || second.redeemed.Load() != 1 || len(e.sessions("bob@example.org")) != 1 {
		t.Fatalf("second provider: %d discoveries, %d codes", second.discoveries.Load(), second.redeemed.Load())
	}
}
