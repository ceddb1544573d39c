package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/internal/lowprio"
	"github.com/ticketgate/ticketgate/internal/waitfor"
)

// buildBinary builds ./cmd/ticketgate into dir once per test.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "ticketgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// notifySocket listens like systemd does for sd_notify datagrams.
func notifySocket(t *testing.T, dir string) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(ch)
				return
			}
			ch <- string(buf[:n])
		}
	}()
	return path, ch
}

func expectNotify(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-ch:
			if strings.Contains(m, want) {
				return
			}
		case <-timeout:
			t.Fatalf("no %q from the daemon", want)
		}
	}
}

// waitDelivered waits until logs hold n audit lines of delivered mails
// (the maildir transport wrote the file first) and checks that outbox/new
// in dir has them.
func waitDelivered(t *testing.T, logs *waitfor.Log, dir string, n int) {
	t.Helper()
	logs.WaitLines(t, waitLimit, fmt.Sprintf("%d delivered mails", n), n, deliveredLine)
	if got := outboxCount(dir); got < n {
		t.Fatalf("outbox has %d messages after %d deliveries", got, n)
	}
}

// TestLifecycle runs the real binary under a fake NOTIFY_SOCKET with
// systemd's watchdog variables: READY on start, then WATCHDOG=1 pings
// (the daemon's health check passes; /healthz and /readyz on
// metrics.listen agree); SIGHUP with a broken config keeps the daemon and
// its old config; SIGHUP with a changed toggle takes effect for the next
// message; SIGHUP adding a project makes its address accept mail at once;
// SIGTERM says STOPPING and exits 0.
func TestLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real binary; skipped with -short")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	sock, notes := notifySocket(t, dir)
	path := writeConfig(t, dir, "")
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	good, _ := os.ReadFile(path)
	good = []byte(strings.Replace(string(good), "data_dir: ./data\n", "data_dir: ./data\nmetrics: { listen: \""+metricsAddr+"\" }\n", 1))
	os.WriteFile(path, good, 0o600)
	smtpAddr := regexpFind(string(good), `smtp: \{ listen: "([^"]+)" \}`)

	// WATCHDOG_PID must name the daemon: the shell execs it, keeping $$.
	cmd := exec.Command("/bin/sh", "-c", `WATCHDOG_PID=$$ exec "$0" serve -c "$1"`, bin, path)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=400000")
	logs := &waitfor.Log{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	expectNotify(t, notes, "READY=1")
	// The search index runs in a child, this binary again, at nice 10.
	worker := searchWorkerOf(t, cmd.Process.Pid)
	if n := procNice(t, worker); n != lowprio.Nice {
		t.Errorf("the search worker runs at nice %d, want %d", n, lowprio.Nice)
	}
	// The daemon started it from a lowered thread, never its main one.
	if n := procNice(t, cmd.Process.Pid); n == lowprio.Nice {
		t.Errorf("the daemon's main thread runs at nice %d", n)
	}
	start := time.Now()
	expectNotify(t, notes, "WATCHDOG=1")
	expectNotify(t, notes, "WATCHDOG=1")
	t.Logf("two watchdog pings within %s (WATCHDOG_USEC=400000: every 200ms)", time.Since(start))
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + metricsAddr + p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", p, resp.StatusCode, b)
		}
	}

	send := func(n int) {
		t.Helper()
		raw := fmt.Sprintf("From: c%d@customer.example\r\nTo: acme@support.example.com\r\nSubject: lifecycle %d\r\nMessage-ID: <life-%d@customer.example>\r\n\r\nhi\r\n", n, n, n)
		if err := sendOnce(smtpAddr, fmt.Sprintf("c%d@customer.example", n), raw); err != nil {
			t.Fatalf("send %d: %v", n, err)
		}
	}
	send(1)
	waitDelivered(t, logs, dir, 2) // auto-reply + agent notification

	// A broken config: the daemon keeps running on the old one.
	os.WriteFile(path, []byte("projects: [{key: broken}]\nunknown_key: 1\n"), 0o600)
	cmd.Process.Signal(syscall.SIGHUP)
	expectNotify(t, notes, "RELOADING=1")
	expectNotify(t, notes, "READY=1")
	send(2)
	waitDelivered(t, logs, dir, 4)

	// Switch off the customer auto-reply: the next request gets none.
	os.WriteFile(path, append(good, []byte("    notifications: { customer: { request_created: false } }\n")...), 0o600)
	cmd.Process.Signal(syscall.SIGHUP)
	expectNotify(t, notes, "RELOADING=1")
	expectNotify(t, notes, "READY=1")
	send(3)
	waitDelivered(t, logs, dir, 5)
	// An auto-reply would have been queued in the transaction that queued
	// the agent's mail, just delivered: it would be in the outbox now, or
	// in outbox/new.
	if depth := scrapeOutboxDepth(t, metricsAddr); depth != 0 || outboxCount(dir) != 5 {
		t.Fatalf("after switching request_created off: %d mails and %v queued, want 5 (only the agent's) and none", outboxCount(dir), depth)
	}

	// A new project: refused before the reload, served after it.
	beta := "From: d@customer.example\r\nTo: beta@help.example.org\r\nSubject: new project\r\nMessage-ID: <life-beta@customer.example>\r\n\r\nhi\r\n"
	if err := sendTo(smtpAddr, "beta@help.example.org", beta); err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("mail to a project not configured yet: %v, want 550", err)
	}
	withToggle, _ := os.ReadFile(path)
	os.WriteFile(path, append(withToggle, []byte("  - key: BETA\n    name: Beta Help\n    address: beta@help.example.org\n    agents: [bob@example.org]\n")...), 0o600)
	cmd.Process.Signal(syscall.SIGHUP)
	expectNotify(t, notes, "RELOADING=1")
	expectNotify(t, notes, "READY=1")
	if err := sendTo(smtpAddr, "beta@help.example.org", beta); err != nil {
		t.Fatalf("mail to the project added by reload: %v", err)
	}
	waitDelivered(t, logs, dir, 7) // BETA's auto-reply and agent notification
	expectNotify(t, notes, "WATCHDOG=1")

	cmd.Process.Signal(syscall.SIGTERM)
	expectNotify(t, notes, "STOPPING=1")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("daemon did not stop within 15 s of SIGTERM")
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", worker)); err == nil {
		t.Errorf("the search worker %d outlived the daemon", worker)
	}
	for _, want := range []string{"keeping the old configuration", "configuration reloaded", "ticketgate stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// sendTo delivers raw to one recipient over SMTP.
func sendTo(addr, rcpt, raw string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail("d@customer.example", []string{rcpt}, strings.NewReader(raw)); err != nil {
		return err
	}
	return c.Quit()
}

func regexpFind(s, pattern string) string {
	m := regexpMust(pattern).FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return m[1]
}

// scrapeOutboxDepth reads ticketgate_outbox_depth from the daemon's
// metrics listener once.
func scrapeOutboxDepth(t *testing.T, metricsAddr string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^ticketgate_outbox_depth (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no ticketgate_outbox_depth in /metrics:\n%.400s", b)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// searchWorkerOf finds the `search-worker` child of the process pid.
func searchWorkerOf(t *testing.T, pid int) int {
	t.Helper()
	procs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		child, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		args, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil || !bytes.HasSuffix(args, []byte("\x00search-worker\x00")) {
			continue
		}
		if procField(t, child, 4) == strconv.Itoa(pid) {
			return child
		}
	}
	t.Fatalf("process %d has no search-worker child", pid)
	return 0
}

// procNice is the nice value of process pid.
func procNice(t *testing.T, pid int) int {
	t.Helper()
	n, err := strconv.Atoi(procField(t, pid, 19))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// procField is field n (from 1, as proc(5) counts) of /proc/pid/stat.
func procField(t *testing.T, pid, n int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	// The command (field 2) is in parentheses and may hold spaces.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return f[n-3]
}
