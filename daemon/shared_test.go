package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/internal/pgtest"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// TestFormPostedToAnotherNode: two nodes on one PostgreSQL store. The
// ticket page served by one node carries a close form whose CSRF token is
// signed with the installation's key; posted to the other node it is
// accepted (303, the ticket is closed), while a forged token is refused
// there.
func TestFormPostedToAnotherNode(t *testing.T) {
	srv := pgtest.Start(t)
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	a := start(t, postgresConfig(t, srv, "form", sink))
	b := start(t, postgresConfig(t, srv, "form", sink))
	mustSend(t, a.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		msg("carl@customer.example", "acme@support.example.com", "Printer", "form1@customer.example", "it is on fire"))
	ar := to(waitMessages(t, sink, 2), "carl@customer.example")
	if len(ar) != 1 {
		t.Fatalf("%d mails to the customer, want the auto-reply", len(ar))
	}
	link := linkRE.FindStringSubmatch(textBody(t, ar[0]))
	if link == nil {
		t.Fatal("no link in the auto-reply")
	}
	resp, err := http.Get("http://" + a.Addr("web") + link[1])
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := closeFormRE.FindStringSubmatch(string(page))
	if form == nil {
		t.Fatalf("node A's page offers no close form:\n%s", page)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(csrf string) int {
		resp, err := noRedirect.PostForm("http://"+b.Addr("web")+form[1], url.Values{"csrf": {csrf}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("forged" + form[2]); code == http.StatusSeeOther {
		t.Fatal("node B accepted a forged CSRF token")
	}
	if tk, _ := ticketOf(t, b, "ACME-1"); !tk.Closed.IsZero() {
		t.Fatal("closed by a forged form")
	}
	if code := post(form[2]); code != http.StatusSeeOther {
		t.Fatalf("node A's form posted to node B: %d, want 303", code)
	}
	if tk, _ := ticketOf(t, a, "ACME-1"); tk.Closed.IsZero() {
		t.Fatalf("after the close posted to node B, node A sees status %q", tk.Status)
	}
}

// TestFloodCountsSharedAcrossNodes: the new-ticket limit per sender
// counts in the shared store, so a sender spreading mail over two nodes
// is held back after the limit, on either node.
func TestFloodCountsSharedAcrossNodes(t *testing.T) {
	srv := pgtest.Start(t)
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	cfg := func() *config.Config {
		c := postgresConfig(t, srv, "flood", sink)
		c.Limits.NewTicketsPerSender = config.Rate{Count: 2, Per: time.Hour}
		return c
	}
	nodes := []*Daemon{start(t, cfg()), start(t, cfg())}
	flood := func(d *Daemon, i int) error {
		return send(t, d.Addr("smtp"), "spammer@evil.example", []string{"acme@support.example.com"},
			msg("spammer@evil.example", "acme@support.example.com", fmt.Sprintf("offer %d", i), fmt.Sprintf("flood%d@evil.example", i), "buy"))
	}
	for i := range 2 {
		if err := flood(nodes[i], i); err != nil {
			t.Fatalf("message %d (to node %d) within the limit: %v", i, i, err)
		}
	}
	for i := 2; i < 4; i++ {
		var se *smtp.SMTPError
		if err := flood(nodes[i%2], i); !errors.As(err, &se) || se.Code != 451 {
			t.Errorf("new ticket %d from the sender, to node %d: %v, want 451 (the other node's tickets count)", i+1, i%2, err)
		}
	}
}

// TestSigningKeyInTheStore: on bbolt too the signing key lives in the
// store (so `store copy` and backups carry it): a data_dir's old
// secret.key is adopted on the first start, and the key stays when the
// file is gone.
func TestSigningKeyInTheStore(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	old := bytes.Repeat([]byte("k"), 32)
	if err := os.WriteFile(filepath.Join(dir, SecretName), old, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Start(testConfig(t, dir, sink), testLogger(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var stored []byte
	d.Store().View(func(tx store.Tx) error { stored = tx.Meta(secretMeta); return nil })
	d.Shutdown(context.Background())
	if !bytes.Equal(d.secret, old) || !bytes.Equal(stored, old) {
		t.Fatalf("the data_dir's key was not adopted into the store (in use %q, stored %q)", d.secret, stored)
	}
	os.Remove(filepath.Join(dir, SecretName))
	d = start(t, testConfig(t, dir, sink))
	if !bytes.Equal(d.secret, old) {
		t.Fatalf("without the file, the key changed to %q", d.secret)
	}
}
