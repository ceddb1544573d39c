package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/daemon"
	"github.com/ticketgate/ticketgate/internal/waitfor"
)

// waitLimit bounds the waits of these tests; it only keeps a broken build
// from hanging (a wait ends when what it waits for happened).
const waitLimit = 30 * time.Second

// serveWatched is serveInProcess with a signal told of every change of
// the daemon (daemon.Options.Changes: commits, send attempts recorded).
func serveWatched(t *testing.T, path string) (*daemon.Daemon, *waitfor.Signal) {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return startWatched(t, cfg)
}

// startWatched starts a daemon on cfg in this process with a signal told
// of its every change, shut down when the test ends.
func startWatched(t *testing.T, cfg *config.Config) (*daemon.Daemon, *waitfor.Signal) {
	t.Helper()
	ev := new(waitfor.Signal)
	d, err := daemon.Start(cfg, slog.New(slog.DiscardHandler), daemon.Options{Changes: ev})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	return d, ev
}

func outboxCount(dir string) int {
	entries, _ := os.ReadDir(filepath.Join(dir, "outbox", "new"))
	return len(entries)
}

// waitOutbox waits until the maildir transport's outbox/new in dir holds
// n mails, looking after every change of the daemon: a mail's file is
// written before the commit that takes it out of the queue.
func waitOutbox(t *testing.T, ev *waitfor.Signal, dir string, n int) {
	t.Helper()
	if ev.Until(waitLimit, func() bool { return outboxCount(dir) >= n }) != nil {
		t.Fatalf("outbox has %d messages, want %d", outboxCount(dir), n)
	}
}

// deliveredLine matches the audit log line of a mail the relay (or the
// maildir transport) took.
var deliveredLine = waitfor.Contains(`msg="mail event"`, "event=delivered")

// startServe starts `ticketgate serve -c cfgPath` with its stderr going
// to logs, and waits until it says READY=1 over its own sd_notify socket
// (sent once every listener, addr among them, is bound).
func startServe(t *testing.T, bin, cfgPath, addr string, logs *waitfor.Log) *exec.Cmd {
	t.Helper()
	sock, notes := notifySocket(t, t.TempDir())
	cmd := exec.Command(bin, "serve", "-c", cfgPath)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timeout := time.NewTimer(waitLimit)
	defer timeout.Stop()
	for {
		next := logs.Next()
		if strings.Contains(logs.String(), "could not start") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("daemon did not come up on %s:\n%s", addr, lastLines(logs.String(), 30))
		}
		select {
		case m := <-notes:
			if strings.Contains(m, "READY=1") {
				return cmd
			}
		case <-next:
		case <-timeout.C:
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("daemon did not come up on %s within %v:\n%s", addr, waitLimit, lastLines(logs.String(), 30))
		}
	}
}
