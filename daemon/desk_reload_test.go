package daemon

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"testing"

	"github.com/ticketgate/ticketgate/store"
)

// TestDeskReloadEndsRemovedAgent: a signed-in agent's /a/ link leads to the
// desk's page of its ticket; after a reload (what SIGHUP runs) that
// removes her from the config, her session cookie answers like none (to
// the sign-in page), her /a/ link answers 404, and her sessions are gone
// from the store. Mail is read from the outbound maildir.
func TestDeskReloadEndsRemovedAgent(t *testing.T) {
	cfg := maildirConfig(t, t.TempDir())
	box := openMaildir(t, cfg.Outbound.Maildir.Path)
	d := start(t, cfg)
	web := "http://" + d.Addr("web")
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		msg("Carl <carl@customer.example>", "acme@support.example.com", "Printer on fire", "p1@customer.example", "It burns."))
	agentLink := regexp.MustCompile(`http://ticketgate\.test(/a/[a-z0-9]+)`).FindStringSubmatch(textBody(t, box.mailTo("alice@example.com", "ACME-1")))
	if agentLink == nil {
		t.Fatal("no agent link in alice's notification")
	}

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(web + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	csrfRE := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	post := func(path, page string, form url.Values) *http.Response {
		t.Helper()
		m := csrfRE.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no CSRF token on the page before POST %s:\n%s", path, page)
		}
		form.Set("csrf", m[1])
		resp, err := c.PostForm(web+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	_, page := get("/desk/signin")
	post("/desk/signin", page, url.Values{"address": {"alice@example.com"}})
	link := deskLinkRE.FindStringSubmatch(textBody(t, box.mailTo("alice@example.com", "/desk/signin/")))
	if link == nil {
		t.Fatal("no sign-in link in the maildir")
	}
	_, page = get(link[1])
	if resp := post(link[1], page, url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirming the sign-in link: %d", resp.StatusCode)
	}
	if resp, _ := get(agentLink[1]); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/desk/t/ACME-1" {
		t.Fatalf("a signed-in agent's /a/ link: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := get("/desk/t/ACME-1"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the desk's page of ACME-1: %d", resp.StatusCode)
	}

	next := maildirConfig(t, cfg.DataDir)
	next.Projects[0].Agents = []string{"someone@example.com"}
	if err := next.Finalize(); err != nil {
		t.Fatal(err)
	}
	d.Reload(next)
	for _, path := range []string{"/desk/", "/desk/t/ACME-1"} {
		if resp, _ := get(path); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/desk/signin" {
			t.Errorf("after the reload, %s with alice's cookie: %d → %q", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if resp, body := get(agentLink[1]); resp.StatusCode != http.StatusNotFound {
		t.Errorf("after the reload alice's /a/ link: %d\n%s", resp.StatusCode, body)
	}
	var left []*store.Session
	if err := d.Store().View(func(tx store.Tx) (err error) { left, err = tx.Sessions("alice@example.com"); return err }); err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("alice keeps %d session(s) in the store after the reload", len(left))
	}
}
