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

// cmdWebhooks lists the queued webhook deliveries, or sends a test push
// (issue 18). Neither ever prints a hook's URL: it may be a secret.
func cmdWebhooks(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("webhooks", stderr)
	project := fs.String("project", "", "the project (test: required)")
	hook := fs.String("hook", "", "test: only this hook (by name)")
	if parseFlags(fs, args) != nil {
		return exitConfig
	}
	c, code := af.client(stderr)
	if c == nil {
		return code
	}
	ctx := context.Background()
	switch fs.Arg(0) {
	case "":
		var items []admin.HookEntry
		path := "/api/webhooks"
		if *project != "" {
			path += "?project=" + url.QueryEscape(strings.ToUpper(*project))
		}
		if err := c.Call(ctx, http.MethodGet, path, nil, &items); err != nil {
			return apiFail(stderr, err)
		}
		if af.json {
			printJSON(stdout, items)
			return exitOK
		}
		printHooks(stdout, items)
		if len(items) == 0 {
			fmt.Fprintln(stderr, "no webhook deliveries queued")
		}
		return exitOK
	case "test":
		if *project == "" || fs.NArg() != 1 {
			fmt.Fprintln(stderr, "usage: ticketgate webhooks test --project P [--hook NAME]")
			return exitConfig
		}
		res, err := c.HookTest(ctx, strings.ToUpper(*project), *hook)
		if err != nil {
			return apiFail(stderr, err)
		}
		if af.json {
			printJSON(stdout, res)
		}
		failed := 0
		for _, r := range res {
			if !r.OK {
				failed++
			}
			if af.json {
				continue
			}
			if r.OK {
				fmt.Fprintf(stdout, "%s (%s): delivered, event id %s\n", r.Hook, r.Format, r.EventID)
			} else {
				fmt.Fprintf(stdout, "%s (%s): FAILED: %s\n", r.Hook, r.Format, r.Error)
			}
		}
		if failed > 0 {
			return exitFailure
		}
		return exitOK
	default:
		fmt.Fprintln(stderr, "usage: ticketgate webhooks [--project P] | webhooks test --project P [--hook NAME]")
		return exitConfig
	}
}

// printHooks prints queued webhook deliveries as a table.
func printHooks(w io.Writer, items []admin.HookEntry) {
	if len(items) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTICKET\tHOOK\tEVENT\tEVENT ID\tATTEMPTS\tNEXT\tLAST ERROR")
	for _, it := range items {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", it.ID, it.Ticket, it.Hook, it.Event, it.EventID, it.Attempts,
			it.NextAttempt.Local().Format("15:04:05"), it.LastError)
	}
	tw.Flush()
}
