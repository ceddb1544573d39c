package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/admin"
	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/daemon"
	"github.com/ticketgate/ticketgate/internal/waitfor"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

func TestAdminCLI(t *testing.T) {
	dir := t.TempDir()
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	path := writeConfig(t, dir, "")
	raw, _ := os.ReadFile(path)
	y := strings.Replace(string(raw), "  transport: maildir\n  maildir: { path: ./outbox }\n",
		fmt.Sprintf("  transport: smtp\n  smtp: { host: 127.0.0.1, port: %d, tls: none }\n  retry: { initial: 1h }\n", sink.Port()), 1)
	// Backup and purge are an operator's.
	y = strings.Replace(y, "admin:\n", "admin:\n  operators: [alice@example.com]\n", 1)
	os.WriteFile(path, []byte(y), 0o600)

	// Not running: a clear error, not a stack of socket jargon.
	code, _, stderr := runCmd([]string{"tickets", "-c", path}, "")
	if code != exitUnavail || !strings.Contains(stderr, "not running") {
		t.Fatalf("daemon down: exit %d, %q", code, stderr)
	}

	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ev := new(waitfor.Signal)
	d, err := daemon.Start(cfg, slog.New(slog.DiscardHandler), daemon.Options{Changes: ev})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			d.Shutdown(context.Background())
		}
	}()
	// The relay refuses the auto-reply for now: it stays in the outbox.
	sink.FailNext(mailouttest.AtMail, 100, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "later"})
	for i, subj := range []string{"Printer on fire", "VPN broken"} {
		raw := fmt.Sprintf("From: c%d@customer.example\r\nTo: acme@support.example.com\r\nSubject: %s\r\nMessage-ID: <adm%d@customer.example>\r\n\r\nbody about %s\r\n", i, subj, i, subj)
		if code, _, e := runCmd([]string{"deliver", "-c", path}, raw); code != 0 {
			t.Fatal(e)
		}
	}

	code, out, stderr := runCmd([]string{"tickets", "-c", path, "--q", "vpn"}, "")
	if code != 0 || !strings.Contains(out, "ACME-2") || strings.Contains(out, "ACME-1 ") {
		t.Fatalf("tickets --q vpn: %d %s %s", code, out, stderr)
	}
	code, out, _ = runCmd([]string{"tickets", "-c", path, "--json", "--customer", "c0@customer.example"}, "")
	if code != 0 || !strings.Contains(out, `"key": "ACME-1"`) || strings.Contains(out, "ACME-2") {
		t.Fatalf("tickets --customer: %s", out)
	}
	code, out, _ = runCmd([]string{"show", "-c", path, "acme-1"}, "")
	if code != 0 || !strings.Contains(out, "Printer on fire") || !strings.Contains(out, "body about Printer on fire") || !strings.Contains(out, "request_created") {
		t.Fatalf("show: %s", out)
	}
	if code, _, stderr := runCmd([]string{"show", "-c", path, "ACME-99"}, ""); code != exitFailure || !strings.Contains(stderr, "not found") {
		t.Fatalf("show unknown: %d %s", code, stderr)
	}

	// Requeue what the relay refused once (rescheduled an hour on): wait
	// until every queued mail was tried, looking after every commit.
	ev.Wait(t, waitLimit, "every queued mail tried once", func() bool {
		var items []*store.OutboxItem
		d.Store().View(func(tx store.Tx) error { items, _ = tx.ListOutbox(100); return nil })
		for _, it := range items {
			if it.Attempts == 0 {
				return false
			}
		}
		return len(items) > 0
	})
	code, out, _ = runCmd([]string{"outbox", "-c", path}, "")
	ids := regexp.MustCompile(`(?m)^(\d+)\s+ACME-1\s+c0@customer\.example`).FindStringSubmatch(out)
	if code != 0 || ids == nil {
		t.Fatalf("outbox: %s", out)
	}
	// The caller is the Unix user's agent (alice); --as cannot claim
	// anyone else.
	if code, _, stderr := runCmd([]string{"outbox", "-c", path, "--as", "mallory@evil.example", "requeue", ids[1]}, ""); code == 0 || !strings.Contains(stderr, "not accepted") {
		t.Fatalf("requeue as a stranger: %d %s", code, stderr)
	}
	sink.FailNext(mailouttest.AtMail, 0, nil)
	if code, out, stderr := runCmd([]string{"outbox", "-c", path, "--as", "alice@example.com", "requeue", ids[1]}, ""); code != 0 || !strings.Contains(out, "requeued") {
		t.Fatalf("requeue: %d %s %s", code, out, stderr)
	}
	if _, err := sink.WaitFor(1, 5*time.Second); err != nil {
		t.Fatalf("requeued item not sent: %v", err)
	}

	if code, out, stderr := runCmd([]string{"purge", "-c", path, "--dry-run"}, ""); code != 0 || !strings.Contains(out, "0 item(s), 0 bytes would be deleted") {
		t.Fatalf("purge --dry-run: %d %s %s", code, out, stderr)
	}

	// Hot backup while running, then restore it elsewhere.
	archive := filepath.Join(dir, "backup.tar")
	if code, out, stderr := runCmd([]string{"backup", "-c", path, archive}, ""); code != 0 {
		t.Fatalf("backup: %s %s", out, stderr)
	}
	if code, _, stderr := runCmd([]string{"compact", "-c", path}, ""); code != exitTempFail || !strings.Contains(stderr, "stop it first") {
		t.Fatalf("compact while running: %d %s", code, stderr)
	}
	d.Shutdown(context.Background())
	stopped = true
	if code, out, stderr := runCmd([]string{"compact", "-c", path}, ""); code != 0 || !strings.Contains(out, "compacted") {
		t.Fatalf("compact: %s %s", out, stderr)
	}
	// An empty data_dir, as systemd's StateDirectory leaves it (restore
	// run as root refuses a missing one: it could not know its owner).
	os.RemoveAll(cfg.DataDir)
	os.Mkdir(cfg.DataDir, 0o750)
	if code, out, stderr := runCmd([]string{"restore", "-c", path, archive}, ""); code != 0 {
		t.Fatalf("restore: %s %s", out, stderr)
	}
	st, err := store.Open(cfg.DataDir, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var msgs []*store.Message
	st.View(func(tx store.Tx) error { msgs, _ = tx.TicketMessages("ACME-2"); return nil })
	if len(msgs) != 1 {
		t.Fatal("restored store lacks ACME-2")
	}
	if f, err := st.OpenBlob(msgs[0].Raw); err != nil {
		t.Fatalf("restored store lacks the raw message: %v", err)
	} else {
		f.Close()
	}
}

