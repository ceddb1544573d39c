package notify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/store"
)

// TestDigestMail (issue 21): a digest row is staff mail of no ticket,
// with an agent link per listed ticket minted for its recipient, and
// renders the same text as its golden file in English and German; an
// address that is nobody's agent gets none.
func TestDigestMail(t *testing.T) {
	c := testConfig(t, nil)
	n := notifier(c)
	db, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	vars := func() *store.DigestVars {
		return &store.DigestVars{Day: "2026-11-02", Zone: "Europe/Berlin", Mine: 1, Unassigned: 1, Snoozed: 2, More: 3,
			Tickets: []store.DigestItem{
				{Key: "ACME-7", Project: "ACME", Subject: "Printer on fire", Status: "new", Priority: "urgent", Due: "2026-11-02 09:00 CET", Overdue: true, Age: "3h"},
				{Key: "ACME-9", Project: "ACME", Subject: "Renew the certificate", Status: "working", Priority: "normal", Assignee: agent, Internal: true, Age: "2d 4h"},
			},
			Breached: []store.DigestItem{{Key: "ACME-7", Project: "ACME", Subject: "Printer on fire", Target: "first_response", Due: "2026-11-02 09:00 CET"}},
		}
	}
	for _, lang := range []string{"en", "de"} {
		var id uint64
		if err := db.Update(t.Context(), func(tx store.Tx) error {
			var err error
			id, err = n.QueueDigest(tx, &c.Projects[0], agent, lang, vars())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		err := db.View(func(tx store.Tx) error {
			it, err := tx.OutboxItem(id)
			if err != nil {
				return err
			}
			if it.Ticket != "" || !it.Internal || it.Kind != store.EvDigest || it.Event != DigestTemplate || it.Recipient != agent ||
				it.Header.ReplyTo != c.Projects[0].InternalAddress || it.Header.AutoSubmitted != "auto-generated" {
				t.Errorf("%s row = %+v", lang, it)
			}
			var texts []string
			for _, item := range append(it.Vars.Digest.Tickets, it.Vars.Digest.Breached...) {
				tok, err := tx.Token(strings.TrimPrefix(item.Link, "http://127.0.0.1:8080/a/"))
				if err != nil || tok.Kind != store.TokenAgent || tok.Ticket != item.Key || tok.Recipient != agent {
					t.Errorf("%s link of %s: %+v %v", lang, item.Key, tok, err)
				}
				texts = append(texts, item.Link)
			}
			b, err := n.Render(tx, it)
			if err != nil {
				return err
			}
			// The links are random: the golden files hold a placeholder.
			for i, l := range texts {
				b.Text = strings.ReplaceAll(b.Text, l, "LINK"+string(rune('1'+i)))
				b.HTML = strings.ReplaceAll(b.HTML, l, "LINK"+string(rune('1'+i)))
			}
			for ext, got := range map[string]string{"txt": b.Text, "html": b.HTML} {
				path := filepath.Join("testdata", "golden", lang, DigestTemplate+"."+ext)
				if *update {
					os.MkdirAll(filepath.Dir(path), 0o755)
					os.WriteFile(path, []byte(got), 0o644)
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./notify -update)", err)
				}
				if got != string(want) {
					t.Errorf("%s differs from golden:\n%s", path, got)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Update(t.Context(), func(tx store.Tx) error {
		_, err := n.QueueDigest(tx, &c.Projects[0], reporter, "en", vars())
		return err
	}); err == nil || !strings.Contains(err.Error(), "no agent or admin") {
		t.Errorf("a digest for a customer: %v", err)
	}
}
