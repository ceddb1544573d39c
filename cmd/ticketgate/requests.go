package main

import (
	"context"
	"fmt"
	"io"
	"net/http"

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
