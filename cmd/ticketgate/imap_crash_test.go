package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/internal/dovecottest"
	"github.com/ticketgate/ticketgate/internal/waitfor"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/storetest"
)

// TestIMAPCrashExactlyOnce kills the daemon (SIGKILL) at random moments
// while it works through a Dovecot mailbox, restarts it, and checks that
// every message ends up in exactly one ticket and in Processed exactly
// once. A kill between the store's commit and the MOVE leaves the message
// in the INBOX; after the restart it is recognised as stored and only
// moved.
func TestIMAPCrashExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary; skipped with -short")
	}
	dc := dovecottest.Start(t)
	c := dc.Client(t)
	const total = 200
	for n := range total {
		raw := fmt.Sprintf("Return-Path: <c%d@customer.example>\r\nFrom: c%d@customer.example\r\nTo: acme@support.example.com\r\nSubject: imap crash %d\r\nMessage-ID: <imap-crash-%d@customer.example>\r\n\r\nmessage %d\r\n", n, n, n, n, n)
		dovecottest.Append(t, c, "INBOX", []byte(raw))
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "ticketgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(dir, "imap.pw"), []byte(dovecottest.Password+"\n"), 0o600)
	webPort := freePort(t)
	cfgPath := filepath.Join(dir, "config.yaml")
	// max_attempts is high: a kill counts an attempt for the message in
	// flight, and this test is about duplicates, not isolation.
	os.WriteFile(cfgPath, fmt.Appendf(nil, `data_dir: ./data
log: { level: info }
web: { listen: "127.0.0.1:%d", base_url: "http://127.0.0.1" }
outbound: { transport: maildir }
projects:
  - key: ACME
    address: acme@support.example.com
    agents: [alice@example.com]
    imap:
      host: %s
      port: %d
      tls: none
      username: %s
      password_file: imap.pw
      processed_mailbox: Processed
      start: all
      max_attempts: 50
`, webPort, dc.Host, dc.Port, dovecottest.User), 0o600)

	logs := &waitfor.Log{}
	webAddr := fmt.Sprintf("127.0.0.1:%d", webPort)
	startDaemon := func() *exec.Cmd { return startServe(t, bin, cfgPath, webAddr, logs) }

	// Dovecot tells a client idling in the INBOX of every message moved
	// out of it: the waits below look again then.
	inboxChanged := new(waitfor.Signal)
	dc.Watch(t, "INBOX", inboxChanged.Notify)
	cmd := startDaemon()
	kills := 0
	progress := []int{}
	for kills < 12 && dovecottest.Count(t, c, "INBOX") > 0 {
		// Kill mid-batch: once this run has moved a message, at a random
		// moment within the next few messages.
		before := dovecottest.Count(t, c, "INBOX")
		inboxChanged.Until(10*time.Second, func() bool { return dovecottest.Count(t, c, "INBOX") < before })
		time.Sleep(time.Duration(rand.IntN(15000)) * time.Microsecond) // the random moment: part of the test
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		kills++
		progress = append(progress, total-dovecottest.Count(t, c, "INBOX"))
		cmd = startDaemon()
	}
	inboxChanged.Until(60*time.Second, func() bool { return dovecottest.Count(t, c, "INBOX") == 0 })
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("daemon exit after SIGTERM: %v", err)
	}

	inbox, processed, errs := dovecottest.Count(t, c, "INBOX"), dovecottest.Count(t, c, "Processed"), dovecottest.Count(t, c, "Ticketgate-Errors")
	if inbox != 0 || processed != total || errs != 0 {
		t.Errorf("INBOX %d, Processed %d, errors %d; want 0, %d, 0", inbox, processed, errs, total)
	}
	st, err := store.Open(filepath.Join(dir, "data"), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tickets, perID := storetest.MessageIDs(t, st, "ACME")
	for n := range total {
		if id := fmt.Sprintf("imap-crash-%d@customer.example", n); perID[id] != 1 {
			t.Errorf("%s stored %d times, want exactly once", id, perID[id])
		}
	}
	if tickets != total {
		t.Errorf("%d tickets, want %d", tickets, total)
	}
	redelivered := strings.Count(logs.String(), "duplicate message, already stored")
	t.Logf("IMAP crash test: %d kills (messages out of the INBOX after each: %v), %d tickets, %d in Processed, %d messages fetched again after a kill between the commit and the MOVE (recognised as stored)", kills, progress, tickets, processed, redelivered)
	if t.Failed() {
		t.Logf("daemon log:\n%s", lastLines(logs.String(), 60))
	}
}
