package notify_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout"
	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/templates"
)

var updateSent = flag.Bool("update-sent", false, "rewrite testdata/sent (only from the code whose output is the reference)")

// The golden files under testdata/sent were written by main at bed98a9,
// before the send path was made cheaper (issue 13, engineer sendcpu): they
// are the bytes a mail had on the wire then, and must keep.
const sentDir = "testdata/sent"

// sentVariant is one way of filling a row and its message: plain ASCII;
// non-ASCII names and a long, hostile subject with a long quoted body,
// References and attachments; empty values everywhere (templates that
// need a message fail to render, and must fail alike).
type sentVariant struct {
	name string
	row  func(event, lang string, internal bool) *store.OutboxItem
	msg  *store.Message
	// attach are the rows' attachment files by blob name.
	attach map[string]string
	// autocrypt and seal attach: a Seal as package pgp makes it (no
	// encryption: that is randomized).
	seal mailout.Seal
}

var sentDate = time.Date(2026, 12, 4, 7, 58, 3, 0, time.FixedZone("CET", 3600))

func longBody() string {
	var b strings.Builder
	b.WriteString("Hallo,\n\nder Drucker im zweiten Stock druckt seit gestern nur leere Seiten. Wir haben\nschon alles versucht: aus- und einschalten, Toner gewechselt, Treiber neu\ninstalliert — nichts hilft. Könnt ihr euch das bitte ansehen?\n\n")
	for i := range 40 {
		fmt.Fprintf(&b, "Zeile %02d: <b>fett</b> & \"zitiert\" 'apostroph' +plus = gleich =3D %s\n", i, strings.Repeat("äöü ", i%7))
	}
	b.WriteString(strings.Repeat("x", 120) + "\n")
	b.WriteString("trailing space \nand tab\t\n.\n..leading dots\nFrom the start\n\nDanke\nJörg\n\n-- \nJörg Müller\nCustomer GmbH\n\nAm 3. Dezember 2026 schrieb Acme Support:\n> earlier quoted text\n> more of it\n> ## Reply above this line ##\n")
	return b.String()
}

