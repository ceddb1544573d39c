package daemon

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/admin"
	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// unixUser is this test process's Unix user name: the one the kernel
// reports (SO_PEERCRED) when the test opens admin.sock.
func unixUser(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

func statusCode(err error) int {
	var se *admin.StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func writeToken(t *testing.T, dir, name, tok string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// outboxItemOf waits for a queued item of project and returns its id.
func outboxItemOf(t *testing.T, d *Daemon, project string) uint64 {
	t.Helper()
	var id uint64
	waitUntil(t, d, "an outbox item of "+project, func() bool {
		d.Store().View(func(tx store.Tx) error {
			items, _, err := tx.DueOutbox(time.Unix(1<<40, 0), 1000)
			for _, it := range items {
				if it.Project == project {
					id = it.ID
				}
			}
			return err
		})
		return id != 0
	})
	return id
}

// TestAdminAgentSeesOnlyOwnProjects is the attack of issue 15 item 6: an
// agent of BETA lists and reads ACME tickets with their internal notes,
// downloads the whole backup and drops a queued ACME mail — on the unix
// socket (caller from SO_PEERCRED through admin.users, --as not trusted)
// and on TCP (caller from the token).
func TestAdminAgentSeesOnlyOwnProjects(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	dir := t.TempDir()
	c := testConfig(t, filepath.Join(dir, "data"), sink)
	// This process's Unix user is bob, agent of BETA only.
	c.Admin.Users = map[string]string{unixUser(t): "bob@example.org"}
	c.Admin.Listen = "127.0.0.1:0"
	c.Admin.Tokens = []config.AdminToken{{Agent: "bob@example.org", TokenFile: writeToken(t, dir, "bob.token", "token-of-bob-0123456789abcdef")}}
	d := start(t, c)
	// The relay defers everything: the notifications stay queued.
	sink.FailNext(mailouttest.AtMail, 1_000_000, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "later"})
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		msg("carl@customer.example", "acme@support.example.com", "ACME secret", "acme1@customer.example", "the ACME customer's private matter"))
	mustSend(t, d.Addr("smtp"), "dora@customer.example", []string{"beta@help.example.org"},
		msg("dora@customer.example", "beta@help.example.org", "BETA question", "beta1@customer.example", "hello BETA"))
	// An ACME mail with a file: its download is ACME's too.
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		withAttachments("carl@customer.example", "ACME file", "acme2@customer.example", 1))
	acmeItem := outboxItemOf(t, d, "ACME")
	outboxItemOf(t, d, "BETA")
	waitUntil(t, d, "ACME-2 stored", func() bool {
		return d.Store().View(func(tx store.Tx) error { _, err := tx.Ticket("ACME-2"); return err }) == nil
	})

	sock := admin.NewSocketClient(filepath.Join(c.DataDir, AdminSocketName))
	tcp := admin.NewTCPClient("http://"+d.Addr("admin-tcp"), "token-of-bob-0123456789abcdef", nil)
	ctx := context.Background()
	for name, cl := range map[string]*admin.Client{"socket": sock, "tcp": tcp} {
		t.Run(name, func(t *testing.T) {
			list, err := cl.Tickets(ctx, "", "", "", "")
			if err != nil || len(list) != 1 || list[0].Key != "BETA-1" {
				t.Errorf("tickets: %+v %v, want only BETA-1", list, err)
			}
			if _, err := cl.Tickets(ctx, "ACME", "", "", ""); statusCode(err) != http.StatusForbidden {
				t.Errorf("tickets --project ACME: %v, want 403", err)
			}
			if _, err := cl.Ticket(ctx, "ACME-1"); statusCode(err) != http.StatusNotFound {
				t.Errorf("show ACME-1: %v, want 404", err)
			}
			if err := cl.Call(ctx, http.MethodGet, "/api/tickets/ACME-2/attachments/1", nil, nil); statusCode(err) != http.StatusNotFound {
				t.Errorf("download of an ACME attachment: %v, want 404", err)
			}
			if d, err := cl.Ticket(ctx, "BETA-1"); err != nil || d.Ticket.Subject != "BETA question" {
				t.Errorf("show BETA-1: %v", err)
			}
			if err := cl.Backup(ctx, io.Discard); statusCode(err) != http.StatusForbidden {
				t.Errorf("backup: %v, want 403", err)
			}
			if err := cl.Call(ctx, http.MethodPost, "/api/purge", nil, nil); statusCode(err) != http.StatusForbidden {
				t.Errorf("purge: %v, want 403", err)
			}
			if _, err := cl.Trace(ctx, "acme1@customer.example"); statusCode(err) != http.StatusNotFound {
				t.Errorf("trace of the ACME mail: %v, want 404", err)
			}
			var out []admin.OutboxEntry
			if err := cl.Call(ctx, http.MethodGet, "/api/outbox", nil, &out); err != nil {
				t.Fatal(err)
			}
			for _, e := range out {
				if e.Ticket != "BETA-1" {
					t.Errorf("outbox shows %s's item %d", e.Ticket, e.ID)
				}
			}
			if err := cl.Call(ctx, http.MethodDelete, "/api/outbox/"+strconv.FormatUint(acmeItem, 10), nil, nil); statusCode(err) != http.StatusNotFound {
				t.Errorf("drop the ACME outbox item: %v, want 404", err)
			}
			if err := cl.Call(ctx, http.MethodPost, "/api/tickets/ACME-1/status", admin.OpRequest{Status: "closed"}, nil); statusCode(err) != http.StatusNotFound {
				t.Errorf("close ACME-1: %v, want 404", err)
			}
			if err := cl.Call(ctx, http.MethodPost, "/api/tickets/BETA-1/merge", admin.OpRequest{Into: "ACME-1"}, nil); statusCode(err) != http.StatusNotFound {
				t.Errorf("merge BETA-1 into ACME-1: %v, want 404", err)
			}
			if err := cl.Call(ctx, http.MethodPut, "/api/orgs/ACME/evil", admin.OpRequest{Domains: []string{"attacker.example"}}, nil); statusCode(err) != http.StatusForbidden {
				t.Errorf("put an ACME organization: %v, want 403", err)
			}
			if err := cl.Call(ctx, http.MethodPost, "/api/blocks", admin.OpRequest{Project: "ACME", Address: "carl@customer.example"}, nil); statusCode(err) != http.StatusForbidden {
				t.Errorf("block in ACME: %v, want 403", err)
			}
		})
	}
	// The ACME item is still queued, the ACME ticket untouched.
	d.Store().View(func(tx store.Tx) error {
		if _, err := tx.OutboxItem(acmeItem); err != nil {
			t.Errorf("the ACME outbox item is gone: %v", err)
		}
		if tk, err := tx.Ticket("ACME-1"); err != nil || tk.Status == "closed" || tk.MergedInto != "" {
			t.Errorf("ACME-1 changed: %+v %v", tk, err)
		}
		return nil
	})

	// On the socket, naming another agent is refused, not believed.
	sock.As = "alice@example.com"
	if _, err := sock.Tickets(ctx, "ACME", "", "", ""); statusCode(err) != http.StatusForbidden {
		t.Errorf("--as alice on bob's socket: %v, want 403", err)
	}
}

