package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func oidcConfig(oidc string) string {
	return `
web:
  base_url: "https://tickets.example.com/help/"
  oidc:
` + oidc + `
projects:
  - key: ACME
    address: acme@support.example.com
    agents: [alice@example.com]
`
}

// TestOIDCConfig: a good web.oidc section loads, its secret file made
// absolute and read without its trailing newline; the button's name
// defaults to the issuer's host.
func TestOIDCConfig(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "oidc.secret"), []byte("s3cret\n"), 0o600)
	path := filepath.Join(dir, "config.yaml")
	os.WriteFile(path, []byte(oidcConfig(`
    issuer: https://login.example.com/realms/staff
    client_id: ticketgate-desk
    client_secret_file: oidc.secret
    redirect_url: https://tickets.example.com/help/desk/oidc/callback
`)), 0o600)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Web.OIDC
	if o == nil || o.ClientSecretFile != filepath.Join(dir, "oidc.secret") || o.ClientID != "ticketgate-desk" {
		t.Fatalf("web.oidc %+v", o)
	}
	if s, err := o.ClientSecret(); err != nil || s != "s3cret" {
		t.Errorf("secret %q %v", s, err)
	}
	if n := o.DisplayName(); n != "login.example.com" {
		t.Errorf("display name %q", n)
	}
	o.Name = "Staff login"
	if n := o.DisplayName(); n != "Staff login" {
		t.Errorf("display name %q", n)
	}
	if w := cfg.SecretFileWarnings(); len(w) != 0 {
		t.Errorf("warnings %q", w)
	}
	os.Chmod(o.ClientSecretFile, 0o644)
	if w := cfg.SecretFileWarnings(); len(w) != 1 || !strings.HasPrefix(w[0], "web.oidc.client_secret_file: ") {
		t.Errorf("warnings %q", w)
	}
}

// TestOIDCValidation: every problem of web.oidc is reported with its key,
// and the secret file is checked (missing, empty) without showing what it
// holds.
func TestOIDCValidation(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.secret")
	os.WriteFile(empty, []byte("\n"), 0o600)
	for _, c := range []struct {
		name, oidc string
		want       []string
	}{
		{"nothing set", `
    name: Staff`, []string{
			"web.oidc.issuer: required",
			"web.oidc.client_id: required",
			"web.oidc.client_secret_file: required",
			"web.oidc.redirect_url: required: register https://tickets.example.com/help/desk/oidc/callback at the identity provider",
		}},
		{"plain http issuer, callback elsewhere, missing file", `
    issuer: http://login.example.com
    client_id: x
    client_secret_file: ` + filepath.Join(dir, "missing") + `
    redirect_url: https://tickets.example.com/desk/oidc/callback`, []string{
			`web.oidc.issuer: must be an https URL without query (http only for a loopback host), got "http://login.example.com"`,
			`web.oidc.redirect_url: must be the desk's callback under web.base_url, https://tickets.example.com/help/desk/oidc/callback, got "https://tickets.example.com/desk/oidc/callback"`,
			"web.oidc.client_secret_file: read secret",
		}},
		{"other host, empty secret", `
    issuer: https://login.example.com?x=1
    client_id: x
    client_secret_file: ` + empty + `
    redirect_url: https://evil.example.com/help/desk/oidc/callback`, []string{
			`web.oidc.issuer: must be an https URL without query`,
			`web.oidc.redirect_url: must be the desk's callback under web.base_url`,
			"web.oidc.client_secret_file: secret file " + empty + " is empty",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := problems(t, oidcConfig(c.oidc))
			for _, w := range c.want {
				found := false
				for _, g := range got {
					if strings.HasPrefix(g, w) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing %q in\n%s", w, strings.Join(got, "\n"))
				}
			}
		})
	}
	// A loopback issuer may be plain http (a provider on the same host).
	cfg := Default()
	cfg.Web.BaseURL = "http://127.0.0.1:8080"
	cfg.Web.OIDC = &OIDC{Issuer: "http://127.0.0.1:5556/dex", ClientID: "x", ClientSecretFile: "/s", RedirectURL: "http://127.0.0.1:8080/desk/oidc/callback"}
	if errs := cfg.validateOIDC(); len(errs) != 0 {
		t.Errorf("loopback issuer refused: %v", errs)
	}
}
