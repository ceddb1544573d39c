package quote

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/templates"
)

func TestFoldQuote(t *testing.T) {
	for _, c := range []struct {
		name, in, body, quoted string
	}{
		{"no quote", "Hello\n\nThanks", "Hello\n\nThanks", ""},
		{"trailing quote with attribution",
			"Thanks!\n\nOn Mon, 2 Mar 2026, Acme wrote:\n> old\n> older\n",
			"Thanks!", "On Mon, 2 Mar 2026, Acme wrote:\n> old\n> older"},
		{"wrapped attribution",
			"Fine.\r\n\r\nOn Mon, 2 Mar 2026 at 10:00, Acme Support\r\n<acme@support.example.com> wrote:\r\n\r\n> old\r\n",
			"Fine.", "On Mon, 2 Mar 2026 at 10:00, Acme Support\n<acme@support.example.com> wrote:\n\n> old"},
		{"German attribution",
			"Danke.\n\nAm 01.03.2026 um 10:00 schrieb Acme <a@example.com>:\n> alt",
			"Danke.", "Am 01.03.2026 um 10:00 schrieb Acme <a@example.com>:\n> alt"},
		{"Spanish attribution",
			"Gracias.\nEl lun, 2 mar 2026, Acme escribió:\n> viejo",
			"Gracias.", "El lun, 2 mar 2026, Acme escribió:\n> viejo"},
		{"Mulberry-style attribution",
			"Hello.\n\n--Am Montag, 26. Mai 2003 18:41 Uhr +0200 schrieb Dirk Pape\n<pape@example.org>:\n\n> I attach a digest",
			"Hello.", "--Am Montag, 26. Mai 2003 18:41 Uhr +0200 schrieb Dirk Pape\n<pape@example.org>:\n\n> I attach a digest"},
		{"Dutch Apple Mail attribution",
			"Ja.\n\nOp 12 mrt. 2026 om 10:14 heeft Acme <a@example.com> het volgende geschreven:\n\n> oud",
			"Ja.", "Op 12 mrt. 2026 om 10:14 heeft Acme <a@example.com> het volgende geschreven:\n\n> oud"},
		{"Yahoo German attribution",
			"Ja.\n\nAm Dienstag, 12. März 2026, 10:14:05 MEZ hat Acme <a@example.com> Folgendes geschrieben:\n> alt",
			"Ja.", "Am Dienstag, 12. März 2026, 10:14:05 MEZ hat Acme <a@example.com> Folgendes geschrieben:\n> alt"},
		{"wrapped line under the quote is not an attribution",
			"Ja.\nOn Monday\n> we wrote:",
			"Ja.\nOn Monday", "> we wrote:"},
		{"quote without attribution",
			"See below\n\n> old\n>> older\n\n",
			"See below", "> old\n>> older"},
		{"line that merely ends in a colon stays",
			"Here is what I think:\n> old",
			"Here is what I think:", "> old"},
		{"interleaved answers stay in place",
			"> Is it on fire?\nYes.\n> Since when?\nSince Monday.",
			"> Is it on fire?\nYes.\n> Since when?\nSince Monday.", ""},
		{"only a quote is shown whole",
			"On Mon, Acme wrote:\n> everything",
			"On Mon, Acme wrote:\n> everything", ""},
		{"indented quote markers",
			"Ok\n  > old",
			"Ok", "  > old"},
		{"empty", "", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			body, quoted := Fold(c.in)
			if body != c.body || quoted != c.quoted {
				t.Errorf("Fold(%q)\n body   %q, want %q\n quoted %q, want %q", c.in, body, c.body, quoted, c.quoted)
			}
		})
	}
}

