package imapin

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/internal/xoauth2test"
)

// tokenCheck decides whether a bearer token is valid.
type tokenCheck struct {
	mu    sync.Mutex
	valid map[string]bool
	seen  []string // "MECH token" per login
}

func (c *tokenCheck) ok(mech, tok string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, mech+" "+tok)
	return c.valid[tok]
}

func (c *tokenCheck) logins() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.seen...)
}

// saslSession adds XOAUTH2 and OAUTHBEARER to an in-memory session.
type saslSession struct {
	imapserver.SessionIMAP4rev2 // what the in-memory session implements
	check                       *tokenCheck
}

func (s *saslSession) AuthenticateMechanisms() []string {
	return []string{"XOAUTH2", "OAUTHBEARER", "PLAIN"}
}

func (s *saslSession) Authenticate(mech string) (sasl.Server, error) {
	switch mech {
	case "XOAUTH2":
		return xoauth2test.Server(func(user, tok string) error {
			if !s.check.ok(mech, tok) {
				return errors.New("invalid token")
			}
			return s.Login(user, "secret")
		}), nil
	case "OAUTHBEARER":
		return sasl.NewOAuthBearerServer(func(o sasl.OAuthBearerOptions) *sasl.OAuthBearerError {
			if !s.check.ok(mech, o.Token) || s.Login(o.Username, "secret") != nil {
				return &sasl.OAuthBearerError{Status: "invalid_token"}
			}
			return nil
		}), nil
	case "PLAIN":
		return sasl.NewPlainServer(func(_, user, pass string) error { return s.Login(user, pass) }), nil
	}
	return nil, errors.New("unsupported mechanism")
}

func startMemSASL(t *testing.T, check *tokenCheck) *memIMAP {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("support", "secret")
	u.Create("INBOX", nil)
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &saslSession{SessionIMAP4rev2: mem.NewSession().(imapserver.SessionIMAP4rev2), check: check}, nil, nil
		},
		Caps:         capsRev2,
		InsecureAuth: true,
		Logger:       discardLogger{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &memIMAP{port: ln.Addr().(*net.TCPAddr).Port, user: u}
}

func TestTokenFileXOAUTH2AndReread(t *testing.T) {
	check := &tokenCheck{valid: map[string]bool{"tok-1": true}}
	srv := startMemSASL(t, check)
	srv.append(t, "INBOX", mail(1))
	tokFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokFile, []byte("tok-1\n"), 0o600)
	e := newEnv(t, srv.port, func(m *config.IMAP) { m.PasswordFile, m.TokenFile = "", tokFile })
	e.manager(t, nil)
	e.eventually(t, "ingested with XOAUTH2", func() bool { return srv.count("Processed") == 1 })
	if l := check.logins(); len(l) == 0 || l[0] != "XOAUTH2 tok-1" {
		t.Errorf("logins %v", l)
	}

	// The helper replaces the token: the next login uses the new one.
	a := newAuthenticator(*e.cfg.Projects[0].IMAP)
	if tok, err := a.accessToken(); err != nil || tok != "tok-1" {
		t.Fatalf("token %q, %v", tok, err)
	}
	os.WriteFile(tokFile, []byte("tok-2-longer\n"), 0o600)
	if tok, _ := a.accessToken(); tok != "tok-2-longer" {
		t.Errorf("token after the file changed: %q", tok)
	}
}

