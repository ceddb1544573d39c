package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/storetest"
)

// TestNewAndVisibilityCLI: `ticketgate new` opens a request for a
// customer with the normal notifications; with --internal the customer
// hears nothing until `ticketgate visibility … public` (issue 17).
func TestNewAndVisibilityCLI(t *testing.T) {
	dir := t.TempDir()
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	path := writeConfig(t, dir, `    request_types:
      - {name: incident, match: {keywords: [outage]}, priority: high}
      - {name: question, default: true}
`)
	raw, _ := os.ReadFile(path)
	y := strings.Replace(string(raw), "  transport: maildir\n  maildir: { path: ./outbox }\n",
		fmt.Sprintf("  transport: smtp\n  smtp: { host: 127.0.0.1, port: %d, tls: none }\n", sink.Port()), 1)
	y = strings.Replace(y, "agents: [alice@example.com]", "agents: [alice@example.com, bob@example.com]", 1)
	os.WriteFile(path, []byte(y), 0o600)
	d := serveInProcess(t, path)
	op := func(want int, stdin string, args ...string) string {
		t.Helper()
		code, out, stderr := runCmd(append([]string{args[0], "-c", path, "--as", "alice@example.com"}, args[1:]...), stdin)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, stderr)
		}
		return out + stderr
	}
	// settled waits until the sink holds every mail queued so far.
	settled := func() []mailouttest.Message {
		t.Helper()
		msgs, err := sink.WaitFor(storetest.Queued(t, d.Store()), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	count := func(msgs []mailouttest.Message, rcpt string) int {
		n := 0
		for _, m := range msgs {
			if m.To[0] == rcpt {
				n++
			}
		}
		return n
	}

	out := op(0, "The server is down since 9:00.\n", "new", "--project", "ACME", "--from", "Carl <carl@customer.example>", "--subject", "Total outage")
	if !strings.Contains(out, "ACME-1: request opened for") {
		t.Fatalf("new: %s", out)
	}
	msgs := settled()
	if count(msgs, "carl@customer.example") != 1 || count(msgs, "bob@example.com") != 1 || count(msgs, "alice@example.com") != 0 {
		t.Fatalf("after new: %d mails %v", len(msgs), msgs)
	}
	var tk *store.Ticket
	ticketOf := func(key string) *store.Ticket {
		d.Store().View(func(tx store.Tx) error { tk, _ = tx.Ticket(key); return nil })
		return tk
	}
	if tk := ticketOf("ACME-1"); tk.Reporter != "carl@customer.example" || tk.ReporterName != "Carl" || tk.Type != "incident" || tk.Priority != "high" || tk.Internal() {
		t.Fatalf("ACME-1: %+v", tk)
	}

	op(0, "Check his disks.\n", "new", "--project", "ACME", "--from", "carl@customer.example", "--subject", "Disks", "--internal")
	msgs = settled()
	if count(msgs, "carl@customer.example") != 1 || count(msgs, "bob@example.com") != 2 {
		t.Fatalf("after new --internal: %d mails", len(msgs))
	}
	if tk := ticketOf("ACME-2"); !tk.Internal() || tk.Type != "question" {
		t.Fatalf("ACME-2: %+v", tk)
	}
	list := op(0, "", "tickets", "--project", "ACME")
	if !strings.Contains(list, "TYPE") || !strings.Contains(list, "incident") || !strings.Contains(list, "question (internal)") {
		t.Errorf("tickets:\n%s", list)
	}
	if show := op(0, "", "show", "ACME-2"); !strings.Contains(show, "type: question") || !strings.Contains(show, "visibility: INTERNAL") {
		t.Errorf("show:\n%s", show)
	}

	if out := op(0, "", "visibility", "ACME-2", "public"); !strings.Contains(out, "ACME-2: visibility public (1 mail(s) queued)") {
		t.Errorf("visibility: %s", out)
	}
	msgs = settled()
	if count(msgs, "carl@customer.example") != 2 || count(msgs, "bob@example.com") != 2 {
		t.Fatalf("after visibility public: %d mails", len(msgs))
	}
	if out := op(exitFailure, "", "visibility", "ACME-2", "public"); !strings.Contains(out, "already public") {
		t.Errorf("second visibility: %s", out)
	}
	if out := op(exitFailure, "", "visibility", "ACME-1", "internal"); !strings.Contains(out, "cannot become internal") {
		t.Errorf("public → internal: %s", out)
	}
	if out := op(exitFailure, "text", "new", "--project", "ACME", "--from", "nobody", "--subject", "x"); !strings.Contains(out, "--from must be one mail address") {
		t.Errorf("bad --from: %s", out)
	}
	if out := op(exitConfig, "", "new", "--project", "ACME"); !strings.Contains(out, "usage: ticketgate new") {
		t.Errorf("missing flags: %s", out)
	}
}

// TestDraftsAndKeysCLI: `drafts`, `accept`, `keys check`, and the key
// file re-read on reload (the SIGHUP handler) (issue 17).
func TestDraftsAndKeysCLI(t *testing.T) {
	dir := t.TempDir()
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	keys := filepath.Join(dir, "keys.csv")
	os.WriteFile(keys, []byte("OX-2222-BBBBBB,,2020-01-01\n"), 0o600)
	path := writeConfig(t, dir, `    open_to: key
    support_keys: {file: keys.csv, pattern: 'OX-[0-9]{4}-[A-Z0-9]{6}'}
`)
	raw, _ := os.ReadFile(path)
	y := strings.Replace(string(raw), "  transport: maildir\n  maildir: { path: ./outbox }\n",
		fmt.Sprintf("  transport: smtp\n  smtp: { host: 127.0.0.1, port: %d, tls: none }\n", sink.Port()), 1)
	y = strings.Replace(y, "agents: [alice@example.com]", "agents: [alice@example.com, bob@example.com]", 1)
	os.WriteFile(path, []byte(y), 0o600)
	d := serveInProcess(t, path)
	op := func(want int, args ...string) string {
		t.Helper()
		code, out, stderr := runCmd(append([]string{args[0], "-c", path, "--as", "alice@example.com"}, args[1:]...), "")
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, stderr)
		}
		return out + stderr
	}
	raw1 := "From: carl@customer.example\r\nTo: acme@support.example.com\r\nSubject: Help\r\nMessage-ID: <d1@customer.example>\r\n\r\nPlease help.\r\n"
	if code, _, e := runCmd([]string{"deliver", "-c", path}, raw1); code != 0 {
		t.Fatalf("deliver: %s", e)
	}
	if out := op(0, "drafts"); !strings.Contains(out, "ACME-D1") || !strings.Contains(out, "key") || !strings.Contains(out, "carl@customer.example") {
		t.Fatalf("drafts:\n%s", out)
	}
	if out := op(exitFailure, "keys", "check", "OX-1111-AAAAAA"); !strings.Contains(out, "ACME **********AAAA: unknown key") {
		t.Errorf("unknown key: %s", out)
	}
	if out := op(exitFailure, "keys", "check", "OX-2222-BBBBBB"); !strings.Contains(out, "expired key, expires 2020-01-01") {
		t.Errorf("expired key: %s", out)
	}
	// The file changes; the reload (what SIGHUP runs) reads it again.
	os.WriteFile(keys, []byte("key,customer,expires\nOX-1111-AAAAAA,customer.example,\n"), 0o600)
	reload(d, path, slog.New(slog.DiscardHandler))
	if out := op(0, "keys", "check", "OX-1111-AAAAAA"); !strings.Contains(out, "valid key, bound to customer.example") {
		t.Errorf("after reload: %s", out)
	}
	if out := op(0, "keys", "check", "--sender", "carl@customer.example", "OX-1111-AAAAAA"); !strings.Contains(out, "valid key") {
		t.Errorf("for carl: %s", out)
	}
	if out := op(exitFailure, "keys", "check", "--sender", "eve@other.example", "OX-1111-AAAAAA"); !strings.Contains(out, "bound to another customer") {
		t.Errorf("for eve: %s", out)
	}
	if out := op(0, "accept", "ACME-D1"); !strings.Contains(out, "ACME-1: draft ACME-D1 accepted (2 mail(s) queued)") {
		t.Fatalf("accept: %s", out)
	}
	msgs, err := sink.WaitFor(storetest.Queued(t, d.Store()), 10*time.Second)
	if err != nil || len(msgs) != 3 { // the explanation, carl's auto-reply, bob's mail
		t.Fatalf("%d mails (%v)", len(msgs), err)
	}
	if out := op(0, "drafts"); !strings.Contains(out, "no drafts") {
		t.Errorf("drafts after accept: %s", out)
	}
	if out := op(exitFailure, "accept", "ACME-D1"); !strings.Contains(out, "ACME-D1 was already accepted as ACME-1") {
		t.Errorf("accept twice: %s", out)
	}
}
