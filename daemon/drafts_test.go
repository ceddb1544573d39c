package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/storetest"
)

// Issue 17: who may open a ticket, end to end over SMTP.

const keyPattern = `OX-[0-9]{4}-[A-Z0-9]{6}`

// queuedAll counts every mail queued so far: the tickets' (storetest.Queued)
// and those told to the senders of open drafts.
func queuedAll(t *testing.T, d *Daemon) int {
	t.Helper()
	n := storetest.Queued(t, d.Store())
	for _, dr := range drafts(t, d) {
		n += len(dr.Told)
	}
	return n
}

func drafts(t *testing.T, d *Daemon) []*store.Draft {
	t.Helper()
	var out []*store.Draft
	if err := d.Store().View(func(tx store.Tx) error {
		var err error
		out, err = tx.Drafts("")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func ticketCount(t *testing.T, d *Daemon) int {
	t.Helper()
	n := 0
	d.Store().View(func(tx store.Tx) error {
		return tx.ForEachTicket("", func(*store.Ticket) bool { n++; return true })
	})
	return n
}

// settleAll waits until the sink holds every mail queued so far and
// returns the ones new since seen.
func settleAll(t *testing.T, d *Daemon, sink *mailouttest.Sink, seen *int) []mailouttest.Message {
	t.Helper()
	msgs, err := sink.WaitFor(queuedAll(t, d), 10*time.Second)
	if err != nil {
		t.Fatalf("waiting for the queued mail: %v", err)
	}
	out := msgs[*seen:]
	*seen = len(msgs)
	return out
}

func keyFile(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.csv")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpenToKeyEndToEnd(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	keys := keyFile(t, "key,customer,expires",
		"OX-1111-AAAAAA,customer.example,2027-12-31",
		"OX-2222-BBBBBB,,2025-12-31",
		"OX-3333-CCCCCC,other.example,")
	c := workflowConfig(t, sink, func(c *config.Config) {
		p := &c.Projects[0]
		p.OpenTo = config.OpenToKey
		p.SupportKeys = config.SupportKeys{File: keys, Pattern: keyPattern}
	})
	clk := &clock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
	d := startAt(t, c, clk)
	seen := 0

	// A stranger without a key: a draft, one explanation, no ticket, no
	// agent told.
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Printer on fire", "k1@customer.example", "It is on fire."))
	got := settleAll(t, d, sink, &seen)
	expl := only(t, got, carl)
	if len(got) != 1 {
		t.Fatalf("%d mails for a new draft, want 1", len(got))
	}
	h := header(t, expl)
	if s, _ := h.Subject(); s != "[ACME-D1] Printer on fire" || h.Get("Auto-Submitted") != "auto-replied" {
		t.Errorf("explanation: subject %q, Auto-Submitted %q", s, h.Get("Auto-Submitted"))
	}
	if body := textBody(t, expl); !strings.Contains(body, "support key") || !strings.Contains(body, "ACME-D1") {
		t.Errorf("explanation:\n%s", body)
	}
	if n := ticketCount(t, d); n != 0 {
		t.Fatalf("%d tickets opened by a stranger", n)
	}

	// An expired key, a key bound to another domain (and a reply the same
	// day): still a draft, no second explanation. The keys are stored
	// redacted.
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Re: [ACME-D1] Printer on fire", "k2@customer.example",
		"My key is OX-2222-BBBBBB.", "In-Reply-To: <"+msgID(t, expl)+">"))
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Another try OX-3333-CCCCCC", "k3@customer.example",
		"Or this one.", "X-Support-Key: OX-3333-CCCCCC"))
	if got := settleAll(t, d, sink, &seen); len(got) != 0 {
		t.Fatalf("%d more mails the same day, want none", len(got))
	}
	ds := drafts(t, d)
	if len(ds) != 1 || ds[0].Key != "ACME-D1" || len(ds[0].Mails) != 3 || ds[0].Missing != store.MissingKey {
		t.Fatalf("drafts: %+v", ds)
	}
	if m := ds[0].Mails[1]; strings.TrimSpace(m.Text) != "My key is **********BBBB." {
		t.Errorf("stored text %q", m.Text)
	}
	if m := ds[0].Mails[2]; m.Subject != "Another try **********CCCC" {
		t.Errorf("stored subject %q", m.Subject)
	}

	// Automatic mail without a key: a draft, nothing sent.
	mustSend(t, d.Addr("smtp"), "robot@monitor.example", []string{acmeAddr}, msg("robot@monitor.example", acmeAddr, "Disk alert", "k4@monitor.example",
		"Disk 90% full.", "Auto-Submitted: auto-generated"))
	if got := settleAll(t, d, sink, &seen); len(got) != 0 {
		t.Fatalf("automatic mail was answered: %d mails", len(got))
	}
	if ds := drafts(t, d); len(ds) != 2 || ds[1].Key != "ACME-D2" || ds[1].Sender != "robot@monitor.example" || len(ds[1].Told) != 0 {
		t.Fatalf("drafts after the automatic mail: %+v", ds)
	}

	// A reply with a valid key: the draft becomes ACME-1, the auto-reply
	// and the agents' mail (with the request's own text) go out now.
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Re: [ACME-D1] Printer on fire", "k5@customer.example",
		"Here it is: OX-1111-AAAAAA", "In-Reply-To: <"+msgID(t, expl)+">"))
	got = settleAll(t, d, sink, &seen)
	if len(got) != 3 {
		t.Fatalf("%d mails when the draft became a request, want 3", len(got))
	}
	ar := only(t, got, carl)
	if s := hget(t, ar, "Subject"); s != "[ACME-1] Printer on fire" || !strings.Contains(textBody(t, ar), "we have received your request") {
		t.Errorf("auto-reply %q:\n%s", s, textBody(t, ar))
	}
	if body := textBody(t, only(t, got, alice)); !strings.Contains(body, "It is on fire.") {
		t.Errorf("the agents' mail lacks the request:\n%s", body)
	}
	only(t, got, dave)
	tk, msgs := ticketOf(t, d, "ACME-1")
	if tk.Reporter != carl || tk.Subject != "Printer on fire" || len(msgs) != 4 {
		t.Fatalf("ACME-1: %+v with %d messages", tk, len(msgs))
	}
	for _, m := range msgs {
		for _, k := range []string{"OX-1111-AAAAAA", "OX-2222-BBBBBB", "OX-3333-CCCCCC"} {
			if strings.Contains(m.Text+m.Subject+m.HTML, k) {
				t.Errorf("message %d keeps the key %s whole", m.ID, k)
			}
		}
	}
	if strings.TrimSpace(msgs[3].Text) != "Here it is: **********AAAA" {
		t.Errorf("the key reply stored as %q", msgs[3].Text)
	}
	for _, m := range got {
		if strings.Contains(string(m.Data), "OX-1111-AAAAAA") {
			t.Errorf("a mail to %v carries the whole key", m.To)
		}
	}
	lm := linkRE.FindStringSubmatch(textBody(t, ar))
	if lm == nil {
		t.Fatal("no link in the auto-reply")
	}
	if code, page := pageStatus(t, d, lm[1]); code != 200 || !strings.Contains(page, "**********AAAA") || strings.Contains(page, "OX-1111-AAAAAA") {
		t.Errorf("page %d: key not redacted", code)
	}
	if ds := drafts(t, d); len(ds) != 1 || ds[0].Key != "ACME-D2" {
		t.Fatalf("drafts after the acceptance: %+v", ds)
	}

	// Drafts expire silently after expire_days (14).
	clk.Add(13 * 24 * time.Hour)
	if n, err := d.engine.ExpireDrafts(context.Background()); err != nil || n != 0 {
		t.Fatalf("day 13: %d expired (%v)", n, err)
	}
	clk.Add(24 * time.Hour)
	if n, err := d.engine.ExpireDrafts(context.Background()); err != nil || n != 1 || len(drafts(t, d)) != 0 {
		t.Fatalf("day 14: %d expired (%v), %d left", n, err, len(drafts(t, d)))
	}
	if got := settleAll(t, d, sink, &seen); len(got) != 0 {
		t.Fatalf("expiry sent %d mails", len(got))
	}
}

