package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/daemon"
	"github.com/ticketgate/ticketgate/store"
)

// TestMain lets the test binary be `ticketgate search-worker` too: a
// `serve` run in this process starts its search index's worker as its
// own program again.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "search-worker" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// freePort picks a loopback port that is free right now, for configs that
// need a number written down before the daemon starts.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// writeConfig writes a YAML config into dir and returns its path.
// serveInProcess loads the config file at path and starts a daemon on it
// in this process, shut down when the test ends.
func serveInProcess(t *testing.T, path string) *daemon.Daemon {
	t.Helper()
	d, _ := serveWatched(t, path)
	return d
}

// unixUser is this test process's Unix user: writeConfig maps it to alice
// in admin.users, so the CLI over admin.sock acts as alice.
func unixUser(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

func writeConfig(t *testing.T, dir, extra string) string {
	t.Helper()
	y := fmt.Sprintf(`data_dir: ./data
web: { listen: "127.0.0.1:%d", base_url: "http://127.0.0.1" }
inbound:
  smtp: { listen: "127.0.0.1:%d" }
outbound:
  transport: maildir
  maildir: { path: ./outbox }
admin:
  users: { %q: alice@example.com }
projects:
  - key: ACME
    name: Acme Support
    address: acme@support.example.com
    agents: [alice@example.com]
%s`, freePort(t), freePort(t), unixUser(t), extra)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCmd(args []string, stdin string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestDeliverExitCodes(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, "")
	good := "From: carl@customer.example\nTo: acme@support.example.com\nSubject: via pipe\nMessage-ID: <pipe1@customer.example>\n\nhello\n"

	// Daemon down: temporary, the MTA keeps the mail and retries.
	if code, _, stderr := runCmd([]string{"deliver", "-c", path}, good); code != exitTempFail {
		t.Fatalf("daemon down: exit %d, want 75 (%s)", code, stderr)
	}

	d := serveInProcess(t, path)

	cases := []struct {
		name  string
		args  []string
		stdin string
		want  int
	}{
		{"stored, project from To", nil, good, exitOK},
		{"retry of the same message is still success", nil, good, exitOK},
		{"explicit recipient", []string{"--recipient", "ACME@support.example.com", "-f", "carl@customer.example"}, "Subject: no To header\nFrom: carl@customer.example\n\nhi\n", exitOK},
		{"recipients as arguments", []string{"-f", "carl@customer.example", "--", "acme@support.example.com"}, "Subject: no To header either\nFrom: carl@customer.example\n\nhi\n", exitOK},
		{"Delivered-To wins over To", nil, "Delivered-To: acme@support.example.com\nTo: list@elsewhere.example\nFrom: x@y.example\nSubject: s\n\nb\n", exitOK},
		{"no such project", []string{"--recipient", "nobody@support.example.com"}, good, exitNoUser},
		{"no project address anywhere", nil, "From: x@y.example\nTo: z@elsewhere.example\nSubject: s\n\nb\n", exitNoUser},
		{"empty input", nil, "", exitDataErr},
		{"no header block", nil, "just some text\nwithout any header\n", exitDataErr},
		{"mbox From line then headers", nil, "From carl@customer.example Mon Nov  2 10:00:00 2026\nFrom: carl@customer.example\nTo: acme@support.example.com\nSubject: mbox\n\nb\n", exitOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"deliver", "-c", path}, c.args...)
			if code, _, stderr := runCmd(args, c.stdin); code != c.want {
				t.Fatalf("exit %d, want %d; stderr: %s", code, c.want, stderr)
			}
		})
	}
	var n uint64
	var m []*store.Message
	d.Store().View(func(tx store.Tx) error {
		n, _ = tx.LastTicketNumber("ACME")
		m, _ = tx.TicketMessages("ACME-1")
		return nil
	})
	if n != 5 {
		t.Errorf("%d tickets, want 5 (the retried message is a duplicate)", n)
	}
	if len(m) != 1 || m[0].Source != "pipe" || m[0].Subject != "via pipe" {
		t.Errorf("ACME-1 messages: %+v", m)
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := writeConfig(t, dir, "")
	if code, out, _ := runCmd([]string{"check-config", "-c", good}, ""); code != exitOK || !strings.Contains(out, "ok") {
		t.Fatalf("valid config: %d %s", code, out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("projects:\n  - key: acme\n    nme: typo\n"), 0o600)
	code, _, stderr := runCmd([]string{"check-config", "--config", bad}, "")
	if code != exitConfig {
		t.Fatalf("bad config: exit %d", code)
	}
	for _, want := range []string{"projects[0].address: required", "projects[0].key", "nme"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("check-config output lacks %q:\n%s", want, stderr)
		}
	}
	if code, _, _ := runCmd([]string{"serve", "-c", bad}, ""); code != exitConfig {
		t.Errorf("serve with a bad config: exit %d, want 2", code)
	}
	t.Setenv("TICKETGATE_CONFIG", good)
	if code, _, _ := runCmd([]string{"check-config"}, ""); code != exitOK {
		t.Errorf("TICKETGATE_CONFIG not used: %d", code)
	}
}

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "m.eml")
	os.WriteFile(f, []byte("From: \"Carl\" <Carl@Customer.Example>\r\nTo: acme@support.example.com\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nAuto-Submitted: auto-replied\r\nDate: Mon, 02 Nov 2026 10:00:00 +0100\r\nMessage-ID: <X1@Customer.Example>\r\n\r\nbody\r\n"), 0o600)
	code, out, stderr := runCmd([]string{"inspect", f}, "")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{`"subject": "Grüße"`, `"from": "carl@customer.example"`, `"from_name": "Carl"`, `"date": "2026-11-02T10:00:00+01:00"`, `"auto": "auto-submitted: auto-replied"`, `"text": "body`, `"attachments": []`} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %s:\n%s", want, out)
		}
	}
	if code, _, _ := runCmd([]string{"inspect", filepath.Join(dir, "missing.eml")}, ""); code != exitConfig {
		t.Errorf("missing file: exit %d, want 2", code)
	}
	garbage := filepath.Join(dir, "g.eml")
	os.WriteFile(garbage, []byte("\x00\x01 not mail at all \xff"), 0o600)
	if code, _, _ := runCmd([]string{"inspect", garbage}, ""); code != 0 {
		t.Errorf("garbage: exit %d, want 0", code)
	}
}

