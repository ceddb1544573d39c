package config

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const twoProjects = `
projects:
  - key: ACME
    address: acme@support.example.com
    agents: [Alice@Example.com]
    admins: [carol@example.com]
  - key: BETA
    name: Beta Desk
    address: beta@help.example.org
    internal_address: beta-notes@help.example.org
    agents: [bob@example.org]
inbound:
  trusted_relays: [127.0.0.1, 10.0.0.0/8, "2001:db8::/32"]
`

func TestRoute(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, twoProjects)
	cases := []struct {
		rcpt string
		key  string
		kind AddressKind
		tag  string
	}{
		{"acme@support.example.com", "ACME", AddrProject, ""},
		{"ACME@Support.Example.COM", "ACME", AddrProject, ""},
		{"<acme@support.example.com>", "ACME", AddrProject, ""},
		{" acme@support.example.com ", "ACME", AddrProject, ""},
		{"acme+sales@support.example.com", "ACME", AddrProject, "sales"},
		{"acme+Sales@support.example.com", "ACME", AddrProject, "Sales"},
		{"acme+internal@support.example.com", "ACME", AddrInternal, ""},
		{"ACME+INTERNAL@support.example.com", "ACME", AddrInternal, ""},
		{"acme+bounce-42abc@support.example.com", "ACME", AddrBounce, "42abc"},
		{"Acme+Bounce-X7y@SUPPORT.example.com", "ACME", AddrBounce, "X7y"},
		{"acme+bounce-@support.example.com", "ACME", AddrProject, "bounce-"},
		{"acme+t-Tok3n_x@support.example.com", "ACME", AddrReplyToken, "Tok3n_x"},
		{"acme+T-abc@support.example.com", "ACME", AddrReplyToken, "abc"},
		{"acme+t-abc+def@support.example.com", "ACME", AddrReplyToken, "abc+def"},
		{"acme+t-@support.example.com", "ACME", AddrProject, "t-"},
		{"acme+@support.example.com", "ACME", AddrProject, ""},
		{"beta@help.example.org", "BETA", AddrProject, ""},
		// BETA's internal address is custom, and +internal still works.
		{"beta-notes@help.example.org", "BETA", AddrInternal, ""},
		{"Beta-Notes+x@help.example.org", "BETA", AddrInternal, ""},
		{"beta+internal@help.example.org", "BETA", AddrInternal, ""},
		{"beta+t-zz@help.example.org", "BETA", AddrReplyToken, "zz"},
		// Lower-casing U+0130 changes its length; the tag comes back
		// lower-cased rather than cut at the wrong offset.
		{"acme+t-\u0130x@support.example.com", "ACME", AddrReplyToken, strings.ToLower("\u0130x")},
		// Not ours.
		{"acme@support.example.org", "", AddrNone, ""},
		{"acme@example.com", "", AddrNone, ""},
		{"acme+t-abc@other.example.com", "", AddrNone, ""},
		{"alice@example.com", "", AddrNone, ""},
		{"acme", "", AddrNone, ""},
		{"@support.example.com", "", AddrNone, ""},
		{"", "", AddrNone, ""},
		{"beta@support.example.com", "", AddrNone, ""},
		{"acme+internal@help.example.org", "", AddrNone, ""},
	}
	for _, tc := range cases {
		p, kind, tag := cfg.Route(tc.rcpt)
		key := ""
		if p != nil {
			key = p.Key
		}
		if key != tc.key || kind != tc.kind || tag != tc.tag {
			t.Errorf("Route(%q) = %q %v %q, want %q %v %q", tc.rcpt, key, kind, tag, tc.key, tc.kind, tc.tag)
		}
		if own := cfg.IsOwnAddress(tc.rcpt); own != (tc.kind != AddrNone) {
			t.Errorf("IsOwnAddress(%q) = %v", tc.rcpt, own)
		}
	}
}

