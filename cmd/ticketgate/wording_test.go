package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIWordingAndBackupOverwrite: what the CLI prints reads as a
// sentence (no ": organization … saved", no "assigned to me", no
// "store: … store: not found"), and `backup` keeps an existing file
// unless told --force.
func TestCLIWordingAndBackupOverwrite(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, "")
	operator(t, path) // backup needs an operator
	serveInProcess(t, path)
	if code, _, e := runCmd([]string{"deliver", "-c", path}, "From: carl@customer.example\nTo: acme@support.example.com\nSubject: s\n\nb\n"); code != exitOK {
		t.Fatalf("deliver: %d %s", code, e)
	}
	as := []string{"-c", path, "--as", "alice@example.com"}
	cases := []struct {
		args       []string
		stdout     string
		stderrPart string
		code       int
	}{
		{[]string{"assign", "ACME-1", "me"}, "ACME-1: assigned to alice@example.com\n", "", exitOK},
		{[]string{"assign", "ACME-1", "-"}, "ACME-1: unassigned\n", "", exitOK},
		{[]string{"org", "set", "ACME", "Customer Corp", "customer.example", "-"}, "organization Customer Corp saved\n", "", exitOK},
		{[]string{"show", "ACME-99"}, "", "ticketgate: ticket ACME-99: not found\n", exitFailure},
		{[]string{"note", "ACME-1", "--", "-5 % offered"}, "ACME-1: internal note added\n", "", exitOK},
	}
	for _, c := range cases {
		// Flags after the command, before "--": the arguments follow.
		args := append(append([]string{c.args[0]}, as...), c.args[1:]...)
		code, out, stderr := runCmd(args, "")
		if code != c.code || out != c.stdout || (c.stderrPart != "" && stderr != c.stderrPart) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d, %q, %q", c.args, code, out, stderr, c.code, c.stdout, c.stderrPart)
		}
	}

	file := filepath.Join(dir, "backup.tar")
	if code, _, e := runCmd([]string{"backup", "-c", path, file}, ""); code != exitOK {
		t.Fatalf("backup: %d %s", code, e)
	}
	os.WriteFile(file, []byte("the only good backup"), 0o600)
	code, _, stderr := runCmd([]string{"backup", "-c", path, file}, "")
	if b, _ := os.ReadFile(file); code == exitOK || string(b) != "the only good backup" || !strings.Contains(stderr, "--force") {
		t.Fatalf("backup over an existing file: exit %d, %q; file now %d bytes", code, stderr, len(b))
	}
	if code, _, e := runCmd([]string{"backup", "-c", path, file, "--force"}, ""); code != exitOK {
		t.Fatalf("backup --force: %d %s", code, e)
	}
	if b, _ := os.ReadFile(file); string(b) == "the only good backup" {
		t.Fatal("backup --force did not overwrite")
	}
	// "-" is standard output (the man page says so), not a file named "-".
	t.Chdir(dir)
	if code, out, e := runCmd([]string{"backup", "-c", path, "-"}, ""); code != exitOK || !strings.Contains(out, "ticketgate.db") {
		t.Fatalf("backup -: exit %d, %d bytes, %s", code, len(out), e)
	}
	if _, err := os.Stat(filepath.Join(dir, "-")); err == nil {
		t.Fatal(`backup - wrote a file named "-"`)
	}
}

// operator makes alice, the test user's agent, an operator
// (admin.operators) in the config at path.
func operator(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	y := strings.Replace(string(raw), "admin:\n", "admin:\n  operators: [alice@example.com]\n", 1)
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
}