func TestOpenToKnownEndToEnd(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := workflowConfig(t, sink, func(c *config.Config) {
		p := &c.Projects[0]
		p.OpenTo = config.OpenToKnown
		p.KnownCustomers = []string{"customer.example", "vip@partner.test"}
	})
	clk := &clock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
	d := startAt(t, c, clk)
	seen := 0
	const eve = "eve@stranger.example"

	// Known by domain and by address: requests as ever.
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Printer on fire", "n1@customer.example", "It is on fire."))
	mustSend(t, d.Addr("smtp"), "vip@partner.test", []string{acmeAddr}, msg("vip@partner.test", acmeAddr, "Hello", "n2@partner.test", "Hi."))
	if got := settleAll(t, d, sink, &seen); len(got) != 6 || ticketCount(t, d) != 2 {
		t.Fatalf("known senders: %d mails, %d tickets", len(got), ticketCount(t, d))
	}

	// A stranger: a draft and the unknown-sender explanation.
	mustSend(t, d.Addr("smtp"), eve, []string{acmeAddr}, msg(eve, acmeAddr, "Partnership", "n3@stranger.example", "Can we talk?"))
	got := settleAll(t, d, sink, &seen)
	if body := textBody(t, only(t, got, eve)); len(got) != 1 || !strings.Contains(body, "we do not know your") || !strings.Contains(body, "ACME-D1") {
		t.Fatalf("%d mails; eve's:\n%s", len(got), body)
	}
	// An agent's #accept on the draft: the request, with eve's
	// auto-reply and the other agent's mail; alice hears what was done.
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-D1] Partnership", "n4@example.com", "#accept", proof))
	got = settleAll(t, d, sink, &seen)
	if len(got) != 3 {
		t.Fatalf("%d mails after #accept, want 3", len(got))
	}
	if s := hget(t, only(t, got, eve), "Subject"); s != "[ACME-3] Partnership" {
		t.Errorf("eve's auto-reply: %q", s)
	}
	if body := textBody(t, only(t, got, dave)); !strings.Contains(body, "Can we talk?") {
		t.Errorf("dave's mail:\n%s", body)
	}
	if body := textBody(t, only(t, got, alice)); !strings.Contains(body, "done: #accept") {
		t.Errorf("alice's answer:\n%s", body)
	}
	if tk, msgs := ticketOf(t, d, "ACME-3"); tk.Reporter != eve || len(msgs) != 2 || strings.TrimSpace(msgs[0].Text) != "Can we talk?" || !msgs[1].Internal {
		t.Errorf("ACME-3: %+v, %d messages", tk, len(msgs))
	}
	if len(drafts(t, d)) != 0 {
		t.Error("the accepted draft is still there")
	}
	// eve has a ticket now: she is known.
	mustSend(t, d.Addr("smtp"), eve, []string{acmeAddr}, msg(eve, acmeAddr, "Another thing", "n5@stranger.example", "Also this."))
	if got := settleAll(t, d, sink, &seen); len(got) != 3 || ticketCount(t, d) != 4 {
		t.Fatalf("eve's second request: %d mails, %d tickets", len(got), ticketCount(t, d))
	}
	// #accept without a draft in the subject is refused.
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-3] Partnership", "n6@example.com", "#accept", proof))
	if body := textBody(t, only(t, settleAll(t, d, sink, &seen), alice)); !strings.Contains(body, "refused: #accept") {
		t.Errorf("#accept on a ticket:\n%s", body)
	}
}
