package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// TestClientCommandsReadNoSecret: `deliver` and the admin CLI need only
// data_dir from the config, so they work for a user who cannot read the
// relay's password file (here: it is gone).
func TestClientCommandsReadNoSecret(t *testing.T) {
	dir := t.TempDir()
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	secret := filepath.Join(dir, "relay.pw")
	os.WriteFile(secret, []byte("hunter2\n"), 0o600)
	path := writeConfig(t, dir, "")
	raw, _ := os.ReadFile(path)
	y := strings.Replace(string(raw), "  transport: maildir\n  maildir: { path: ./outbox }\n",
		fmt.Sprintf("  transport: smtp\n  smtp: { host: 127.0.0.1, port: %d, tls: none, username: gw, password_file: %s }\n", sink.Port(), secret), 1)
	os.WriteFile(path, []byte(y), 0o600)
	serveInProcess(t, path)
	os.Remove(secret)

	if code, _, e := runCmd([]string{"deliver", "-c", path}, "From: carl@customer.example\nTo: acme@support.example.com\nSubject: s\n\nb\n"); code != exitOK {
		t.Fatalf("deliver without access to the secret: exit %d %s", code, e)
	}
	if code, out, e := runCmd([]string{"tickets", "-c", path}, ""); code != exitOK || !strings.Contains(out, "ACME-1") {
		t.Fatalf("tickets without access to the secret: exit %d %s %s", code, out, e)
	}
	// The daemon's own check still reads it.
	if code, _, e := runCmd([]string{"check-config", "-c", path}, ""); code != exitConfig || !strings.Contains(e, "outbound.smtp.password_file") {
		t.Fatalf("check-config with the secret gone: exit %d %s", code, e)
	}
}

// TestCheckConfigUser: check-config --user NAME reports a secret file that
// user cannot read and a data_dir it cannot write.
func TestCheckConfigUser(t *testing.T) {
	var u *user.User
	var err error
	if os.Geteuid() == 0 {
		u, err = user.Lookup("nobody")
	} else {
		u, err = user.Current()
	}
	if err != nil {
		t.Skipf("no user to check: %v", err)
	}
	base := t.TempDir()
	dir := filepath.Join(base, "etc")
	os.Mkdir(dir, 0o755)
	os.Chmod(base, 0o755)
	os.Chmod(filepath.Dir(base), 0o755)
	secret := filepath.Join(dir, "relay.pw")
	os.WriteFile(secret, []byte("hunter2\n"), 0o600)
	path := writeConfig(t, dir, "")
	os.Chmod(path, 0o644)
	raw, _ := os.ReadFile(path)
	y := strings.Replace(string(raw), "  transport: maildir\n  maildir: { path: ./outbox }\n",
		"  transport: smtp\n  smtp: { host: 127.0.0.1, port: 2525, tls: none, username: gw, password_file: relay.pw }\n", 1)
	os.WriteFile(path, []byte(y), 0o644)
	data := filepath.Join(dir, "data")
	os.Mkdir(data, 0o755)
	if os.Geteuid() != 0 {
		os.Chmod(secret, 0o000)
		os.Chmod(data, 0o555)
		defer os.Chmod(data, 0o755)
	}

	code, _, stderr := runCmd([]string{"check-config", "-c", path, "--user", u.Username}, "")
	if code != exitConfig || !strings.Contains(stderr, "outbound.smtp.password_file: user "+u.Username+" cannot read") ||
		!strings.Contains(stderr, "data_dir: user "+u.Username+" cannot write") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if os.Geteuid() == 0 {
		// Given to the user, both are fine.
		uid, gid := atoi(u.Uid), atoi(u.Gid)
		os.Chown(secret, uid, gid)
		os.Chown(data, uid, gid)
		if code, out, e := runCmd([]string{"check-config", "-c", path, "--user", u.Username}, ""); code != exitOK || !strings.Contains(out, "ok") {
			t.Fatalf("after chown: exit %d %s %s", code, out, e)
		}
	}
	if code, _, e := runCmd([]string{"check-config", "-c", path, "--user", "no-such-user-here"}, ""); code != exitConfig || !strings.Contains(e, "no-such-user-here") {
		t.Fatalf("unknown --user: exit %d %s", code, e)
	}
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}
