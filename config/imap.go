package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// IMAP makes a project read its support mailbox at a mail provider instead
// of (or besides) receiving mail by SMTP/LMTP. Secrets live in their own
// files, never in the YAML.
type IMAP struct {
	Host string `mapstructure:"host"`
	// Port defaults to 993 for tls, 143 for starttls and none.
	Port int `mapstructure:"port"`
	// TLS is tls (implicit, port 993), starttls or none (loopback only).
	TLS string `mapstructure:"tls"`
	// InsecureSkipVerify disables certificate checks (test servers only).
	InsecureSkipVerify bool   `mapstructure:"insecure_skip_verify"`
	Username           string `mapstructure:"username"`
	// Auth is the login method: login (the LOGIN command), plain (SASL
	// PLAIN), xoauth2 or oauthbearer. Default: login with password_file,
	// xoauth2 with token_file or oauth2.
	Auth string `mapstructure:"auth"`
	// PasswordFile holds the password (or app password).
	PasswordFile string `mapstructure:"password_file"`
	// TokenFile holds an OAuth2 access token kept fresh by an outside
	// helper; it is re-read whenever its modification time changes.
	TokenFile string `mapstructure:"token_file"`
	// OAuth2 fetches access tokens itself (refresh-token or client-
	// credentials flow).
	OAuth2 *OAuth2 `mapstructure:"oauth2"`
	// Mailbox is read; default INBOX.
	Mailbox string `mapstructure:"mailbox"`
	// ProcessedMailbox receives each message once it is stored; empty
	// leaves it where it is, flagged \Seen.
	ProcessedMailbox string `mapstructure:"processed_mailbox"`
	// ErrorMailbox receives a message whose processing failed
	// MaxAttempts times; default Ticketgate-Errors.
	ErrorMailbox string `mapstructure:"error_mailbox"`
	// Idle uses IMAP IDLE when the server offers it (default true); else
	// the mailbox is polled every PollInterval.
	Idle *bool `mapstructure:"idle"`
	// PollInterval is the polling period without IDLE; default 60s.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// Start says what happens to mail already in the mailbox the first
	// time it is read: now (ignore it), all (ingest it), all-quiet
	// (ingest it without sending anyone mail). Default now.
	Start string `mapstructure:"start"`
	// MaxAttempts is how many times a message may fail before it is
	// moved to ErrorMailbox; default 3.
	MaxAttempts int `mapstructure:"max_attempts"`
}

// OAuth2 is the built-in OAuth2 token flow: with RefreshTokenFile the
// refresh-token grant (a rotated refresh token is written back to the
// file), without it the client-credentials grant (Microsoft 365 app-only
// access).
type OAuth2 struct {
	TokenURL         string   `mapstructure:"token_url"`
	ClientID         string   `mapstructure:"client_id"`
	ClientSecretFile string   `mapstructure:"client_secret_file"`
	RefreshTokenFile string   `mapstructure:"refresh_token_file"`
	Scopes           []string `mapstructure:"scopes"`
}

// The values of imap.start.
const (
	IMAPStartNow       = "now"
	IMAPStartAll       = "all"
	IMAPStartAllQuiet  = "all-quiet"
	defaultIMAPMailbox = "INBOX"
	defaultIMAPErrors  = "Ticketgate-Errors"
)

// IdleEnabled reports whether IDLE may be used (the default).
func (m *IMAP) IdleEnabled() bool { return m.Idle == nil || *m.Idle }

// AuthMethod is the effective login method.
func (m *IMAP) AuthMethod() string {
	if m.Auth != "" {
		return m.Auth
	}
	if m.PasswordFile != "" {
		return "login"
	}
	return "xoauth2"
}

// Addr is "host:port".
func (m *IMAP) Addr() string {
	host := m.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return fmt.Sprintf("%s:%d", host, m.Port)
}

