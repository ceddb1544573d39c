package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"os/user"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"

	"github.com/ticketgate/ticketgate/config"
	tgdaemon "github.com/ticketgate/ticketgate/daemon"
	"github.com/ticketgate/ticketgate/search"
)

// shutdownGrace is how long deliveries in progress may take after
// SIGTERM before they are aborted with 421.
const shutdownGrace = 10 * time.Second

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(c.Level) {
	case "debug":
		level = slog.LevelDebug
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// printConfigErrors prints every problem on its own line.
func printConfigErrors(w io.Writer, path string, err error) {
	var list *config.Errors
	if errors.As(err, &list) {
		fmt.Fprintf(w, "%s: %d problem(s):\n", path, len(list.List))
		for _, e := range list.List {
			fmt.Fprintf(w, "  %s\n", e)
		}
		return
	}
	fmt.Fprintf(w, "%s: %v\n", path, err)
}

func cmdCheckConfig(args []string, stdout, stderr io.Writer) int {
	var path, userName string
	fs := newFlags("check-config", stderr, &path)
	fs.StringVar(&userName, "user", serviceUser, "also check that this user (the unit's User=) can read the secret files and write data_dir")
	if err := parseFlags(fs, args); err != nil {
		return exitConfig
	}
	cfg, err := config.Load(path)
	if err != nil {
		printConfigErrors(stderr, path, err)
		return exitConfig
	}
	for _, w := range cfg.SecretFileWarnings() {
		fmt.Fprintf(stderr, "%s: warning: %s\n", path, w)
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "user" })
	u, err := user.Lookup(userName)
	switch {
	case err != nil && explicit:
		fmt.Fprintf(stderr, "%s: --user %s: %v\n", path, userName, err)
		return exitConfig
	case err != nil:
		fmt.Fprintf(stdout, "%s: ok (no user %s here: file access not checked; --user NAME checks another)\n", path, userName)
		return exitOK
	}
	if problems := accessProblems(cfg, u); len(problems) > 0 {
		fmt.Fprintf(stderr, "%s: %d problem(s):\n", path, len(problems))
		for _, p := range problems {
			fmt.Fprintf(stderr, "  %s\n", p)
		}
		return exitConfig
	}
	fmt.Fprintf(stdout, "%s: ok (user %s can read its files and write data_dir)\n", path, userName)
	return exitOK
}

func cmdServe(args []string, stderr io.Writer) int {
	// Catch signals first: a SIGHUP during start-up must not kill us.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	var path string
	fs := newFlags("serve", stderr, &path)
	if err := parseFlags(fs, args); err != nil {
		return exitConfig
	}
	cfg, err := config.Load(path)
	if err != nil {
		printConfigErrors(stderr, path, err)
		return exitConfig
	}
	log := newLogger(cfg.Log, stderr)
	for _, w := range cfg.SecretFileWarnings() {
		log.Warn("secret file readable by every user", "problem", w)
	}
	opts := tgdaemon.Options{Version: versionString()}
	// The search index runs in a process of its own, this binary again
	// (search-worker), at a lower CPU priority than the intake.
	if exe, err := os.Executable(); err == nil {
		opts.SearchWorker = []string{exe, "search-worker"}
	} else {
		log.Warn("the search index runs in the daemon's process: this program's path is unknown", "err", err)
	}
	d, err := tgdaemon.Start(cfg, log, opts)
	if err != nil {
		log.Error("could not start", "err", err)
		return startFailureCode(err)
	}
	daemon.SdNotify(false, daemon.SdNotifyReady)
	stopWatchdog := watchdog(d, log)
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			reload(d, path, log)
			continue
		}
		stopWatchdog()
		log.Info("shutting down", "signal", sig.String(), "grace", shutdownGrace)
		daemon.SdNotify(false, daemon.SdNotifyStopping)
		go func() {
			// A second signal means "now".
			for s := range sigs {
				if s != syscall.SIGHUP {
					log.Warn("second signal, exiting at once", "signal", s.String())
					os.Exit(exitFailure)
				}
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		d.Shutdown(ctx)
		cancel()
		return exitOK
	}
	return exitOK
}

// reload re-reads the config file; a bad one keeps the old config and logs
// every problem. It never stops the daemon.
func reload(d *tgdaemon.Daemon, path string, log *slog.Logger) {
	daemon.SdNotify(false, fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", monotonicUsec()))
	defer daemon.SdNotify(false, daemon.SdNotifyReady)
	cfg, err := config.Load(path)
	if err != nil {
		var list *config.Errors
		if errors.As(err, &list) {
			for _, e := range list.List {
				log.Error("reload: config problem; keeping the old configuration", "problem", e.Error())
			}
		} else {
			log.Error("reload failed; keeping the old configuration", "err", err)
		}
		return
	}
	for _, w := range cfg.SecretFileWarnings() {
		log.Warn("secret file readable by every user", "problem", w)
	}
	d.Reload(cfg)
}

// watchdog pings systemd's watchdog (WatchdogSec= in the unit) every
// half interval, but only while the daemon's own health check passes: the
// store answers a read transaction and the outbox sender's loop is alive
// (tgdaemon.Daemon.Healthy). A hung daemon stops pinging and systemd
// restarts it; slow SMTP sessions play no part. The returned func stops
// the loop (before shutdown, which stops the sender).
func watchdog(d *tgdaemon.Daemon, log *slog.Logger) func() {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("watchdog: bad WATCHDOG_USEC/WATCHDOG_PID; not pinging", "err", err)
	}
	if interval <= 0 {
		return func() {}
	}
	log.Info("watchdog enabled", "interval", interval)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval / 2)
		defer t.Stop()
		failing := false
		for {
			if err := d.Healthy(); err != nil {
				if !failing {
					log.Error("watchdog: health check failed; not pinging systemd", "err", err)
				}
				failing = true
			} else {
				if failing {
					log.Info("watchdog: healthy again")
				}
				failing = false
				daemon.SdNotify(false, daemon.SdNotifyWatchdog)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(stop)
		<-done
	}
}

// monotonicUsec is CLOCK_MONOTONIC in µs, which systemd's RELOADING=1
// protocol (Type=notify-reload) wants alongside.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Sec*1e6 + ts.Nsec/1e3
}

// cmdSearchWorker is the search index's worker process: `serve` starts
// it (search.OpenWorker) and speaks to it on its stdin and stdout; it
// ends when its stdin does.
func cmdSearchWorker(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "search-worker takes no arguments: `ticketgate serve` starts it")
		return exitConfig
	}
	if err := search.ServeWorker(stdin, stdout); err != nil {
		fmt.Fprintln(stderr, err)
		return exitSoftware
	}
	return exitOK
}
