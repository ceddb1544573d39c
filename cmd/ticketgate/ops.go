package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ticketgate/ticketgate/admin"
	"github.com/ticketgate/ticketgate/report"
	"github.com/ticketgate/ticketgate/store"
)

// opCommand describes one acting CLI command: its usage, how many
// arguments, and the API call they make.
type opCommand struct {
	usage string
	args  int
	call  func(a []string, stdin io.Reader) (method, path string, body *admin.OpRequest, err error)
}

func textArg(s string, stdin io.Reader) (string, error) {
	if s != "-" {
		return s, nil
	}
	b, err := io.ReadAll(io.LimitReader(stdin, 1<<20))
	return string(b), err
}

func ticketPath(key, op string) string {
	return "/api/tickets/" + url.PathEscape(strings.ToUpper(key)) + "/" + op
}

var opCommands = map[string]opCommand{
	// Issue 21: times in the project's business-hours zone unless one is
	// given; +DURATION is business time for due, wall time for snooze.
	"due": {"due ACME-12 +20h|2026-12-24 15:00 [ZONE]", -1, func(a []string, _ io.Reader) (string, string, *admin.OpRequest, error) {
		if len(a) < 2 {
			return "", "", nil, errors.New("usage: due ACME-12 +20h|2026-12-24 15:00 [ZONE]")
		}
		return http.MethodPost, ticketPath(a[0], "due"), &admin.OpRequest{When: strings.Join(a[1:], " ")}, nil
	}},
	"snooze": {"snooze ACME-12 +48h|2026-12-28 [15:00] [ZONE]|off", -1, func(a []string, _ io.Reader) (string, string, *admin.OpRequest, error) {
		if len(a) < 2 {
			return "", "", nil, errors.New("usage: snooze ACME-12 +48h|2026-12-28 [15:00] [ZONE]|off")
		}
		return http.MethodPost, ticketPath(a[0], "snooze"), &admin.OpRequest{When: strings.Join(a[1:], " ")}, nil
	}},
	"status": {"status ACME-12 STATUS", 2, func(a []string, _ io.Reader) (string, string, *admin.OpRequest, error) {
		return http.MethodPost, ticketPath(a[0], "status"), &admin.OpRequest{Status: a[1]}, nil
	}},
	"assign": {"assign ACME-12 AGENT|me|-", 2, func(a []string, _ io.Reader) (string, string, *admin.OpRequest, error) {
		agent := a[1]
		if agent == "-" {
			agent = ""
		}
		return http.MethodPost, ticketPath(a[0], "assign"), &admin.OpRequest{Agent: agent}, nil
	}},
	"reply": {"reply ACME-12 TEXT|-   (a public answer to the customers; - reads stdin)", 2, func(a []string, in io.Reader) (string, string, *admin.OpRequest, error) {
		t, err := textArg(a[1], in)
		return http.MethodPost, ticketPath(a[0], "comment"), &admin.OpRequest{Text: t}, err
	}},
	"note": {"note ACME-12 TEXT|-   (an internal note; - reads stdin)", 2, func(a []string, in io.Reader) (string, string, *admin.OpRequest, error) {
		t, err := textArg(a[1], in)
		return http.MethodPost, ticketPath(a[0], "comment"), &admin.OpRequest{Text: t, Internal: true}, err
	}},
	"invite": {"invite ACME-12 ADDRESS", 2, func(a []string, _ io.Reader) (string, string, *admin.OpRequest, error) {
		return http.MethodPost, ticketPath(a[0], "invite"), &admin.OpRequest{Address: a[1]}, nil
	}},
	"participant": {"participant add|remove ACME-12 ADDRESS", 3, func(a []string, _ io.Reader) (string, string, *admin.OpRequest, error) {
		switch a[0] {
		case "add":
			return http.MethodPost, ticketPath(a[1], "participants"), &admin.OpRequest{Address: a[2]}, nil
		case "remove":
			return http.MethodDelete, ticketPath(a[1], "participants/"+url.PathEscape(a[2])), nil, nil
		}
		return "", "", nil, fmt.Errorf("participant add or remove, not %q", a[0])
	}},
	// Issue 22: held mail, as "#held publish|discard N" by mail.
	"held": {"held publish|discard ACME-12 MESSAGE   (the number `show` prints for a held message)", 3, func(a []string, _ io.Reader) (string, string, *admin.OpRequest, error) {
		if a[0] != "publish" && a[0] != "discard" {
			return "", "", nil, fmt.Errorf("held publish or discard, not %q", a[0])
		}
		return http.MethodPost, ticketPath(a[1], "held/"+url.PathEscape(a[2])+"/"+a[0]), nil, nil
	}},
	"merge": {"merge ACME-12 ACME-7   (moves ACME-12's messages into ACME-7)", 2, func(a []string, _ io.Reader) (string, string, *admin.OpRequest, error) {
		return http.MethodPost, ticketPath(a[0], "merge"), &admin.OpRequest{Into: a[1]}, nil
	}},
	"spam": {"spam ACME-12   (cancel it and block its reporter)", 1, func(a []string, _ io.Reader) (string, string, *admin.OpRequest, error) {
		return http.MethodPost, ticketPath(a[0], "spam"), nil, nil
	}},
	"share": {"share ACME-12 ORGANIZATION   (its members may follow and write into it)", 2, func(a []string, _ io.Reader) (string, string, *admin.OpRequest, error) {
		return http.MethodPost, ticketPath(a[0], "organization"), &admin.OpRequest{Name: a[1]}, nil
	}},
	"org": {"org set PROJECT NAME DOMAINS MEMBERS | org delete PROJECT NAME   (comma-separated lists; - for none)", -1, func(a []string, _ io.Reader) (string, string, *admin.OpRequest, error) {
		list := func(s string) []string {
			if s == "-" || s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		switch {
		case len(a) == 5 && a[0] == "set":
			return http.MethodPut, "/api/orgs/" + url.PathEscape(strings.ToUpper(a[1])) + "/" + url.PathEscape(a[2]), &admin.OpRequest{Domains: list(a[3]), Members: list(a[4])}, nil
		case len(a) == 3 && a[0] == "delete":
			return http.MethodDelete, "/api/orgs/" + url.PathEscape(strings.ToUpper(a[1])) + "/" + url.PathEscape(a[2]), nil, nil
		}
		return "", "", nil, fmt.Errorf("usage: org set PROJECT NAME DOMAINS MEMBERS | org delete PROJECT NAME")
	}},
	"block": {"block PROJECT ADDRESS   (keep their mail, answer nobody)", 2, func(a []string, _ io.Reader) (string, string, *admin.OpRequest, error) {
		return http.MethodPost, "/api/blocks", &admin.OpRequest{Project: a[0], Address: a[1]}, nil
	}},
}

func cmdOp(name string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	oc := opCommands[name]
	fs, af := newAdminFlags(name, stderr)
	if parseFlags(fs, args) != nil {
		return exitConfig
	}
	if oc.args >= 0 && fs.NArg() != oc.args {
		fmt.Fprintf(stderr, "usage: ticketgate %s --as AGENT\n", oc.usage)
		return exitConfig
	}
	method, path, body, err := oc.call(fs.Args(), stdin)
	if err != nil {
		fmt.Fprintf(stderr, "ticketgate %s: %v\n", name, err)
		return exitConfig
	}
	c, code := af.client(stderr)
	if c == nil {
		return code
	}
	var res admin.OpResult
	var b any
	if body != nil {
		b = body
	}
	if err := c.Call(context.Background(), method, path, b, &res); err != nil {
		return apiFail(stderr, err)
	}
	if af.json {
		printJSON(stdout, res)
		return exitOK
	}
	if res.Ticket != "" {
		fmt.Fprintf(stdout, "%s: ", res.Ticket)
	}
	fmt.Fprint(stdout, res.Done)
	if res.Queued > 0 {
		fmt.Fprintf(stdout, " (%d mail(s) queued)", res.Queued)
	}
	fmt.Fprintln(stdout)
	return exitOK
}

func cmdOrgs(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("orgs", stderr)
	project := fs.String("project", "", "only this project")
	if parseFlags(fs, args) != nil {
		return exitConfig
	}
	c, code := af.client(stderr)
	if c == nil {
		return code
	}
	var list []*store.Organization
	if err := c.Call(context.Background(), http.MethodGet, "/api/orgs?project="+url.QueryEscape(*project), nil, &list); err != nil {
		return apiFail(stderr, err)
	}
	if af.json {
		printJSON(stdout, list)
		return exitOK
	}
	for _, o := range list {
		fmt.Fprintf(stdout, "%s  %s  domains: %s  members: %s\n", o.Project, o.Name, strings.Join(o.Domains, ", "), strings.Join(o.Members, ", "))
	}
	return exitOK
}

// cmdReport prints the figures of package report (issue 21).
func cmdReport(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("report", stderr)
	project := fs.String("project", "", "only this project")
	since := fs.String("since", "30d", "the period: 30d, 2w, 12h or a date (2026-11-01)")
	if parseFlags(fs, args) != nil {
		return exitConfig
	}
	c, code := af.client(stderr)
	if c == nil {
		return code
	}
	var r report.Report
	if err := c.Call(context.Background(), http.MethodGet, "/api/report?project="+url.QueryEscape(*project)+"&since="+url.QueryEscape(*since), nil, &r); err != nil {
		return apiFail(stderr, err)
	}
	if af.json {
		printJSON(stdout, r)
		return exitOK
	}
	fmt.Fprint(stdout, r.Text())
	return exitOK
}
