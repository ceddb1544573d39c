package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/internal/dovecottest"
	"github.com/ticketgate/ticketgate/internal/waitfor"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/storetest"
)

// imapConfig is testConfig with project ACME reading the Dovecot mailbox.
func imapConfig(t *testing.T, dc *dovecottest.Server, sink *mailouttest.Sink, edit func(*config.IMAP)) *config.Config {
	t.Helper()
	dir := t.TempDir()
	pw := filepath.Join(dir, "imap.pw")
	if err := os.WriteFile(pw, []byte(dovecottest.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := benchConfig(filepath.Join(dir, "data"), sink)
	m := &config.IMAP{Host: dc.Host, Port: dc.Port, TLS: "none", Username: dovecottest.User, PasswordFile: pw,
		ProcessedMailbox: "Processed", Start: config.IMAPStartAll}
	if edit != nil {
		edit(m)
	}
	c.Projects[0].IMAP = m
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	return c
}

func imapMail(n int) []byte {
	return fmt.Appendf(nil, "Return-Path: <c%d@customer.example>\r\nFrom: Customer %d <c%d@customer.example>\r\nTo: acme@support.example.com\r\nSubject: imap question %d\r\nDate: Mon, 02 Nov 2026 10:00:00 +0000\r\nMessage-ID: <imap-%d@customer.example>\r\n\r\nPlease help with problem %d.\r\n", n, n, n, n, n, n)
}

// storedIDs maps Message-ID → copies stored in project ACME, and counts
// the tickets.
func storedIDs(t *testing.T, st store.DB) (int, map[string]int) {
	t.Helper()
	return storetest.MessageIDs(t, st, "ACME")
}

func idling(d *Daemon) bool {
	s := d.Mailboxes()
	return len(s) == 1 && s[0].Idling
}

// TestIMAPDovecot: 50 messages appended → 50 tickets, all moved to
// Processed; a message appended while idling becomes a ticket (latency
// printed); the customers get their auto-replies.
func TestIMAPDovecot(t *testing.T) {
	dc := dovecottest.Start(t)
	c := dc.Client(t)
	const n = 50
	for i := range n {
		dovecottest.Append(t, c, "INBOX", imapMail(i))
	}
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	cfg := imapConfig(t, dc, sink, nil)
	began := time.Now()
	d := start(t, cfg)
	waitUntil(t, d, "50 tickets", func() bool { k, _ := storedIDs(t, d.Store()); return k == n })
	waitUntil(t, d, "all moved to Processed", func() bool {
		return dovecottest.Count(t, c, "Processed") == n && dovecottest.Count(t, c, "INBOX") == 0
	})
	t.Logf("Dovecot: %d messages → %d tickets, all moved to Processed, in %v", n, n, time.Since(began))
	_, perID := storedIDs(t, d.Store())
	for i := range n {
		if id := fmt.Sprintf("imap-%d@customer.example", i); perID[id] != 1 {
			t.Errorf("%s stored %d times", id, perID[id])
		}
	}

	waitUntil(t, d, "idling", func() bool { return idling(d) })
	appended := time.Now()
	dovecottest.Append(t, c, "INBOX", imapMail(n))
	waitUntil(t, d, "the new message becomes a ticket", func() bool { k, _ := storedIDs(t, d.Store()); return k == n+1 })
	t.Logf("Dovecot IDLE: message appended → ticket in %v", time.Since(appended))

	msgs := waitMessages(t, sink, n+1)
	if len(to(msgs, "c7@customer.example")) == 0 {
		t.Error("customer 7 got no auto-reply")
	}
	// The server has the message moved a moment before it is counted.
	waitUntil(t, d, "counted", func() bool { return d.Mailboxes()[0].Ingested == n+1 })
	s := d.Mailboxes()[0]
	if s.Ingested != n+1 || s.Errors != 0 || !s.Connected {
		t.Errorf("status %+v", s)
	}
	if dovecottest.Count(t, c, "Ticketgate-Errors") != 0 {
		t.Error("messages in the error mailbox")
	}
}

// TestIMAPDovecotAllQuiet adopts a mailbox with mail in it: the backlog
// becomes tickets and nobody gets mail.
func TestIMAPDovecotAllQuiet(t *testing.T) {
	dc := dovecottest.Start(t)
	c := dc.Client(t)
	for i := range 10 {
		dovecottest.Append(t, c, "INBOX", imapMail(i))
	}
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := start(t, imapConfig(t, dc, sink, func(m *config.IMAP) { m.Start = config.IMAPStartAllQuiet }))
	waitUntil(t, d, "backlog processed", func() bool { return dovecottest.Count(t, c, "Processed") == 10 })
	if k, _ := storedIDs(t, d.Store()); k != 10 {
		t.Errorf("%d tickets, want 10", k)
	}
	// Notifications are queued in the ticket's own transaction: an empty
	// outbox now means none will ever be sent for the backlog.
	var queued int
	d.Store().View(func(tx store.Tx) error { queued, _ = tx.OutboxStats(); return nil })
	if queued != 0 || len(sink.Messages()) != 0 {
		t.Errorf("all-quiet: %d queued, %d relayed", queued, len(sink.Messages()))
	}
}

// TestIMAPDovecotUIDValidityChange recreates the mailbox while the daemon
// is down (a restored or migrated mailbox): after the restart it reads
// everything again and stores nothing twice. (A change while connected is
// noticed at the next IDLE refresh; imapin's unit tests cover that.)
func TestIMAPDovecotUIDValidityChange(t *testing.T) {
	dc := dovecottest.Start(t)
	c := dc.Client(t)
	if err := c.Create("Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		dovecottest.Append(t, c, "Support", imapMail(i))
	}
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	cfg := imapConfig(t, dc, sink, func(m *config.IMAP) { m.Mailbox, m.ProcessedMailbox = "Support", "" })
	first, err := Start(cfg, testLogger(t), Options{Changes: new(waitfor.Signal)})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, first, "3 tickets", func() bool { k, _ := storedIDs(t, first.Store()); return k == 3 })
	waitUntil(t, first, "idling", func() bool { return idling(first) })
	first.Shutdown(context.Background())
	before := uidValidity(t, c, "Support")
	if err := c.Delete("Support").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		dovecottest.Append(t, c, "Support", imapMail(i))
	}
	if after := uidValidity(t, c, "Support"); after == before {
		t.Fatalf("UIDVALIDITY unchanged (%d)", after)
	}
	d := start(t, cfg)
	waitUntil(t, d, "the new message", func() bool { k, _ := storedIDs(t, d.Store()); return k == 4 })
	waitUntil(t, d, "re-read and idling", func() bool {
		s := d.Mailboxes()[0]
		return s.Idling && s.Ingested >= 4
	})
	k, perID := storedIDs(t, d.Store())
	for i := range 4 {
		if id := fmt.Sprintf("imap-%d@customer.example", i); perID[id] != 1 {
			t.Errorf("%s stored %d times", id, perID[id])
		}
	}
	if k != 4 {
		t.Errorf("%d tickets, want 4", k)
	}
}

