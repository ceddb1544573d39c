package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"

	"github.com/ticketgate/ticketgate/admin"
)

// What the API commands share: parse the flags and reach the daemon, then
// print a list as JSON (--json) or as a table.

// connect parses args into fs and returns the client of the daemon the
// config names. On failure the problem is printed and the client is nil,
// with the exit status.
func (af *adminFlags) connect(fs *flag.FlagSet, args []string, stderr io.Writer) (*admin.Client, int) {
	if parseFlags(fs, args) != nil {
		return nil, exitConfig
	}
	return af.client(stderr)
}

// showList GETs the list at path and prints it (printList).
func showList[T any](c *admin.Client, af *adminFlags, path string, stdout, stderr io.Writer, header string, row func(T) string) int {
	var list []T
	if err := c.Call(context.Background(), http.MethodGet, path, nil, &list); err != nil {
		return apiFail(stderr, err)
	}
	printList(stdout, af, list, header, row)
	return exitOK
}

// printList prints list as JSON with --json, else as a table: header and
// row give the tab-separated heading and lines.
func printList[T any](stdout io.Writer, af *adminFlags, list []T, header string, row func(T) string) {
	if af.json {
		printJSON(stdout, list)
		return
	}
	printTable(stdout, list, header, row)
}

// printTable prints a table of list: header and row give the
// tab-separated heading and lines.
func printTable[T any](stdout io.Writer, list []T, header string, row func(T) string) {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, it := range list {
		fmt.Fprintln(tw, row(it))
	}
	tw.Flush()
}
