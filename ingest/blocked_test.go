package ingest_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/ingest"
	"github.com/ticketgate/ticketgate/mailin"
	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/templates"
	"github.com/ticketgate/ticketgate/ticket"
)

// TestUnreadableBlockRefusesTemporarily: when the blocked-sender record of
// a sender cannot be decoded, the mail is not taken as "not blocked": it
// gets a temporary failure and nothing is stored.
func TestUnreadableBlockRefusesTemporarily(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Web.BaseURL = "http://ticketgate.test"
	cfg.Projects = []config.Project{{Key: "ACME", Address: "acme@support.example.com", Agents: []string{"alice@example.com"},
		Notifications: config.DefaultNotifications()}}
	if err := cfg.Finalize(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(cfg.DataDir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(context.Background(), func(tx store.Tx) error {
		return tx.Block(&store.Block{Project: "ACME", Address: "spammer@example.net", Reason: "spam", Created: time.Now()})
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(cfg.DataDir, "ticketgate.db"), 0o640, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("blocked")).Put([]byte("ACME\x00spammer@example.net"), []byte("{damaged"))
	})
	db.Close()

	st, err = store.Open(cfg.DataDir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	cfgFn := func() *config.Config { return cfg }
	tmpl := templates.New("")
	n := notify.New(cfgFn, func() *templates.Set { return tmpl }, time.Now, log)
	p := ingest.New(st, cfgFn, ticket.NewEngine(st, cfgFn, n, time.Now, log), log)
	raw := "From: spammer@example.net\r\nTo: acme@support.example.com\r\nSubject: buy\r\nMessage-ID: <s1@example.net>\r\n\r\nbuy now\r\n"
	errs := p.Receive(context.Background(), &mailin.Envelope{Source: "smtp", MailFrom: "spammer@example.net", Rcpts: []string{"acme@support.example.com"}}, strings.NewReader(raw))
	if len(errs) != 1 || errs[0] == nil || !fault.IsTemporary(errs[0]) {
		t.Fatalf("receive: %v, want a temporary failure", errs)
	}
	st.View(func(tx store.Tx) error {
		if n, err := tx.LastTicketNumber("ACME"); n != 0 || err != nil {
			t.Errorf("a ticket was opened (%d, %v)", n, err)
		}
		return nil
	})
}
