package config

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"
)

// Who may open a ticket (issue 17): open_to, known_customers,
// support_keys and drafts, per project.

// Values of open_to.
const (
	OpenToAnyone = "anyone"
	OpenToKnown  = "known"
	OpenToKey    = "key"
)

// SupportKeys names the file of valid support keys and how a key looks.
type SupportKeys struct {
	// File is a CSV file: key,customer-or-domain,expires (YYYY-MM-DD);
	// the second and third fields may be empty (any sender, never). It is
	// read at start and on every reload (SIGHUP).
	File string `mapstructure:"file"`
	// Pattern is the regular expression a key matches in the subject,
	// the text or an X-Support-Key header; whatever matches it is redacted
	// everywhere but in the key check.
	Pattern string `mapstructure:"pattern"`
}

// Drafts configures mail that waits for what its sender lacks.
type Drafts struct {
	// ExpireDays: a draft not accepted by then is removed silently.
	// Default 14.
	ExpireDays int `mapstructure:"expire_days"`
}

// SupportKey is one line of the support keys file.
type SupportKey struct {
	Key string
	// Bound is the address or domain the key belongs to (lower-cased;
	// "" = any sender).
	Bound string
	// Expires is the first instant the key is no longer valid (the day
	// after the file's date, UTC); zero = never.
	Expires time.Time
}

// accessState is what Load reads and compiles for a project's access
// rules.
type accessState struct {
	pattern *regexp.Regexp
	keys    []SupportKey
}

// OpenToMode is the project's open_to, "anyone" when unset.
func (p *Project) OpenToMode() string {
	if p.OpenTo == "" {
		return OpenToAnyone
	}
	return strings.ToLower(p.OpenTo)
}

// DraftExpireDays is drafts.expire_days (default 14).
func (p *Project) DraftExpireDays() int {
	if p.Drafts.ExpireDays <= 0 {
		return 14
	}
	return p.Drafts.ExpireDays
}

// KeyPattern is the compiled support_keys.pattern, nil without one.
func (p *Project) KeyPattern() *regexp.Regexp {
	if p.access == nil {
		return nil
	}
	return p.access.pattern
}

// SupportKeyList is the support keys read from support_keys.file.
func (p *Project) SupportKeyList() []SupportKey {
	if p.access == nil {
		return nil
	}
	return p.access.keys
}

// IsKnownCustomer reports whether addr is listed in known_customers, as
// an address or by its domain.
func (p *Project) IsKnownCustomer(addr string) bool {
	addr = strings.ToLower(addr)
	domain := ""
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		domain = addr[i+1:]
	}
	for _, k := range p.KnownCustomers {
		k = strings.ToLower(strings.TrimSpace(k))
		if k == addr || (!strings.Contains(k, "@") && k == domain) {
			return true
		}
	}
	return false
}

// validateOpenAccess checks open_to and what it needs, without I/O.
func (c *Config) validateOpenAccess(pre string, p *Project) []error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	switch p.OpenToMode() {
	case OpenToAnyone, OpenToKnown:
	case OpenToKey:
		if p.SupportKeys.File == "" {
			add(fieldErr(pre+".support_keys.file", "required with open_to: key"))
		}
		if p.SupportKeys.Pattern == "" {
			add(fieldErr(pre+".support_keys.pattern", "required with open_to: key"))
		}
	default:
		add(fieldErr(pre+".open_to", "must be anyone, known or key, got %q", p.OpenTo))
	}
	for i, k := range p.KnownCustomers {
		k = strings.TrimSpace(k)
		if k == "" || strings.ContainsAny(k, " \t,<>") || strings.HasPrefix(k, "@") || strings.HasSuffix(k, "@") {
			add(fieldErr(fmt.Sprintf("%s.known_customers[%d]", pre, i), "must be a domain or an address, got %q", k))
		}
	}
	if pat := p.SupportKeys.Pattern; pat != "" {
		re, err := regexp.Compile(pat)
		switch {
		case err != nil:
			add(fieldErr(pre+".support_keys.pattern", "invalid regular expression: %v", err))
		case re.MatchString(""):
			add(fieldErr(pre+".support_keys.pattern", "matches the empty string: it would match everywhere"))
		}
	}
	if p.Drafts.ExpireDays < 0 {
		add(fieldErr(pre+".drafts.expire_days", "must not be negative"))
	}
	return errs
}

// loadAccess compiles the key patterns and reads the support keys files
// (on every load, so SIGHUP re-reads them). Problems carry their key path.
func (c *Config) loadAccess() []error {
	var errs []error
	for i := range c.Projects {
		p := &c.Projects[i]
		pre := fmt.Sprintf("projects[%d].support_keys", i)
		st := &accessState{}
		if p.SupportKeys.Pattern != "" {
			re, err := regexp.Compile(p.SupportKeys.Pattern)
			if err != nil {
				continue // validateOpenAccess reported it
			}
			st.pattern = re
		}
		if p.SupportKeys.File != "" {
			keys, err := readSupportKeys(p.SupportKeys.File, st.pattern)
			if err != nil {
				errs = append(errs, fieldErr(pre+".file", "%v", err))
				continue
			}
			st.keys = keys
		}
		p.access = st
	}
	return errs
}

// readSupportKeys reads a key file: key,customer-or-domain,expires per
// line; blank lines, lines starting with # and a "key,…" header are
// skipped. A key that does not match pattern is an error (it could
// never be found in a mail).
func readSupportKeys(path string, pattern *regexp.Regexp) ([]SupportKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the support keys: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.Comment = '#'
	r.TrimLeadingSpace = true
	var out []SupportKey
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("support keys file %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 0 || strings.TrimSpace(rec[0]) == "" || (len(out) == 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "key")) {
			continue
		}
		if len(rec) > 3 {
			return nil, fmt.Errorf("support keys file %s line %d: want key,customer-or-domain,expires, got %d fields", path, line, len(rec))
		}
		k := SupportKey{Key: strings.TrimSpace(rec[0])}
		if pattern != nil && pattern.FindString(k.Key) != k.Key {
			return nil, fmt.Errorf("support keys file %s line %d: the key does not match support_keys.pattern", path, line)
		}
		if len(rec) > 1 {
			k.Bound = strings.ToLower(strings.TrimSpace(rec[1]))
		}
		if len(rec) > 2 && strings.TrimSpace(rec[2]) != "" {
			day, err := time.Parse("2006-01-02", strings.TrimSpace(rec[2]))
			if err != nil {
				return nil, fmt.Errorf("support keys file %s line %d: expires must be YYYY-MM-DD, got %q", path, line, rec[2])
			}
			k.Expires = day.AddDate(0, 0, 1)
		}
		out = append(out, k)
	}
}