func TestStrip(t *testing.T) {
	markers := templates.AllReplyMarkers()
	for _, c := range []struct{ name, in, want string }{
		{"our marker, English (Gmail keeps the quoted notification below)",
			"We sent a new printer.\n\nOn Mon, 2 Nov 2026 at 10:00, Acme Support <acme@support.example.com> wrote:\n> ## Reply above this line ##\n>\n> New request ACME-1 from Carl",
			"We sent a new printer."},
		{"our marker, German, unquoted (Outlook puts the original under a rule)",
			"Ist erledigt.\n\n## Bitte oberhalb dieser Zeile antworten ##\n\nNeue Anfrage ACME-1",
			"Ist erledigt."},
		{"marker wins over everything below it",
			"Answer.\n-- \n## Reply above this line ##\nsecret internal text",
			"Answer."},
		{"Outlook desktop, English",
			"Thanks, works now.\n\nBest,\nCarl\n\n-----Original Message-----\nFrom: Acme Support <acme@support.example.com>\nSent: Monday, November 2, 2026 10:00 AM\nTo: Carl\nSubject: [ACME-1] Printer\n\nold text",
			"Thanks, works now.\n\nBest,\nCarl"},
		{"Outlook/OWA header block without the rule, German",
			"Danke!\n\nVon: Acme Support <acme@support.example.com>\nGesendet: Montag, 2. November 2026 10:00\nAn: Carl\nBetreff: [ACME-1] Drucker\n\nalt",
			"Danke!"},
		{"Outlook, French",
			"Merci.\n\n-----Message d'origine-----\nDe : Acme\nEnvoyé : lundi 2 novembre 2026 10:00\n\nancien",
			"Merci."},
		{"Apple Mail / iOS with signature",
			"On my way.\n\nSent from my iPhone\n\nOn 2 Nov 2026, at 10:00, Acme Support <acme@support.example.com> wrote:\n\n> old",
			"On my way."},
		{"Thunderbird with RFC 3676 signature",
			"Fixed, thanks.\n\n-- \nCarl Customer\nACME Corp\n\nAm 02.11.26 um 10:00 schrieb Acme Support:\n> alt",
			"Fixed, thanks."},
		{"Italian attribution",
			"Grazie.\n\nIl giorno lun 2 nov 2026 alle ore 10:00 Acme <a@example.com> ha scritto:\n> vecchio",
			"Grazie."},
		{"Dutch attribution",
			"Bedankt.\n\nOp ma 2 nov. 2026 om 10:00 schreef Acme <a@example.com>:\n> oud",
			"Bedankt."},
		{"French attribution",
			"Merci.\n\nLe lun. 2 nov. 2026 à 10:00, Acme <a@example.com> a écrit :\n> ancien",
			"Merci."},
		{"interleaved answers are kept",
			"> Is it on fire?\nYes.\n> Since when?\nMonday.",
			"> Is it on fire?\nYes.\n> Since when?\nMonday."},
		{"a reply that is only a quote keeps its text",
			"On Mon, Acme wrote:\n> everything",
			"On Mon, Acme wrote:\n> everything"},
		{"no quote at all", "Just text.\nTwo lines.", "Just text.\nTwo lines."},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Strip(c.in, markers); got != c.want {
				t.Errorf("Strip:\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

func FuzzStrip(f *testing.F) {
	f.Add("a\n> b", "## Reply above this line ##")
	f.Add("x\n-----Original Message-----\ny", "")
	// Every golden reply is a seed, with our English marker.
	files, err := filepath.Glob(filepath.Join("testdata", "replies", "*.txt"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), "## Reply above this line ##")
	}
	f.Fuzz(func(t *testing.T, text, marker string) {
		out := Strip(text, []string{marker})
		if len(out) > len(text) {
			t.Fatalf("Strip grew the text: %q → %q", text, out)
		}
		if out == "" && strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n")) != "" {
			t.Fatalf("Strip emptied a text with words in it: %q", text)
		}
		body, quoted := Fold(text)
		if len(body)+len(quoted) > len(text) {
			t.Fatalf("Fold grew the text: %q → %q + %q", text, body, quoted)
		}
	})
}
