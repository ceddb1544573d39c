package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/daemon"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/storetest"
)

// sinkConfig writes a config whose outbound mail goes to a go-smtp sink,
// with alice and bob as ACME's agents and extra appended.
func sinkConfig(t *testing.T, dir string, sink *mailouttest.Sink, extra string) string {
	t.Helper()
	path := writeConfig(t, dir, extra)
	raw, _ := os.ReadFile(path)
	y := strings.Replace(string(raw), "  transport: maildir\n  maildir: { path: ./outbox }\n",
		fmt.Sprintf("  transport: smtp\n  smtp: { host: 127.0.0.1, port: %d, tls: none }\n", sink.Port()), 1)
	y = strings.Replace(y, "agents: [alice@example.com]", "agents: [alice@example.com, bob@example.com]", 1)
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitMail waits until the sink holds a mail to addr whose bytes contain
// text, and returns it.
func waitMail(t *testing.T, sink *mailouttest.Sink, addr, text string) mailouttest.Message {
	t.Helper()
	m, err := sink.WaitMessage(func(m mailouttest.Message) bool {
		return slices.Contains(m.To, addr) && strings.Contains(string(m.Data), text)
	}, 10*time.Second)
	if err != nil {
		t.Fatalf("no mail to %s containing %q: %v", addr, text, err)
	}
	return m
}

// settle waits until the sink holds every mail queued so far: after it,
// the sink holds all a change caused to be sent.
func settle(t *testing.T, d *daemon.Daemon, sink *mailouttest.Sink) {
	t.Helper()
	if _, err := sink.WaitFor(storetest.Queued(t, d.Store()), 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestDeliverKeepsInternalDetail: a proven agent's mail to
// acme+internal@ handed to `deliver` stays an internal note, whether the
// MTA passes the original recipient (the README's pipe transport) or an
// old alias passes the bare project address while its Delivered-To keeps
// "+internal". No customer gets the text.
func TestDeliverKeepsInternalDetail(t *testing.T) {
	dir := t.TempDir()
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	path := sinkConfig(t, dir, sink, "trusted_authserv_ids: [mx.test]\n")
	d := serveInProcess(t, path)

	req := "From: carl@customer.example\nTo: acme@support.example.com\nSubject: Printer on fire\nMessage-ID: <p1@customer.example>\n\nIt is on fire.\n"
	if code, _, e := runCmd([]string{"deliver", "-c", path, "--recipient", "acme@support.example.com"}, req); code != exitOK {
		t.Fatalf("request: exit %d %s", code, e)
	}
	waitMail(t, sink, "carl@customer.example", "[ACME-1]")

	cases := []struct{ name, recipient, header, text string }{
		{"original recipient passed", "acme+internal@support.example.com", "", "Secret one: he owes us money."},
		{"bare project address, Delivered-To keeps +internal", "acme@support.example.com", "Delivered-To: acme+internal@support.example.com\n", "Secret two: do not tell him."},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			note := fmt.Sprintf("%sFrom: alice@example.com\nTo: acme+internal@support.example.com\nSubject: Re: [ACME-1] Printer on fire\n"+
				"Authentication-Results: mx.test; dmarc=pass header.from=example.com\nMessage-ID: <note%d@example.com>\n\n%s\n", c.header, i, c.text)
			if code, _, e := runCmd([]string{"deliver", "-c", path, "-f", "alice@example.com", "--recipient", c.recipient}, note); code != exitOK {
				t.Fatalf("note: exit %d %s", code, e)
			}
			var msgs []*store.Message
			d.Store().View(func(tx store.Tx) error { msgs, _ = tx.TicketMessages("ACME-1"); return nil })
			last := msgs[len(msgs)-1]
			if !strings.Contains(last.Text, c.text) || !last.Internal {
				t.Fatalf("agent's mail to the internal address stored as %+v", last)
			}
			waitMail(t, sink, "bob@example.com", c.text)
			settle(t, d, sink)
			for _, m := range sink.Messages() {
				if !slices.Contains(m.To, "alice@example.com") && !slices.Contains(m.To, "bob@example.com") && strings.Contains(string(m.Data), c.text) {
					t.Fatalf("internal note reached %v", m.To)
				}
			}
		})
	}
}

// TestDeliverRecipients: the envelope recipient keeps its detail part;
// what headers add only ever restricts.
func TestDeliverRecipients(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Load(writeConfig(t, dir, ""))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		given  []string
		header string
		want   []string
	}{
		{"token kept from the envelope", []string{"acme+t-AbC123@support.example.com"}, "", []string{"acme+t-AbC123@support.example.com"}},
		{"bounce kept from the envelope", []string{"acme+bounce-xyz@support.example.com"}, "", []string{"acme+bounce-xyz@support.example.com"}},
		{"internal kept from the envelope", []string{"acme+internal@support.example.com"}, "", []string{"acme+internal@support.example.com"}},
		{"bare envelope, internal in Delivered-To", []string{"acme@support.example.com"}, "Delivered-To: acme+internal@support.example.com\n", []string{"acme+internal@support.example.com"}},
		{"bare envelope, internal in X-Original-To", []string{"acme@support.example.com"}, "X-Original-To: <acme+internal@support.example.com>\n", []string{"acme+internal@support.example.com"}},
		{"bare envelope, bounce in Delivered-To grants nothing", []string{"acme@support.example.com"}, "Delivered-To: acme+bounce-xyz@support.example.com\n", []string{"acme@support.example.com"}},
		{"bare envelope, token in Delivered-To grants nothing", []string{"acme@support.example.com"}, "Delivered-To: acme+t-AbC123@support.example.com\n", []string{"acme@support.example.com"}},
		{"token envelope is not weakened by a header", []string{"acme+t-AbC123@support.example.com"}, "Delivered-To: acme+internal@support.example.com\n", []string{"acme+t-AbC123@support.example.com"}},
		{"no envelope: token in header dropped", nil, "To: acme+t-AbC123@support.example.com\n", []string{"acme@support.example.com"}},
		{"no envelope: bounce in header dropped", nil, "Delivered-To: acme+bounce-xyz@support.example.com\n", []string{"acme@support.example.com"}},
		{"no envelope: internal in header kept", nil, "To: acme+internal@support.example.com\n", []string{"acme+internal@support.example.com"}},
		{"no envelope: internal wins over plain", nil, "To: acme@support.example.com\nCc: acme+internal@support.example.com\n", []string{"acme+internal@support.example.com"}},
		{"unknown envelope recipient passed on", []string{"nobody@support.example.com"}, "", []string{"nobody@support.example.com"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := []byte(c.header + "From: x@y.example\nSubject: s\n\nb\n")
			if got := deliverRecipients(cfg, c.given, raw); !slices.Equal(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

// TestDeliverTempFailOfOneProject: when one project's copy fails
// temporarily, `deliver` exits 75 although another project stored its
// copy; the MTA retries, and the stored copy is a duplicate then.
func TestDeliverTempFailOfOneProject(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, `  - key: BETA
    name: Beta Support
    address: beta@support.example.com
    agents: [alice@example.com]
limits:
  new_tickets_per_sender: { count: 1, per: 1h }
`)
	d := serveInProcess(t, path)
	first := "From: carl@customer.example\nTo: beta@support.example.com\nSubject: one\nMessage-ID: <b1@customer.example>\n\nb\n"
	// The flood limit counts per envelope sender.
	if code, _, e := runCmd([]string{"deliver", "-c", path, "-f", "carl@customer.example"}, first); code != exitOK {
		t.Fatalf("first: exit %d %s", code, e)
	}
	both := "From: carl@customer.example\nTo: acme@support.example.com, beta@support.example.com\nSubject: two\nMessage-ID: <b2@customer.example>\n\nb\n"
	code, _, stderr := runCmd([]string{"deliver", "-c", path, "-f", "carl@customer.example"}, both)
	if code != exitTempFail {
		t.Fatalf("BETA's copy over its flood limit: exit %d, want 75; stderr: %s", code, stderr)
	}
	if !strings.Contains(stderr, "beta@support.example.com") {
		t.Errorf("stderr does not name the failed recipient: %s", stderr)
	}
	var n uint64
	d.Store().View(func(tx store.Tx) error { n, _ = tx.LastTicketNumber("ACME"); return nil })
	if n != 1 {
		t.Fatalf("ACME's copy not stored (%d tickets)", n)
	}
}
