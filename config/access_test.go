package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
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
