package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRequestTypeValidation: check-config refuses sub-addresses that
// collide with ours, type agents who are not staff, and the rest (issue 17).
func TestRequestTypeValidation(t *testing.T) {
	t.Parallel()
	const head = `
projects:
  - key: ACME
    address: acme@support.example.com
    agents: [alice@example.com]
    admins: [carol@example.com]
`
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"fine", `
    request_types:
      - {name: incident, match: {subaddress: incident, keywords: [outage]}, agents: [alice@example.com, carol@example.com], priority: high, templates: incident}
      - {name: question, default: true}
    notifications: {internal: {request_created: {types: [incident]}}}
`, nil},
		{"reserved sub-addresses", `
    request_types:
      - {name: a, match: {subaddress: internal}}
      - {name: b, match: {subaddress: T-x}}
      - {name: c, match: {subaddress: bounce-1}}
`, []string{
			`projects[0].request_types[0].match.subaddress: "internal" collides with a reserved sub-address (internal, t-…, bounce-…)`,
			`projects[0].request_types[1].match.subaddress: "T-x" collides with a reserved sub-address (internal, t-…, bounce-…)`,
			`projects[0].request_types[2].match.subaddress: "bounce-1" collides with a reserved sub-address (internal, t-…, bounce-…)`,
		}},
		{"agent not staff", `
    request_types:
      - {name: incident, agents: [mallory@example.net]}
`, []string{`projects[0].request_types[0].agents[0]: "mallory@example.net" is not an agent or admin of the project`}},
		{"the rest", `
    request_types:
      - {name: "two words", match: {subaddress: billing}}
      - {name: Billing, match: {subaddress: BILLING, keywords: [" "]}, priority: asap, templates: ../x, default: true}
      - {name: billing, default: true}
      - {match: {subaddress: a+b}}
    notifications: {customer: {request_created: {types: [sales]}}}
`, []string{
			`projects[0].request_types[0].name: must be one word without / \ or . (it is used in #type and template folders), got "two words"`,
			`projects[0].request_types[1].match.subaddress: duplicate "BILLING" (request_types[0])`,
			`projects[0].request_types[1].match.keywords[0]: must not be empty`,
			`projects[0].request_types[1].priority: must be one of low, normal, high, urgent, got "asap"`,
			`projects[0].request_types[1].templates: must be a folder name under <lang>/customer/, got "../x"`,
			`projects[0].request_types[2].name: duplicate "billing"`,
			`projects[0].request_types[2].default: only one request type may be the default`,
			`projects[0].request_types[3].name: required`,
			`projects[0].request_types[3].match.subaddress: must be the part after "+" only, got "a+b"`,
			`projects[0].notifications.customer.request_created.types[0]: unknown request type "sales" (request_types: two words, Billing, billing, )`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(writeConfig(t, head+strings.TrimPrefix(tc.yaml, "\n")))
			var got []string
			if err != nil {
				var errs *Errors
				if !errors.As(err, &errs) {
					t.Fatalf("error %T, want *Errors: %v", err, err)
				}
				for _, e := range errs.List {
					got = append(got, e.Error())
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// TestOpenAccessValidation: open_to and what it needs; the key file is
// read (and its problems reported) by Load, and again by every Load.
func TestOpenAccessValidation(t *testing.T) {
	t.Parallel()
	const head = `
projects:
  - key: ACME
    address: acme@support.example.com
`
	load := func(t *testing.T, dir, body string) (*Config, []string) {
		t.Helper()
		path := filepath.Join(dir, "config.yaml")
		os.WriteFile(path, []byte("data_dir: ./data\n"+head+body), 0o600)
		cfg, err := Load(path)
		var got []string
		if err != nil {
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %T: %v", err, err)
			}
			for _, e := range errs.List {
				got = append(got, e.Error())
			}
		}
		return cfg, got
	}
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"bad mode", "    open_to: everybody\n", []string{`projects[0].open_to: must be anyone, known or key, got "everybody"`}},
		{"key needs file and pattern", "    open_to: key\n", []string{
			"projects[0].support_keys.file: required with open_to: key",
			"projects[0].support_keys.pattern: required with open_to: key",
		}},
		{"bad pattern and known list", "    support_keys: {pattern: 'OX-('}\n    known_customers: ['', '@x.example', 'a b']\n    drafts: {expire_days: -1}\n", []string{
			"projects[0].known_customers[0]: must be a domain or an address, got \"\"",
			"projects[0].known_customers[1]: must be a domain or an address, got \"@x.example\"",
			"projects[0].known_customers[2]: must be a domain or an address, got \"a b\"",
			"projects[0].support_keys.pattern: invalid regular expression: error parsing regexp: missing closing ): `OX-(`",
			"projects[0].drafts.expire_days: must not be negative",
		}},
		{"pattern matching nothing in particular", "    support_keys: {pattern: 'x*'}\n", []string{
			"projects[0].support_keys.pattern: matches the empty string: it would match everywhere",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, got := load(t, t.TempDir(), tc.yaml)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}

	t.Run("key file", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		keys := filepath.Join(dir, "keys.csv")
		body := "    open_to: key\n    support_keys: {file: keys.csv, pattern: 'OX-[0-9]{4}-[A-Z0-9]{6}'}\n"
		if _, got := load(t, dir, body); len(got) != 1 || !strings.Contains(got[0], "projects[0].support_keys.file: cannot read the support keys") {
			t.Errorf("missing file: %v", got)
		}
		for content, want := range map[string]string{
			"OX-1111-AAAAAA,a.example,31.12.2026\n": `line 1: expires must be YYYY-MM-DD, got "31.12.2026"`,
			"# comment\nOX-1111,a.example,\n":       "line 2: the key does not match support_keys.pattern",
			"OX-1111-AAAAAA,a,b,c\n":                "line 1: want key,customer-or-domain,expires, got 4 fields",
		} {
			os.WriteFile(keys, []byte(content), 0o600)
			if _, got := load(t, dir, body); len(got) != 1 || !strings.Contains(got[0], want) {
				t.Errorf("%q: %v, want …%s", content, got, want)
			}
		}
		os.WriteFile(keys, []byte("key,customer,expires\n# a comment\n\nOX-1111-AAAAAA, Customer.Example ,2026-12-31\nOX-2222-BBBBBB\n"), 0o600)
		cfg, got := load(t, dir, body)
		if len(got) != 0 {
			t.Fatalf("good file: %v", got)
		}
		p := cfg.Project("ACME")
		list := p.SupportKeyList()
		if len(list) != 2 || list[0].Key != "OX-1111-AAAAAA" || list[0].Bound != "customer.example" ||
			!list[0].Expires.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) || list[1].Bound != "" || !list[1].Expires.IsZero() {
			t.Errorf("keys read: %+v", list)
		}
		if p.KeyPattern() == nil || p.OpenToMode() != OpenToKey || p.DraftExpireDays() != 14 {
			t.Errorf("pattern %v, mode %s, expire days %d", p.KeyPattern(), p.OpenToMode(), p.DraftExpireDays())
		}
		// The client's load reads no secret file.
		if c, err := LoadClient(filepath.Join(dir, "config.yaml")); err != nil || c.Project("ACME").SupportKeyList() != nil {
			t.Errorf("LoadClient: %v", err)
		}
	})
}

func TestIsKnownCustomer(t *testing.T) {
	p := &Project{KnownCustomers: []string{"Example.com", "vip@partner.test"}}
	for addr, want := range map[string]bool{
		"carl@example.com": true, "CARL@EXAMPLE.COM": true, "vip@partner.test": true,
		"other@partner.test": false, "carl@sub.example.com": false, "carl@example.com.evil": false,
	} {
		if got := p.IsKnownCustomer(addr); got != want {
			t.Errorf("%s: %v", addr, got)
		}
	}
}
