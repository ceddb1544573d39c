package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/text/language"
)

// The audiences a toggle rule's "to" may name.
const (
	AudienceReporter     = "reporter"
	AudienceParticipants = "participants"
	AudienceCustomers    = "customers"
	AudienceAgents       = "agents"
	AudienceAdmins       = "admins"
	AudienceAssignee     = "assignee"
)

// Validate reports every problem that can be found without I/O, each a
// *FieldError naming its key path. It does not change c; empty values that
// Load derives (a project's name, language, internal address) are accepted.
func (c *Config) Validate() []error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }

	if c.DataDir == "" {
		add(fieldErr("data_dir", "required"))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add(fieldErr("log.level", "must be debug, info, warn or error, got %q", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add(fieldErr("log.format", "must be text or json, got %q", c.Log.Format))
	}
	if c.Log.AuditDays < 1 {
		add(fieldErr("log.audit_days", "must be at least 1"))
	}

	errs = append(errs, c.validateListeners()...)
	errs = append(errs, c.Limits.validate()...)
	errs = append(errs, c.Admin.validate(c)...)
	errs = append(errs, c.Metrics.validate()...)
	errs = append(errs, c.Store.validate()...)
	errs = append(errs, c.validateRetention()...)
	errs = append(errs, c.validateTargets()...)
	errs = append(errs, c.validateAlerts()...)
	errs = append(errs, c.validateDigests()...)
	errs = append(errs, c.validateOIDC()...)
	switch u, err := url.Parse(c.Web.BaseURL); {
	case c.Web.BaseURL == "":
		add(fieldErr("web.base_url", "required"))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		add(fieldErr("web.base_url", "must be an absolute http or https URL without query, got %q", c.Web.BaseURL))
	}
	if c.Web.LinkTTL <= 0 {
		add(fieldErr("web.link_ttl", "must be positive"))
	}

	in := &c.Inbound
	if in.MaxMessageBytes <= 0 {
		add(fieldErr("inbound.max_message_bytes", "must be greater than 0"))
	}
	if in.MaxTextBytes < 4096 {
		add(fieldErr("inbound.max_text_bytes", "must be at least 4096"))
	}
	// SMTP allows 1000-octet lines (RFC 5321 4.5.3.1.6); a smaller limit
	// would refuse ordinary mail. 0 is no limit but the message size.
	if in.MaxLineLength != 0 && in.MaxLineLength < 1000 {
		add(fieldErr("inbound.max_line_length", "must be 0 (no limit but max_message_bytes) or at least 1000"))
	}
	if in.MaxConnections < 1 {
		add(fieldErr("inbound.max_connections", "must be at least 1"))
	}
	if in.MaxConnectionsPerIP < 1 || (in.MaxConnections >= 1 && in.MaxConnectionsPerIP > in.MaxConnections) {
		add(fieldErr("inbound.max_connections_per_ip", "must be between 1 and inbound.max_connections"))
	}
	// RFC 5321 4.5.3.1.4: a command line may be 512 octets.
	if in.MaxCommandLine < 512 {
		add(fieldErr("inbound.max_command_line", "must be at least 512"))
	}
	if in.IdleTimeout <= 0 {
		add(fieldErr("inbound.idle_timeout", "must be positive"))
	}
	if in.FlowDelay < 0 {
		add(fieldErr("inbound.flow_delay", "must not be negative (0 turns pacing off)"))
	}
	if in.FlowTarget < 0 {
		add(fieldErr("inbound.flow_target", "must not be negative"))
	}
	if in.MaxConcurrentData < 1 {
		add(fieldErr("inbound.max_concurrent_data", "must be at least 1"))
	}
	if in.MaxRecipients <= 0 {
		add(fieldErr("inbound.max_recipients", "must be greater than 0"))
	}
	if in.MaxCcParticipants < 0 {
		add(fieldErr("inbound.max_cc_participants", "must not be negative"))
	}
	if in.MaxParticipants <= 0 {
		add(fieldErr("inbound.max_participants", "must be greater than 0"))
	}
	for i, r := range in.TrustedRelays {
		if _, err := parseRelay(r); err != nil {
			add(fieldErr(fmt.Sprintf("inbound.trusted_relays[%d]", i), "invalid IP or CIDR %q", r))
		}
	}
	for i, r := range in.AuthResultsFrom {
		if _, err := parseRelay(r); err != nil {
			add(fieldErr(fmt.Sprintf("inbound.auth_results_from[%d]", i), "invalid IP or CIDR %q", r))
		}
	}
	for i, id := range c.TrustedAuthservIDs {
		if strings.TrimSpace(id) == "" {
			add(fieldErr(fmt.Sprintf("trusted_authserv_ids[%d]", i), "must not be empty"))
		}
	}

	errs = append(errs, c.validateOutbound()...)
	errs = append(errs, c.validateProjects()...)
	errs = append(errs, c.validateIMAP()...)
	errs = append(errs, c.validatePGP()...)
	return errs
}

// validateListeners checks the three listen addresses and that no two
// collide with each other or with the sockets the daemon always opens.
func (c *Config) validateListeners() []error {
	var errs []error
	reserved := map[string]string{}
	if c.DataDir != "" {
		reserved["unix:"+filepath.Join(c.DataDir, "lmtp.sock")] = "is data_dir/lmtp.sock, which the daemon opens for ticketgate deliver"
		reserved["unix:"+filepath.Join(c.DataDir, "admin.sock")] = "is data_dir/admin.sock, which the daemon opens for the admin API"
	}
	seen := map[string]string{}
	for _, l := range []struct{ key, addr string }{
		{"web.listen", c.Web.Listen},
		{"inbound.smtp.listen", c.Inbound.SMTP.Listen},
		{"inbound.lmtp.listen", c.Inbound.LMTP.Listen},
	} {
		if l.addr == "" {
			continue
		}
		if !validListen(l.addr) {
			errs = append(errs, fieldErr(l.key, "invalid address %q", l.addr))
			continue
		}
		norm := l.addr
		if path, ok := strings.CutPrefix(l.addr, "unix:"); ok {
			norm = "unix:" + filepath.Clean(path)
		}
		if why, ok := reserved[norm]; ok {
			errs = append(errs, fieldErr(l.key, "%s", why))
			continue
		}
		// Port 0 asks the kernel for a free port: never a clash.
		if other, ok := seen[norm]; ok && !strings.HasSuffix(norm, ":0") {
			errs = append(errs, fieldErr(l.key, "same address as %s", other))
			continue
		}
		seen[norm] = l.key
	}
	return errs
}

func (c *Config) validateOutbound() []error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	out := &c.Outbound
	smtp := &out.SMTP
	switch out.Transport {
	case "maildir":
	case "smtp":
		switch {
		case smtp.Host == "":
			add(fieldErr("outbound.smtp.host", "required when outbound.transport is smtp"))
		case !validHost(smtp.Host):
			add(fieldErr("outbound.smtp.host", "invalid host %q", smtp.Host))
		}
		if smtp.Port < 1 || smtp.Port > 65535 {
			add(fieldErr("outbound.smtp.port", "must be between 1 and 65535"))
		}
		if smtp.Timeout <= 0 {
			add(fieldErr("outbound.smtp.timeout", "must be positive"))
		}
		if smtp.Username != "" && smtp.PasswordFile == "" && smtp.OAuth2 == nil {
			add(fieldErr("outbound.smtp.password_file", "required when outbound.smtp.username is set"))
		}
		if smtp.Username == "" && smtp.PasswordFile != "" {
			add(fieldErr("outbound.smtp.username", "required when outbound.smtp.password_file is set"))
		}
		// Checked here, not first when the sender starts: check-config
		// must say so, and serve must fail with "bad config" (exit 2,
		// which systemd does not restart) rather than exit 1 in a loop.
		if smtp.Username != "" && smtp.TLS == "none" && !loopbackHost(smtp.Host) {
			add(fieldErr("outbound.smtp.tls", "must be starttls or tls: the credentials of %q would cross the network in the clear to %s (plain-text AUTH is only allowed to a loopback relay)", smtp.Username, smtp.Host))
		}
	default:
		add(fieldErr("outbound.transport", "must be maildir or smtp"))
	}
	if out.Transport != "smtp" && (smtp.Port < 0 || smtp.Port > 65535) {
		// Unused with maildir, but a typo today is a failed switch to
		// smtp later: say so now.
		add(fieldErr("outbound.smtp.port", "must be between 1 and 65535"))
	}
	if c.Outbound.Workers < 1 || c.Outbound.Workers > 256 {
		add(fieldErr("outbound.workers", "must be between 1 and 256"))
	}
	switch smtp.TLS {
	case "none", "starttls", "tls":
	default:
		add(fieldErr("outbound.smtp.tls", "must be none, starttls or tls, got %q", smtp.TLS))
	}
	if smtp.HelloName != "" && !validHostname(smtp.HelloName) {
		add(fieldErr("outbound.smtp.hello_name", "invalid host name %q", smtp.HelloName))
	}
	r := &out.Retry
	if r.Initial <= 0 {
		add(fieldErr("outbound.retry.initial", "must be positive"))
	}
	if r.Max < r.Initial {
		add(fieldErr("outbound.retry.max", "must not be less than outbound.retry.initial"))
	}
	if r.GiveUpAfter <= 0 {
		add(fieldErr("outbound.retry.give_up_after", "must be positive"))
	}
	return errs
}

