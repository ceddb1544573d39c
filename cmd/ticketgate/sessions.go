package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/ticketgate/ticketgate/admin"
)

// cmdSessions lists the agents' desk sessions, or ends them: "revoke
// AGENT" ends every session of one agent (their own, or anyone's for an
// operator), "revoke --all" everyone's (operators).
func cmdSessions(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("sessions", stderr)
	all := fs.Bool("all", false, "with revoke: end every agent's sessions (operators)")
	c, code := af.connect(fs, args, stderr)
	if c == nil {
		return code
	}
	switch {
	case fs.Arg(0) == "revoke" && (fs.NArg() == 2 || fs.NArg() == 1 && *all):
		q := url.Values{}
		if *all {
			q.Set("all", "1")
		} else {
			q.Set("agent", fs.Arg(1))
		}
		var res admin.Revoked
		if err := c.Call(context.Background(), http.MethodPost, "/api/sessions/revoke?"+q.Encode(), nil, &res); err != nil {
			return apiFail(stderr, err)
		}
		fmt.Fprintf(stdout, "%d desk session(s) ended\n", res.Revoked)
		return exitOK
	case fs.NArg() == 0:
	default:
		fmt.Fprintln(stderr, "usage: ticketgate sessions [revoke AGENT | revoke --all]")
		return exitConfig
	}
	return showList(c, af, "/api/sessions", stdout, stderr, "ID\tAGENT\tSINCE\tLAST SEEN\tVIA", func(s admin.SessionInfo) string {
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", s.ID, s.Agent, s.Created.Local().Format("2006-01-02 15:04"), s.LastSeen.Local().Format("2006-01-02 15:04"), s.Via)
	})
}