func sentVariants() []sentVariant {
	plain := sentVariant{name: "plain",
		msg: &store.Message{ID: 1, Ticket: "ACME-7", Project: "ACME", Direction: "in", Kind: "request", From: "carl@customer.example", FromName: "Carl Customer",
			Subject: "Printer on fire", MessageID: "r1@customer.example", Text: "It is on fire.\nPlease help.\n\nCarl\n"},
	}
	plain.row = func(event, lang string, internal bool) *store.OutboxItem {
		it := &store.OutboxItem{ID: 11, Project: "ACME", Ticket: "ACME-7", Event: event, Language: lang, Internal: internal,
			Recipient: "carl@customer.example", RecipientName: "Carl Customer", MailFrom: "acme+b-tok@support.example.com",
			MessageID: "tg.0abc123@support.example.com", Date: sentDate, Message: 1, InReplyTo: []string{"r1@customer.example"}, References: []string{"r1@customer.example"},
			Header: store.OutboxHeader{FromName: "Acme Support", From: "acme@support.example.com", ReplyTo: "acme@support.example.com", ReplyToName: "Acme Support",
				Subject: "[ACME-7] Printer on fire", AutoSubmitted: "auto-replied", Loop: "acme@support.example.com", Unsubscribe: "https://help.example.com/t/linktok"},
			Vars: store.OutboxVars{ProjectKey: "ACME", ProjectName: "Acme Support", ProjectAddress: "acme@support.example.com", TicketSubject: "Printer on fire",
				TicketStatus: "Open", Reporter: "carl@customer.example", Assignee: "alice@example.com", Link: "https://help.example.com/t/linktok",
				Actor: "carl@customer.example", Added: []string{"erin@customer.example"}, Recipients: []string{"dana@customer.example"},
				Status: "In progress", OldStatus: "Open", Detail: "550 5.1.1 no such user", Target: "first_response", Due: "2026-12-04 15:00 CET",
				OfferLink: "https://help.example.com/o/off", RatingLink: "https://help.example.com/r/rat", RatingScale: 5, Comment: "Quick and friendly."},
		}
		if internal {
			it.Recipient, it.RecipientName = "alice@example.com", ""
			it.Vars.Link = ""
			it.Vars.AgentLink = "https://help.example.com/a/agenttok"
			it.Vars.Marker = templates.ReplyMarker(lang)
			it.Header.Unsubscribe = ""
			it.Header.AutoSubmitted = "auto-generated"
		}
		return it
	}

	rich := sentVariant{name: "rich",
		msg: &store.Message{ID: 2, Ticket: "ACME-1234", Project: "ACME", Direction: "in", Kind: "request", From: "joerg.mueller@kunde.example", FromName: "Jörg Müller (Kunde, \"Einkauf\")",
			Subject: "x", MessageID: "r2@kunde.example", Text: longBody(),
			Attach: []store.Attachment{{Filename: "Rechnung März.pdf", ContentType: "application/pdf", Size: 10}, {Filename: "<script>.txt", ContentType: "text/plain", Size: 3}}},
		attach: map[string]string{
			"blob-pdf": "%PDF-1.4\n" + strings.Repeat("\x00\x01\x02binary\xff", 300),
			"blob-txt": "a text file\nwith lines\n",
		},
		seal: mailout.Seal{Autocrypt: "addr=acme@support.example.com; keydata=" + strings.Repeat("QUJDREVG", 30),
			Attach: []mailout.Part{{Filename: "acme-pubkey.asc", ContentType: "application/pgp-keys", Data: []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF\n-----END PGP PUBLIC KEY BLOCK-----\n")}}},
	}
	subject := `<script>alert("x")</script> & Grüße 'quoted' +plus — 日本語 Drucker druckt nur leere Seiten, seit gestern Abend, bitte dringend ansehen`
	rich.row = func(event, lang string, internal bool) *store.OutboxItem {
		var refs []string
		for i := range 20 {
			refs = append(refs, fmt.Sprintf("ref-%02d.a-rather-long-message-id@mail.kunde.example", i))
		}
		it := &store.OutboxItem{ID: 12, Project: "ACME", Ticket: "ACME-1234", Event: event, Language: lang, Internal: internal,
			Recipient: "joerg.mueller@kunde.example", RecipientName: "Jörg Müller (Kunde, \"Einkauf\")", MailFrom: "acme+b-tok2@support.example.com",
			MessageID: "tg.0def456ghi789@support.example.com", Date: sentDate.Add(17 * time.Hour), Message: 2, InReplyTo: []string{"r2@kunde.example"}, References: refs,
			Attach: []store.Attachment{{Filename: "Rechnung März.pdf", ContentType: "application/pdf", Size: 10, Blob: "blob-pdf"},
				{Filename: "", ContentType: "", Size: 3, Blob: "blob-txt"}, {Filename: "removed.bin", Size: 4}},
			Header: store.OutboxHeader{FromName: "Jörg Müller via Acme Süpport", From: "acme@support.example.com", ReplyTo: "acme@support.example.com", ReplyToName: "Acme Süpport",
				Subject: "[ACME-1234] " + subject, Loop: "acme@support.example.com", Unsubscribe: "https://help.example.com/t/link tok?a=b&c=<d>"},
			Vars: store.OutboxVars{ProjectKey: "ACME", ProjectName: "Acme Süpport & Co. <GmbH>", ProjectAddress: "acme@support.example.com", TicketSubject: subject,
				TicketStatus: "Waiting for customer", Reporter: "joerg.mueller@kunde.example", Assignee: "bob@example.com",
				Link: "https://help.example.com/t/link tok?a=b&c=<d>'\"%zz%41", Actor: "joerg.mueller@kunde.example",
				Added: []string{"erin@kunde.example", "fritz@kunde.example"}, Recipients: []string{"dana@kunde.example", "<x>&@kunde.example"},
				Status: "Waiting for customer", OldStatus: "In progress", Detail: "554 5.7.1 <joerg@kunde.example>: Relay access denied & \"more\"",
				Reopened: true, Target: "resolution", Due: "2026-12-05 09:30 CET", Draft: "",
				OfferLink: "javascript:alert(1)", RatingLink: "https://help.example.com/r/rat+tok", RatingScale: 3, Comment: "Gut, aber <langsam> & \"teuer\"."},
		}
		if internal {
			it.Recipient, it.RecipientName = "bob@example.com", "Bob Ågent"
			it.Vars.Link = ""
			it.Vars.AgentLink = "https://help.example.com/a/agent tok&x=1"
			it.Vars.Marker = templates.ReplyMarker(lang)
			it.Header.Unsubscribe = ""
			it.Header.AutoSubmitted = "auto-generated"
		}
		return it
	}

	empty := sentVariant{name: "empty"}
	empty.row = func(event, lang string, internal bool) *store.OutboxItem {
		return &store.OutboxItem{ID: 13, Project: "ACME", Ticket: "ACME-9", Event: event, Language: lang, Internal: internal,
			Recipient: "x@y.example", MailFrom: "b@support.example.com", MessageID: "tg.e@support.example.com", Date: sentDate,
			Header: store.OutboxHeader{From: "acme@support.example.com", Subject: ""}}
	}
	// The usual mail has no attachments: rich names and text without them.
	bare := rich
	bare.name = "bare"
	bare.attach = nil
	bare.seal = mailout.Seal{}
	bare.row = func(event, lang string, internal bool) *store.OutboxItem {
		it := rich.row(event, lang, internal)
		it.Attach = nil
		it.InReplyTo, it.References = nil, it.References[:3]
		return it
	}
	return []sentVariant{plain, rich, bare, empty}
}

// sendTemplates is every template the notifier uses, plus the digest.
func sendTemplates() []string {
	return append(notify.Templates(), notify.DigestTemplate)
}

// composeSent renders row it of variant v with set and composes it as the
// sender does; a render or compose failure is part of the output (it
// must fail alike).
func composeSent(t *testing.T, st store.DB, set *templates.Set, v sentVariant, it *store.OutboxItem) []byte {
	t.Helper()
	c := config.Default()
	n := notify.New(func() *config.Config { return c }, func() *templates.Set { return set }, nil, slog.New(slog.DiscardHandler))
	var body mailout.Body
	err := st.View(func(tx store.Tx) error {
		var err error
		body, err = n.Render(tx, it)
		return err
	})
	if err != nil {
		return []byte("render error: " + err.Error() + "\n")
	}
	open := func(h string) (io.ReadCloser, error) {
		s, ok := v.attach[h]
		if !ok {
			return nil, fmt.Errorf("blob %s: %w", h, store.ErrNotFound)
		}
		return io.NopCloser(strings.NewReader(s)), nil
	}
	m, err := mailout.Prepare(it, body, open)
	if err != nil {
		return []byte("prepare error: " + err.Error() + "\n")
	}
	defer m.Close()
	m.Seal = v.seal
	var out bytes.Buffer
	if _, err := m.WriteTo(&out); err != nil {
		return []byte("compose error: " + err.Error() + "\n")
	}
	return out.Bytes()
}

// TestSentBytes renders and composes a set of outbox rows — every
// template, customer and internal, en and de, with the embedded defaults
// and with an operator's override set (testdata/override: templates that
// use what the defaults do not), in three variants (plain; non-ASCII
// names, a long hostile subject, a long quoted body, References and
// attachments; empty values) — and compares the bytes with what main
// composed before the send path was made cheaper. A representative
// dozen are kept whole (testdata/sent/*.eml), the rest as SHA-256
// digests (testdata/sent/digests.txt).
func TestSentBytes(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	variants := sentVariants()
	err = st.Update(t.Context(), func(tx store.Tx) error {
		added := map[uint64]bool{}
		for _, v := range variants {
			if v.msg == nil || added[v.msg.ID] {
				continue
			}
			added[v.msg.ID] = true
			m := *v.msg
			if err := tx.AddMessage(&m); err != nil {
				return err
			}
			if m.ID != v.msg.ID {
				return fmt.Errorf("message %d stored as %d", v.msg.ID, m.ID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each set twice: as the daemon makes it (templates compiled after
	// their first render) and rendering through text/template and
	// html/template only.
	sets := map[string]*templates.Set{"default": templates.New(""), "override": templates.New(filepath.Join("testdata", "override"))}
	generalSets := map[string]*templates.Set{"default": templates.NewGeneral(""), "override": templates.NewGeneral(filepath.Join("testdata", "override"))}
	whole := map[string]bool{
		"default/bare/de/customer/request_created":         true,
		"default/bare/en/internal/request_created":         true,
		"default/plain/en/customer/request_created":        true,
		"default/plain/en/internal/request_created":        true,
		"default/plain/de/customer/request_created":        true,
		"default/rich/de/customer/request_created":         true,
		"default/rich/de/internal/request_created":         true,
		"default/rich/en/internal/customer_comment_added":  true,
		"default/rich/en/customer/public_comment_added":    true,
		"default/rich/en/customer/request_resolved":        true,
		"default/empty/en/customer/request_created":        true,
		"override/rich/en/customer/request_created":        true,
		"override/rich/en/internal/request_created":        true,
		"override/plain/de/customer/public_comment_added":  true,
		"override/rich/de/internal/customer_comment_added": true,
	}
	var digests bytes.Buffer
	seenWhole := 0
	for _, setName := range []string{"default", "override"} {
		set := sets[setName]
		for _, v := range variants {
			for _, lang := range []string{"en", "de", "fr"} {
				for _, event := range sendTemplates() {
					internal := strings.HasPrefix(event, "internal/")
					// Twice: the second render of a template may take
					// another path than the first (cached, compiled).
					var got []byte
					for round := range 2 {
						b := composeSent(t, st, set, v, v.row(event, lang, internal))
						if round == 1 && !bytes.Equal(b, got) {
							t.Errorf("%s/%s/%s/%s: second render differs from the first", setName, v.name, lang, event)
						}
						got = b
					}
					if g := composeSent(t, st, generalSets[setName], v, v.row(event, lang, internal)); !bytes.Equal(g, got) {
						t.Errorf("%s/%s/%s/%s: compiled templates wrote\n%s\ntext/template and html/template:\n%s", setName, v.name, lang, event, got, g)
					}
					name := setName + "/" + v.name + "/" + lang + "/" + event
					sum := sha256.Sum256(got)
					fmt.Fprintf(&digests, "%s  %s\n", hex.EncodeToString(sum[:]), name)
					if !whole[name] {
						continue
					}
					seenWhole++
					path := filepath.Join(sentDir, strings.ReplaceAll(name, "/", "_")+".eml")
					if *updateSent {
						if err := os.WriteFile(path, got, 0o644); err != nil {
							t.Fatal(err)
						}
						continue
					}
					want, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, want) {
						t.Errorf("%s: composed mail differs from %s:\n%s", name, path, got)
					}
				}
			}
		}
	}
	// The mail of a new request and of a comment renders compiled.
	for _, lang := range []string{"en", "de"} {
		for _, name := range []string{"customer/request_created", "internal/request_created", "customer/public_comment_added", "internal/customer_comment_added", "internal/agent_comment_added"} {
			if !sets["default"].Compiled(lang, name) {
				t.Errorf("%s %s: not compiled", lang, name)
			}
		}
	}
	if seenWhole != len(whole) {
		t.Errorf("%d whole golden mails written or compared, want %d", seenWhole, len(whole))
	}
	path := filepath.Join(sentDir, "digests.txt")
	if *updateSent {
		if err := os.WriteFile(path, digests.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(digests.Bytes(), want) {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(digests.String(), "\n")
		var bad []string
		for i := range max(len(wl), len(gl)) {
			if i >= len(wl) || i >= len(gl) || wl[i] != gl[i] {
				bad = append(bad, fmt.Sprintf("line %d", i+1))
				if i < len(gl) {
					bad[len(bad)-1] += ": " + gl[i]
				}
			}
		}
		t.Errorf("%d composed mails differ from %s: %s", len(bad), path, strings.Join(bad, "; "))
	}
}