// addrOwner says which project claimed an address, and as what.
type addrOwner struct {
	project  int
	internal bool
}

func (c *Config) validateProjects() []error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	if len(c.Projects) == 0 {
		add(fieldErr("projects", "required"))
	}
	keys := map[string]bool{}
	owners := map[string]addrOwner{}
	claim := func(key, addr string, o addrOwner) bool {
		lower := strings.ToLower(addr)
		prev, taken := owners[lower]
		switch {
		case !taken:
			owners[lower] = o
			return true
		case prev.project == o.project:
			add(fieldErr(key, "must differ from address"))
		case !prev.internal && !o.internal:
			add(fieldErr(key, "duplicate %q", addr))
		case prev.internal:
			add(fieldErr(key, "duplicate %q (internal address of projects[%d])", addr, prev.project))
		default:
			add(fieldErr(key, "duplicate %q (address of projects[%d])", addr, prev.project))
		}
		return false
	}
	// A derived internal address inherits every problem of the address it
	// is derived from; reporting those twice would only confuse.
	skipInternal := make([]bool, len(c.Projects))

	for i := range c.Projects {
		p := &c.Projects[i]
		pre := fmt.Sprintf("projects[%d]", i)
		switch up := strings.ToUpper(p.Key); {
		case p.Key == "":
			add(fieldErr(pre+".key", "required"))
		case !validProjectKey(p.Key):
			add(fieldErr(pre+".key", "must match ^[A-Z][A-Z0-9]{1,9}$, got %q", p.Key))
		case keys[up]:
			add(fieldErr(pre+".key", "duplicate %q", p.Key))
		default:
			keys[up] = true
		}

		addrOK := false
		switch local, _, _ := splitAddr(p.Address); {
		case p.Address == "":
			add(fieldErr(pre+".address", "required"))
		case !validAddress(p.Address):
			add(fieldErr(pre+".address", "invalid address %q", p.Address))
		case strings.Contains(local, "+"):
			add(fieldErr(pre+".address", "must not contain \"+\": local+tag addresses route to the project"))
		default:
			addrOK = claim(pre+".address", p.Address, addrOwner{project: i})
		}

		internal := p.InternalAddress
		derived := internal == "" || strings.EqualFold(internal, defaultInternal(p.Address))
		switch {
		case derived && !addrOK:
			skipInternal[i] = true
		case internal == "":
			claim(pre+".internal_address", defaultInternal(p.Address), addrOwner{project: i, internal: true})
		case !validAddress(internal):
			add(fieldErr(pre+".internal_address", "invalid address %q", internal))
			skipInternal[i] = true
		default:
			claim(pre+".internal_address", internal, addrOwner{project: i, internal: true})
		}

		if p.Language != "" {
			if _, err := language.Parse(p.Language); err != nil {
				add(fieldErr(pre+".language", "invalid language tag %q", p.Language))
			}
		}
		errs = append(errs, validateToggles(pre+".notifications", &p.Notifications)...)
		errs = append(errs, validateWebhooks(pre, p)...)
		errs = append(errs, c.validateWorkflow(pre, p)...)
		errs = append(errs, c.validateRequestTypes(pre, p)...)
		errs = append(errs, c.validateOpenAccess(pre, p)...)
		errs = append(errs, validateOffers(pre, p)...)
	}

	// With every address claimed, check what needs the full set.
	for i := range c.Projects {
		p := &c.Projects[i]
		pre := fmt.Sprintf("projects[%d]", i)
		if base, ok := stripTag(strings.ToLower(p.InternalAddress)); ok && !skipInternal[i] {
			if o, taken := owners[base]; taken && !o.internal && o.project != i {
				add(fieldErr(pre+".internal_address", "is a +tag address of projects[%d].address", o.project))
			}
		}
		for _, staff := range []struct {
			key  string
			list []string
		}{{"agents", p.Agents}, {"admins", p.Admins}} {
			for j, a := range staff.list {
				key := fmt.Sprintf("%s.%s[%d]", pre, staff.key, j)
				if !validAddress(a) {
					add(fieldErr(key, "invalid address %q", a))
					continue
				}
				// Notifying one of our own addresses would feed our mail
				// back into ourselves.
				lower := strings.ToLower(a)
				_, own := owners[lower]
				if base, ok := stripTag(lower); ok {
					if o, taken := owners[base]; taken && !o.internal {
						own = true
					}
				}
				if own {
					add(fieldErr(key, "%q is one of ticketgate's own addresses", a))
				}
			}
		}
	}
	return errs
}

