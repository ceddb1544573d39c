package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/internal/gpgtest"
	"github.com/ticketgate/ticketgate/pgp"
	"github.com/ticketgate/ticketgate/store"
)

// TestPGPCommands: `ticketgate pgp` keygen (the key protected at rest by
// the passphrase file), export (gpg reads it), import of gpg's secret key,
// keys, verify, forget.
func TestPGPCommands(t *testing.T) {
	g := gpgtest.New(t)
	dir := t.TempDir()
	pass := filepath.Join(dir, "pass")
	os.WriteFile(pass, []byte("correct horse\n"), 0o600)
	path := writeConfig(t, dir, "    pgp: { secret_key_passphrase_file: "+pass+" }\n")
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(raw), "admin:\n", "admin:\n  operators: [alice@example.com]\n", 1)), 0o600)
	d := serveInProcess(t, path)
	cli := func(want int, stdin string, args ...string) string {
		t.Helper()
		code, out, stderr := runCmd(append([]string{"pgp", args[0], "-c", path}, args[1:]...), stdin)
		if code != want {
			t.Fatalf("pgp %v: exit %d, want %d\n%s%s", args, code, want, out, stderr)
		}
		return out + stderr
	}
	if out := cli(exitOK, "", "keygen", "--project", "ACME"); !strings.Contains(out, "protected by a passphrase: true") {
		t.Errorf("keygen: %s", out)
	}
	if out := cli(exitFailure, "", "keygen", "--project", "ACME"); !strings.Contains(out, "replace") {
		t.Errorf("a second keygen: %s", out)
	}
	var rec *store.PGPProjectKey
	d.Store().View(func(tx store.Tx) error { rec, _ = tx.PGPProjectKey("ACME"); return nil })
	if rec == nil || !rec.Protected {
		t.Fatalf("stored key: %+v", rec)
	}
	if _, err := pgp.ReadSecret(rec.Armored, nil); err == nil {
		t.Error("the stored secret key reads without the passphrase")
	}
	g.Import([]byte(cli(exitOK, "", "export", "--project", "ACME")))
	if got := g.Fingerprint("acme@support.example.com"); got != rec.Fingerprint {
		t.Errorf("exported %s, stored %s", got, rec.Fingerprint)
	}

	// gpg's own key for the project replaces it.
	other := gpgtest.New(t)
	fp := other.GenKey("ACME", "acme@support.example.com")
	secret := other.Must(nil, "--armor", "--export-secret-keys", "<acme@support.example.com>")
	cli(exitOK, string(secret), "import", "--project", "ACME", "--replace", "-")
	if out := cli(exitOK, "", "export", "--project", "ACME", "--json"); !strings.Contains(out, fp) {
		t.Errorf("after import: %s", out)
	}

	// A key learned from mail: listed unverified, confirmed, forgotten.
	dora := gpgtest.New(t)
	doraFP := dora.GenKey("Dora", "dora@customer.example")
	mail := "From: dora@customer.example\r\nTo: acme@support.example.com\r\nSubject: hi\r\nMessage-ID: <k1@customer.example>\r\n" +
		"Autocrypt: addr=dora@customer.example; keydata=" + base64.StdEncoding.EncodeToString(dora.Export("dora@customer.example")) + "\r\n\r\nhello\r\n"
	if code, _, e := runCmd([]string{"deliver", "-c", path}, mail); code != exitOK {
		t.Fatalf("deliver: %s", e)
	}
	if out := cli(exitOK, "", "keys", "--address", "dora@customer.example"); !strings.Contains(out, "unverified") || !strings.Contains(out, doraFP) {
		t.Errorf("keys: %s", out)
	}
	if out := cli(exitOK, "", "verify", "dora@customer.example"); !strings.Contains(out, doraFP+" is verified") {
		t.Errorf("verify: %s", out)
	}
	if out := cli(exitOK, "", "keys"); !strings.Contains(out, "dora@customer.example  verified") {
		t.Errorf("keys after verify: %s", out)
	}
	cli(exitOK, "", "forget", "dora@customer.example")
	if out := cli(exitOK, "", "keys", "--address", "dora@customer.example", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("keys after forget: %s", out)
	}
	cli(exitFailure, "", "forget", "dora@customer.example")
}
