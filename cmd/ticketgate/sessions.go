package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/ticketgate/ticketgate/admin"
)

// cmdSessions lists the agents' desk sessions, or ends them: "revoke
// AGENT" ends every session of one agent (their own, or anyone's for an
// operator), "revoke --all" everyone's (operators).
func cmdSessions(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("sessions", stderr)
	all := fs.Bool("all", false, "with revoke: end every agent's sessions (operators)")
	if parseFlags(fs, args) != nil {
		return exitConfig
	}
	c, code := af.client(stderr)
	if c == nil {
		return code
	}
	ctx := context.Background()
	switch {
	case fs.Arg(0) == "revoke" && (fs.NArg() == 2 || fs.NArg() == 1 && *all):
		q := url.Values{}
		if *all {
			q.Set("all", "1")
		} else {
			q.Set("agent", fs.Arg(1))
		}
		var res admin.Revoked
		if err := c.Call(ctx, http.MethodPost, "/api/sessions/revoke?"+q.Encode(), nil, &res); err != nil {
			return apiFail(stderr, err)
		}
		fmt.Fprintf(stdout, "%d desk session(s) ended\n", res.Revoked)
		return exitOK
	case fs.NArg() == 0:
	default:
		fmt.Fprintln(stderr, "usage: ticketgate sessions [revoke AGENT | revoke --all]")
		return exitConfig
	}
	var list []admin.SessionInfo
	if err := c.Call(ctx, http.MethodGet, "/api/sessions", nil, &list); err != nil {
		return apiFail(stderr, err)
	}
	if af.json {
		printJSON(stdout, list)
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAGENT\tSINCE\tLAST SEEN\tVIA")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.Agent, s.Created.Local().Format("2006-01-02 15:04"), s.LastSeen.Local().Format("2006-01-02 15:04"), s.Via)
	}
	tw.Flush()
	return exitOK
}