// validateToggles checks each rule's statuses and audiences. Internal events
// may not name customer audiences: customers never get internal mail.
func validateToggles(prefix string, n *Notifications) []error {
	var errs []error
	for _, t := range n.toggles() {
		key := prefix + "." + t.key
		for i, s := range t.toggle.Statuses {
			if strings.TrimSpace(s) == "" {
				errs = append(errs, fieldErr(fmt.Sprintf("%s.statuses[%d]", key, i), "must not be empty"))
			}
		}
		for i, a := range t.toggle.To {
			k := fmt.Sprintf("%s.to[%d]", key, i)
			switch a {
			case AudienceReporter, AudienceParticipants, AudienceCustomers:
				if t.internal {
					errs = append(errs, fieldErr(k, "%q not allowed on an internal event (customers never get internal mail)", a))
				}
			case AudienceAgents, AudienceAdmins, AudienceAssignee:
			default:
				errs = append(errs, fieldErr(k, "unknown audience %q (want reporter, participants, customers, agents, admins or assignee)", a))
			}
		}
	}
	return errs
}

// validProjectKey is ^[A-Z][A-Z0-9]{1,9}$: short enough for subjects, and
// upper-case so "[ACME-42]" is found however the customer's client mangles it.
func validProjectKey(k string) bool {
	if len(k) < 2 || len(k) > 10 || k[0] < 'A' || k[0] > 'Z' {
		return false
	}
	for i := 1; i < len(k); i++ {
		if (k[i] < 'A' || k[i] > 'Z') && (k[i] < '0' || k[i] > '9') {
			return false
		}
	}
	return true
}

