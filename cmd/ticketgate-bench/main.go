// Command ticketgate-bench drives a running ticketgate daemon with a
// realistic mail load and reports what it sustained, and builds large
// stores offline for scale tests.
//
//	ticketgate-bench [run] --smtp 127.0.0.1:2525[,127.0.0.1:2535] [--lmtp 127.0.0.1:2424] -c 32 -n 20000 \
//	    [--rate 1000] [--duration 60s] [--mix new=55,reply=12,…] [--corpus ../shared/corpus] \
//	    [--sink 127.0.0.1:2526] [--pid PID | --data-dir DIR] [--json]
//	ticketgate-bench preload --data-dir DIR -n 1000000 [--project ACME]
//	ticketgate-bench big --smtp 127.0.0.1:2525 --mb 25 [--kind attachment|text|flowed] [--concurrent N] [--pid PID | --data-dir DIR]
//	ticketgate-bench report --data-dir DIR [--since 30d] [--project ACME] [--runs 3]
//	ticketgate-bench coldstart --smtp 127.0.0.1:2525 -- ticketgate serve -c bench.yaml
//	ticketgate-bench fanout --smtp 127.0.0.1:2525 --sink 127.0.0.1:2526 --mb 14 --rate 100 --duration 20s [--data-dir DIR]
//	ticketgate-bench floor --listen 127.0.0.1:2525 --relay 127.0.0.1:2626 --data-dir DIR [--agents a@x,b@y] [--workers 16]
//	ticketgate-bench sweep --data-dir DIR [--grace 1h] [--ahead 4h]
//
// The daemon's outbound.smtp must point at --sink (see bench.yaml next to
// this file): the sink receives every auto-reply and notification and
// matches auto-replies to the requests that caused them (In-Reply-To).
// Usage and figures: BENCHMARKS.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "preload" {
		return runPreload(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "big" {
		return runBig(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "report" {
		return runReport(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "coldstart" {
		return runColdStart(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "fanout" {
		return runFanout(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "floor" {
		return runFloor(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "sweep" {
		return runSweep(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "run" {
		args = args[1:]
	}
	return runLoad(ctx, args, stdout, stderr)
}

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ticketgate-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	smtpAddr := fs.String("smtp", "127.0.0.1:2525", "the daemon's SMTP listener; a comma-separated list spreads the connections over several nodes")
	lmtpAddr := fs.String("lmtp", "", "the daemon's LMTP listener (optional): every other connection uses it")
	conns := fs.Int("c", 32, "concurrent connections")
	n := fs.Int("n", 0, "messages to send (0 = until --duration)")
	dur := fs.Duration("duration", 0, "how long to send (0 = until -n)")
	rate := fs.Float64("rate", 0, "messages per second over all connections (0 = as fast as accepted)")
	mixFlag := fs.String("mix", defaultMix, "kind=weight,… of new, reply (In-Reply-To), subject ([KEY-N]), token (reply to our auto-reply), agent, auto (Auto-Submitted), bounce (DSN)")
	corpusDir := fs.String("corpus", "", "folder of .eml files: half the bodies of customer mail are sampled from it")
	sinkAddr := fs.String("sink", "127.0.0.1:2526", "SMTP sink for the daemon's outbound mail (empty = none; no auto-reply figures)")
	address := fs.String("address", "acme@support.example.com", "the project address to write to")
	agent := fs.String("agent", "alice@example.com", "an agent of that project (agent replies)")
	pid := fs.Int("pid", 0, "daemon process id for RssAnon and CPU (default: found through --data-dir)")
	dataDir := fs.String("data-dir", "", "the daemon's data_dir: store bytes per ticket, and the daemon's pid")
	wait := fs.Duration("wait", 15*time.Second, "after sending, wait for outstanding auto-replies until none arrived for this long")
	settle := fs.Duration("settle", 6*time.Second, "after the load, wait until the daemon and its search worker were quiet this long, for the CPU per request until quiet (0: no such figure); longer than the daemon's search pacing")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	mix, err := ParseMix(*mixFlag)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	o := Options{SMTP: *smtpAddr, LMTP: *lmtpAddr, Conns: *conns, N: *n, Duration: *dur, Rate: *rate, Mix: mix,
		Address: *address, Agent: *agent, Wait: *wait, Settle: *settle, PID: *pid, DataDir: *dataDir}
	if o.N == 0 && o.Duration == 0 {
		fmt.Fprintln(stderr, "give -n or --duration")
		return 2
	}
	if *corpusDir != "" {
		if o.Corpus, err = LoadCorpus(*corpusDir, 400, 512<<10); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	if o.PID == 0 && o.DataDir != "" {
		if o.PID, err = findDaemon(o.DataDir); err != nil {
			fmt.Fprintln(stderr, "no RSS/CPU figures:", err)
		}
	}
	if *sinkAddr != "" {
		if o.Sink, err = StartSink(*sinkAddr); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer o.Sink.Close()
	}
	rep, err := Run(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		printReport(stdout, rep)
	}
	if rep.Accepted == 0 {
		return 1
	}
	return 0
}

func printReport(w io.Writer, r *Report) {
	row := func(k, format string, a ...any) { fmt.Fprintf(w, "%-34s "+format+"\n", append([]any{k}, a...)...) }
	row("connections", "%d", r.Conns)
	if r.TargetRate > 0 {
		row("target rate", "%.0f msgs/s", r.TargetRate)
	}
	row("mix", "%s", r.Mix)
	if r.CorpusBodies > 0 {
		row("corpus bodies", "%d", r.CorpusBodies)
	}
	kinds := make([]string, 0, len(r.SentByKind))
	for k, v := range r.SentByKind {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(kinds)
	row("sent", "%d (%s)", r.Sent, strings.Join(kinds, " "))
	row("accepted (250)", "%d", r.Accepted)
	row("refused 4xx / 5xx / conn errors", "%d / %d / %d", r.TempFailed, r.PermFailed, r.ConnErrors)
	row("elapsed", "%.2f s", r.ElapsedSec)
	row("accepted msgs/s", "%.0f", r.AcceptedPerSec)
	row("end-of-DATA→250 p50/p95/p99/max", "%.1f / %.1f / %.1f / %.1f ms", r.DataTo250.P50, r.DataTo250.P95, r.DataTo250.P99, r.DataTo250.Max)
	if r.Outbound > 0 || r.AutoExpected > 0 {
		row("auto-replies matched", "%d of %d new requests", r.AutoMatched, r.AutoExpected)
		row("arrival→auto-reply p50/p99/max", "%.1f / %.1f / %.1f ms", r.ArrivalToAuto.P50, r.ArrivalToAuto.P99, r.ArrivalToAuto.Max)
		row("outbound received by sink", "%d (%.0f msgs/s)", r.Outbound, r.OutboundPerSec)
	}
	if r.RSSAnonMaxMB > 0 {
		row("daemon RssAnon start/max/end", "%.1f / %.1f / %.1f MB", r.RSSAnonStartMB, r.RSSAnonMaxMB, r.RSSAnonEndMB)
		row("daemon CPU while sending", "%.0f %% of one core", r.CPUPercent)
		if r.CPUPerRequestMs > 0 {
			row("daemon CPU per request, until quiet", "%.2f ms", r.CPUPerRequestMs)
		}
		row("daemon major page faults (sending)", "%d", r.MajorFaults)
	}
	if r.StoreBytesEnd > 0 {
		row("store bytes start/end", "%d / %d", r.StoreBytesStart, r.StoreBytesEnd)
		row("store bytes per new ticket", "%.0f (growth / new requests)", r.BytesPerNewTicket)
	}
	for _, e := range r.Errors {
		row("error", "%s", e)
	}
}

func runPreload(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ticketgate-bench preload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "the data_dir to fill (daemon stopped)")
	n := fs.Int("n", 1000, "tickets to create")
	project := fs.String("project", "ACME", "project key")
	address := fs.String("address", "acme@support.example.com", "the project's address")
	agent := fs.String("agent", "alice@example.com", "agent who answered every third ticket")
	batch := fs.Int("batch", 5000, "tickets per transaction")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dataDir == "" || *n <= 0 {
		fmt.Fprintln(stderr, "preload needs --data-dir and -n > 0")
		return 2
	}
	last := time.Now()
	res, err := Preload(ctx, PreloadOptions{DataDir: *dataDir, N: *n, Project: *project, Address: *address, Agent: *agent, Batch: *batch,
		Progress: func(done int, elapsed time.Duration) {
			if time.Since(last) > 5*time.Second {
				last = time.Now()
				fmt.Fprintf(stderr, "preload: %d tickets in %.0f s\n", done, elapsed.Seconds())
			}
		}})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *asJSON {
		json.NewEncoder(stdout).Encode(res)
		return 0
	}
	fmt.Fprintf(stdout, "preloaded %d tickets (%s … %s), %d messages in %.1f s (%.0f tickets/s); db %d bytes, %.0f bytes/ticket\n",
		res.Tickets, res.First, res.Last, res.Messages, res.ElapsedSec, res.TicketsPerSec, res.DBBytes, res.BytesPerTicket)
	return 0
}

func runBig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ticketgate-bench big", flag.ContinueOnError)
	fs.SetOutput(stderr)
	smtpAddr := fs.String("smtp", "127.0.0.1:2525", "the daemon's SMTP listener; a comma-separated list spreads the connections over several nodes")
	address := fs.String("address", "acme@support.example.com", "the project address")
	mb := fs.Float64("mb", 18, "attachment size in MiB before base64 (18 MiB is a 24.3 MiB message, under the default 25 MiB limit), or text size with --kind text/flowed")
	kind := fs.String("kind", "attachment", "what the message is: attachment (base64), text or flowed (text/plain, format=flowed)")
	conc := fs.Int("concurrent", 1, "messages sent at once, each on its own connection")
	pid := fs.Int("pid", 0, "daemon process id for RssAnon")
	dataDir := fs.String("data-dir", "", "the daemon's data_dir (finds the pid)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *pid == 0 && *dataDir != "" {
		var err error
		if *pid, err = findDaemon(*dataDir); err != nil {
			fmt.Fprintln(stderr, "no RSS figures:", err)
		}
	}
	switch *kind {
	case "attachment", "text", "flowed":
	default:
		fmt.Fprintf(stderr, "--kind %q: want attachment, text or flowed\n", *kind)
		return 2
	}
	res, err := SendBig(*smtpAddr, *address, BigOptions{Kind: *kind, Bytes: int64(*mb * (1 << 20)), Concurrent: *conc}, *pid)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *asJSON {
		json.NewEncoder(stdout).Encode(res)
		return 0
	}
	fmt.Fprintf(stdout, "%d × %s message of %d bytes (attachment %d), slowest end-of-DATA→250 %.1f ms, sent in %.2f s\n", res.Messages, res.Kind, res.MessageBytes, res.AttachmentBytes, res.DataTo250Ms, res.SendSec)
	if res.RSSAnonMaxMB > 0 {
		fmt.Fprintf(stdout, "daemon RssAnon before %.1f MB, max %.1f MB (+%.1f), after %.1f MB\n", res.RSSAnonBeforeMB, res.RSSAnonMaxMB, res.RSSAnonMaxMB-res.RSSAnonBeforeMB, res.RSSAnonAfterMB)
	}
	return 0
}

func runFanout(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ticketgate-bench fanout", flag.ContinueOnError)
	fs.SetOutput(stderr)
	smtpAddr := fs.String("smtp", "127.0.0.1:2525", "the daemon's SMTP listener")
	sinkAddr := fs.String("sink", "127.0.0.1:2526", "SMTP sink for the daemon's outbound mail")
	address := fs.String("address", "acme@support.example.com", "the project address")
	agent := fs.String("agent", "alice@example.com", "an agent of that project")
	mb := fs.Float64("mb", 14, "the attachment's size in MiB before base64")
	rate := fs.Float64("rate", 100, "small new requests per second in each phase")
	dur := fs.Duration("duration", 20*time.Second, "length of each phase")
	pid := fs.Int("pid", 0, "daemon process id (RssAnon, CPU)")
	dataDir := fs.String("data-dir", "", "the daemon's data_dir (store growth)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sink, err := StartSink(*sinkAddr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer sink.Close()
	res, err := Fanout(ctx, FanoutOptions{SMTP: *smtpAddr, Address: *address, Agent: *agent, Bytes: int64(*mb * (1 << 20)),
		Rate: *rate, Duration: *dur, Sink: sink, DataDir: *dataDir, PID: *pid})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *asJSON {
		json.NewEncoder(stdout).Encode(res)
		return 0
	}
	fmt.Fprintf(stdout, "ticket %s with %d customers; reply of %d bytes (attachment %d)\n", res.Ticket, res.Customers, res.MessageBytes, res.AttachmentBytes)
	fmt.Fprintf(stdout, "idle:   end-of-DATA→250 %.1f ms; %d copies, the last %.2f s after the 250; store grew %d bytes\n", res.IdleTo250Ms, res.IdleCopies, res.IdleCopiesSec, res.StoreGrowth)
	fmt.Fprintf(stdout, "loaded: end-of-DATA→250 %.1f ms; %d copies, the last %.2f s after the 250\n", res.LoadedTo250Ms, res.LoadedCopies, res.LoadedCopiesSec)
	for _, ph := range []struct {
		name string
		r    *Report
	}{{"small requests without it", res.Baseline}, {"small requests with it", res.During}} {
		fmt.Fprintf(stdout, "%s: %d accepted (%.0f/s), end-of-DATA→250 p50/p99 %.1f / %.1f ms, auto-reply p50/p99 %.1f / %.1f ms (%d of %d)\n",
			ph.name, ph.r.Accepted, ph.r.AcceptedPerSec, ph.r.DataTo250.P50, ph.r.DataTo250.P99, ph.r.ArrivalToAuto.P50, ph.r.ArrivalToAuto.P99, ph.r.AutoMatched, ph.r.AutoExpected)
	}
	return 0
}

func runColdStart(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ticketgate-bench coldstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	smtpAddr := fs.String("smtp", "127.0.0.1:2525", "the SMTP listener the daemon opens")
	timeout := fs.Duration("timeout", time.Minute, "give up after")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "coldstart needs the daemon command after --")
		return 2
	}
	d, err := ColdStart(*smtpAddr, fs.Args(), *timeout)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "exec → SMTP 220: %.3f s\n", d.Seconds())
	return 0
}
