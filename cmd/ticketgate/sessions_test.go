package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/daemon"
	"github.com/ticketgate/ticketgate/store"
)

// TestSessionsRevoke: `ticketgate sessions` lists the desk's sessions
// without their secrets, `sessions revoke AGENT` ends all of one agent's,
// and only an operator may end another agent's or everyone's.
func TestSessionsRevoke(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, "")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Start(cfg, slog.New(slog.DiscardHandler), daemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	now := time.Now().UTC()
	err = d.Store().Update(context.Background(), func(tx store.Tx) error {
		for _, s := range []store.Session{
			{Hash: strings.Repeat("a", 64), Agent: "alice@example.com", Created: now, LastSeen: now, Via: "mail"},
			{Hash: strings.Repeat("b", 64), Agent: "alice@example.com", Created: now, LastSeen: now, Via: "mail"},
			{Hash: strings.Repeat("c", 64), Agent: "bob@example.com", Created: now, LastSeen: now, Via: "mail"},
		} {
			if err := tx.PutSession(&s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCmd([]string{"sessions", "-c", path}, "")
	if code != 0 || strings.Count(out, "alice@example.com") != 2 || strings.Contains(out, "bob@") || strings.Contains(out, strings.Repeat("a", 20)) {
		t.Fatalf("sessions (as alice): %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := runCmd([]string{"sessions", "-c", path, "revoke", "bob@example.com"}, ""); code == 0 || !strings.Contains(stderr, "only their own") {
		t.Fatalf("alice ending bob's sessions: %d %s", code, stderr)
	}
	if code, _, stderr := runCmd([]string{"sessions", "-c", path, "revoke", "--all"}, ""); code == 0 || !strings.Contains(stderr, "operator") {
		t.Fatalf("alice ending everyone's sessions: %d %s", code, stderr)
	}
	code, out, stderr = runCmd([]string{"sessions", "-c", path, "revoke", "alice@example.com"}, "")
	if code != 0 || !strings.Contains(out, "2 desk session(s) ended") {
		t.Fatalf("revoke alice: %d %s %s", code, out, stderr)
	}
	var left []*store.Session
	d.Store().View(func(tx store.Tx) error { left, _ = tx.Sessions(""); return nil })
	if len(left) != 1 || left[0].Agent != "bob@example.com" {
		t.Fatalf("sessions left: %+v", left)
	}
}
