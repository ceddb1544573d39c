package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/ticketgate/ticketgate/report"
	"github.com/ticketgate/ticketgate/store"
)

// ReportResult is what `ticketgate-bench report` measured: how long
// report.Compute took on a store (the daemon stopped), run after run (the
// first with whatever page cache the store had).
type ReportResult struct {
	Since       string    `json:"since"`
	Open        int       `json:"open,omitempty"`
	TicketsRead int       `json:"tickets_read"`
	New         int       `json:"new"`
	Seconds     []float64 `json:"seconds"`
	Best        float64   `json:"best_seconds"`
	Worst       float64   `json:"worst_seconds"`
}

// runReport times `ticketgate report`'s computation on a preloaded store
// (issue 21: under 2 s for 100,000 tickets).
func runReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ticketgate-bench report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "the data_dir to read (daemon stopped)")
	since := fs.String("since", "3650d", "the report's period (30d, 2w, a date); the default covers every ticket")
	project := fs.String("project", "", "only this project")
	runs := fs.Int("runs", 3, "how many times to compute it")
	asJSON := fs.Bool("json", false, "print JSON")
	dashboard := fs.Bool("dashboard", false, "also the desk dashboard's figures (issue 22): open tickets now, which reads every ticket's facts, and the per-day series")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dataDir == "" || *runs < 1 {
		fmt.Fprintln(stderr, "report needs --data-dir and --runs >= 1")
		return 2
	}
	db, err := store.Open(*dataDir, store.Options{NoSync: true})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	now := time.Now()
	from, err := report.ParseSince(*since, now, time.UTC)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	res := ReportResult{Since: *since}
	for range *runs {
		start := time.Now()
		q := report.Query{Project: *project, Since: from}
		if *dashboard {
			// The default statuses' categories: what report.OpenIn
			// answers for a project that keeps them.
			q.Daily, q.Open = true, func(_, status string) bool {
				return status != "resolved" && status != "closed" && status != "cancelled"
			}
		}
		r, err := report.Compute(db, q, now)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		sec := time.Since(start).Seconds()
		res.Seconds = append(res.Seconds, sec)
		res.TicketsRead, res.New = r.Tickets, r.New
		if r.Backlog != nil {
			res.Open = r.Backlog.Open
		}
		if res.Best == 0 || sec < res.Best {
			res.Best = sec
		}
		res.Worst = max(res.Worst, sec)
	}
	if *asJSON {
		json.NewEncoder(stdout).Encode(res)
		return 0
	}
	fmt.Fprintf(stdout, "report over %s: %d tickets read (%d new, %d open now) in %.3f s best, %.3f s worst of %d runs\n",
		res.Since, res.TicketsRead, res.New, res.Open, res.Best, res.Worst, len(res.Seconds))
	return 0
}
