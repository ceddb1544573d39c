package main

import (
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckConfigOIDC: check-config reports every problem of web.oidc
// with its key (a plain-http issuer off loopback, a redirect_url that is
// not the desk's callback, a secret file it cannot read), passes a good
// section without printing the secret, warns about a secret file every
// user may read, and with --user checks that the service user can read it.
func TestCheckConfigOIDC(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, "")
	raw, _ := os.ReadFile(path)
	withOIDC := func(oidc string) {
		y := strings.Replace(string(raw), `base_url: "http://127.0.0.1" }`, `base_url: "http://127.0.0.1", oidc: {`+oidc+`} }`, 1)
		if y == string(raw) {
			t.Fatal("the test config's web line changed")
		}
		os.WriteFile(path, []byte(y), 0o600)
	}
	withOIDC(`issuer: "http://login.example.com", client_id: desk, client_secret_file: oidc.secret, redirect_url: "http://127.0.0.1/desk/callback"`)
	code, _, stderr := runCmd([]string{"check-config", "-c", path}, "")
	for _, want := range []string{
		`web.oidc.issuer: must be an https URL without query (http only for a loopback host), got "http://login.example.com"`,
		`web.oidc.redirect_url: must be the desk's callback under web.base_url, http://127.0.0.1/desk/oidc/callback`,
		"web.oidc.client_secret_file: read secret",
	} {
		if code != exitConfig || !strings.Contains(stderr, want) {
			t.Errorf("exit %d, no %q in:\n%s", code, want, stderr)
		}
	}

	secret := filepath.Join(dir, "oidc.secret")
	os.WriteFile(secret, []byte("very-secret-value\n"), 0o600)
	withOIDC(`issuer: "https://login.example.com/realms/staff", client_id: desk, client_secret_file: oidc.secret, redirect_url: "http://127.0.0.1/desk/oidc/callback", name: Staff SSO`)
	code, out, stderr := runCmd([]string{"check-config", "-c", path, "--user", "no-such-user-here"}, "")
	if code != exitConfig || strings.Contains(out+stderr, "very-secret-value") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := runCmd([]string{"check-config", "-c", path, "--user", u.Username}, ""); code != exitOK || strings.Contains(out+stderr, "very-secret-value") {
		t.Fatalf("good web.oidc: exit %d\n%s%s", code, out, stderr)
	}
	os.Chmod(secret, 0o644)
	if _, _, stderr := runCmd([]string{"check-config", "-c", path, "--user", u.Username}, ""); !strings.Contains(stderr, "warning: web.oidc.client_secret_file: "+secret+" is readable by every user") {
		t.Errorf("no warning for a world-readable secret:\n%s", stderr)
	}
	if os.Geteuid() == 0 {
		// The service user (here nobody) cannot read root's 0600 file.
		os.Chmod(secret, 0o600)
		if nobody, err := user.Lookup("nobody"); err == nil {
			_, _, stderr := runCmd([]string{"check-config", "-c", path, "--user", nobody.Username}, "")
			if !strings.Contains(stderr, "web.oidc.client_secret_file: user nobody cannot read "+secret) {
				t.Errorf("--user nobody:\n%s", stderr)
			}
		}
	}
}
