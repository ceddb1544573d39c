package daemon

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/internal/dovecottest"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// TestReadyzFollowsTheIMAPServer: with readyz_requires_mailboxes, /readyz
// is ready while the Dovecot mailbox is connected, fails (naming the
// mailbox and its error) when Dovecot stops, and recovers when Dovecot is
// back on the same port with the same mail.
func TestReadyzFollowsTheIMAPServer(t *testing.T) {
	dc := dovecottest.Start(t)
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	cfg := imapConfig(t, dc, sink, nil)
	cfg.Metrics.Listen = "127.0.0.1:0"
	cfg.Metrics.ReadyzRequiresMailboxes = true
	d := start(t, cfg)
	base := "http://" + d.Addr("metrics")
	readyz := func() (int, string) { return fetch(t, base+"/readyz") }

	waitUntil(t, d, "ready with the mailbox connected", func() bool { c, _ := readyz(); return c == 200 })
	waitUntil(t, d, "first sync done, idling", func() bool { return idling(d) })
	_, body := readyz()
	if !strings.Contains(body, "mailbox ACME/INBOX: ") || !strings.Contains(body, "1 connected of 1") {
		t.Errorf("/readyz while connected:\n%s", body)
	}
	_, m := fetch(t, base+"/metrics")
	if metricValue(m, `ticketgate_imap_connected{mailbox="INBOX",project="ACME"}`) != 1 ||
		metricValue(m, `ticketgate_imap_last_sync_timestamp_seconds{mailbox="INBOX",project="ACME"}`) <= 0 {
		t.Errorf("imap metrics while connected:\n%s", grepLines(m, "ticketgate_imap"))
	}

	stopping := time.Now()
	dc.Stop() // SIGINT; SIGKILL after 10 s if Dovecot lingers
	stopped := time.Now()
	t.Logf("Dovecot stop took %v", stopped.Sub(stopping))
	waitUntil(t, d, "/readyz fails with Dovecot stopped", func() bool { c, _ := readyz(); return c == 503 })
	t.Logf("Dovecot stopped → /readyz 503 after %v", time.Since(stopped))
	_, body = readyz()
	if !strings.Contains(body, "not connected: ACME/INBOX") || !strings.Contains(body, "mailbox ACME/INBOX: disconnected") {
		t.Errorf("/readyz with Dovecot down:\n%s", body)
	}

	// Dovecot again, same config, port and maildir.
	back := exec.Command(dovecottest.Binary(), "-F", "-c", filepath.Join(dc.Dir, "dovecot.conf"))
	if err := back.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		back.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { back.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			back.Process.Kill()
			<-done
		}
	})
	pollExternal(t, "Dovecot listening again", func() bool {
		c, err := net.DialTimeout("tcp", dc.Addr(), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	restarted := time.Now()
	waitUntil(t, d, "/readyz recovers", func() bool { c, _ := readyz(); return c == 200 })
	t.Logf("Dovecot back → /readyz 200 after %v (reconnect backoff)", time.Since(restarted))
	_, m = fetch(t, base+"/metrics")
	if metricValue(m, `ticketgate_imap_errors_total{mailbox="INBOX",project="ACME"}`) < 1 {
		t.Errorf("no IMAP error counted:\n%s", grepLines(m, "ticketgate_imap"))
	}
}
