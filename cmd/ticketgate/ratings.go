package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ticketgate/ticketgate/admin"
)

// cmdRatings sums up the customers' ratings (issue 18): per project the
// count, the average and how many gave each score.
func cmdRatings(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("ratings", stderr)
	project := fs.String("project", "", "only this project")
	sinceFlag := fs.String("since", "", "only ratings given or changed in this period (30d, 12h, 90m)")
	if parseFlags(fs, args) != nil {
		return exitConfig
	}
	var since time.Time
	if *sinceFlag != "" {
		d, err := parsePeriod(*sinceFlag)
		if err != nil {
			fmt.Fprintf(stderr, "ticketgate: --since: %v\n", err)
			return exitConfig
		}
		since = time.Now().Add(-d)
	}
	c, code := af.client(stderr)
	if c == nil {
		return code
	}
	list, err := c.Ratings(context.Background(), *project, since)
	if err != nil {
		return apiFail(stderr, err)
	}
	if af.json {
		printJSON(stdout, list)
		return exitOK
	}
	printRatings(stdout, list)
	if len(list) == 0 {
		fmt.Fprintln(stderr, "no ratings")
	}
	return exitOK
}

func printRatings(w io.Writer, list []admin.RatingSummary) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROJECT\tSCALE\tCOUNT\tAVERAGE\tDISTRIBUTION")
	for _, s := range list {
		var dist []string
		for i, n := range s.Scores {
			dist = append(dist, fmt.Sprintf("%d:%d", i+1, n))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%s\n", s.Project, s.Scale, s.Count, s.Average, strings.Join(dist, " "))
	}
	tw.Flush()
}

// parsePeriod reads a period: Go's durations, plus days ("30d").
func parsePeriod(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad period %q (use 30d, 12h, 90m)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad period %q (use 30d, 12h, 90m)", s)
	}
	return d, nil
}
