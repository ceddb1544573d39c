package daemon

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// TestDeskOIDCProviderDownDoesNotBlockStart: with web.oidc naming a
// provider that accepts connections but never answers, the daemon starts
// without contacting it and the desk's sign-in page shows the provider's
// button; once the provider refuses connections, its button answers the
// "cannot be reached" page at once.
func TestDeskOIDCProviderDownDoesNotBlockStart(t *testing.T) {
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var dialed atomic.Int64
	held := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			dialed.Add(1)
			held <- c
		}
	}()
	t.Cleanup(func() {
		hang.Close()
		for len(held) > 0 {
			(<-held).Close()
		}
	})
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := testConfig(t, t.TempDir(), sink)
	secret := filepath.Join(t.TempDir(), "oidc.secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Web.OIDC = &config.OIDC{Issuer: "http://" + hang.Addr().String(), ClientID: "ticketgate-desk", ClientSecretFile: secret,
		RedirectURL: c.Web.BaseURL + config.OIDCCallbackPath, Name: "Staff SSO"}
	if errs := c.Validate(); len(errs) != 0 {
		t.Fatalf("config: %v", errs)
	}
	d := start(t, c)
	web := "http://" + d.Addr("web")
	resp, err := http.Get(web + "/desk/signin")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Sign in with Staff SSO") {
		t.Fatalf("sign-in page %d:\n%s", resp.StatusCode, page)
	}
	if n := dialed.Load(); n != 0 {
		t.Fatalf("the daemon contacted the provider %d time(s) before anyone pressed its button", n)
	}
	hang.Close() // now down for good: connections are refused
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.Get(web + "/desk/oidc")
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(page), "Staff SSO cannot be reached right now") {
		t.Fatalf("button while the provider is down: %d\n%s", resp.StatusCode, page)
	}
}
