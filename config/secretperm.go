package config

import (
	"fmt"
	"os"
)

// SecretFileWarnings names every secret file (relay and IMAP passwords,
// OAuth2 secrets, admin tokens) that any user of the machine may read:
// the README says to keep them 0600, and a config that works is no proof
// that they are. A file that cannot be examined is not reported here
// (Load reports the ones it needs).
func (c *Config) SecretFileWarnings() []string {
	type secret struct{ key, path string }
	var files []secret
	add := func(key, path string) {
		if path != "" {
			files = append(files, secret{key, path})
		}
	}
	if c.Outbound.Transport == "smtp" {
		add("outbound.smtp.password_file", c.Outbound.SMTP.PasswordFile)
		if o := c.Outbound.SMTP.OAuth2; o != nil {
			add("outbound.smtp.oauth2.client_secret_file", o.ClientSecretFile)
			add("outbound.smtp.oauth2.refresh_token_file", o.RefreshTokenFile)
		}
	}
	for i := range c.Projects {
		m := c.Projects[i].IMAP
		if m == nil {
			continue
		}
		pre := fmt.Sprintf("projects[%d].imap", i)
		add(pre+".password_file", m.PasswordFile)
		if o := m.OAuth2; o != nil {
			add(pre+".oauth2.client_secret_file", o.ClientSecretFile)
			add(pre+".oauth2.refresh_token_file", o.RefreshTokenFile)
		}
	}
	for i, t := range c.Admin.Tokens {
		add(fmt.Sprintf("admin.tokens[%d].token_file", i), t.TokenFile)
	}
	for i := range c.Projects {
		for j, w := range c.Projects[i].Webhooks {
			pre := fmt.Sprintf("projects[%d].webhooks[%d]", i, j)
			add(pre+".url_file", w.URLFile)
			add(pre+".secret_file", w.SecretFile)
		}
	}
	if o := c.Web.OIDC; o != nil {
		add("web.oidc.client_secret_file", o.ClientSecretFile)
	}
	var out []string
	for _, f := range files {
		fi, err := os.Stat(f.path)
		if err != nil {
			continue
		}
		if fi.Mode().Perm()&0o004 != 0 {
			out = append(out, fmt.Sprintf("%s: %s is readable by every user (mode %04o); make it 0600 or 0640", f.key, f.path, fi.Mode().Perm()))
		}
	}
	return out
}