// TestAdminSocketUnmappedUserGetsVersionOnly: a Unix user admin.users does
// not list may open the socket (its group allows that) but learns nothing
// but the version; an operator may take the backup and sees every project.
func TestAdminSocketUnmappedUserGetsVersionOnly(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := testConfig(t, t.TempDir(), sink)
	d := start(t, c)
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		msg("carl@customer.example", "acme@support.example.com", "ACME secret", "acme2@customer.example", "private"))
	sock := admin.NewSocketClient(filepath.Join(c.DataDir, AdminSocketName))
	ctx := context.Background()
	if _, err := sock.Tickets(ctx, "", "", "", ""); statusCode(err) != http.StatusForbidden {
		t.Errorf("tickets as an unmapped user: %v, want 403", err)
	}
	sock.As = "alice@example.com"
	if _, err := sock.Tickets(ctx, "", "", "", ""); statusCode(err) != http.StatusForbidden {
		t.Errorf("tickets --as alice as an unmapped user: %v, want 403", err)
	}
	sock.As = ""
	var v map[string]string
	if err := sock.Call(ctx, http.MethodGet, "/api/version", nil, &v); err != nil {
		t.Errorf("version: %v", err)
	}

	// Now the same Unix user is mapped to an operator.
	c2 := *c
	c2.Admin.Users = map[string]string{unixUser(t): "ops@example.net"}
	c2.Admin.Operators = []string{"ops@example.net"}
	d.Reload(&c2)
	if err := sock.Backup(ctx, io.Discard); err != nil {
		t.Errorf("backup as an operator: %v", err)
	}
	if list, err := sock.Tickets(ctx, "", "", "", ""); err != nil || len(list) != 1 || list[0].Key != "ACME-1" {
		t.Errorf("tickets as an operator: %+v %v", list, err)
	}
}

// TestAdminTokensReloaded is issue 15 item 13: a rotated or removed token
// stops working at the reload, not at the next restart.
func TestAdminTokensReloaded(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	dir := t.TempDir()
	c := testConfig(t, filepath.Join(dir, "data"), sink)
	c.Admin.Listen = "127.0.0.1:0"
	aliceFile := writeToken(t, dir, "alice.token", "old-token-of-alice-0123456789")
	bobFile := writeToken(t, dir, "bob.token", "token-of-bob-0123456789abcdef")
	c.Admin.Tokens = []config.AdminToken{{Agent: "alice@example.com", TokenFile: aliceFile}, {Agent: "bob@example.org", TokenFile: bobFile}}
	d := start(t, c)
	base := "http://" + d.Addr("admin-tcp")
	ctx := context.Background()
	works := func(tok string) int {
		_, err := admin.NewTCPClient(base, tok, nil).Tickets(ctx, "", "", "", "")
		if err == nil {
			return http.StatusOK
		}
		return statusCode(err)
	}
	if got := works("old-token-of-alice-0123456789"); got != http.StatusOK {
		t.Fatalf("alice's token before rotation: %d", got)
	}
	// Rotate alice's token and remove bob's.
	writeToken(t, dir, "alice.token", "new-token-of-alice-0123456789")
	c2 := *c
	c2.Admin.Tokens = c.Admin.Tokens[:1]
	d.Reload(&c2)
	for tok, want := range map[string]int{
		"old-token-of-alice-0123456789": http.StatusUnauthorized,
		"new-token-of-alice-0123456789": http.StatusOK,
		"token-of-bob-0123456789abcdef": http.StatusUnauthorized,
	} {
		if got := works(tok); got != want {
			t.Errorf("token %s after reload: %d, want %d", tok, got, want)
		}
	}
}
