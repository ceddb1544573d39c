package desk

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// TestNoSessionSendsToSignIn: without a session every desk URL, GET or
// POST, known or not, leads to the sign-in page and changes nothing.
func TestNoSessionSendsToSignIn(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	for _, u := range []string{"/desk/", "/desk/?view=mine&q=zanzibarian", "/desk/t/ACME-1", "/desk/t/ACME-1/att/1/0", "/desk/t/ACME-1/raw/1", "/desk/t/NOPE-9", "/desk/whatever/else"} {
		resp, err := c.Get(e.srv.URL + u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/desk/signin" {
			t.Errorf("GET %s without a session: %d → %q", u, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	for _, u := range []string{"/desk/bulk", "/desk/t/ACME-1/reply", "/desk/t/ACME-1/do", "/desk/signout"} {
		resp, _ := e.post(c, u, url.Values{"op": {"status"}, "arg": {"closed"}, "text": {"x"}, "key": {"ACME-1"}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/desk/signin" {
			t.Errorf("POST %s without a session: %d → %q", u, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if tk, msgs := e.ticket("ACME-1"); tk.Status != "new" || len(msgs) != 1 {
		t.Errorf("a POST without a session changed the ticket: %s, %d messages", tk.Status, len(msgs))
	}
}

// TestSignInRevealsNothing: an agent, a customer, an unknown and a
// malformed address get the same answer; only the agent gets mail.
func TestSignInRevealsNothing(t *testing.T) {
	e := newEnv(t)
	var first string
	for i, addr := range []string{"alice@example.com", "carl@customer.example", "nobody@nowhere.example", "not an address", "ALICE@example.com"} {
		code, body := e.requestLink(e.browser(), addr)
		if code != http.StatusOK {
			t.Errorf("%s: %d", addr, code)
		}
		if i == 0 {
			first = body
		} else if body != first {
			t.Errorf("the answer for %q differs from an agent's:\n%s\n---\n%s", addr, body, first)
		}
	}
	mails := e.signInMails()
	if len(mails) != 1 || len(mails["alice@example.com"]) != 2 {
		t.Fatalf("sign-in mail went to %v, want alice twice (her address in two spellings) and nobody else", mails)
	}
}

// TestSignInLinkOnceInItsBrowserAndFresh: a link works once, only in the
// browser that asked for it (another browser's try does not use it up),
// and not after 15 minutes.
func TestSignInLinkOnceInItsBrowserAndFresh(t *testing.T) {
	e := newEnv(t)
	asker := e.browser()
	e.requestLink(asker, "alice@example.com")
	link := e.signInMails()["alice@example.com"][0]

	thief := e.browser()
	e.get(thief, "/desk/signin") // it has a binding cookie of its own
	if resp := e.confirm(thief, link); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another browser used the link: %d", resp.StatusCode)
	}
	if code, _ := e.get(thief, "/desk/"); code != http.StatusSeeOther {
		t.Fatalf("the other browser got a session: %d", code)
	}
	if resp := e.confirm(asker, link); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the asking browser could not use its link after another's try: %d", resp.StatusCode)
	}
	if code, _ := e.get(asker, "/desk/"); code != http.StatusOK {
		t.Fatalf("no session after the link: %d", code)
	}
	// Used: it fails, even in the browser that asked (signed out first).
	fresh := e.browser()
	e.requestLink(fresh, "alice@example.com")
	if resp := e.confirm(asker, link); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a used link worked again: %d", resp.StatusCode)
	}
	// Expired: 15 minutes and a second later it fails.
	links := e.signInMails()["alice@example.com"]
	e.now.Add(int64(SignInTTL + time.Second))
	if resp := e.confirm(fresh, links[len(links)-1]); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an expired link worked: %d", resp.StatusCode)
	}
	if code, _ := e.get(fresh, "/desk/"); code != http.StatusSeeOther {
		t.Fatalf("an expired link gave a session: %d", code)
	}
}

// TestSignInRateLimits: past five requests per address in 15 minutes no
// more mail goes out (with the same answer); past twenty per client the
// client is told to wait.
func TestSignInRateLimits(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	for range 7 {
		if code, _ := e.requestLink(c, "alice@example.com"); code != http.StatusOK {
			t.Fatalf("request: %d", code)
		}
	}
	if n := len(e.signInMails()["alice@example.com"]); n != perAddressMax {
		t.Fatalf("%d links mailed for 7 requests, want %d", n, perAddressMax)
	}
	for i := 7; i < perClientMax; i++ {
		e.requestLink(c, "x@nowhere.example")
	}
	if code, _ := e.requestLink(c, "bob@example.org"); code != http.StatusTooManyRequests {
		t.Fatalf("request over the client's limit: %d", code)
	}
	if len(e.signInMails()["bob@example.org"]) != 0 {
		t.Fatal("mail sent over the client's limit")
	}
	e.now.Add(int64(2 * signInWindow))
	if code, _ := e.requestLink(c, "bob@example.org"); code != http.StatusOK || len(e.signInMails()["bob@example.org"]) != 1 {
		t.Fatalf("after the window: %d, %v", code, e.signInMails()["bob@example.org"])
	}
}

// TestCrossSitePostRefused: a POST without the session's token (what a
// foreign page can send) is refused and changes nothing; with it, the
// same change works.
func TestCrossSitePostRefused(t *testing.T) {
	e := newEnv(t)
	c := e.signIn("alice@example.com")
	for _, form := range []url.Values{
		{"op": {"status"}, "arg": {"closed"}},
		{"op": {"status"}, "arg": {"closed"}, "csrf": {"forged"}},
	} {
		resp, _ := e.post(c, "/desk/t/ACME-1/do", form)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST with csrf %q: %d", form.Get("csrf"), resp.StatusCode)
		}
	}
	if tk, _ := e.ticket("ACME-1"); tk.Status != "new" {
		t.Fatalf("a forged POST changed the status to %s", tk.Status)
	}
	// Another agent's token is no good either.
	other := e.csrf(e.signIn("adam@example.com"))
	if resp, _ := e.post(c, "/desk/t/ACME-1/do", url.Values{"op": {"status"}, "arg": {"closed"}, "csrf": {other}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST with another session's token: %d", resp.StatusCode)
	}
	resp, _ := e.post(c, "/desk/t/ACME-1/do", url.Values{"op": {"status"}, "arg": {"open"}, "csrf": {e.csrf(c)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST with the token: %d", resp.StatusCode)
	}
	if tk, _ := e.ticket("ACME-1"); tk.Status != "open" {
		t.Fatalf("status after the real POST: %s", tk.Status)
	}
}

// TestOtherProjectIsNotFound: an agent of BETA gets 404 for ACME's
// ticket, attachment and raw message, no ACME hit for a word both hold,
// and cannot change ACME's ticket; the same paths work for BETA's.
func TestOtherProjectIsNotFound(t *testing.T) {
	e := newEnv(t)
	bob := e.signIn("bob@example.org")
	for _, u := range []string{"/desk/t/ACME-1", "/desk/t/acme-1", "/desk/t/ACME-1/att/1/0", "/desk/t/ACME-1/raw/1"} {
		if code, body := e.get(bob, u); code != http.StatusNotFound || strings.Contains(body, "zanzibarian") {
			t.Errorf("BETA's agent GET %s: %d", u, code)
		}
	}
	for _, u := range []string{"/desk/t/BETA-1", "/desk/t/BETA-1/att/2/0", "/desk/t/BETA-1/raw/2"} {
		if code, _ := e.get(bob, u); code != http.StatusOK {
			t.Errorf("BETA's agent GET %s (their own): %d", u, code)
		}
	}
	_, page := e.get(bob, "/desk/?view=open&q=zanzibarian")
	if strings.Contains(page, "ACME-1") || !strings.Contains(page, "BETA-1") {
		t.Errorf("BETA's agent searching a word of both tickets:\n%s", page)
	}
	_, page = e.get(bob, "/desk/?view=open")
	if strings.Contains(page, "ACME") {
		t.Error("BETA's queue shows ACME")
	}
	token := e.csrf(bob)
	resp, _ := e.post(bob, "/desk/t/ACME-1/do", url.Values{"op": {"status"}, "arg": {"closed"}, "csrf": {token}})
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("BETA's agent changing ACME-1: %d", resp.StatusCode)
	}
	resp, body := e.post(bob, "/desk/bulk", url.Values{"key": {"ACME-1"}, "op": {"status"}, "arg": {"closed"}, "csrf": {token}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "ACME-1: not found") {
		t.Errorf("BETA's agent bulk-closing ACME-1: %d\n%s", resp.StatusCode, body)
	}
	// Merging BETA-1 into ACME-1 names a ticket bob cannot see.
	resp, _ = e.post(bob, "/desk/t/BETA-1/do", url.Values{"op": {"merge"}, "arg": {"ACME-1"}, "csrf": {token}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("merge into another project's ticket: %d", resp.StatusCode)
	}
	if tk, _ := e.ticket("ACME-1"); tk.Status != "new" {
		t.Fatalf("ACME-1 changed by BETA's agent: %s", tk.Status)
	}
}

// TestSpamIsForAdmins: an agent cannot mark spam or block; an admin can.
func TestSpamIsForAdmins(t *testing.T) {
	e := newEnv(t)
	alice := e.signIn("alice@example.com")
	resp, _ := e.post(alice, "/desk/t/ACME-1/do", url.Values{"op": {"spam"}, "csrf": {e.csrf(alice)}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("an agent marking spam: %d", resp.StatusCode)
	}
	_, page := e.get(alice, "/desk/t/ACME-1")
	if strings.Contains(page, `value="spam"`) {
		t.Error("an agent is offered the spam button")
	}
	adam := e.signIn("adam@example.com")
	resp, _ = e.post(adam, "/desk/t/ACME-1/do", url.Values{"op": {"spam"}, "csrf": {e.csrf(adam)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("an admin marking spam: %d", resp.StatusCode)
	}
	tk, _ := e.ticket("ACME-1")
	var blocked *store.Block
	e.db.View(func(tx store.Tx) error { blocked, _ = tx.Blocked("ACME", "carl@customer.example"); return nil })
	if tk.Status != "cancelled" || blocked == nil {
		t.Fatalf("after spam: status %s, block %v", tk.Status, blocked)
	}
}

// TestStalePageWarns: a reply to a ticket that changed since the page was
// loaded shows what is new and keeps the text; nothing is sent until the
// agent sends it anyway.
func TestStalePageWarns(t *testing.T) {
	e := newEnv(t)
	c := e.signIn("alice@example.com")
	_, page := e.get(c, "/desk/t/ACME-1")
	seen := regexpSeen.FindStringSubmatch(page)[1]
	e.now.Add(int64(time.Minute))
	if _, err := e.eng.Comment(context.Background(), "ACME-1", "adam@example.com", "Adam answered meanwhile.", false); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"csrf": {e.csrf(c)}, "seen": {seen}, "text": {"My answer"}}
	resp, body := e.post(c, "/desk/t/ACME-1/reply", form)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, `id="stale"`) || !strings.Contains(body, "My answer") || !strings.Contains(body, "message ours new") {
		t.Fatalf("stale reply: %d\n%s", resp.StatusCode, body)
	}
	if _, msgs := e.ticket("ACME-1"); len(msgs) != 2 {
		t.Fatalf("the stale reply was stored: %d messages", len(msgs))
	}
	form.Set("force", "1")
	if resp, _ := e.post(c, "/desk/t/ACME-1/reply", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("send anyway: %d", resp.StatusCode)
	}
	if _, msgs := e.ticket("ACME-1"); len(msgs) != 3 || msgs[2].Text != "My answer" || msgs[2].Source != "desk" {
		t.Fatalf("after send anyway: %+v", msgs[len(msgs)-1])
	}
}

// TestSessionsEnd: signing out, idling 12 hours, 7 days in all, and
// leaving the config end a session; Prune removes them from the store.
func TestSessionsEnd(t *testing.T) {
	e := newEnv(t)
	out := e.signIn("alice@example.com")
	if resp, _ := e.post(out, "/desk/signout", url.Values{"csrf": {e.csrf(out)}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	if code, _ := e.get(out, "/desk/"); code != http.StatusSeeOther {
		t.Fatal("still signed in after signing out")
	}

	idle := e.signIn("alice@example.com")
	busy := e.signIn("adam@example.com")
	for range 13 {
		e.now.Add(int64(time.Hour - time.Minute))
		if code, _ := e.get(busy, "/desk/"); code != http.StatusOK {
			t.Fatal("a used session ended before 7 days")
		}
	}
	if code, _ := e.get(idle, "/desk/"); code != http.StatusSeeOther {
		t.Fatal("a session idle for 12 hours still works")
	}
	removed := e.signIn("bob@example.org")
	cfg := testConfig(t)
	cfg.Projects[1].Agents = nil
	if err := cfg.Finalize(); err != nil {
		t.Fatal(err)
	}
	e.cfg.Store(cfg)
	if code, _ := e.get(removed, "/desk/"); code != http.StatusSeeOther {
		t.Fatal("a removed agent's session still works")
	}
	n, err := e.h.Prune(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("pruned %d (%v), want alice's idle and bob's", n, err)
	}
	for range 7 {
		e.now.Add(int64(23 * time.Hour))
		e.get(busy, "/desk/")
	}
	if code, _ := e.get(busy, "/desk/"); code != http.StatusSeeOther {
		t.Fatal("a session older than 7 days still works")
	}
}
