package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/ticketgate/ticketgate/message"
)

// Default returns the built-in defaults: what a YAML file that sets nothing
// but projects gets. Code that builds a Config by hand (tests, tools) starts
// from it, fills in Projects and calls Finalize.
func Default() *Config {
	return &Config{
		DataDir: "./data",
		Log:     Log{Level: "info", Format: "text", AuditDays: 90},
		Web: Web{
			Listen:  "127.0.0.1:8080",
			BaseURL: "http://127.0.0.1:8080",
			LinkTTL: 4320 * time.Hour,
		},
		Inbound: Inbound{
			MaxMessageBytes: 26214400,
			MaxRecipients:   100,
			MaxTextBytes:    message.DefaultMaxTextBytes,
			// Listener limits (issue 15 item 10): enough for an MTA's
			// usual 20 parallel deliveries, far from the file limit.
			MaxConnections:      200,
			MaxConnectionsPerIP: 50,
			MaxCommandLine:      4096,
			IdleTimeout:         5 * time.Minute,
			MaxConcurrentData:   32,
			FlowDelay:           time.Second,
			FlowTarget:          200 * time.Millisecond,
			TrustedRelays:       []string{"127.0.0.0/8", "::1/128"},
			MaxCcParticipants:   10,
			MaxParticipants:     20,
		},
		Limits:  defaultLimits(),
		Metrics: defaultMetrics(),
		Store:   defaultStore(),
		Outbound: Outbound{
			Transport: "maildir",
			Workers:   16,
			SMTP:      SMTPOut{Port: 25, TLS: "none", Timeout: 60 * time.Second},
			Retry: RetryOptions{
				Initial:     30 * time.Second,
				Max:         time.Hour,
				GiveUpAfter: 120 * time.Hour,
			},
		},
	}
}

// DefaultNotifications returns every notification switched on, which is what
// a project without a notifications section gets from Load. A Project built
// in Go has all toggles off unless it is given this.
func DefaultNotifications() Notifications {
	var n Notifications
	for _, t := range n.toggles() {
		t.toggle.Enabled = true
	}
	return n
}

// namedToggle is one toggle with its key path below "notifications".
type namedToggle struct {
	key      string // e.g. "customer.request_created"
	internal bool
	toggle   *Toggle
}

// toggles lists every toggle by reflection, so that a toggle added to the
// structs is defaulted, validated and documented without touching this file.
func (n *Notifications) toggles() []namedToggle {
	var out []namedToggle
	add := func(audience string, internal bool, v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			out = append(out, namedToggle{
				key:      audience + "." + tagName(t.Field(i)),
				internal: internal,
				toggle:   v.Field(i).Addr().Interface().(*Toggle),
			})
		}
	}
	add("customer", false, reflect.ValueOf(&n.Customer).Elem())
	add("internal", true, reflect.ValueOf(&n.Internal).Elem())
	return out
}

// tagName is a field's mapstructure key ("" for fields not in YAML).
func tagName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

// deriveDefaults fills the defaults that depend on other values (a project's
// name and internal address) and canonicalises values others compare
// (language tags, the base URL). Values that do not parse are left alone for
// Validate to report.
func (c *Config) deriveDefaults() {
	c.Web.BaseURL = strings.TrimRight(c.Web.BaseURL, "/")
	for i := range c.Projects {
		p := &c.Projects[i]
		if p.Name == "" {
			p.Name = p.Key
		}
		if p.Language == "" {
			p.Language = "en"
		} else if tag, err := language.Parse(p.Language); err == nil {
			p.Language = tag.String()
		}
		if p.InternalAddress == "" {
			p.InternalAddress = defaultInternal(p.Address)
		}
		if len(p.Statuses) == 0 {
			// Filled once here: status lookups run several times per
			// message.
			p.Statuses = DefaultStatuses()
		}
	}
	c.deriveIMAPDefaults()
}

// defaultInternal is <local>+internal@<domain>, or "" when address is not a
// valid project address (Validate reports the address itself).
func defaultInternal(address string) string {
	local, domain, ok := splitAddr(address)
	if !ok || !validAddress(address) || strings.Contains(local, "+") {
		return ""
	}
	return local + "+internal@" + domain
}

// resolvePaths makes every path absolute, relative ones against base (the
// config file's folder), so the daemon does not depend on the directory it
// was started from. It also derives the maildir default from data_dir, which
// is why it must run after data_dir is final.
func (c *Config) resolvePaths(base string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	c.DataDir = abs(c.DataDir)
	if c.Outbound.Maildir.Path == "" && c.DataDir != "" {
		c.Outbound.Maildir.Path = filepath.Join(c.DataDir, "outbox")
	}
	c.Outbound.Maildir.Path = abs(c.Outbound.Maildir.Path)
	c.Outbound.SMTP.PasswordFile = abs(c.Outbound.SMTP.PasswordFile)
	c.resolveIMAPPaths(abs)
	c.resolvePGPPaths(abs)
	c.resolveWebhookPaths(abs)
	c.resolveOIDCPaths(abs)
	c.TemplatesDir = abs(c.TemplatesDir)
	for i := range c.Projects {
		c.Projects[i].SupportKeys.File = abs(c.Projects[i].SupportKeys.File)
	}
	c.Store.Postgres.DSNFile = abs(c.Store.Postgres.DSNFile)
	c.Admin.TLSCertFile = abs(c.Admin.TLSCertFile)
	c.Admin.TLSKeyFile = abs(c.Admin.TLSKeyFile)
	for i := range c.Admin.Tokens {
		c.Admin.Tokens[i].TokenFile = abs(c.Admin.Tokens[i].TokenFile)
	}
	for _, l := range []*string{&c.Web.Listen, &c.Inbound.SMTP.Listen, &c.Inbound.LMTP.Listen} {
		if path, ok := strings.CutPrefix(*l, "unix:"); ok && path != "" {
			*l = "unix:" + abs(path)
		}
	}
}

// baseDir is the folder relative paths are resolved against: the config
// file's, or the working directory for a Config built in code.
func (c *Config) baseDir() string {
	if c.Path != "" {
		return filepath.Dir(c.Path)
	}
	wd, err := os.Getwd()
	if err != nil {
		// Without a working directory relative paths stay relative, which
		// the OS resolves the same way at use.
		return ""
	}
	return wd
}
