package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/admin"
	"github.com/ticketgate/ticketgate/store"
)

// cmdTrace prints what happened to one mail: for an inbound Message-ID its
// reception, threading, what it caused to be sent (and how each delivery
// went) and what was held back; for one of our outbound ids its delivery
// attempts and the mail that caused it.
func cmdTrace(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("trace", stderr)
	if parseFlags(fs, args) != nil {
		return exitConfig
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: ticketgate trace [flags] MESSAGE-ID   (with or without <>)")
		return exitConfig
	}
	c, code := af.client(stderr)
	if c == nil {
		return code
	}
	tr, err := c.Trace(context.Background(), fs.Arg(0))
	if err != nil {
		var se *admin.StatusError
		if errors.As(err, &se) && se.Code == 404 {
			fmt.Fprintf(stderr, "ticketgate: %v\n", err)
			return exitFailure
		}
		return apiFail(stderr, err)
	}
	if af.json {
		printJSON(stdout, tr)
		return exitOK
	}
	printTrace(stdout, tr)
	return exitOK
}

func printTrace(w io.Writer, tr *admin.Trace) {
	fmt.Fprintf(w, "<%s>\n", tr.MessageID)
	sent := map[string]admin.TraceMail{}
	for _, m := range tr.Sent {
		sent[m.MessageID] = m
	}
	for _, e := range tr.Events {
		fmt.Fprintf(w, "  %s  %-10s  %s\n", e.Time.Local().Format(time.DateTime), e.Type, describe(e))
		if m, ok := sent[e.Related]; ok && e.Type == store.AuditQueued {
			for _, f := range m.Events {
				if f.Type == store.AuditQueued {
					continue
				}
				fmt.Fprintf(w, "      %s  %-10s  %s\n", f.Time.Local().Format(time.DateTime), f.Type, describe(f))
			}
		}
	}
	if tr.Cause != nil {
		fmt.Fprintf(w, "caused by <%s>:\n", tr.Cause.MessageID)
		printOthers(w, tr.Cause.Events)
	}
	for _, r := range tr.Related {
		fmt.Fprintf(w, "related <%s>:\n", r.MessageID)
		printOthers(w, r.Events)
	}
}

// printOthers prints a linked mail's events but its queued one (already
// told by the main stream).
func printOthers(w io.Writer, evs []*store.AuditEvent) {
	for _, e := range evs {
		if e.Type == store.AuditQueued {
			continue
		}
		fmt.Fprintf(w, "  %s  %-10s  %s\n", e.Time.Local().Format(time.DateTime), e.Type, describe(e))
	}
}

// describe turns an audit event into words.
func describe(e *store.AuditEvent) string {
	var b strings.Builder
	switch e.Type {
	case store.AuditReceived:
		fmt.Fprintf(&b, "via %s from %s for %s", e.Source, orDash(e.From), e.Project)
	case store.AuditNewTicket:
		fmt.Fprintf(&b, "opened %s", e.Ticket)
	case store.AuditThreaded:
		fmt.Fprintf(&b, "into %s by %s", e.Ticket, e.Rule)
	case store.AuditQueued:
		if e.Related != "" {
			fmt.Fprintf(&b, "%s to %s as <%s>", e.Detail, e.Recipient, e.Related)
		} else {
			fmt.Fprintf(&b, "%s to %s", e.Detail, e.Recipient)
		}
	case store.AuditBounced:
		fmt.Fprintf(&b, "to %s: %s [see <%s>]", e.Recipient, e.Detail, e.Related)
	case store.AuditHeld:
		fmt.Fprintf(&b, "to %s: %s", e.Recipient, e.Detail)
	case store.AuditDelivered, store.AuditDeferred, store.AuditGivenUp:
		fmt.Fprintf(&b, "to %s: %s", e.Recipient, e.Detail)
	default:
		b.WriteString(e.Detail)
	}
	// Opening and threading name the ticket already.
	if e.Ticket != "" && e.Type != store.AuditNewTicket && e.Type != store.AuditThreaded {
		fmt.Fprintf(&b, " [%s]", e.Ticket)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