func TestAdminTCPNeedsToken(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "alice.token")
	os.WriteFile(tokFile, []byte("s3cret-token-of-alice-0123456789\n"), 0o600)
	path := writeConfig(t, dir, "")
	raw, _ := os.ReadFile(path)
	port := freePort(t)
	y := strings.Replace(string(raw), "admin:\n", fmt.Sprintf("admin:\n  listen: \"127.0.0.1:%d\"\n  tokens: [{agent: alice@example.com, token_file: alice.token}]\n", port), 1)
	os.WriteFile(path, []byte(y), 0o600)
	d := serveInProcess(t, path)
	base := "http://" + d.Addr("admin-tcp")
	for _, tok := range []string{"", "wrong-token-wrong-token"} {
		c := admin.NewTCPClient(base, tok, nil)
		_, err := c.Tickets(context.Background(), "", "", "", "")
		if se, ok := err.(*admin.StatusError); !ok || se.Code != http.StatusUnauthorized {
			t.Errorf("token %q: %v", tok, err)
		}
	}
	c := admin.NewTCPClient(base, "s3cret-token-of-alice-0123456789", nil)
	if _, err := c.Tickets(context.Background(), "", "", "", ""); err != nil {
		t.Fatalf("good token: %v", err)
	}
	// A non-loopback TCP listener without TLS is a config error.
	bad := strings.Replace(y, "127.0.0.1:"+fmt.Sprint(port), "0.0.0.0:"+fmt.Sprint(port), 1)
	os.WriteFile(path, []byte(bad), 0o600)
	if _, err := config.Load(path); err == nil || !strings.Contains(err.Error(), "admin.listen: TLS") {
		t.Fatalf("non-loopback without TLS: %v", err)
	}
}