func TestProjectHelpers(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, twoProjects)
	acme, beta := cfg.Project("ACME"), cfg.Project("beta")
	if acme == nil || beta == nil || acme.Key != "ACME" || beta.Name != "Beta Desk" {
		t.Fatalf("Project lookups: %v %v", acme, beta)
	}
	if cfg.Project("GAMMA") != nil {
		t.Error("Project(GAMMA) found a project")
	}
	if acme.LocalPart() != "acme" || acme.Domain() != "support.example.com" {
		t.Errorf("LocalPart/Domain = %q %q", acme.LocalPart(), acme.Domain())
	}
	if got := acme.BounceAddress("m1x"); got != "acme+bounce-m1x@support.example.com" {
		t.Errorf("BounceAddress = %q", got)
	}
	if got := acme.ReplyAddress("tok"); got != "acme+t-tok@support.example.com" {
		t.Errorf("ReplyAddress = %q", got)
	}
	// What we mint must route back to us as the right kind.
	if p, kind, tag := cfg.Route(beta.BounceAddress("b9")); p != beta || kind != AddrBounce || tag != "b9" {
		t.Errorf("bounce address routes to %v %v %q", p, kind, tag)
	}
	if p, kind, tag := cfg.Route(beta.ReplyAddress("r7")); p != beta || kind != AddrReplyToken || tag != "r7" {
		t.Errorf("reply address routes to %v %v %q", p, kind, tag)
	}

	staff := []struct {
		p                     *Project
		addr                  string
		agent, admin, isStaff bool
	}{
		{acme, "alice@example.com", true, false, true},
		{acme, "ALICE@EXAMPLE.COM", true, false, true},
		{acme, "Carol@Example.com", false, true, true},
		{acme, "bob@example.org", false, false, false},
		{beta, "bob@example.org", true, false, true},
		{beta, "alice@example.com", false, false, false},
		{acme, "", false, false, false},
	}
	for _, s := range staff {
		if s.p.IsAgent(s.addr) != s.agent || s.p.IsAdmin(s.addr) != s.admin || s.p.IsStaff(s.addr) != s.isStaff {
			t.Errorf("%s %q: agent %v admin %v staff %v, want %v %v %v", s.p.Key, s.addr,
				s.p.IsAgent(s.addr), s.p.IsAdmin(s.addr), s.p.IsStaff(s.addr), s.agent, s.admin, s.isStaff)
		}
	}
}

func TestTrustedRelay(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, twoProjects)
	defaults := mustLoad(t, acme)
	cases := []struct {
		ip         string
		configured bool
		loopback   bool
	}{
		{"127.0.0.1", true, true},
		{"127.0.0.2", false, true},
		{"::1", false, true},
		{"::ffff:127.0.0.1", true, true},
		{"10.200.3.4", true, false},
		{"::ffff:10.1.1.1", true, false},
		{"11.0.0.1", false, false},
		{"2001:db8::25", true, false},
		{"2001:db9::25", false, false},
	}
	for _, tc := range cases {
		ip := net.ParseIP(tc.ip)
		if got := cfg.TrustedRelay(ip); got != tc.configured {
			t.Errorf("configured relays: TrustedRelay(%s) = %v", tc.ip, got)
		}
		if got := defaults.TrustedRelay(ip); got != tc.loopback {
			t.Errorf("default relays: TrustedRelay(%s) = %v", tc.ip, got)
		}
		if got := defaults.TrustedRelay(ip.To4()); ip.To4() != nil && got != tc.loopback {
			t.Errorf("default relays, 4-byte form: TrustedRelay(%s) = %v", tc.ip, got)
		}
	}
	if cfg.TrustedRelay(nil) {
		t.Error("TrustedRelay(nil) = true")
	}
}

