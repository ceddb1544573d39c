package daemon

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/internal/dovecottest"
	"github.com/ticketgate/ticketgate/internal/pgtest"
	"github.com/ticketgate/ticketgate/internal/waitfor"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// TestIMAPOneReaderAcrossNodes: two daemons on one PostgreSQL store, both
// configured with the same IMAP mailbox. Only one reads it (the mailbox's
// node lock); every message is stored once; when the reading node stops,
// the other takes the mailbox over and reads the next message.
func TestIMAPOneReaderAcrossNodes(t *testing.T) {
	dc := dovecottest.Start(t)
	srv := pgtest.Start(t)
	c := dc.Client(t)
	const n = 20
	for i := range n {
		dovecottest.Append(t, c, "INBOX", imapMail(i))
	}
	dsnFile := filepath.Join(t.TempDir(), "pg.dsn")
	if err := os.WriteFile(dsnFile, []byte(srv.Database(t, "nodes")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	nodes := make([]*Daemon, 2)
	stops := make([]func(), 2)
	// One signal for both nodes: a node's wait looks again at the other's
	// commits too (they share the store).
	ev := new(waitfor.Signal)
	for i := range nodes {
		cfg := imapConfig(t, dc, sink, nil)
		cfg.Store.Driver = config.StoreDriverPostgres
		cfg.Store.Postgres.DSNFile = dsnFile
		nodes[i], stops[i] = startStoppable(t, cfg, ev)
	}
	st := nodes[0].Store()
	waitUntil(t, nodes[0], fmt.Sprintf("%d tickets", n), func() bool { k, _ := storedIDs(t, st); return k == n })
	waitUntil(t, nodes[0], "one node idling", func() bool { return idling(nodes[0]) || idling(nodes[1]) })
	reader, other := 0, 1
	if idling(nodes[1]) {
		reader, other = 1, 0
	}
	if s := nodes[other].Mailboxes(); len(s) != 1 || s[0].Connected || s[0].Ingested != 0 {
		t.Errorf("the standby node is connected or ingested: %+v", s)
	}
	stops[reader]()
	dovecottest.Append(t, c, "INBOX", imapMail(n))
	waitUntil(t, nodes[0], "the other node reads the next message", func() bool {
		k, _ := storedIDs(t, nodes[other].Store())
		return k == n+1
	})
	_, perID := storedIDs(t, nodes[other].Store())
	for i := range n + 1 {
		if id := fmt.Sprintf("imap-%d@customer.example", i); perID[id] != 1 {
			t.Errorf("%s stored %d times", id, perID[id])
		}
	}
}

// TestNodesShareTheSigningKey: two nodes on one PostgreSQL store sign
// links and forms with the same key, kept in the store (a form served by
// one node is posted to the other); no key file is written to data_dir.
func TestNodesShareTheSigningKey(t *testing.T) {
	srv := pgtest.Start(t)
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	a := start(t, postgresConfig(t, srv, "signing", sink))
	cfg := postgresConfig(t, srv, "signing", sink)
	b := start(t, cfg)
	if len(a.secret) < 32 || !bytes.Equal(a.secret, b.secret) {
		t.Fatalf("nodes sign with different keys (%d and %d bytes)", len(a.secret), len(b.secret))
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, SecretName)); !os.IsNotExist(err) {
		t.Errorf("a key file in data_dir on a shared store: %v", err)
	}
}

// TestSameMessageToTwoNodesAtOnce: one message delivered to both nodes at
// the same moment, 100 times over, makes one ticket each time: both
// deliveries are answered 250, the Message-ID index in the database lets
// one store it and the other find the duplicate, and the customer gets one
// auto-reply.
func TestSameMessageToTwoNodesAtOnce(t *testing.T) {
	srv := pgtest.Start(t)
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	ev := new(waitfor.Signal)
	a, stopA := startStoppable(t, postgresConfig(t, srv, "twice", sink), ev)
	b, stopB := startStoppable(t, postgresConfig(t, srv, "twice", sink), ev)
	const n = 100
	for i := range n {
		raw := msg(fmt.Sprintf("c%d@customer.example", i), "acme@support.example.com", fmt.Sprintf("question %d", i), fmt.Sprintf("both-%d@customer.example", i), "Hello.")
		var wg sync.WaitGroup
		for _, d := range []*Daemon{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := send(t, d.Addr("smtp"), fmt.Sprintf("c%d@customer.example", i), []string{"acme@support.example.com"}, raw); err != nil {
					t.Errorf("message %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
	}
	tickets, perID := storedIDs(t, a.Store())
	if tickets != n {
		t.Errorf("%d tickets for %d messages", tickets, n)
	}
	for i := range n {
		if id := fmt.Sprintf("both-%d@customer.example", i); perID[id] != 1 {
			t.Errorf("%s stored %d times", id, perID[id])
		}
	}
	// One auto-reply per customer, one notice to the agent per ticket.
	waitMessages(t, sink, 2*n)
	stopA()
	stopB()
	msgs := sink.Messages()
	for i := range n {
		if got := len(to(msgs, fmt.Sprintf("c%d@customer.example", i))); got != 1 {
			t.Errorf("customer %d got %d auto-replies", i, got)
		}
	}
	if len(msgs) != 2*n {
		t.Errorf("%d mails at the sink, want %d", len(msgs), 2*n)
	}
}

// startStoppable starts a daemon and returns it with a stop function
// that may be called before the test ends (Shutdown runs once).
func startStoppable(t *testing.T, cfg *config.Config, ev *waitfor.Signal) (*Daemon, func()) {
	t.Helper()
	d, err := Start(cfg, testLogger(t), Options{Changes: ev})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { d.Shutdown(context.Background()) }) }
	t.Cleanup(stop)
	return d, stop
}

// TestNodesWithDifferentProjectsNotReady: on a shared store, a node whose
// projects differ from the ones another node loaded last fails /readyz
// (check "config") until its config is the same again.
func TestNodesWithDifferentProjectsNotReady(t *testing.T) {
	srv := pgtest.Start(t)
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	cfgA := postgresConfig(t, srv, "fingerprint", sink)
	a := start(t, cfgA)
	cfgB := postgresConfig(t, srv, "fingerprint", sink)
	b := start(t, cfgB)
	configCheck := func(d *Daemon) (bool, string) {
		for _, c := range d.Metrics().Ready().Checks {
			if c.Name == "config" {
				return c.OK, c.Detail
			}
		}
		t.Fatal("no config check in /readyz")
		return false, ""
	}
	for _, d := range []*Daemon{a, b} {
		if ok, detail := configCheck(d); !ok {
			t.Fatalf("same config, not ready: %s", detail)
		}
	}
	changed := postgresConfig(t, srv, "fingerprint", sink)
	changed.Projects[0].Agents = append(changed.Projects[0].Agents, "carol@example.com")
	b.Reload(changed)
	if ok, _ := configCheck(b); !ok {
		t.Error("the node that loaded last is not ready")
	}
	if ok, detail := configCheck(a); ok || !strings.Contains(detail, "differ") {
		t.Errorf("a node with other projects is ready: %v %q", ok, detail)
	}
	a.Reload(changed)
	if ok, detail := configCheck(a); !ok {
		t.Errorf("same config again, not ready: %s", detail)
	}
}