// deriveIMAPDefaults fills the IMAP defaults of every project that has an
// imap section (project sections take no viper defaults).
func (c *Config) deriveIMAPDefaults() {
	for i := range c.Projects {
		m := c.Projects[i].IMAP
		if m == nil {
			continue
		}
		if m.TLS == "" {
			m.TLS = "tls"
		}
		if m.Port == 0 {
			m.Port = 143
			if m.TLS == "tls" {
				m.Port = 993
			}
		}
		if m.Mailbox == "" {
			m.Mailbox = defaultIMAPMailbox
		}
		if m.ErrorMailbox == "" {
			m.ErrorMailbox = defaultIMAPErrors
		}
		if m.PollInterval == 0 {
			m.PollInterval = 60 * time.Second
		}
		if m.Start == "" {
			m.Start = IMAPStartNow
		}
		if m.MaxAttempts == 0 {
			m.MaxAttempts = 3
		}
	}
}

// resolveIMAPPaths makes the secret file paths absolute (the outbound
// relay's oauth2 files too).
func (c *Config) resolveIMAPPaths(abs func(string) string) {
	if o := c.Outbound.SMTP.OAuth2; o != nil {
		o.ClientSecretFile = abs(o.ClientSecretFile)
		o.RefreshTokenFile = abs(o.RefreshTokenFile)
	}
	for i := range c.Projects {
		m := c.Projects[i].IMAP
		if m == nil {
			continue
		}
		m.PasswordFile = abs(m.PasswordFile)
		m.TokenFile = abs(m.TokenFile)
		if o := m.OAuth2; o != nil {
			o.ClientSecretFile = abs(o.ClientSecretFile)
			o.RefreshTokenFile = abs(o.RefreshTokenFile)
		}
	}
}

