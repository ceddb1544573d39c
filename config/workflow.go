package config

import (
	"fmt"
	"slices"
	"strings"
)

// Status categories: the engine's automatic transitions are defined by
// category, so they keep working when a project renames its statuses.
const (
	CatNew       = "new"
	CatOpen      = "open"
	CatPending   = "pending"
	CatResolved  = "resolved"
	CatClosed    = "closed"
	CatCancelled = "cancelled"
)

// categories every status list must cover: the transitions need a status
// of each (cancelled is optional).
var requiredCategories = []string{CatNew, CatOpen, CatPending, CatResolved, CatClosed}

var allCategories = append(slices.Clone(requiredCategories), CatCancelled)

// StatusDef is one status of a project's list.
type StatusDef struct {
	Name     string `mapstructure:"name"`
	Category string `mapstructure:"category"`
	// CustomerVisible says whether customers see (and are told of) this
	// status; nil = true.
	CustomerVisible *bool `mapstructure:"customer_visible"`
	// Approval makes entering this status ask the approvers.
	Approval *Approval `mapstructure:"approval"`
}

// Visible reports whether customers see the status.
func (s *StatusDef) Visible() bool { return s.CustomerVisible == nil || *s.CustomerVisible }

// Approval is who must approve a ticket in a status, and where the answer
// takes it.
type Approval struct {
	Approvers []string `mapstructure:"approvers"`
	// Approved is the status after #approve; default: the first status of
	// category open.
	Approved string `mapstructure:"approved"`
	// Declined is the status after #decline; default: the first status of
	// category cancelled, else of category closed.
	Declined string `mapstructure:"declined"`
}

// IsApprover reports whether addr may approve.
func (a *Approval) IsApprover(addr string) bool {
	return slices.ContainsFunc(a.Approvers, func(x string) bool { return strings.EqualFold(x, addr) })
}

// OrgDef is an organization declared in the configuration (the admin
// interface manages further ones in the store).
type OrgDef struct {
	Name    string   `mapstructure:"name"`
	Domains []string `mapstructure:"domains"`
	Members []string `mapstructure:"members"`
}

// Workflow defaults.
const (
	DefaultReopenDays    = 90
	DefaultAutoCloseDays = 7
)

func visible(b bool) *bool { return &b }

// DefaultStatuses returns the list a project gets unless it configures its
// own.
func DefaultStatuses() []StatusDef {
	return []StatusDef{
		{Name: "new", Category: CatNew},
		{Name: "open", Category: CatOpen},
		{Name: "assigned", Category: CatOpen, CustomerVisible: visible(false)},
		{Name: "in_progress", Category: CatOpen, CustomerVisible: visible(false)},
		{Name: "waiting_for_customer", Category: CatPending},
		{Name: "resolved", Category: CatResolved},
		{Name: "closed", Category: CatClosed},
		{Name: "cancelled", Category: CatCancelled},
	}
}

// StatusList returns the project's statuses: those configured, else the
// default list (which Load and Finalize fill in; a Project used without
// them gets a fresh copy per call).
func (p *Project) StatusList() []StatusDef {
	if len(p.Statuses) == 0 {
		return DefaultStatuses()
	}
	return p.Statuses
}

