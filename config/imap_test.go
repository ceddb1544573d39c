package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func imapConfig(imap string) string {
	return `
web: { base_url: "https://tickets.example.com" }
projects:
  - key: ACME
    address: acme@support.example.com
    imap:
` + imap
}

func TestIMAPDefaults(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pw"), []byte("secret\n"), 0o600)
	path := filepath.Join(dir, "config.yaml")
	os.WriteFile(path, []byte(imapConfig(`
      host: imap.example.com
      username: acme@support.example.com
      password_file: pw
`)), 0o600)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Project("ACME").IMAP
	if m == nil {
		t.Fatal("imap section missing")
	}
	want := IMAP{Host: "imap.example.com", Port: 993, TLS: "tls", Username: "acme@support.example.com",
		PasswordFile: filepath.Join(dir, "pw"), Mailbox: "INBOX", ErrorMailbox: "Ticketgate-Errors",
		PollInterval: 60 * time.Second, Start: "now", MaxAttempts: 3}
	if m.Idle != nil || !m.IdleEnabled() {
		t.Errorf("idle default: %v", m.Idle)
	}
	m.Idle = nil
	if *m != want {
		t.Errorf("imap = %+v\nwant   %+v", *m, want)
	}
	if m.AuthMethod() != "login" || m.Addr() != "imap.example.com:993" {
		t.Errorf("auth %q addr %q", m.AuthMethod(), m.Addr())
	}
	if cfg.Project("ACME").IMAP == nil || Default().Projects != nil {
		t.Error("unexpected defaults")
	}
}

func TestIMAPStartTLSPortAndIdleOff(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tok"), []byte("x"), 0o600)
	cfg := mustLoad(t, imapConfig(`
      host: 127.0.0.1
      tls: none
      username: u
      token_file: `+filepath.Join(dir, "tok")+`
      idle: false
      processed_mailbox: Done
      start: all-quiet
`))
	m := cfg.Project("ACME").IMAP
	if m.Port != 143 || m.IdleEnabled() || m.AuthMethod() != "xoauth2" || m.Start != IMAPStartAllQuiet || m.ProcessedMailbox != "Done" {
		t.Errorf("imap = %+v", m)
	}
}

func TestIMAPValidation(t *testing.T) {
	cases := []struct {
		name, imap string
		want       []string
	}{
		{"missing", `
      port: 0
`, []string{"projects[0].imap.host: required", "projects[0].imap.username: required",
			"projects[0].imap: exactly one of password_file, token_file and oauth2 is required"}},
		{"tls none off loopback", `
      host: imap.example.com
      tls: none
      username: u
      token_file: /nonexistent
`, []string{"projects[0].imap.tls: none is only allowed for a loopback host"}},
		{"bad values", `
      host: localhost
      tls: ssl
      port: 70000
      username: u
      token_file: /x
      auth: cram-md5
      start: everything
      max_attempts: -1
      poll_interval: 10ms
      mailbox: INBOX
      error_mailbox: INBOX
      processed_mailbox: INBOX
`, []string{"projects[0].imap.tls: must be tls, starttls or none", "projects[0].imap.port: must be between",
			"projects[0].imap.auth: must be login, plain", "projects[0].imap.start: must be now, all or all-quiet",
			"projects[0].imap.max_attempts: must be at least 1", "projects[0].imap.poll_interval: must be at least 1s",
			"projects[0].imap.error_mailbox: must differ from mailbox", "projects[0].imap.processed_mailbox: must differ from mailbox"}},
		{"auth mismatch and two credentials", `
      host: localhost
      username: u
      password_file: /nonexistent/pw
      token_file: /x
      auth: xoauth2
`, []string{"projects[0].imap: exactly one of", "projects[0].imap.auth: xoauth2 needs token_file or oauth2"}},
		{"unreadable password file", `
      host: localhost
      username: u
      password_file: /nonexistent/pw
`, []string{"projects[0].imap.password_file: read secret"}},
		{"oauth2", `
      host: localhost
      username: u
      oauth2:
        token_url: http://login.example.com/token
        scopes: [" "]
        tenant: x
`, []string{`unknown key "projects[0].imap.oauth2.tenant"`, "projects[0].imap.oauth2.token_url: must be an https URL",
			"projects[0].imap.oauth2.client_id: required", "projects[0].imap.oauth2: refresh_token_file",
			"projects[0].imap.oauth2.scopes[0]: must not be empty"}},
		{"unknown key", `
      host: localhost
      username: u
      token_file: /x
      pasword_file: /x
`, []string{`unknown key "projects[0].imap.pasword_file"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := problems(t, imapConfig(c.imap))
			for _, w := range c.want {
				if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
					t.Errorf("missing %q in:\n%s", w, strings.Join(got, "\n"))
				}
			}
			if len(got) != len(c.want) {
				t.Errorf("got %d problems, want %d:\n%s", len(got), len(c.want), strings.Join(got, "\n"))
			}
		})
	}
}

func TestIMAPSameMailboxTwice(t *testing.T) {
	got := problems(t, `
web: { base_url: "https://tickets.example.com" }
projects:
  - key: ACME
    address: acme@support.example.com
    imap: { host: localhost, username: u, token_file: /x }
  - key: BETA
    address: beta@support.example.com
    imap: { host: LOCALHOST, username: u, token_file: /y }
`)
	if len(got) != 1 || !strings.HasPrefix(got[0], "projects[1].imap.mailbox: same mailbox as projects[0].imap") {
		t.Errorf("problems: %q", got)
	}
}

func TestOutboundOAuth2(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "secret"), []byte("s\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "refresh"), []byte("r\n"), 0o600)
	path := filepath.Join(dir, "config.yaml")
	os.WriteFile(path, []byte(`
web: { base_url: "https://tickets.example.com" }
outbound:
  transport: smtp
  smtp:
    host: smtp.office365.com
    port: 587
    tls: starttls
    username: support@example.com
    oauth2:
      token_url: https://login.microsoftonline.com/t/oauth2/v2.0/token
      client_id: app
      client_secret_file: secret
      refresh_token_file: refresh
      scopes: [https://outlook.office365.com/SMTP.Send, offline_access]
projects:
  - key: ACME
    address: acme@support.example.com
`), 0o600)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Outbound.SMTP.OAuth2
	if o == nil || o.ClientSecretFile != filepath.Join(dir, "secret") || o.RefreshTokenFile != filepath.Join(dir, "refresh") || len(o.Scopes) != 2 {
		t.Errorf("oauth2 = %+v", o)
	}

	got := problems(t, `
web: { base_url: "https://tickets.example.com" }
outbound:
  transport: smtp
  smtp:
    host: smtp.office365.com
    password_file: /x
    oauth2: { token_url: "https://login.example.com/token", client_id: app, client_secret_file: /nonexistent/s }
projects:
  - key: ACME
    address: acme@support.example.com
`)
	for _, w := range []string{"outbound.smtp.username: required with outbound.smtp.oauth2", "outbound.smtp.oauth2: use either password_file or oauth2",
		"outbound.smtp.username: required when outbound.smtp.password_file is set"} {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("missing %q in:\n%s", w, strings.Join(got, "\n"))
		}
	}
}
