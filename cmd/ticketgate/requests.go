package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/ticketgate/ticketgate/admin"
)

// Issue 17: `ticketgate new` opens a request for a customer; `ticketgate
// visibility` publishes an internal ticket.

func cmdNew(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("new", stderr)
	project := fs.String("project", "", "the project (required)")
	from := fs.String("from", "", "the customer the request is for (required)")
	subject := fs.String("subject", "", "the subject (required)")
	internal := fs.Bool("internal", false, "open it internal: no customer mail until it is made public")
	if parseFlags(fs, args) != nil {
		return exitConfig
	}
	if fs.NArg() != 0 || *project == "" || *from == "" || *subject == "" {
		fmt.Fprintln(stderr, "usage: ticketgate new --project P --from ADDRESS --subject TEXT [--internal] < body")
		return exitConfig
	}
	body, err := io.ReadAll(io.LimitReader(stdin, 1<<20))
	if err != nil {
		fmt.Fprintf(stderr, "ticketgate new: reading the body from stdin: %v\n", err)
		return exitFailure
	}
	c, code := af.client(stderr)
	if c == nil {
		return code
	}
	var res admin.OpResult
	req := admin.NewTicketRequest{Project: *project, From: *from, Subject: *subject, Text: string(body), Internal: *internal}
	if err := c.Call(context.Background(), http.MethodPost, "/api/tickets", &req, &res); err != nil {
		return apiFail(stderr, err)
	}
	return printOpResult(stdout, af, res)
}

func cmdVisibility(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("visibility", stderr)
	if parseFlags(fs, args) != nil {
		return exitConfig
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(stderr, "usage: ticketgate visibility ACME-12 public")
		return exitConfig
	}
	c, code := af.client(stderr)
	if c == nil {
		return code
	}
	var res admin.OpResult
	if err := c.Call(context.Background(), http.MethodPost, ticketPath(fs.Arg(0), "visibility"), &admin.VisibilityRequest{Visibility: fs.Arg(1)}, &res); err != nil {
		return apiFail(stderr, err)
	}
	return printOpResult(stdout, af, res)
}

func printOpResult(stdout io.Writer, af *adminFlags, res admin.OpResult) int {
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

// Issue 17: drafts and support keys.

func cmdDrafts(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("drafts", stderr)
	project := fs.String("project", "", "only this project")
	if parseFlags(fs, args) != nil {
		return exitConfig
	}
	c, code := af.client(stderr)
	if c == nil {
		return code
	}
	path := "/api/drafts"
	if *project != "" {
		path += "?project=" + url.QueryEscape(*project)
	}
	var list []admin.DraftSummary
	if err := c.Call(context.Background(), http.MethodGet, path, nil, &list); err != nil {
		return apiFail(stderr, err)
	}
	if af.json {
		printJSON(stdout, list)
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DRAFT\tMISSING\tSENDER\tMAILS\tEXPIRES\tSUBJECT")
	for _, d := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", d.Key, d.Missing, d.Sender, d.Mails, d.Expires.Local().Format("2006-01-02"), d.Subject)
	}
	tw.Flush()
	if len(list) == 0 {
		fmt.Fprintln(stderr, "no drafts")
	}
	return exitOK
}

func cmdAccept(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("accept", stderr)
	if parseFlags(fs, args) != nil {
		return exitConfig
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: ticketgate accept ACME-D12")
		return exitConfig
	}
	c, code := af.client(stderr)
	if c == nil {
		return code
	}
	var res admin.OpResult
	if err := c.Call(context.Background(), http.MethodPost, "/api/drafts/"+url.PathEscape(strings.ToUpper(fs.Arg(0)))+"/accept", nil, &res); err != nil {
		return apiFail(stderr, err)
	}
	return printOpResult(stdout, af, res)
}

func cmdKeys(args []string, stdout, stderr io.Writer) int {
	const usage = "usage: ticketgate keys check [--project P] [--sender ADDRESS] KEY"
	fs, af := newAdminFlags("keys", stderr)
	project := fs.String("project", "", "the project (needed when there are several)")
	sender := fs.String("sender", "", "check the key for mail from this address (default: for whoever it is bound to)")
	if parseFlags(fs, args) != nil {
		return exitConfig
	}
	if fs.NArg() != 2 || fs.Arg(0) != "check" {
		fmt.Fprintln(stderr, usage)
		return exitConfig
	}
	c, code := af.client(stderr)
	if c == nil {
		return code
	}
	var res admin.KeyCheckResult
	req := admin.KeyCheckRequest{Project: *project, Key: fs.Arg(1), Sender: *sender}
	if err := c.Call(context.Background(), http.MethodPost, "/api/keys/check", &req, &res); err != nil {
		return apiFail(stderr, err)
	}
	if af.json {
		printJSON(stdout, res)
	} else {
		fmt.Fprintf(stdout, "%s %s: %s", res.Project, res.Key, res.State)
		if res.Bound != "" {
			fmt.Fprintf(stdout, ", bound to %s", res.Bound)
		}
		if res.Expires != "" {
			fmt.Fprintf(stdout, ", expires %s", res.Expires)
		}
		fmt.Fprintln(stdout)
	}
	if !res.Valid {
		return exitFailure
	}
	return exitOK
}
