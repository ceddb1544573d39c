package mailout

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/oauth2"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/internal/xoauth2test"
)

// xoauthRelay is a go-smtp relay that accepts only AUTH XOAUTH2 with one
// user and access token, and records the messages it accepts.
type xoauthRelay struct {
	user, token string

	mu     sync.Mutex
	logins []string
	msgs   [][]byte
}

func (r *xoauthRelay) NewSession(*smtp.Conn) (smtp.Session, error) { return &xoauthSession{r: r}, nil }

type xoauthSession struct {
	r      *xoauthRelay
	authed bool
}

func (s *xoauthSession) AuthMechanisms() []string { return []string{"XOAUTH2"} }

func (s *xoauthSession) Auth(mech string) (sasl.Server, error) {
	return xoauth2test.Server(func(user, tok string) error {
		s.r.mu.Lock()
		s.r.logins = append(s.r.logins, user+" "+tok)
		s.r.mu.Unlock()
		if user != s.r.user || tok != s.r.token {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *xoauthSession) Mail(string, *smtp.MailOptions) error {
	if !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	return nil
}
func (s *xoauthSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *xoauthSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	s.r.msgs = append(s.r.msgs, b)
	s.r.mu.Unlock()
	return nil
}
func (s *xoauthSession) Reset()        {}
func (s *xoauthSession) Logout() error { return nil }

// TestSMTPOAuth2XOAUTH2 relays through a server that takes only XOAUTH2,
// with the access token from the refresh-token flow of outbound.smtp.oauth2
// (Microsoft 365 style).
func TestSMTPOAuth2XOAUTH2(t *testing.T) {
	relay := &xoauthRelay{user: "gateway@example.com", token: "at-smtp"}
	srv := smtp.NewServer(relay)
	srv.AllowInsecureAuth = true // loopback test relay
	srv.Domain = "relay.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	var grants []string
	var gmu sync.Mutex
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		gmu.Lock()
		grants = append(grants, r.Form.Get("grant_type")+" "+r.Form.Get("refresh_token")+" "+r.Form.Get("scope"))
		gmu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Form.Get("refresh_token") != "rt-1" {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at-smtp", "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(tokens.Close)

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "secret"), []byte("s3cret\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "refresh"), []byte("rt-1\n"), 0o600)
	opts, err := SMTPOptionsFromConfig(config.SMTPOut{
		Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, TLS: "none", Username: "gateway@example.com", Timeout: 10 * time.Second,
		OAuth2: &config.OAuth2{TokenURL: tokens.URL + "/token", ClientID: "app", ClientSecretFile: filepath.Join(dir, "secret"),
			RefreshTokenFile: filepath.Join(dir, "refresh"), Scopes: []string{"https://outlook.office365.com/SMTP.Send", "offline_access"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := NewSMTP(opts, testLogger(t))
	defer s.Close()
	if err := s.Send(t.Context(), testEnvelope(1), bytes.NewReader(testMessage(1))); err != nil {
		t.Fatalf("send: %v", err)
	}
	relay.mu.Lock()
	defer relay.mu.Unlock()
	if len(relay.msgs) != 1 || len(relay.logins) != 1 || relay.logins[0] != "gateway@example.com at-smtp" {
		t.Errorf("relay got %d messages, logins %q", len(relay.msgs), relay.logins)
	}
	// (x/oauth2 sends no scope with a refresh: the provider keeps the
	// scopes the refresh token was granted for.)
	if len(grants) != 1 || grants[0] != "refresh_token rt-1 " {
		t.Errorf("token requests %q", grants)
	}
}

// A relay that does not offer XOAUTH2 while oauth2 is configured is a
// permanent misconfiguration.
func TestSMTPOAuth2NotOffered(t *testing.T) {
	relay := &xoauthRelay{}
	srv := smtp.NewServer(plainOnly{relay})
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s := NewSMTP(SMTPOptions{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, TLS: TLSNone, Username: "u", Token: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})}, testLogger(t))
	defer s.Close()
	err = s.Send(t.Context(), testEnvelope(1), bytes.NewReader(testMessage(1)))
	var perm interface{ Temporary() bool }
	if err == nil || !strings.Contains(err.Error(), "XOAUTH2") || !errors.As(err, &perm) || perm.Temporary() {
		t.Errorf("send: %v, want a permanent error naming XOAUTH2", err)
	}
}

type plainOnly struct{ r *xoauthRelay }

func (p plainOnly) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return plainSession{&xoauthSession{r: p.r}}, nil
}

type plainSession struct{ *xoauthSession }

func (plainSession) AuthMechanisms() []string { return []string{"PLAIN"} }
func (plainSession) Auth(string) (sasl.Server, error) {
	return nil, errors.New("no")
}
