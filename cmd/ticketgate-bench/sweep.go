package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"syscall"
	"time"

	"github.com/ticketgate/ticketgate/internal/cpushare"
	"github.com/ticketgate/ticketgate/store"
)

// SweepResult is what `ticketgate-bench sweep` measured: the daemon's
// hourly housekeeping of the store (the blob sweep and the rate
// counters' prune), run once on a store whose daemon is stopped.
type SweepResult struct {
	BlobsRemoved  int     `json:"blobs_removed"`
	BlobSweepSec  float64 `json:"blob_sweep_s"`
	RatesRemoved  int     `json:"rates_removed"`
	RatePruneSec  float64 `json:"rate_prune_s"`
	CPUSec        float64 `json:"cpu_s"`
	HeapPeakMB    float64 `json:"heap_sys_mb"`
	MaxRSSMB      float64 `json:"max_rss_mb"`
	PruneAheadSec float64 `json:"prune_ahead_s"`
}

// Sweep runs SweepBlobs(grace) and then PruneRates(now+ahead) on the
// bbolt store in dataDir (ahead lets the prune see the counters a later
// hour would find expired).
func Sweep(dataDir string, grace, ahead time.Duration) (*SweepResult, error) {
	db, err := store.Open(dataDir, store.Options{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	res := &SweepResult{PruneAheadSec: ahead.Seconds()}
	cpu0, _ := cpushare.Used()
	start := time.Now()
	if res.BlobsRemoved, err = db.SweepBlobs(grace); err != nil {
		return nil, err
	}
	res.BlobSweepSec = time.Since(start).Seconds()
	start = time.Now()
	if res.RatesRemoved, err = db.PruneRates(time.Now().Add(ahead)); err != nil {
		return nil, err
	}
	res.RatePruneSec = time.Since(start).Seconds()
	cpu1, _ := cpushare.Used()
	res.CPUSec = (cpu1 - cpu0).Seconds()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapPeakMB = float64(ms.HeapSys) / (1 << 20)
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		res.MaxRSSMB = float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	return res, nil
}

// runSweep is `ticketgate-bench sweep`.
func runSweep(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ticketgate-bench sweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "the data_dir (daemon stopped)")
	grace := fs.Duration("grace", time.Hour, "the blob sweep's grace (the daemon's: 1h)")
	ahead := fs.Duration("ahead", 0, "prune the rate counters as at now plus this")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dataDir == "" {
		fmt.Fprintln(stderr, "sweep: --data-dir is required")
		return 2
	}
	res, err := Sweep(*dataDir, *grace, *ahead)
	if err != nil {
		fmt.Fprintln(stderr, "sweep:", err)
		return 1
	}
	if *asJSON {
		json.NewEncoder(stdout).Encode(res)
		return 0
	}
	fmt.Fprintf(stdout, "blob sweep: %d removed in %.2f s; rate prune (now + %s): %d removed in %.3f s; CPU %.2f s, Go heap %.0f MB, max RSS %.0f MB (with the database pages it mapped)\n",
		res.BlobsRemoved, res.BlobSweepSec, *ahead, res.RatesRemoved, res.RatePruneSec, res.CPUSec, res.HeapPeakMB, res.MaxRSSMB)
	return 0
}
