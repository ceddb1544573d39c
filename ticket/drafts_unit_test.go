package ticket_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// keyEngine is ACME with open_to: key, a support keys file of three keys
// (one valid for anyone, one bound to customer.example, one expired) and
// drafts that expire after 2 days.
func keyEngine(t *testing.T) *testEngine {
	t.Helper()
	file := filepath.Join(t.TempDir(), "keys.csv")
	if err := os.WriteFile(file, []byte("key,customer,expires\nSK-ANYONE01,,\nSK-BOUND001,customer.example,\nSK-OLDKEY01,,2026-01-31\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return newTestEngine(t, func(p *config.Project) {
		p.OpenTo = config.OpenToKey
		p.SupportKeys = config.SupportKeys{File: file, Pattern: `SK-[A-Z0-9]{8}`}
		p.Drafts.ExpireDays = 2
	})
}

func (e *testEngine) ingest(t *testing.T, m *ticket.Mail) *ticket.Result {
	t.Helper()
	if m.Project == "" {
		m.Project = "ACME"
	}
	if m.Source == "" {
		m.Source = "smtp"
	}
	if m.Raw == "" {
		m.Raw = "hash-" + m.MessageID
	}
	res, err := e.Ingest(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (e *testEngine) outbox(t *testing.T) []*store.OutboxItem {
	t.Helper()
	var items []*store.OutboxItem
	if err := e.st.View(func(tx store.Tx) error {
		var err error
		items, _, err = tx.DueOutbox(t0.AddDate(1, 0, 0), 1000)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return items
}

func (e *testEngine) drafts(t *testing.T) []*store.Draft {
	t.Helper()
	var ds []*store.Draft
	if err := e.st.View(func(tx store.Tx) error {
		var err error
		ds, err = tx.Drafts("")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestDraftWithoutKeyThenKey: a stranger's request without a key is kept
// as a draft and only its sender is told, once a day; its text is stored
// with any key redacted; a second mail joins the draft; a reply with a
// valid key turns it into a request with the normal mails.
func TestDraftWithoutKeyThenKey(t *testing.T) {
	e := keyEngine(t)
	res := e.ingest(t, &ticket.Mail{From: "sam@stranger.example", Subject: "Help", MessageID: "d1@stranger.example", Text: "Our printer is broken. My old key was SK-NOTAKEY9."})
	if res.Draft == "" || res.Ticket != "" || !strings.HasPrefix(res.Draft, "ACME-D") {
		t.Fatalf("a stranger's request: %+v", res)
	}
	items := e.outbox(t)
	if len(items) != 1 || items[0].Recipient != "sam@stranger.example" {
		t.Fatalf("draft mails: %+v", items)
	}
	ds := e.drafts(t)
	if len(ds) != 1 || ds[0].Key != res.Draft {
		t.Fatalf("drafts: %+v", ds)
	}
	for _, m := range ds[0].Mails {
		if strings.Contains(m.Text, "SK-NOTAKEY9") || !strings.Contains(m.Text, "KEY9") {
			t.Errorf("the draft keeps a key whole or loses its last characters: %q", m.Text)
		}
	}

	// A second mail the same day joins the draft and mails nobody.
	again := e.ingest(t, &ticket.Mail{From: "sam@stranger.example", Subject: "Help!!", MessageID: "d2@stranger.example", Text: "Hello?"})
	if again.Draft != res.Draft {
		t.Fatalf("the second mail: %+v, want draft %s", again, res.Draft)
	}
	if n := len(e.outbox(t)); n != 1 {
		t.Errorf("%d mails after the second mail, want still 1", n)
	}

	// An expired key is no key.
	old := e.ingest(t, &ticket.Mail{From: "sam@stranger.example", Subject: "Key", MessageID: "d3@stranger.example", Text: "Here: SK-OLDKEY01"})
	if old.Draft != res.Draft {
		t.Fatalf("an expired key: %+v", old)
	}

	// A valid key: the draft becomes a request.
	ok := e.ingest(t, &ticket.Mail{From: "sam@stranger.example", Subject: "Re: Help", MessageID: "d4@stranger.example", SupportKey: "SK-ANYONE01", Text: "Key in the header."})
	if ok.Ticket == "" || ok.Draft != "" {
		t.Fatalf("with a valid key: %+v", ok)
	}
	if ds := e.drafts(t); len(ds) != 0 {
		t.Errorf("drafts left after acceptance: %+v", ds)
	}
	evs := e.events(t, ok.Ticket)
	if len(only(evs, store.EvDraftAccepted)) != 1 || len(only(evs, store.EvRequestCreated)) != 1 {
		t.Errorf("events of the accepted draft: %v", kinds(evs))
	}
	if len(e.outbox(t)) < 3 {
		t.Errorf("no auto-reply and agent notification after acceptance: %d mails", len(e.outbox(t)))
	}
	// The key never reaches the store whole.
	if err := e.st.View(func(tx store.Tx) error {
		msgs, err := tx.TicketMessages(ok.Ticket)
		for _, m := range msgs {
			if strings.Contains(m.Text, "SK-ANYONE01") || strings.Contains(m.Text, "SK-OLDKEY01") {
				t.Errorf("message %d keeps a key whole: %q", m.ID, m.Text)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestDraftBoundKeyAndAutomatic: a key bound to another domain does not
// open a request; automatic mail becomes a draft and nobody is mailed.
func TestDraftBoundKeyAndAutomatic(t *testing.T) {
	e := keyEngine(t)
	res := e.ingest(t, &ticket.Mail{From: "eve@elsewhere.example", Subject: "Mine", MessageID: "b1@elsewhere.example", Text: "Key SK-BOUND001"})
	if res.Draft == "" {
		t.Fatalf("a key bound to another domain opened %+v", res)
	}
	good := e.ingest(t, &ticket.Mail{From: customer, Subject: "Ours", MessageID: "b2@customer.example", Text: "Key SK-BOUND001"})
	if good.Ticket == "" {
		t.Fatalf("the bound key's own domain: %+v", good)
	}
	before := len(e.outbox(t))
	auto := e.ingest(t, &ticket.Mail{From: "robot@vendor.example", Subject: "Out of office", MessageID: "b3@vendor.example", Text: "away",
		Verdict: decide.Verdict{Kind: decide.Automatic, Auto: "Auto-Submitted: auto-replied"}})
	if auto.Ticket != "" {
		t.Fatalf("automatic mail opened %+v", auto)
	}
	if n := len(e.outbox(t)); n != before {
		t.Errorf("automatic mail caused %d mails", n-before)
	}
}

// TestAcceptDraftAndExpiry: an agent accepts a draft from the CLI (a
// non-agent may not, an unknown draft is not found); drafts older than
// expire_days go silently.
func TestAcceptDraftAndExpiry(t *testing.T) {
	e := keyEngine(t)
	a := e.ingest(t, &ticket.Mail{From: "ann@stranger.example", Subject: "One", MessageID: "x1@stranger.example", Text: "Please"})
	b := e.ingest(t, &ticket.Mail{From: "bob@stranger.example", Subject: "Two", MessageID: "x2@stranger.example", Text: "Please"})
	if _, _, err := e.AcceptDraft(context.Background(), a.Draft, "mallory@customer.example"); err == nil {
		t.Error("a non-agent accepted a draft")
	}
	if _, _, err := e.AcceptDraft(context.Background(), "ACME-D999", agent); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown draft: %v", err)
	}
	key, queued, err := e.AcceptDraft(context.Background(), strings.ToLower(a.Draft), agent)
	if err != nil || key == "" || queued == 0 {
		t.Fatalf("accept: %q %d %v", key, queued, err)
	}
	tk := e.ticket(t, key)
	if tk.Reporter != "ann@stranger.example" || tk.Subject != "One" {
		t.Errorf("the accepted ticket: %+v", tk)
	}
	// Accepting twice changes nothing and says what the draft became.
	var refusal *ticket.RefusedError
	if _, _, err := e.AcceptDraft(context.Background(), a.Draft, agent); !errors.As(err, &refusal) || refusal.Reason != a.Draft+" was already accepted as "+key {
		t.Errorf("accepting twice: %v", err)
	}

	if n, err := e.ExpireDrafts(context.Background()); err != nil || n != 0 {
		t.Fatalf("expiry before its time: %d %v", n, err)
	}
	*e.clock = t0.Add(49 * time.Hour)
	if n, err := e.ExpireDrafts(context.Background()); err != nil || n != 1 {
		t.Fatalf("expiry: %d %v", n, err)
	}
	for _, d := range e.drafts(t) {
		if d.Key == b.Draft {
			t.Errorf("draft %s outlived its expiry", b.Draft)
		}
	}
}

// TestCheckKey answers `ticketgate keys check` for each state.
func TestCheckKey(t *testing.T) {
	e := keyEngine(t)
	for _, c := range []struct {
		key, sender string
		want        decide.KeyState
	}{
		{"SK-ANYONE01", "x@any.example", decide.KeyValid},
		{"SK-BOUND001", "carl@customer.example", decide.KeyValid},
		{"SK-BOUND001", "x@other.example", decide.KeyElsewhere},
		{"SK-BOUND001", "", decide.KeyValid},
		{"SK-OLDKEY01", "", decide.KeyExpired},
		{"SK-UNKNOWN1", "", decide.KeyUnknown},
		{"not a key", "", decide.KeyNone},
	} {
		st, entry, err := e.CheckKey("acme", c.key, c.sender)
		if err != nil || st != c.want {
			t.Errorf("%s for %q: %v %v, want %v", c.key, c.sender, st, err, c.want)
		}
		if c.key == "SK-BOUND001" && entry != nil && entry.Bound != "customer.example" {
			t.Errorf("the entry shown loses its binding: %+v", entry)
		}
	}
	if _, _, err := e.CheckKey("NOPE", "SK-ANYONE01", ""); err == nil {
		t.Error("an unknown project")
	}
	plain := newTestEngine(t)
	if _, _, err := plain.CheckKey("ACME", "SK-ANYONE01", ""); err == nil {
		t.Error("a project without a key pattern")
	}
}
