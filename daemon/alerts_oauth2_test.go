package daemon

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/internal/xoauth2test"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// tokenEndpoint is an OAuth2 token endpoint (refresh-token grant) that
// refuses with 400 invalid_grant while broken is set.
type tokenEndpoint struct {
	broken atomic.Bool
	mu     sync.Mutex
	asked  int
}

func (e *tokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	e.mu.Lock()
	e.asked++
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if e.broken.Load() || r.Form.Get("grant_type") != "refresh_token" || r.Form.Get("refresh_token") != "rt-1" {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_grant","error_description":"AADSTS70043: The refresh token has expired due to inactivity."}`))
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"access_token": "at-good", "token_type": "Bearer", "expires_in": 3600})
}

func (e *tokenEndpoint) requests() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.asked
}

// TestAlertOnOAuth2Refresh: the mailbox logs in with XOAUTH2 and a token
// from the refresh-token grant; the token endpoint (real HTTP on loopback)
// answers 400 invalid_grant → after alerts.after one alert of the cause
// oauth2_refresh, with the endpoint's error in its text, and no alert of
// the mailbox's login; the endpoint works again → the mailbox logs in and
// one recovery mail follows; nothing more.
func TestAlertOnOAuth2Refresh(t *testing.T) {
	ep := &tokenEndpoint{}
	ep.broken.Store(true)
	hs := httptest.NewServer(ep)
	t.Cleanup(hs.Close)
	srv := xoauth2test.StartIMAP(t, func(tok string) bool { return tok == "at-good" })

	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c, _ := alertConfig(t, sink)
	dir := t.TempDir()
	rt := filepath.Join(dir, "refresh")
	if err := os.WriteFile(rt, []byte("rt-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Projects[0].IMAP = &config.IMAP{Host: "127.0.0.1", Port: srv.Port, TLS: "none", Username: xoauth2test.User,
		OAuth2:           &config.OAuth2{TokenURL: hs.URL + "/token", ClientID: "ticketgate", RefreshTokenFile: rt},
		ProcessedMailbox: "Processed", Start: config.IMAPStartAll}
	d, _ := startLogged(t, c)

	al, err := sink.WaitMessage(func(m mailouttest.Message) bool {
		return strings.HasPrefix(subjectOf(m), "[ticketgate] ALERT:")
	}, 30*time.Second)
	if err != nil {
		t.Fatalf("no alert: %v; mailboxes %+v", err, d.Mailboxes())
	}
	if s := subjectOf(al); s != "[ticketgate] ALERT: oauth2_refresh ACME/INBOX is failing" {
		t.Fatalf("alert %q", s)
	}
	body := string(al.Data)
	for _, want := range []string{"invalid_grant", "AADSTS70043", hs.URL + "/token", "refresh_token_file"} {
		if !strings.Contains(body, want) {
			t.Errorf("alert text lacks %q:\n%s", want, body)
		}
	}
	if got := strings.Join(al.To, ","); got != "boss@example.com,ops@example.com" {
		t.Errorf("alert to %s", got)
	}
	if mb := d.Mailboxes(); len(mb) != 1 || !strings.Contains(mb[0].OAuth2Error, "invalid_grant") {
		t.Errorf("mailbox status %+v", mb)
	}

	ep.broken.Store(false)
	if _, err := sink.WaitMessage(func(m mailouttest.Message) bool {
		return subjectOf(m) == "[ticketgate] recovered: oauth2_refresh ACME/INBOX"
	}, 60*time.Second); err != nil {
		t.Fatalf("no recovery mail: %v; mailboxes %+v", err, d.Mailboxes())
	}
	// The mailbox reads mail again.
	srv.Append(t, "INBOX", imapMail(1))
	waitUntil(t, d, "the message ingested", func() bool {
		mb := d.Mailboxes()
		return len(mb) == 1 && mb[0].Ingested == 1
	})
	rounds := d.alerts.Rounds()
	waitUntil(t, d, "ten more looks", func() bool { return d.alerts.Rounds() >= rounds+10 })
	alerts, recovered := alertMails(sink)
	if len(alerts) != 1 || len(recovered) != 1 {
		t.Errorf("%d alerts and %d recovery mails, want 1 and 1", len(alerts), len(recovered))
	}
	if a := d.alerts.Active(); len(a) != 0 {
		t.Errorf("active after recovery: %+v", a)
	}
	if ep.requests() < 2 {
		t.Errorf("the token endpoint was asked %d times", ep.requests())
	}
}
