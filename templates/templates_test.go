package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOverrideDirAndFallback(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "de", "customer"), 0o755)
	os.WriteFile(filepath.Join(dir, "de", "customer", "request_created.txt"), []byte("Eigener Text für {{.Name}}"), 0o644)
	os.WriteFile(filepath.Join(dir, "de", "customer", "request_created.html"), []byte(`{{define "body"}}<p>Eigen {{.Name}}</p>{{end}}`), 0o644)
	s := New(dir)
	data := struct {
		Name    string
		Marker  string
		Project struct{ Name string }
		Ticket  struct{ Key string }
	}{Name: "<Carl>"}
	text, html, err := s.Render("de", "customer/request_created", &data)
	if err != nil {
		t.Fatal(err)
	}
	if text != "Eigener Text für <Carl>" || !strings.Contains(html, "<p>Eigen &lt;Carl&gt;</p>") {
		t.Fatalf("override not used or not escaped: %q %q", text, html)
	}
	// A language without the template falls back to English defaults.
	if _, _, err := s.Render("fr", "internal/request_created", &struct{}{}); err == nil {
		// renders with empty data: the fallback was found
	} else if !strings.Contains(err.Error(), "executing") && !strings.Contains(err.Error(), "can't evaluate") {
		t.Fatalf("fallback to en: %v", err)
	}
	if _, _, err := s.Render("en", "customer/no_such_event", nil); err == nil {
		t.Fatal("missing template rendered")
	}
	if ReplyMarker("de") == ReplyMarker("en") || ReplyMarker("xx") != ReplyMarker("en") {
		t.Fatal("reply markers")
	}
}

// TestAlertTemplates (issue 21): the alert and recovery texts render in
// English and German for every kind of cause, with the cause, its error
// and the advice for its kind, and a missing language falls back to
// English.
func TestAlertTemplates(t *testing.T) {
	s := New("")
	type notice struct {
		Key, Kind, Project, Since, Now, For, Detail string
		Recovered                                   bool
	}
	advice := map[string]map[string]string{
		"en": {"mailbox": "IMAP password", "oauth2_refresh": "refresh_token_file", "outbox": "ticketgate outbox", "relay": "outbound.smtp"},
		"de": {"mailbox": "IMAP-Passwort", "oauth2_refresh": "refresh_token_file", "outbox": "ticketgate outbox", "relay": "outbound.smtp"},
	}
	for _, lang := range []string{"en", "de"} {
		for kind, want := range advice[lang] {
			n := notice{Key: kind + " ACME/INBOX", Kind: kind, Project: "ACME", Since: "2026-12-03T10:00:00Z", Now: "2026-12-03T10:20:00Z", For: "20m0s",
				Detail: `oauth2: "invalid_grant" "expired"`}
			for _, name := range []string{"internal/alert", "internal/alert_recovered"} {
				got, err := s.RenderText(lang, name, n)
				if err != nil {
					t.Fatalf("%s %s: %v", lang, name, err)
				}
				for _, w := range []string{n.Key, n.Detail, "ACME", n.Since} {
					if !strings.Contains(got, w) {
						t.Errorf("%s %s %s lacks %q:\n%s", lang, name, kind, w, got)
					}
				}
				if name == "internal/alert" && !strings.Contains(got, want) {
					t.Errorf("%s %s lacks the advice %q:\n%s", lang, kind, want, got)
				}
				if strings.Contains(got, "<no value>") {
					t.Errorf("%s %s %s: %s", lang, name, kind, got)
				}
			}
		}
	}
	if got, err := s.RenderText("fr", "internal/alert", notice{Key: "relay", Kind: "relay"}); err != nil || !strings.Contains(got, "has been failing") {
		t.Errorf("fr falls back to en: %q %v", got, err)
	}
}
