package config

import (
	"net/url"
	"strings"
)

// OIDCCallbackPath is where the desk takes the identity provider's answer,
// under web.base_url: web.oidc.redirect_url must name it.
const OIDCCallbackPath = "/desk/oidc/callback"

// OIDC lets agents sign in to the desk with the team's OpenID Connect
// identity provider (issue 22), next to the mailed link. Only a verified
// email that is a configured agent or admin is accepted.
type OIDC struct {
	// Issuer is the provider's issuer URL (its discovery document is at
	// Issuer/.well-known/openid-configuration): https, or http for a
	// loopback host.
	Issuer string `mapstructure:"issuer"`
	// ClientID is the desk's client at the provider.
	ClientID string `mapstructure:"client_id"`
	// ClientSecretFile holds the client's secret; it is read when a
	// sign-in needs it and never logged.
	ClientSecretFile string `mapstructure:"client_secret_file"`
	// RedirectURL is the callback registered at the provider:
	// <web.base_url>/desk/oidc/callback.
	RedirectURL string `mapstructure:"redirect_url"`
	// Name is shown on the button ("Sign in with <name>"). Default: the
	// issuer's host.
	Name string `mapstructure:"name"`
}

// DisplayName is the provider's name for the sign-in button.
func (o *OIDC) DisplayName() string {
	if o.Name != "" {
		return o.Name
	}
	if u, err := url.Parse(o.Issuer); err == nil && u.Host != "" {
		return u.Hostname()
	}
	return o.Issuer
}

// ClientSecret reads the client secret from client_secret_file.
func (o *OIDC) ClientSecret() (string, error) { return SecretFromFile(o.ClientSecretFile) }

// validateOIDC checks web.oidc without I/O.
func (c *Config) validateOIDC() []error {
	o := c.Web.OIDC
	if o == nil {
		return nil
	}
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, fieldErr(key, format, args...)) }
	u, err := url.Parse(o.Issuer)
	switch {
	case o.Issuer == "":
		add("web.oidc.issuer", "required")
	case err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
		(u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname()))):
		add("web.oidc.issuer", "must be an https URL without query (http only for a loopback host), got %q", o.Issuer)
	}
	if strings.TrimSpace(o.ClientID) == "" {
		add("web.oidc.client_id", "required")
	}
	if o.ClientSecretFile == "" {
		add("web.oidc.client_secret_file", "required")
	}
	want := c.Web.BaseURL + OIDCCallbackPath
	r, err := url.Parse(o.RedirectURL)
	switch {
	case o.RedirectURL == "":
		add("web.oidc.redirect_url", "required: register %s at the identity provider and name it here", want)
	case err != nil || !sameCallback(r, c.Web.BaseURL):
		add("web.oidc.redirect_url", "must be the desk's callback under web.base_url, %s, got %q", want, o.RedirectURL)
	}
	return errs
}

// sameCallback reports whether r is the desk's callback under base.
func sameCallback(r *url.URL, base string) bool {
	b, err := url.Parse(base)
	if err != nil {
		return false
	}
	return strings.EqualFold(r.Scheme, b.Scheme) && strings.EqualFold(r.Host, b.Host) && r.User == nil &&
		r.RawQuery == "" && r.Fragment == "" && r.Path == strings.TrimRight(b.Path, "/")+OIDCCallbackPath
}

// checkOIDCFiles reads web.oidc.client_secret_file (I/O, which Validate
// must not do).
func (c *Config) checkOIDCFiles() []error {
	o := c.Web.OIDC
	if o == nil || o.ClientSecretFile == "" {
		return nil
	}
	if _, err := o.ClientSecret(); err != nil {
		return []error{&FieldError{Key: "web.oidc.client_secret_file", Msg: err.Error(), Err: err}}
	}
	return nil
}

// resolveOIDCPaths makes client_secret_file absolute.
func (c *Config) resolveOIDCPaths(abs func(string) string) {
	if o := c.Web.OIDC; o != nil {
		o.ClientSecretFile = abs(o.ClientSecretFile)
	}
}