// validAddress accepts a bare addr-spec (no display name, no brackets):
// these are compared with envelope addresses, which never carry either.
func validAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	_, _, ok := splitAddr(s)
	return ok
}

// splitAddr splits at the last "@" (a quoted local part may contain one).
func splitAddr(addr string) (local, domain string, ok bool) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", "", false
	}
	return addr[:at], addr[at+1:], true
}

// stripTag turns local+tag@domain into local@domain; ok is false when there
// is no tag.
func stripTag(addr string) (string, bool) {
	local, domain, ok := splitAddr(addr)
	if !ok {
		return "", false
	}
	base, _, tagged := strings.Cut(local, "+")
	if !tagged {
		return "", false
	}
	return base + "@" + domain, true
}

// validListen accepts "host:port" (host may be empty for all interfaces,
// port 0 picks a free one) and "unix:/path".
func validListen(s string) bool {
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		return path != "" && !strings.ContainsRune(path, 0)
	}
	host, port, err := splitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || strings.TrimLeft(port, "0123456789") != "" {
		return false
	}
	return host == "" || validHost(host)
}

// splitHostPort is net.SplitHostPort without accepting an empty port.
func splitHostPort(s string) (host, port string, err error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || i == len(s)-1 {
		return "", "", fmt.Errorf("missing port in %q", s)
	}
	host, port = s[:i], s[i+1:]
	if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") {
			return "", "", fmt.Errorf("bad brackets in %q", s)
		}
		host = host[1 : len(host)-1]
		if _, err := netip.ParseAddr(host); err != nil {
			return "", "", fmt.Errorf("bad IPv6 address in %q: %w", s, err)
		}
	} else if strings.Contains(host, ":") {
		return "", "", fmt.Errorf("IPv6 address in %q needs brackets", s)
	}
	return host, port, nil
}

// validHost accepts an IP address or a DNS host name.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	return validHostname(h)
}

func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			ch := label[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
				return false
			}
		}
	}
	return true
}

// parseRelay reads an IP ("192.0.2.1") or CIDR ("192.0.2.0/24") as a prefix.
func parseRelay(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("trusted relay %q: %w", s, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("trusted relay %q: %w", s, err)
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("trusted relay %q: zones are not supported", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// loopbackHost reports whether host is localhost or a loopback IP, the only
// relays credentials may reach without TLS (nobody can sniff them there).
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}