func uidValidity(t *testing.T, c *imapclient.Client, mailbox string) uint32 {
	t.Helper()
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	return sel.UIDValidity
}

// TestIMAPReloadAddsAndRemovesMailboxes: a reload starts a new imap
// section and stops a removed one.
func TestIMAPReloadAddsAndRemovesMailboxes(t *testing.T) {
	dc := dovecottest.Start(t)
	c := dc.Client(t)
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	cfg := imapConfig(t, dc, sink, nil)
	imapSection := cfg.Projects[0].IMAP
	cfg.Projects[0].IMAP = nil
	if err := cfg.Finalize(); err != nil {
		t.Fatal(err)
	}
	d := start(t, cfg)
	if len(d.Mailboxes()) != 0 {
		t.Fatal("mailbox running without an imap section")
	}
	next := *cfg
	next.Projects = append([]config.Project(nil), cfg.Projects...)
	next.Projects[0].IMAP = imapSection
	if err := next.Finalize(); err != nil {
		t.Fatal(err)
	}
	d.Reload(&next)
	waitUntil(t, d, "idling after reload", func() bool { return idling(d) })
	dovecottest.Append(t, c, "INBOX", imapMail(1))
	waitUntil(t, d, "ticket", func() bool { k, _ := storedIDs(t, d.Store()); return k == 1 })
	d.Reload(cfg)
	if len(d.Mailboxes()) != 0 {
		t.Error("mailbox still running after its section was removed")
	}
}