func regexpMust(p string) *regexp.Regexp { return regexp.MustCompile(p) }

// TestInspectCorpus runs every corpus message through `ticketgate inspect`:
// exit 0 and well-formed JSON for each, however broken the message.
func TestInspectCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("mail corpus not found at %s (it sits beside the repository in CI)", dir)
	}
	n := 0
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(p, ".eml") {
			return nil
		}
		n++
		code, out, stderr := runCmd([]string{"inspect", p}, "")
		var v map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
			t.Errorf("%s: exit %d, %s", p, code, stderr)
		}
		for _, k := range []string{"subject", "from", "to", "cc", "text", "attachments", "auto", "problems", "date"} {
			if _, ok := v[k]; !ok {
				t.Errorf("%s: JSON lacks %q", p, k)
			}
		}
		return nil
	})
	if n < 600 {
		t.Fatalf("only %d corpus messages", n)
	}
}

// TestPlainTextRelayAuthIsBadConfig: a password for a remote relay without
// TLS is a config error that check-config reports and serve refuses with
// exit 2 (systemd's "don't restart"), not a failure first seen when the
// sender starts (exit 1, restarted forever).
func TestPlainTextRelayAuthIsBadConfig(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, "")
	raw, _ := os.ReadFile(path)
	os.WriteFile(filepath.Join(dir, "relay.pw"), []byte("secret\n"), 0o600)
	y := strings.Replace(string(raw), "  transport: maildir\n  maildir: { path: ./outbox }\n",
		"  transport: smtp\n  smtp: { host: relay.example.com, port: 587, username: tg, password_file: relay.pw }\n", 1)
	os.WriteFile(path, []byte(y), 0o600)
	for _, cmd := range []string{"check-config", "serve"} {
		code, out, stderr := runCmd([]string{cmd, "-c", path}, "")
		if code != exitConfig || !strings.Contains(stderr+out, "outbound.smtp.tls") {
			t.Errorf("%s: exit %d, want %d with outbound.smtp.tls named\n%s%s", cmd, code, exitConfig, out, stderr)
		}
	}
}

// TestDeliverLongLines is issue 14 item 6 through `deliver`: a 2 MiB line
// (an inline data: image) is stored with the default config, where it used
// to be a temporary failure retried for days; with max_line_length set, a
// longer line is refused for good: exit 65, which the MTA bounces.
func TestDeliverLongLines(t *testing.T) {
	img := strings.Repeat("QUJD", (2<<20)/4)
	raw := "From: carl@customer.example\nTo: acme@support.example.com\nSubject: photo\nMessage-ID: <long1@customer.example>\nContent-Type: text/html\n\n<p>see</p><img src=\"data:image/png;base64," + img + "\">\n"

	path := writeConfig(t, t.TempDir(), "")
	d := serveInProcess(t, path)
	if code, _, stderr := runCmd([]string{"deliver", "-c", path}, raw); code != exitOK {
		t.Fatalf("default config: exit %d, want 0 (%s)", code, stderr)
	}
	var tk *store.Ticket
	d.Store().View(func(tx store.Tx) error { tk, _ = tx.Ticket("ACME-1"); return nil })
	if tk == nil || tk.Subject != "photo" {
		t.Fatalf("no ticket for the long-lined mail: %+v", tk)
	}

	dir := t.TempDir()
	path = writeConfig(t, dir, "")
	y, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(y), "inbound:\n", "inbound:\n  max_line_length: 1000\n", 1)), 0o600)
	serveInProcess(t, path)
	if code, _, stderr := runCmd([]string{"deliver", "-c", path}, raw); code != exitDataErr || !strings.Contains(stderr, "552") {
		t.Fatalf("max_line_length 1000: exit %d, want %d with 552 (%s)", code, exitDataErr, stderr)
	}
}

// TestCheckConfigWarnsWorldReadableSecret: a relay password any local user
// can read works, so nothing said so; check-config now warns (and still
// says ok), and a 0600 file gets no warning.
func TestCheckConfigWarnsWorldReadableSecret(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, "")
	raw, _ := os.ReadFile(path)
	pw := filepath.Join(dir, "relay.pw")
	os.WriteFile(pw, []byte("secret\n"), 0o644)
	os.Chmod(pw, 0o644)
	y := strings.Replace(string(raw), "  transport: maildir\n  maildir: { path: ./outbox }\n",
		"  transport: smtp\n  smtp: { host: 127.0.0.1, username: tg, password_file: relay.pw }\n", 1)
	os.WriteFile(path, []byte(y), 0o600)
	code, out, stderr := runCmd([]string{"check-config", "-c", path}, "")
	if code != exitOK || !strings.Contains(out, "ok") || !strings.Contains(stderr, "warning: outbound.smtp.password_file") || !strings.Contains(stderr, "0644") {
		t.Fatalf("world-readable password file: exit %d\n%s%s", code, out, stderr)
	}
	os.Chmod(pw, 0o600)
	if code, _, stderr := runCmd([]string{"check-config", "-c", path}, ""); code != exitOK || strings.Contains(stderr, "warning") {
		t.Fatalf("0600 password file: exit %d %s", code, stderr)
	}
}
