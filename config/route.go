package config

import (
	"log/slog"
	"net"
	"net/netip"
	"strings"
)

// AddressKind says what an address of ours is for.
type AddressKind int

// The kinds Route tells apart.
const (
	// AddrNone: not one of our addresses.
	AddrNone AddressKind = iota
	// AddrProject: the project address, plain or with a +tag that means
	// nothing special (the tag is returned).
	AddrProject
	// AddrInternal: the project's internal address, or local+internal@domain.
	AddrInternal
	// AddrBounce: local+bounce-<id>@domain, our envelope sender; the tag is
	// the id.
	AddrBounce
	// AddrReplyToken: local+t-<token>@domain from our Reply-To; the tag is
	// the token.
	AddrReplyToken
)

func (k AddressKind) String() string {
	switch k {
	case AddrProject:
		return "project"
	case AddrInternal:
		return "internal"
	case AddrBounce:
		return "bounce"
	case AddrReplyToken:
		return "reply-token"
	}
	return "none"
}

// Tags that Route gives a meaning to, after the "+".
const (
	tagInternal = "internal"
	tagBounce   = "bounce-"
	tagReply    = "t-"
)

// index makes the lookup helpers map lookups instead of scans over all
// projects, since Route runs for every recipient of every message.
type index struct {
	byKey  map[string]*Project
	byAddr map[string]route // lower-cased project and internal addresses
	relays []netip.Prefix
	// authFrom: inbound.auth_results_from.
	authFrom []netip.Prefix
}

type route struct {
	project *Project
	kind    AddressKind
}

// buildIndex must run after the last change to c.Projects: the index points
// into that slice.
func (c *Config) buildIndex() {
	c.idx = c.newIndex()
	for i := range c.Projects {
		p := &c.Projects[i]
		p.agents = lowerSet(p.Agents)
		p.admins = lowerSet(p.Admins)
	}
}

func (c *Config) newIndex() *index {
	idx := &index{
		byKey:  make(map[string]*Project, len(c.Projects)),
		byAddr: make(map[string]route, 2*len(c.Projects)),
	}
	for i := range c.Projects {
		p := &c.Projects[i]
		idx.byKey[strings.ToUpper(p.Key)] = p
		if p.Address != "" {
			idx.byAddr[strings.ToLower(p.Address)] = route{p, AddrProject}
		}
		internal := p.InternalAddress
		if internal == "" {
			internal = defaultInternal(p.Address)
		}
		if internal != "" {
			idx.byAddr[strings.ToLower(internal)] = route{p, AddrInternal}
		}
	}
	for _, r := range c.Inbound.TrustedRelays {
		if p, err := parseRelay(r); err == nil {
			idx.relays = append(idx.relays, p)
		}
	}
	for _, r := range c.Inbound.AuthResultsFrom {
		if p, err := parseRelay(r); err == nil {
			idx.authFrom = append(idx.authFrom, p)
		}
	}
	return idx
}

// index returns the index built by Load or Finalize, or builds a throwaway
// one for a Config that was never finalized (slow, but never wrong).
func (c *Config) index() *index {
	if c.idx != nil {
		return c.idx
	}
	return c.newIndex()
}

func lowerSet(list []string) map[string]bool {
	set := make(map[string]bool, len(list))
	for _, a := range list {
		set[strings.ToLower(a)] = true
	}
	return set
}

// Project returns the project with this key (case-insensitive), or nil.
func (c *Config) Project(key string) *Project {
	return c.index().byKey[strings.ToUpper(key)]
}

// Route maps an envelope recipient to its project. Matching ignores case;
// local+anything@domain belongs to the project local@domain, and the +tag
// decides the kind (see AddressKind). The returned tag keeps the case it
// was given in, since a reply token or bounce id may be case-sensitive.
// For AddrNone, p is nil.
func (c *Config) Route(rcpt string) (p *Project, kind AddressKind, tag string) {
	addr := strings.TrimSpace(rcpt)
	if strings.HasPrefix(addr, "<") && strings.HasSuffix(addr, ">") {
		addr = addr[1 : len(addr)-1]
	}
	lower := strings.ToLower(addr)
	if len(lower) != len(addr) {
		// Lower-casing changed byte lengths (non-ASCII), so offsets into
		// lower do not fit addr; fall back to the lower-cased tag.
		addr = lower
	}
	idx := c.index()
	if r, ok := idx.byAddr[lower]; ok {
		return r.project, r.kind, ""
	}
	at := strings.LastIndexByte(lower, '@')
	if at <= 0 {
		return nil, AddrNone, ""
	}
	plus := strings.IndexByte(lower[:at], '+')
	if plus < 0 {
		return nil, AddrNone, ""
	}
	r, ok := idx.byAddr[lower[:plus]+lower[at:]]
	if !ok {
		return nil, AddrNone, ""
	}
	if r.kind == AddrInternal {
		return r.project, AddrInternal, ""
	}
	ltag, tag := lower[plus+1:at], addr[plus+1:at]
	switch {
	case ltag == tagInternal:
		return r.project, AddrInternal, ""
	case len(ltag) > len(tagBounce) && strings.HasPrefix(ltag, tagBounce):
		return r.project, AddrBounce, tag[len(tagBounce):]
	case len(ltag) > len(tagReply) && strings.HasPrefix(ltag, tagReply):
		return r.project, AddrReplyToken, tag[len(tagReply):]
	}
	return r.project, AddrProject, tag
}