// Status finds a status by name (case-insensitive).
func (p *Project) Status(name string) (StatusDef, bool) {
	for _, s := range p.StatusList() {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return StatusDef{}, false
}

// VisibleStatus is the status customers are shown for status: itself
// when customer-visible, else the first visible status of its category
// (assigned and in_progress show as open), else itself.
func (p *Project) VisibleStatus(status string) string {
	st, ok := p.Status(status)
	if !ok || st.Visible() {
		return status
	}
	for _, s := range p.StatusList() {
		if s.Category == st.Category && s.Visible() {
			return s.Name
		}
	}
	return status
}

// FirstOf returns the first status of a category ("" when the list has
// none).
func (p *Project) FirstOf(category string) string {
	for _, s := range p.StatusList() {
		if s.Category == category {
			return s.Name
		}
	}
	return ""
}

// ReopenWindowDays is how long after closing a customer's reply reopens a
// ticket; later it opens a new one that links the old.
func (p *Project) ReopenWindowDays() int {
	if p.ReopenDays == nil {
		return DefaultReopenDays
	}
	return *p.ReopenDays
}

// AutoCloseAfterDays is how long a resolved ticket waits before it closes
// by itself; 0 = never.
func (p *Project) AutoCloseAfterDays() int {
	if p.AutoCloseDays == nil {
		return DefaultAutoCloseDays
	}
	return *p.AutoCloseDays
}

// IsFormSender reports whether addr is a contact form or relay whose
// Reply-To names the reporter.
func (p *Project) IsFormSender(addr string) bool {
	return slices.ContainsFunc(p.FormSenders, func(x string) bool { return strings.EqualFold(x, addr) })
}

func (c *Config) validateWorkflow(pre string, p *Project) []error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	if p.ReopenDays != nil && *p.ReopenDays < 0 {
		add(fieldErr(pre+".reopen_days", "must not be negative"))
	}
	if p.AutoCloseDays != nil && *p.AutoCloseDays < 0 {
		add(fieldErr(pre+".auto_close_days", "must not be negative"))
	}
	if p.AutoCloseReminderDays < 0 {
		add(fieldErr(pre+".auto_close_reminder_days", "must not be negative"))
	} else if p.AutoCloseReminderDays > 0 && p.AutoCloseReminderDays >= p.AutoCloseAfterDays() {
		add(fieldErr(pre+".auto_close_reminder_days", "must be less than auto_close_days (%d)", p.AutoCloseAfterDays()))
	}
	for i, f := range p.FormSenders {
		if !validAddress(f) {
			add(fieldErr(fmt.Sprintf("%s.form_senders[%d]", pre, i), "invalid address %q", f))
		}
	}
	if len(p.Statuses) > 0 {
		seen := map[string]bool{}
		have := map[string]bool{}
		for i, s := range p.Statuses {
			key := fmt.Sprintf("%s.statuses[%d]", pre, i)
			name := strings.ToLower(s.Name)
			switch {
			case s.Name == "":
				add(fieldErr(key+".name", "required"))
			case strings.ContainsAny(s.Name, " \t\r\n"):
				add(fieldErr(key+".name", "must be one word (use _), got %q", s.Name))
			case seen[name]:
				add(fieldErr(key+".name", "duplicate %q", s.Name))
			}
			seen[name] = true
			if !slices.Contains(allCategories, s.Category) {
				add(fieldErr(key+".category", "must be one of %s, got %q", strings.Join(allCategories, ", "), s.Category))
			}
			have[s.Category] = true
		}
		for _, cat := range requiredCategories {
			if !have[cat] {
				add(fieldErr(pre+".statuses", "needs a status of category %s", cat))
			}
		}
		for i, s := range p.Statuses {
			if s.Approval == nil {
				continue
			}
			key := fmt.Sprintf("%s.statuses[%d].approval", pre, i)
			if len(s.Approval.Approvers) == 0 {
				add(fieldErr(key+".approvers", "required"))
			}
			for j, a := range s.Approval.Approvers {
				if !validAddress(a) {
					add(fieldErr(fmt.Sprintf("%s.approvers[%d]", key, j), "invalid address %q", a))
				}
			}
			for _, n := range []struct{ key, v string }{{"approved", s.Approval.Approved}, {"declined", s.Approval.Declined}} {
				if n.v != "" && !seen[strings.ToLower(n.v)] {
					add(fieldErr(key+"."+n.key, "no status %q in the list", n.v))
				}
			}
		}
	}
	for i, o := range p.Organizations {
		key := fmt.Sprintf("%s.organizations[%d]", pre, i)
		if strings.TrimSpace(o.Name) == "" {
			add(fieldErr(key+".name", "required"))
		}
		for j, d := range o.Domains {
			if _, err := OrgDomain(d); err != nil {
				add(fieldErr(fmt.Sprintf("%s.domains[%d]", key, j), "%v", err))
			}
		}
		for j, m := range o.Members {
			if !validAddress(m) {
				add(fieldErr(fmt.Sprintf("%s.members[%d]", key, j), "invalid address %q", m))
			}
		}
	}
	return errs
}

// freeMail lists domains anyone can get an address at: they never make an
// organization, or every Gmail user would see each other's requests.
var freeMail = []string{"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
	"yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "gmx.de", "gmx.net", "gmx.at",
	"web.de", "t-online.de", "freenet.de", "mail.ru", "yandex.ru", "yandex.com", "proton.me", "protonmail.com",
	"zoho.com", "mail.com", "qq.com", "163.com", "orange.fr", "free.fr", "laposte.net", "libero.it"}

// IsFreeMail reports whether domain is a free-mail provider.
func IsFreeMail(domain string) bool { return slices.Contains(freeMail, strings.ToLower(domain)) }

// OrgDomain normalises an organization's domain ("@Customer.example" →
// "customer.example") and refuses what cannot be one: no domain at all, or
// a free-mail provider, whose users are not one organization.
func OrgDomain(d string) (string, error) {
	d = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
	switch {
	case d == "" || !strings.Contains(d, "."):
		return "", fmt.Errorf("%q is not a domain", d)
	case IsFreeMail(d):
		return "", fmt.Errorf("%s is a free-mail domain: its users are not one organization (list them as members instead)", d)
	}
	return d, nil
}