// A Config built in code works after Finalize, and the helpers still answer
// correctly on values that never went through it.
func TestFinalizeAndUnfinalized(t *testing.T) {
	t.Parallel()
	c := Default()
	c.DataDir = t.TempDir()
	c.Projects = []Project{{
		Key: "ACME", Address: "acme@support.example.com", Agents: []string{"alice@example.com"},
		Notifications: DefaultNotifications(),
	}}
	raw := *c
	raw.Projects = append([]Project(nil), c.Projects...)

	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	if c.Outbound.Maildir.Path != filepath.Join(c.DataDir, "outbox") || c.Projects[0].InternalAddress != "acme+internal@support.example.com" {
		t.Errorf("Finalize did not derive defaults: %+v", c)
	}
	for _, cfg := range []*Config{c, &raw} {
		if p, kind, _ := cfg.Route("acme+internal@support.example.com"); p == nil || p.Key != "ACME" || kind != AddrInternal {
			t.Errorf("Route on %p: %v %v", cfg, p, kind)
		}
		if !cfg.Project("ACME").IsAgent("ALICE@example.com") || !cfg.TrustedRelay(net.IPv6loopback) {
			t.Errorf("helpers on %p disagree", cfg)
		}
		if !cfg.Projects[0].Notifications.Internal.DeliveryFailed.Applies("") {
			t.Error("DefaultNotifications left a toggle off")
		}
	}

	c.Projects = append(c.Projects, Project{Key: "acme", Address: "bad"})
	err := c.Finalize()
	var errs *Errors
	if !errors.As(err, &errs) || len(errs.List) != 2 {
		t.Errorf("Finalize on a bad Config = %v, want 2 problems", err)
	}
}

func TestSecretFromFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct {
		content, want string
	}{
		{"hunter2\n", "hunter2"},
		{"hunter2", "hunter2"},
		{"hunter2\r\n", "hunter2"},
		{"hunter2\n\n", "hunter2\n"},
		{" spaced \n", " spaced "},
	}
	for i, tc := range cases {
		path := filepath.Join(dir, "s"+string(rune('a'+i)))
		if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := SecretFromFile(path)
		if err != nil || got != tc.want {
			t.Errorf("SecretFromFile(%q) = %q, %v; want %q", tc.content, got, err, tc.want)
		}
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := SecretFromFile(empty); err == nil {
		t.Error("an empty secret was accepted")
	}
	if _, err := SecretFromFile(filepath.Join(dir, "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing secret: %v, want fs.ErrNotExist", err)
	}
}

func TestAddressKindString(t *testing.T) {
	t.Parallel()
	want := map[AddressKind]string{AddrNone: "none", AddrProject: "project", AddrInternal: "internal", AddrBounce: "bounce", AddrReplyToken: "reply-token"}
	for k, s := range want {
		if k.String() != s {
			t.Errorf("%d.String() = %q, want %q", k, k.String(), s)
		}
	}
}

func TestSlogLevel(t *testing.T) {
	t.Parallel()
	for level, want := range map[string]string{"debug": "DEBUG", "info": "INFO", "warn": "WARN", "error": "ERROR"} {
		if got := (Log{Level: level}).SlogLevel().String(); got != want {
			t.Errorf("SlogLevel(%s) = %s", level, got)
		}
	}
}

func TestVisibleStatus(t *testing.T) {
	p := &Project{}
	for status, want := range map[string]string{"assigned": "open", "in_progress": "open", "waiting_for_customer": "waiting_for_customer", "gone": "gone"} {
		if got := p.VisibleStatus(status); got != want {
			t.Errorf("VisibleStatus(%q) = %q, want %q", status, got, want)
		}
	}
}

// TestAuthResultsFrom: by default no TCP peer's Authentication-Results
// count, loopback included (every local user can connect there); listed
// peers' do, IPv4-mapped forms included.
func TestAuthResultsFrom(t *testing.T) {
	c := Default()
	c.Projects = []Project{{Key: "ACME", Address: "acme@support.example.com"}}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{"127.0.0.1", "::1", "10.0.0.1"} {
		if c.AuthResultsFrom(net.ParseIP(ip)) {
			t.Errorf("default: AuthResultsFrom(%s) = true", ip)
		}
	}
	c.Inbound.AuthResultsFrom = []string{"192.0.2.25", "2001:db8::/32"}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]bool{"192.0.2.25": true, "::ffff:192.0.2.25": true, "192.0.2.26": false, "2001:db8::1": true, "127.0.0.1": false} {
		if got := c.AuthResultsFrom(net.ParseIP(ip)); got != want {
			t.Errorf("AuthResultsFrom(%s) = %v, want %v", ip, got, want)
		}
	}
}