// IsOwnAddress reports whether mail to addr would reach ticketgate: any
// project address, internal address, or +tag form of one (bounce and reply
// addresses included). Used to keep our own addresses out of recipient
// lists, which would otherwise loop.
func (c *Config) IsOwnAddress(addr string) bool {
	_, kind, _ := c.Route(addr)
	return kind != AddrNone
}

// TrustedRelay reports whether ip may hand us mail over SMTP/LMTP
// (inbound.trusted_relays). IPv4-mapped IPv6 addresses count as IPv4.
func (c *Config) TrustedRelay(ip net.IP) bool {
	return inPrefixes(c.index().relays, ip)
}

// AuthResultsFrom reports whether the Authentication-Results headers of
// mail from TCP peer ip may prove a sender (inbound.auth_results_from).
// Being allowed to connect (TrustedRelay) is not enough: on a loopback
// listener every local user is a "trusted relay".
func (c *Config) AuthResultsFrom(ip net.IP) bool {
	return inPrefixes(c.index().authFrom, ip)
}

func inPrefixes(list []netip.Prefix, ip net.IP) bool {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	a = a.Unmap()
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// IsAgent reports whether addr (case-insensitive) is one of the project's
// agents.
func (p *Project) IsAgent(addr string) bool { return inSet(p.agents, p.Agents, addr) }

// IsAdmin reports whether addr (case-insensitive) is one of the project's
// admins.
func (p *Project) IsAdmin(addr string) bool { return inSet(p.admins, p.Admins, addr) }

// IsStaff reports whether addr is an agent or an admin of the project.
func (p *Project) IsStaff(addr string) bool { return p.IsAgent(addr) || p.IsAdmin(addr) }

// inSet looks addr up in the index, or scans list when the Project was built
// without Load or Finalize.
func inSet(set map[string]bool, list []string, addr string) bool {
	if set != nil {
		return set[strings.ToLower(addr)]
	}
	for _, a := range list {
		if strings.EqualFold(a, addr) {
			return true
		}
	}
	return false
}

// LocalPart is the part of the project address before the "@".
func (p *Project) LocalPart() string {
	local, _, _ := splitAddr(p.Address)
	return local
}

// Domain is the part of the project address after the "@".
func (p *Project) Domain() string {
	_, domain, _ := splitAddr(p.Address)
	return domain
}

// BounceAddress is the envelope sender for a message we send, so that its
// bounce comes back identifiable: <local>+bounce-<id>@<domain>.
func (p *Project) BounceAddress(id string) string {
	return p.LocalPart() + "+" + tagBounce + id + "@" + p.Domain()
}

// ReplyAddress is the Reply-To carrying a reply token, which survives
// providers that rewrite Message-IDs: <local>+t-<token>@<domain>. Route
// matches it case-insensitively but returns the token as received, so a
// token should not depend on case (MTAs may lower-case addresses).
func (p *Project) ReplyAddress(token string) string {
	return p.LocalPart() + "+" + tagReply + token + "@" + p.Domain()
}

// Applies reports whether the toggle fires for an event entering status:
// it must be enabled, and a rule with statuses must list status (compared
// case-insensitively). Events without a status pass "".
func (t Toggle) Applies(status string) bool {
	if !t.Enabled {
		return false
	}
	if len(t.Statuses) == 0 {
		return true
	}
	for _, s := range t.Statuses {
		if strings.EqualFold(strings.TrimSpace(s), status) {
			return true
		}
	}
	return false
}

// Audience reports whether a rule addresses audience. A toggle without a
// "to" list leaves the audience to the event's default and returns true.
func (t Toggle) Audience(audience string) bool {
	if len(t.To) == 0 {
		return true
	}
	for _, a := range t.To {
		if a == audience {
			return true
		}
	}
	return false
}

// ListenNetwork splits a listen address for net.Listen: "unix:/path" is
// ("unix", "/path"), anything else ("tcp", addr).
func ListenNetwork(addr string) (network, address string) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		return "unix", path
	}
	return "tcp", addr
}

// SlogLevel is log.level as a slog.Level (info for unknown values, which
// Validate rejects anyway).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
