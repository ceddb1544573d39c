package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/daemon"
	"github.com/ticketgate/ticketgate/store"
)

// TestDigestCommand: `ticketgate digest` shows the caller's digest
// schedule (the configured one), sets it as #digest does by mail (stored
// as the agent's choice), refuses nonsense and another agent's digest for
// a non-operator (issue 21).
func TestDigestCommand(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, "digests:\n  default: {at: \"08:30\", days: mon-fri, timezone: Europe/Berlin}\n")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Start(cfg, slog.New(slog.DiscardHandler), daemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	code, out, stderr := runCmd([]string{"digest", "-c", path}, "")
	if code != 0 || out != "alice@example.com: daily digest at 08:30 Europe/Berlin on mon, tue, wed, thu, fri\n" {
		t.Fatalf("digest: %d %q %s", code, out, stderr)
	}
	code, out, stderr = runCmd([]string{"digest", "-c", path, "at", "07:30", "Europe/Vienna"}, "")
	if code != 0 || out != "alice@example.com: daily digest at 07:30 Europe/Vienna on mon, tue, wed, thu, fri\n" {
		t.Fatalf("digest at 07:30 Europe/Vienna: %d %q %s", code, out, stderr)
	}
	code, out, stderr = runCmd([]string{"digest", "-c", path, "off"}, "")
	if code != 0 || out != "alice@example.com: off: no daily digest\n" {
		t.Fatalf("digest off: %d %q %s", code, out, stderr)
	}
	if code, _, stderr := runCmd([]string{"digest", "-c", path, "at", "25:00"}, ""); code == 0 || !strings.Contains(stderr, `"25:00" is not a time of day`) {
		t.Errorf("digest at 25:00: %d %s", code, stderr)
	}
	if code, _, stderr := runCmd([]string{"digest", "-c", path, "--agent", "bob@example.com", "on"}, ""); code == 0 || !strings.Contains(stderr, "only their own digest") {
		t.Errorf("alice setting bob's digest: %d %s", code, stderr)
	}
	var pref *store.DigestPref
	if err := d.Store().View(func(tx store.Tx) error {
		pref, err = tx.DigestPref("alice@example.com")
		return err
	}); err != nil || pref == nil || pref.Mode != store.DigestOff || pref.At != "07:30" || pref.TimeZone != "Europe/Vienna" {
		t.Errorf("stored choice = %+v %v", pref, err)
	}
}
