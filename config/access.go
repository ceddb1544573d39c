package config

import (
	"fmt"
	"slices"
	"strings"
)

// Request types (issue 17): what kind of request a new ticket is, which
// selects its agents, priority and customer templates.

// RequestType is one entry of a project's request_types.
type RequestType struct {
	// Name is stored on the ticket and used by "#type NAME".
	Name  string           `mapstructure:"name"`
	Match RequestTypeMatch `mapstructure:"match"`
	// Agents are notified of (and later offered) the type's tickets
	// instead of all the project's agents; empty: all of them.
	Agents []string `mapstructure:"agents"`
	// Priority of a new ticket of the type (low, normal, high, urgent;
	// default normal).
	Priority string `mapstructure:"priority"`
	// Templates names a folder under <lang>/customer/ whose templates
	// override the customer defaults for the type
	// (templates_dir/<lang>/customer/<templates>/request_created.txt …).
	Templates string `mapstructure:"templates"`
	// Default: the type of a request nothing else matched (at most one).
	Default bool `mapstructure:"default"`
}

// RequestTypeMatch says how a new request is recognised as a type.
type RequestTypeMatch struct {
	// Subaddress: mail to local+<subaddress>@domain.
	Subaddress string `mapstructure:"subaddress"`
	// Keywords: any of them in the subject (case-insensitive).
	Keywords []string `mapstructure:"keywords"`
}

// RequestType returns the project's type named name (case-insensitive).
func (p *Project) RequestType(name string) (*RequestType, bool) {
	for i := range p.RequestTypes {
		if strings.EqualFold(p.RequestTypes[i].Name, name) {
			return &p.RequestTypes[i], true
		}
	}
	return nil, false
}

// TypeAgents are the agents notified of a ticket of type name: the
// type's own when it names some, else all the project's agents.
func (p *Project) TypeAgents(name string) []string {
	if rt, ok := p.RequestType(name); ok && len(rt.Agents) > 0 {
		return rt.Agents
	}
	return p.Agents
}

// TypeNames lists the project's request type names.
func (p *Project) TypeNames() []string {
	out := make([]string, 0, len(p.RequestTypes))
	for _, rt := range p.RequestTypes {
		out = append(out, rt.Name)
	}
	return out
}

// AppliesToType reports whether a rule limited to types (types: [...])
// fires for a ticket of type typ; a rule without types fires for all.
func (t Toggle) AppliesToType(typ string) bool {
	return len(t.Types) == 0 || slices.ContainsFunc(t.Types, func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), typ) })
}

// reservedSubaddress reports whether tag has a meaning of its own in
// Route (internal, t-…, bounce-…): a request type must not claim it.
func reservedSubaddress(tag string) bool {
	tag = strings.ToLower(tag)
	return tag == tagInternal || strings.HasPrefix(tag, tagReply) || strings.HasPrefix(tag, tagBounce)
}

var typePriorities = []string{"low", "normal", "high", "urgent"}

// validateRequestTypes checks request_types and the notification rules
// that name types.
func (c *Config) validateRequestTypes(pre string, p *Project) []error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	names := map[string]bool{}
	subs := map[string]int{}
	defaults := 0
	for i, rt := range p.RequestTypes {
		k := fmt.Sprintf("%s.request_types[%d]", pre, i)
		name := strings.ToLower(rt.Name)
		switch {
		case rt.Name == "":
			add(fieldErr(k+".name", "required"))
		case strings.ContainsAny(rt.Name, " \t/\\."):
			add(fieldErr(k+".name", "must be one word without / \\ or . (it is used in #type and template folders), got %q", rt.Name))
		case names[name]:
			add(fieldErr(k+".name", "duplicate %q", rt.Name))
		default:
			names[name] = true
		}
		if s := rt.Match.Subaddress; s != "" {
			sl := strings.ToLower(s)
			switch {
			case reservedSubaddress(sl):
				add(fieldErr(k+".match.subaddress", "%q collides with a reserved sub-address (internal, t-…, bounce-…)", s))
			case strings.ContainsAny(s, "@+ \t"):
				add(fieldErr(k+".match.subaddress", "must be the part after \"+\" only, got %q", s))
			default:
				if j, dup := subs[sl]; dup {
					add(fieldErr(k+".match.subaddress", "duplicate %q (request_types[%d])", s, j))
				}
				subs[sl] = i
			}
		}
		for j, kw := range rt.Match.Keywords {
			if strings.TrimSpace(kw) == "" {
				add(fieldErr(fmt.Sprintf("%s.match.keywords[%d]", k, j), "must not be empty"))
			}
		}
		for j, a := range rt.Agents {
			if !p.IsStaff(a) {
				add(fieldErr(fmt.Sprintf("%s.agents[%d]", k, j), "%q is not an agent or admin of the project", a))
			}
		}
		if rt.Priority != "" && !slices.Contains(typePriorities, strings.ToLower(rt.Priority)) {
			add(fieldErr(k+".priority", "must be one of %s, got %q", strings.Join(typePriorities, ", "), rt.Priority))
		}
		if t := rt.Templates; t != "" && (strings.ContainsAny(t, "/\\") || t == "." || t == "..") {
			add(fieldErr(k+".templates", "must be a folder name under <lang>/customer/, got %q", t))
		}
		if rt.Default {
			defaults++
			if defaults > 1 {
				add(fieldErr(k+".default", "only one request type may be the default"))
			}
		}
	}
	for _, t := range p.Notifications.toggles() {
		for i, name := range t.toggle.Types {
			if _, ok := p.RequestType(strings.TrimSpace(name)); !ok {
				add(fieldErr(fmt.Sprintf("%s.notifications.%s.types[%d]", pre, t.key, i), "unknown request type %q (request_types: %s)", name, strings.Join(p.TypeNames(), ", ")))
			}
		}
	}
	return errs
}
