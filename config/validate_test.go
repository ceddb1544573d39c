package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestValidationMessages pins every message with its exact key path, and
// that nothing else is reported alongside it.
func TestValidationMessages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"no projects", `data_dir: ./d`, []string{"projects: required"}},
		{"data_dir empty", acme + `data_dir: ""`, []string{"data_dir: required"}},
		{"log values", acme + "log: {level: verbose, format: xml}", []string{
			`log.level: must be debug, info, warn or error, got "verbose"`,
			`log.format: must be text or json, got "xml"`,
		}},

		// Listeners.
		{"smtp listen garbage", acme + "inbound: {smtp: {listen: x}}", []string{`inbound.smtp.listen: invalid address "x"`}},
		{"listen bad port", acme + "inbound: {smtp: {listen: 'localhost:99999'}}", []string{`inbound.smtp.listen: invalid address "localhost:99999"`}},
		{"listen empty port", acme + "inbound: {smtp: {listen: '127.0.0.1:'}}", []string{`inbound.smtp.listen: invalid address "127.0.0.1:"`}},
		{"listen unbracketed v6", acme + "inbound: {lmtp: {listen: '::1:24'}}", []string{`inbound.lmtp.listen: invalid address "::1:24"`}},
		{"listen empty unix", acme + "web: {listen: 'unix:'}", []string{`web.listen: invalid address "unix:"`}},
		{"listen bad host", acme + "web: {listen: 'ex ample:80'}", []string{`web.listen: invalid address "ex ample:80"`}},
		{"listen forms that are fine", acme + "web: {listen: '[::1]:8080'}\ninbound: {smtp: {listen: ':2525'}, lmtp: {listen: 'mx.example.com:24'}}", nil},
		{"listeners collide", acme + "inbound: {smtp: {listen: '127.0.0.1:2525'}, lmtp: {listen: '127.0.0.1:2525'}}",
			[]string{"inbound.lmtp.listen: same address as inbound.smtp.listen"}},
		{"deliver socket reserved", acme + "inbound: {lmtp: {listen: 'unix:./data/lmtp.sock'}}",
			[]string{"inbound.lmtp.listen: is data_dir/lmtp.sock, which the daemon opens for ticketgate deliver"}},

		// Web.
		{"base_url relative", acme + "web: {base_url: x}", []string{`web.base_url: must be an absolute http or https URL without query, got "x"`}},
		{"base_url ftp", acme + "web: {base_url: 'ftp://h.example.com'}", []string{`web.base_url: must be an absolute http or https URL without query, got "ftp://h.example.com"`}},
		{"base_url query", acme + "web: {base_url: 'https://h.example.com/?a=b'}", []string{`web.base_url: must be an absolute http or https URL without query, got "https://h.example.com/?a=b"`}},
		{"base_url empty", acme + "web: {base_url: ''}", []string{"web.base_url: required"}},
		{"link_ttl zero", acme + "web: {link_ttl: 0s}", []string{"web.link_ttl: must be positive"}},
		{"link_ttl without unit", acme + "web: {link_ttl: 60}", []string{"web.link_ttl: invalid duration 60: give a unit, such as 30s, 15m or 4320h"}},
		{"link_ttl garbage", acme + "web: {link_ttl: soon}", []string{`web.link_ttl: invalid duration "soon" (use units such as 30s, 15m, 4320h)`}},

		// Inbound limits.
		{"inbound limits", acme + "inbound: {max_message_bytes: 0, max_line_length: 80, max_recipients: 0, max_cc_participants: -1}", []string{
			"inbound.max_message_bytes: must be greater than 0",
			"inbound.max_line_length: must be 0 (no limit but max_message_bytes) or at least 1000",
			"inbound.max_recipients: must be greater than 0",
			"inbound.max_cc_participants: must not be negative",
		}},
		{"listener limits", acme + "inbound: {max_connections: 0, max_connections_per_ip: 0, max_command_line: 100, idle_timeout: 0s, max_concurrent_data: 0}", []string{
			"inbound.max_connections: must be at least 1",
			"inbound.max_connections_per_ip: must be between 1 and inbound.max_connections",
			"inbound.max_command_line: must be at least 512",
			"inbound.idle_timeout: must be positive",
			"inbound.max_concurrent_data: must be at least 1",
		}},
		{"per-ip over global", acme + "inbound: {max_connections: 10, max_connections_per_ip: 11}", []string{
			"inbound.max_connections_per_ip: must be between 1 and inbound.max_connections",
		}},
		{"max_recipients not a number", acme + "inbound: {max_recipients: lots}",
			[]string{"inbound.max_recipients: cannot parse value as 'int': strconv.ParseInt: invalid syntax"}},
		{"trusted relays", acme + "inbound: {trusted_relays: ['10.0.0.0/33', nope, '192.0.2.1', '2001:db8::/32', 'fe80::1%eth0']}", []string{
			`inbound.trusted_relays[0]: invalid IP or CIDR "10.0.0.0/33"`,
			`inbound.trusted_relays[1]: invalid IP or CIDR "nope"`,
			`inbound.trusted_relays[4]: invalid IP or CIDR "fe80::1%eth0"`,
		}},
		{"auth_results_from and max_participants", acme + "inbound: {auth_results_from: ['127.0.0.1', 'mta'], max_participants: 0}", []string{
			"inbound.max_participants: must be greater than 0",
			`inbound.auth_results_from[1]: invalid IP or CIDR "mta"`,
		}},
		{"relay budgets", acme + "limits: {relay_per_ticket: {count: 0, per: 1h}, relay_per_sender: {count: 5, per: 0s}}", []string{
			"limits.relay_per_ticket.count: must be greater than 0",
			"limits.relay_per_sender.per: must be a positive duration",
		}},
		{"authserv id empty", acme + "trusted_authserv_ids: [mx.example.com, ' ']", []string{"trusted_authserv_ids[1]: must not be empty"}},

		// Outbound.
		{"transport", acme + "outbound: {transport: sendmail}", []string{"outbound.transport: must be maildir or smtp"}},
		{"smtp needs host", acme + "outbound: {transport: smtp}", []string{"outbound.smtp.host: required when outbound.transport is smtp"}},
		{"smtp bad host", acme + "outbound: {transport: smtp, smtp: {host: 'relay example'}}", []string{`outbound.smtp.host: invalid host "relay example"`}},
		{"smtp port zero", acme + "outbound: {transport: smtp, smtp: {host: relay.example.com, port: 0}}", []string{"outbound.smtp.port: must be between 1 and 65535"}},
		{"smtp port high", acme + "outbound: {transport: smtp, smtp: {host: relay.example.com, port: 65536}}", []string{"outbound.smtp.port: must be between 1 and 65535"}},
		{"port unchecked for maildir", acme + "outbound: {smtp: {port: 0}}", nil},
		{"port out of range with maildir", acme + "outbound: {transport: maildir, smtp: {port: 70000}}", []string{"outbound.smtp.port: must be between 1 and 65535"}},
		{"smtp timeout", acme + "outbound: {transport: smtp, smtp: {host: 192.0.2.25, timeout: 0s}}", []string{"outbound.smtp.timeout: must be positive"}},
		{"tls value", acme + "outbound: {smtp: {tls: ssl}}", []string{`outbound.smtp.tls: must be none, starttls or tls, got "ssl"`}},
		{"admin users and operators", acme + "admin: {users: {carol: carol@example.com, ops: ops@example.com}, operators: [ops@example.com, 'Ops <x@example.com>']}", []string{
			`admin.users.carol: "carol@example.com" is no project's agent or admin, nor an operator`,
			`admin.operators[1]: "Ops <x@example.com>" is not a bare mail address`,
		}},
		{"username without password", acme + "outbound: {transport: smtp, smtp: {host: relay.example.com, tls: starttls, username: u}}",
			[]string{"outbound.smtp.password_file: required when outbound.smtp.username is set"}},
		{"plain-text auth to a remote relay", acme + "outbound: {transport: smtp, smtp: {host: relay.example.com, username: u}}",
			[]string{"outbound.smtp.password_file: required when outbound.smtp.username is set", `outbound.smtp.tls: must be starttls or tls: the credentials of "u" would cross the network in the clear to relay.example.com (plain-text AUTH is only allowed to a loopback relay)`}},
		{"plain-text auth to loopback is fine", acme + "outbound: {transport: smtp, smtp: {host: 127.0.0.1, username: u}}", []string{"outbound.smtp.password_file: required when outbound.smtp.username is set"}},
		{"plain-text auth to localhost is fine", acme + "outbound: {transport: smtp, smtp: {host: localhost, username: u}}", []string{"outbound.smtp.password_file: required when outbound.smtp.username is set"}},
		{"hello_name", acme + "outbound: {smtp: {hello_name: 'bad name'}}", []string{`outbound.smtp.hello_name: invalid host name "bad name"`}},
		{"retry", acme + "outbound: {retry: {initial: 0s, max: -1s, give_up_after: 0s}}", []string{
			"outbound.retry.initial: must be positive",
			"outbound.retry.max: must not be less than outbound.retry.initial",
			"outbound.retry.give_up_after: must be positive",
		}},
		{"retry max below initial", acme + "outbound: {retry: {initial: 2h, max: 1h}}",
			[]string{"outbound.retry.max: must not be less than outbound.retry.initial"}},

		// Projects.
		{"address required", "projects: [{key: ACME}]", []string{"projects[0].address: required"}},
		{"key required", "projects: [{address: acme@support.example.com}]", []string{"projects[0].key: required"}},
		{"key lower case", "projects: [{key: acme, address: acme@support.example.com}]",
			[]string{`projects[0].key: must match ^[A-Z][A-Z0-9]{1,9}$, got "acme"`}},
		{"key too long", "projects: [{key: ABCDEFGHIJK, address: acme@support.example.com}]",
			[]string{`projects[0].key: must match ^[A-Z][A-Z0-9]{1,9}$, got "ABCDEFGHIJK"`}},
		{"key one letter", "projects: [{key: A, address: acme@support.example.com}]",
			[]string{`projects[0].key: must match ^[A-Z][A-Z0-9]{1,9}$, got "A"`}},
		{"key leading digit", "projects: [{key: 1AB, address: acme@support.example.com}]",
			[]string{`projects[0].key: must match ^[A-Z][A-Z0-9]{1,9}$, got "1AB"`}},
		{"duplicate key", "projects: [{key: ACME, address: acme@support.example.com}, {key: ACME, address: beta@support.example.com}]",
			[]string{`projects[1].key: duplicate "ACME"`}},
		{"duplicate address, other case", "projects: [{key: ACME, address: acme@support.example.com}, {key: BETA, address: ACME@Support.Example.com}]",
			[]string{`projects[1].address: duplicate "ACME@Support.Example.com"`}},
		{"address is another's internal", "projects: [{key: ACME, address: acme@support.example.com, internal_address: notes@support.example.com}, {key: BETA, address: notes@support.example.com}]",
			[]string{`projects[1].address: duplicate "notes@support.example.com" (internal address of projects[0])`}},
		{"internal is another's address", "projects: [{key: ACME, address: acme@support.example.com}, {key: BETA, address: beta@support.example.com, internal_address: Acme@support.example.com}]",
			[]string{`projects[1].internal_address: duplicate "Acme@support.example.com" (address of projects[0])`}},
		{"internal is another's internal", "projects: [{key: ACME, address: acme@support.example.com, internal_address: notes@support.example.com}, {key: BETA, address: beta@support.example.com, internal_address: notes@support.example.com}]",
			[]string{`projects[1].internal_address: duplicate "notes@support.example.com" (internal address of projects[0])`}},
		{"internal equals own address", "projects: [{key: ACME, address: acme@support.example.com, internal_address: acme@support.example.com}]",
			[]string{"projects[0].internal_address: must differ from address"}},
		{"internal inside another's plus space", "projects: [{key: ACME, address: acme@support.example.com}, {key: BETA, address: beta@support.example.com, internal_address: acme+beta@support.example.com}]",
			[]string{"projects[1].internal_address: is a +tag address of projects[0].address"}},
		{"internal invalid", "projects: [{key: ACME, address: acme@support.example.com, internal_address: notes}]",
			[]string{`projects[0].internal_address: invalid address "notes"`}},
		{"address garbage", "projects: [{key: ACME, address: x}]", []string{`projects[0].address: invalid address "x"`}},
		{"address with display name", `projects: [{key: ACME, address: "ACME <acme@support.example.com>"}]`,
			[]string{`projects[0].address: invalid address "ACME <acme@support.example.com>"`}},
		{"address with plus", "projects: [{key: ACME, address: acme+help@support.example.com}]",
			[]string{`projects[0].address: must not contain "+": local+tag addresses route to the project`}},
		{"staff addresses", "projects: [{key: ACME, address: acme@support.example.com, agents: [alice@example.com, bob], admins: [acme+internal@support.example.com, ACME+t-x@SUPPORT.example.com]}]", []string{
			`projects[0].agents[1]: invalid address "bob"`,
			`projects[0].admins[0]: "acme+internal@support.example.com" is one of ticketgate's own addresses`,
			`projects[0].admins[1]: "ACME+t-x@SUPPORT.example.com" is one of ticketgate's own addresses`,
		}},
		{"language", "projects: [{key: ACME, address: acme@support.example.com, language: english}, {key: BETA, address: beta@support.example.com, language: xx}]", []string{
			`projects[0].language: invalid language tag "english"`,
			`projects[1].language: invalid language tag "xx"`,
		}},
		{"toggle audiences", `
projects:
  - key: ACME
    address: acme@support.example.com
    notifications:
      customer:
        request_created: {to: [everyone, reporter]}
        public_comment_added: {statuses: [""]}
      internal:
        status_changed: {to: [agents, customers]}
`, []string{
			`projects[0].notifications.customer.request_created.to[0]: unknown audience "everyone" (want reporter, participants, customers, agents, admins or assignee)`,
			`projects[0].notifications.customer.public_comment_added.statuses[0]: must not be empty`,
			`projects[0].notifications.internal.status_changed.to[1]: "customers" not allowed on an internal event (customers never get internal mail)`,
		}},
		{"toggle wrong type", `
projects:
  - key: ACME
    address: acme@support.example.com
    notifications: {customer: {request_created: sometimes}}
`, []string{
			`projects[0].notifications.customer.request_created: must be true, false or a rule {statuses: [...], to: [...]}, got "sometimes"`,
		}},
		{"projects not a list", "projects: ACME", []string{
			`projects[0]: expected a map or struct, got "string"`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeConfig(t, tc.yaml)
			_, err := Load(path)
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

// Every problem of a file comes back at once, in file order.
func TestAllProblemsAtOnce(t *testing.T) {
	t.Parallel()
	got := problems(t, `
log: {level: loud}
inbound: {smtp: {listen: x}, smtpp: {listen: y}}
outbound: {transport: carrier}
projects:
  - {key: ACME, address: acme@support.example.com}
  - {key: ACME, address: nope}
`)
	want := []string{
		`unknown key "inbound.smtpp"`,
		`log.level: must be debug, info, warn or error, got "loud"`,
		`inbound.smtp.listen: invalid address "x"`,
		"outbound.transport: must be maildir or smtp",
		`projects[1].key: duplicate "ACME"`,
		`projects[1].address: invalid address "nope"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// Validate works on a Config built in code, before any derivation, and
// reports problems as *FieldError with their key.
func TestValidateInCode(t *testing.T) {
	t.Parallel()
	c := Default()
	if errs := c.Validate(); len(errs) != 1 || errs[0].Error() != "projects: required" {
		t.Errorf("Default().Validate() = %v, want only projects: required", errs)
	}
	c.Projects = []Project{{Key: "ACME", Address: "acme@support.example.com"}}
	if errs := c.Validate(); len(errs) != 0 {
		t.Errorf("Validate() = %v, want none", errs)
	}
	c.Projects = append(c.Projects, Project{Key: "BETA", Address: "acme+internal@support.example.com"})
	errs := c.Validate()
	var fe *FieldError
	if len(errs) != 1 || !errors.As(errs[0], &fe) || fe.Key != "projects[1].address" {
		t.Errorf("Validate() = %v, want one problem at projects[1].address", errs)
	}
}