// tokenEndpoint is an OAuth2 token endpoint: refresh-token grant (rotating
// the refresh token) and client-credentials grant.
func tokenEndpoint(t *testing.T) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var grants []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		id, secret, _ := r.BasicAuth()
		if id == "" {
			id, secret = r.Form.Get("client_id"), r.Form.Get("client_secret")
		}
		mu.Lock()
		grants = append(grants, r.Form.Get("grant_type")+" "+r.Form.Get("refresh_token")+" "+r.Form.Get("scope"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case id != "app" || secret != "s3cret":
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"invalid_client"}`))
		case r.Form.Get("grant_type") == "refresh_token" && r.Form.Get("refresh_token") == "rt-1":
			json.NewEncoder(w).Encode(map[string]any{"access_token": "at-refresh", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-2"})
		case r.Form.Get("grant_type") == "client_credentials":
			json.NewEncoder(w).Encode(map[string]any{"access_token": "at-app", "token_type": "Bearer", "expires_in": 3600})
		default:
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant"}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &grants
}

func TestOAuth2RefreshTokenFlow(t *testing.T) {
	check := &tokenCheck{valid: map[string]bool{"at-refresh": true}}
	srv := startMemSASL(t, check)
	srv.append(t, "INBOX", mail(1))
	ts, grants := tokenEndpoint(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "secret"), []byte("s3cret\n"), 0o600)
	rtFile := filepath.Join(dir, "refresh")
	os.WriteFile(rtFile, []byte("rt-1\n"), 0o600)
	e := newEnv(t, srv.port, func(m *config.IMAP) {
		m.PasswordFile = ""
		m.OAuth2 = &config.OAuth2{TokenURL: ts.URL + "/token", ClientID: "app", ClientSecretFile: filepath.Join(dir, "secret"),
			RefreshTokenFile: rtFile, Scopes: []string{"https://outlook.office365.com/IMAP.AccessAsUser.All", "offline_access"}}
	})
	e.manager(t, nil)
	e.eventually(t, "ingested with a refreshed token", func() bool { return srv.count("Processed") == 1 })
	if l := check.logins(); len(l) == 0 || l[0] != "XOAUTH2 at-refresh" {
		t.Errorf("logins %v", l)
	}
	if b, _ := os.ReadFile(rtFile); string(b) != "rt-2\n" {
		t.Errorf("rotated refresh token not saved: %q", b)
	}
	if len(*grants) == 0 || !strings.HasPrefix((*grants)[0], "refresh_token rt-1 ") {
		t.Errorf("grants %v", *grants)
	}
}

func TestOAuth2ClientCredentialsOAUTHBEARER(t *testing.T) {
	check := &tokenCheck{valid: map[string]bool{"at-app": true}}
	srv := startMemSASL(t, check)
	srv.append(t, "INBOX", mail(1))
	ts, grants := tokenEndpoint(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "secret"), []byte("s3cret\n"), 0o600)
	e := newEnv(t, srv.port, func(m *config.IMAP) {
		m.PasswordFile, m.Auth = "", "oauthbearer"
		m.OAuth2 = &config.OAuth2{TokenURL: ts.URL + "/token", ClientID: "app", ClientSecretFile: filepath.Join(dir, "secret"),
			Scopes: []string{"https://outlook.office365.com/.default"}}
	})
	e.manager(t, nil)
	e.eventually(t, "ingested with an app token", func() bool { return srv.count("Processed") == 1 })
	if l := check.logins(); len(l) == 0 || l[0] != "OAUTHBEARER at-app" {
		t.Errorf("logins %v", l)
	}
	if len(*grants) == 0 || (*grants)[0] != "client_credentials  https://outlook.office365.com/.default" {
		t.Errorf("grants %q", *grants)
	}
}

func TestRefusedTokenIsRetriedWithBackoff(t *testing.T) {
	check := &tokenCheck{valid: map[string]bool{}}
	srv := startMemSASL(t, check)
	tokFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokFile, []byte("expired\n"), 0o600)
	e := newEnv(t, srv.port, func(m *config.IMAP) { m.PasswordFile, m.TokenFile = "", tokFile })
	m := e.manager(t, nil)
	e.eventually(t, "login failures recorded", func() bool { s := m.Status(); return len(s) == 1 && s[0].Errors >= 2 })
	if s := m.Status()[0]; !strings.Contains(s.LastError, "XOAUTH2") || s.Connected {
		t.Errorf("status %+v", s)
	}
	// The helper writes a good token: the next attempt logs in.
	check.mu.Lock()
	check.valid["fresh"] = true
	check.mu.Unlock()
	os.WriteFile(tokFile, []byte("fresh\n"), 0o600)
	srv.append(t, "INBOX", mail(1))
	e.eventually(t, "ingested after the token was fixed", func() bool { return srv.count("Processed") == 1 })
}

func TestPlainAuth(t *testing.T) {
	srv := startMemSASL(t, &tokenCheck{})
	srv.append(t, "INBOX", mail(1))
	e := newEnv(t, srv.port, func(m *config.IMAP) { m.Auth = "plain" })
	e.manager(t, nil)
	e.eventually(t, "ingested with SASL PLAIN", func() bool { return srv.count("Processed") == 1 })
}

// TestOAuth2RefreshErrorIsReported: a refused refresh (400 invalid_grant)
// or an unreachable token endpoint is kept as the mailbox's OAuth2Error,
// with the endpoint's answer, and cleared by the next refresh that works.
func TestOAuth2RefreshErrorIsReported(t *testing.T) {
	ts, _ := tokenEndpoint(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "secret"), []byte("s3cret\n"), 0o600)
	rtFile := filepath.Join(dir, "refresh")
	os.WriteFile(rtFile, []byte("rt-revoked\n"), 0o600)
	cfg := config.IMAP{Username: "support", OAuth2: &config.OAuth2{TokenURL: ts.URL + "/token", ClientID: "app",
		ClientSecretFile: filepath.Join(dir, "secret"), RefreshTokenFile: rtFile}}
	a := newAuthenticator(cfg)
	if _, err := a.accessToken(); err == nil {
		t.Fatal("a revoked refresh token gave a token")
	}
	if e := a.refreshError(); !strings.Contains(e, "invalid_grant") || !strings.Contains(e, ts.URL) {
		t.Errorf("refresh error %q", e)
	}

	// A new grant is written: the next source refreshes.
	os.WriteFile(rtFile, []byte("rt-1\n"), 0o600)
	a.forgetToken()
	if tok, err := a.accessToken(); err != nil || tok != "at-refresh" {
		t.Fatalf("token %q, %v", tok, err)
	}
	if e := a.refreshError(); e != "" {
		t.Errorf("refresh error after a refresh that worked: %q", e)
	}

	// The endpoint cannot be reached.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	cfg.OAuth2.TokenURL = gone.URL + "/token"
	b := newAuthenticator(cfg)
	if _, err := b.accessToken(); err == nil {
		t.Fatal("an unreachable endpoint gave a token")
	}
	if e := b.refreshError(); !strings.Contains(e, "connection refused") {
		t.Errorf("refresh error %q", e)
	}
}