// isLoopbackHost is true for localhost and loopback IPs: the only hosts
// tls: none may talk to, since the password would cross the wire in clear.
func isLoopbackHost(h string) bool {
	if strings.EqualFold(strings.TrimSuffix(h, "."), "localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}

// validateIMAP checks every project's imap section, and the outbound
// relay's oauth2 section (the same type).
func (c *Config) validateIMAP() []error {
	var errs []error
	if o := c.Outbound.SMTP.OAuth2; o != nil {
		errs = append(errs, o.validate("outbound.smtp.oauth2")...)
		if c.Outbound.SMTP.Username == "" {
			errs = append(errs, fieldErr("outbound.smtp.username", "required with outbound.smtp.oauth2"))
		}
		if c.Outbound.SMTP.PasswordFile != "" {
			errs = append(errs, fieldErr("outbound.smtp.oauth2", "use either password_file or oauth2, not both"))
		}
	}
	add := func(key, format string, args ...any) { errs = append(errs, fieldErr(key, format, args...)) }
	seen := map[string]string{}
	for i := range c.Projects {
		m := c.Projects[i].IMAP
		if m == nil {
			continue
		}
		pre := fmt.Sprintf("projects[%d].imap", i)
		switch {
		case m.Host == "":
			add(pre+".host", "required")
		case !validHost(m.Host):
			add(pre+".host", "invalid host %q", m.Host)
		}
		if m.Port < 1 || m.Port > 65535 {
			add(pre+".port", "must be between 1 and 65535")
		}
		switch m.TLS {
		case "tls", "starttls":
		case "none":
			if m.Host != "" && !isLoopbackHost(m.Host) {
				add(pre+".tls", "none is only allowed for a loopback host (the password would travel in clear); use tls or starttls")
			}
		default:
			add(pre+".tls", "must be tls, starttls or none, got %q", m.TLS)
		}
		if m.Username == "" {
			add(pre+".username", "required")
		}
		creds := 0
		for _, set := range []bool{m.PasswordFile != "", m.TokenFile != "", m.OAuth2 != nil} {
			if set {
				creds++
			}
		}
		if creds != 1 {
			add(pre, "exactly one of password_file, token_file and oauth2 is required")
		}
		switch m.Auth {
		case "":
		case "login", "plain":
			if m.PasswordFile == "" {
				add(pre+".auth", "%s needs password_file", m.Auth)
			}
		case "xoauth2", "oauthbearer":
			if m.PasswordFile != "" {
				add(pre+".auth", "%s needs token_file or oauth2, not password_file", m.Auth)
			}
		default:
			add(pre+".auth", "must be login, plain, xoauth2 or oauthbearer, got %q", m.Auth)
		}
		if o := m.OAuth2; o != nil {
			errs = append(errs, o.validate(pre+".oauth2")...)
		}
		if m.Mailbox == "" {
			add(pre+".mailbox", "required")
		}
		if m.ErrorMailbox == "" {
			add(pre+".error_mailbox", "required")
		} else if m.ErrorMailbox == m.Mailbox {
			add(pre+".error_mailbox", "must differ from mailbox")
		}
		if m.ProcessedMailbox != "" && m.ProcessedMailbox == m.Mailbox {
			add(pre+".processed_mailbox", "must differ from mailbox (leave it empty to only flag \\Seen)")
		}
		if m.PollInterval < time.Second {
			add(pre+".poll_interval", "must be at least 1s")
		}
		switch m.Start {
		case IMAPStartNow, IMAPStartAll, IMAPStartAllQuiet:
		default:
			add(pre+".start", "must be now, all or all-quiet, got %q", m.Start)
		}
		if m.MaxAttempts < 1 {
			add(pre+".max_attempts", "must be at least 1")
		}
		// Two readers of one mailbox would race for every message.
		id := strings.ToLower(m.Host) + "\x00" + m.Username + "\x00" + m.Mailbox
		if other, ok := seen[id]; ok {
			add(pre+".mailbox", "same mailbox as %s", other)
		} else {
			seen[id] = pre
		}
	}
	return errs
}

func (o *OAuth2) validate(pre string) []error {
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, fieldErr(key, format, args...)) }
	u, err := url.Parse(o.TokenURL)
	switch {
	case o.TokenURL == "":
		add(pre+".token_url", "required")
	case err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname()))):
		add(pre+".token_url", "must be an https URL (http only for loopback), got %q", o.TokenURL)
	}
	if o.ClientID == "" {
		add(pre+".client_id", "required")
	}
	if o.RefreshTokenFile == "" && o.ClientSecretFile == "" {
		add(pre, "refresh_token_file (refresh-token flow) or client_secret_file (client-credentials flow) is required")
	}
	for i, s := range o.Scopes {
		if strings.TrimSpace(s) == "" {
			add(fmt.Sprintf("%s.scopes[%d]", pre, i), "must not be empty")
		}
	}
	return errs
}

// checkIMAPFiles reads the secret files an IMAP section or the relay's
// oauth2 section names (token_file excepted: an outside helper may write it
// after the daemon starts).
func (c *Config) checkIMAPFiles() []error {
	var out []error
	check := func(key, path string) {
		if path == "" {
			return
		}
		if _, err := SecretFromFile(path); err != nil {
			out = append(out, &FieldError{Key: key, Msg: err.Error(), Err: err})
		}
	}
	if o := c.Outbound.SMTP.OAuth2; o != nil && c.Outbound.Transport == "smtp" {
		check("outbound.smtp.oauth2.client_secret_file", o.ClientSecretFile)
		check("outbound.smtp.oauth2.refresh_token_file", o.RefreshTokenFile)
	}
	for i := range c.Projects {
		m := c.Projects[i].IMAP
		if m == nil {
			continue
		}
		pre := fmt.Sprintf("projects[%d].imap", i)
		check(pre+".password_file", m.PasswordFile)
		if o := m.OAuth2; o != nil {
			check(pre+".oauth2.client_secret_file", o.ClientSecretFile)
			check(pre+".oauth2.refresh_token_file", o.RefreshTokenFile)
		}
	}
	return out
}
