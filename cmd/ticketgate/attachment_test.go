package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAttachmentCommand: an agent saves a customer's attachment by the
// number `show` gives it: to -o FILE, to stdout, or under its own name
// made safe; an existing file is kept.
func TestAttachmentCommand(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, "")
	serveInProcess(t, path)
	raw := "From: carl@customer.example\nTo: acme@support.example.com\nSubject: invoice\nMessage-ID: <a1@customer.example>\n" +
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nSee attached.\n" +
		"--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\"../../.invoice\u202efdp.exe\"\n\n%PDF-1.4 one\n" +
		"--b\nContent-Type: text/plain\nContent-Disposition: attachment; filename=notes.txt\n\nsecond file\n--b--\n"
	if code, _, e := runCmd([]string{"deliver", "-c", path}, raw); code != exitOK {
		t.Fatalf("deliver: %d %s", code, e)
	}
	code, out, _ := runCmd([]string{"show", "ACME-1", "-c", path}, "")
	if code != exitOK || !strings.Contains(out, "attachment 1: ") || !strings.Contains(out, "attachment 2: notes.txt") {
		t.Fatalf("show does not number the attachments:\n%s", out)
	}

	file := filepath.Join(dir, "second.txt")
	if code, out, e := runCmd([]string{"attachment", "ACME-1", "2", "-o", file, "-c", path}, ""); code != exitOK || !strings.Contains(out, file) {
		t.Fatalf("attachment -o: %d %s %s", code, out, e)
	}
	if b, _ := os.ReadFile(file); !strings.HasPrefix(string(b), "second file") {
		t.Fatalf("saved %q", b)
	}
	if code, _, e := runCmd([]string{"attachment", "-c", path, "ACME-1", "2", "-o", file}, ""); code != exitFailure || !strings.Contains(e, "exists") {
		t.Fatalf("over an existing file: %d %s", code, e)
	}
	if code, out, _ := runCmd([]string{"attachment", "-c", path, "ACME-1", "1", "-o", "-"}, ""); code != exitOK || !strings.HasPrefix(out, "%PDF-1.4 one") {
		t.Fatalf("to stdout: %d %q", code, out)
	}
	// Under its own name: in the current folder, no "..", not hidden,
	// no bidi override.
	t.Chdir(dir)
	code, out, e := runCmd([]string{"attachment", "-c", path, "ACME-1", "1"}, "")
	if code != exitOK || out != "saved invoicefdp.exe\n" {
		t.Fatalf("own name: %d %q %s", code, out, e)
	}
	if _, err := os.Stat(filepath.Join(dir, "invoicefdp.exe")); err != nil {
		t.Fatal(err)
	}
	if code, _, e := runCmd([]string{"attachment", "-c", path, "ACME-1", "3"}, ""); code != exitFailure || !strings.Contains(e, "has no attachment 3") {
		t.Fatalf("no such attachment: %d %s", code, e)
	}
	entries, _ := os.ReadDir(dir)
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), ".ticketgate-attachment-") {
			t.Errorf("temporary file left: %s", en.Name())
		}
	}
}
