// Package gpgtest runs GnuPG as the independent OpenPGP client of the
// tests (issue 19): a throw-away home in t.TempDir() per Home, keys
// without passphrases, its agent stopped at cleanup. Tests skip, naming
// gnupg, when gpg is not installed (CI installs it and fails on the skip).
package gpgtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Home is one GnuPG home directory.
type Home struct {
	t   testing.TB
	Dir string
}

// New makes a GnuPG home, or skips the test when gpg is missing.
func New(t testing.TB) *Home {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Skip("gnupg (gpg) not installed: apt-get install gnupg")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	h := &Home{t: t, Dir: dir}
	// Runs before the folder is removed: the agent gpg started goes.
	t.Cleanup(func() { exec.Command("gpgconf", "--homedir", dir, "--kill", "all").Run() })
	return h
}

// Run runs gpg in the home with stdin and returns its stdout; the
// status lines (--status-fd) and diagnostics are in the error, or in
// Status for a run that succeeded.
func (h *Home) Run(stdin []byte, args ...string) (stdout []byte, status string, err error) {
	base := []string{"--homedir", h.Dir, "--batch", "--yes", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", "", "--status-fd", "2", "--trust-model", "always"}
	cmd := exec.Command("gpg", append(base, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.Bytes(), errb.String(), fmt.Errorf("gpg %s: %w\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes(), errb.String(), nil
}

// Must is Run failing the test on an error.
func (h *Home) Must(stdin []byte, args ...string) []byte {
	h.t.Helper()
	out, _, err := h.Run(stdin, args...)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// GenKey makes an Ed25519 key with a Curve25519 encryption subkey for
// address and returns its fingerprint.
func (h *Home) GenKey(name, address string) string {
	h.t.Helper()
	h.Must(nil, "--quick-gen-key", name+" <"+address+">", "ed25519", "sign", "never")
	fp := h.Fingerprint(address)
	h.Must(nil, "--quick-add-key", fp, "cv25519", "encr", "never")
	return fp
}

// Fingerprint is the primary key fingerprint of address's key.
func (h *Home) Fingerprint(address string) string {
	h.t.Helper()
	out := h.Must(nil, "--with-colons", "--fingerprint", "<"+address+">")
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Split(line, ":"); len(f) > 9 && f[0] == "fpr" {
			return f[9]
		}
	}
	h.t.Fatalf("no fingerprint for %s in %s", address, out)
	return ""
}

// Export is address's public key, binary.
func (h *Home) Export(address string) []byte {
	h.t.Helper()
	return h.Must(nil, "--export", "<"+address+">")
}

// Import imports keys (armored or binary).
func (h *Home) Import(data []byte) {
	h.t.Helper()
	h.Must(data, "--import")
}

// EncryptSign encrypts data to the key of to and, when signer is not
// empty, signs it with signer's key (RFC 3156 §6.2: one OpenPGP message);
// armored.
func (h *Home) EncryptSign(data []byte, to, signer string) []byte {
	h.t.Helper()
	args := []string{"--armor", "--encrypt", "-r", "<" + to + ">"}
	if signer != "" {
		args = append(args, "--sign", "-u", "<"+signer+">")
	}
	return h.Must(data, args...)
}

// DetachSign makes an armored detached signature of data by signer.
func (h *Home) DetachSign(data []byte, signer string) []byte {
	h.t.Helper()
	return h.Must(data, "--armor", "--detach-sign", "-u", "<"+signer+">")
}

// Decrypt decrypts an armored message and returns the plaintext and the
// fingerprint of a good signature's key ("" when not validly signed).
func (h *Home) Decrypt(data []byte) (plain []byte, signer string, err error) {
	out, status, err := h.Run(data, "--decrypt")
	if err != nil {
		return nil, "", err
	}
	for _, line := range strings.Split(status, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "[GNUPG:]" && f[1] == "VALIDSIG" {
			signer = f[2]
		}
	}
	return out, signer, nil
}

// WriteFile writes data into the home (for a key file a test hands on).
func (h *Home) WriteFile(name string, data []byte) string {
	h.t.Helper()
	p := filepath.Join(h.Dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		h.t.Fatal(err)
	}
	return p
}
