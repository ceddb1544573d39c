package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/ticketgate/ticketgate/admin"
)

// cmdDigest shows or sets an agent's daily digest (issue 21), as #digest
// does by mail: "off", "on", "at 07:30 [ZONE]". Without --agent it is the
// caller's own; another agent's only for an operator.
func cmdDigest(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("digest", stderr)
	agent := fs.String("agent", "", "whose digest (default: yours; another agent's: admin.operators only)")
	if parseFlags(fs, args) != nil {
		return exitConfig
	}
	if fs.NArg() > 3 {
		fmt.Fprintln(stderr, "usage: ticketgate digest [--agent A] [off | on | at HH:MM [ZONE]]")
		return exitConfig
	}
	c, code := af.client(stderr)
	if c == nil {
		return code
	}
	ctx := context.Background()
	var info admin.DigestInfo
	if fs.NArg() == 0 {
		q := url.Values{}
		if *agent != "" {
			q.Set("agent", *agent)
		}
		if err := c.Call(ctx, http.MethodGet, "/api/digest?"+q.Encode(), nil, &info); err != nil {
			return apiFail(stderr, err)
		}
	} else if err := c.Call(ctx, http.MethodPost, "/api/digest", admin.DigestRequest{Agent: *agent, Args: fs.Args()}, &info); err != nil {
		return apiFail(stderr, err)
	}
	if af.json {
		printJSON(stdout, info)
		return exitOK
	}
	fmt.Fprintf(stdout, "%s: %s\n", info.Agent, info.Schedule)
	return exitOK
}
