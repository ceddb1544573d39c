package quote_test

import (
	"bytes"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/internal/corpustest"
	"github.com/ticketgate/ticketgate/message"
	"github.com/ticketgate/ticketgate/quote"
	"github.com/ticketgate/ticketgate/templates"
)

// The tests of this file hold Strip and Fold to exactly what they returned
// before they were made cheaper per line (legacyStrip and legacyFold, a
// copy of that code kept in legacy_*_test.go): on every text of the shared
// corpus, on random mutations of them, and under the fuzzer (FuzzStripSame).
// The cheap guards in front of the rule expressions may only skip lines the
// expressions cannot match; any difference here means one skipped too much.

// sameInputs returns every text the differential tests start from: each
// file of the corpus and of quote/testdata as it is, and for each message
// its decoded text (what the daemon strips) and its body below the header.
// A sample (sampled) leaves out the raw messages and their bodies, and
// texts over 32 KiB: a few large messages (base64 and HTML, up to 500
// KB) take most of the time and add no kind of line the others lack.
func sameInputs(t testing.TB) []string {
	sample := sampled()
	var texts []string
	for _, root := range []string{corpustest.Dir(t), "testdata"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			switch filepath.Ext(path) {
			case ".txt", ".eml", ".golden":
			default:
				return nil
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if filepath.Ext(path) != ".eml" {
				texts = append(texts, string(raw))
				return nil
			}
			if !sample {
				texts = append(texts, string(raw))
				if n := message.HeaderLength(raw); n > 0 && n < len(raw) {
					texts = append(texts, string(raw[n:]))
				}
			}
			m, err := message.Parse(bytes.NewReader(raw), message.ParseOptions{})
			if err != nil {
				t.Errorf("%s: %v", path, err)
				return nil
			}
			if m.Text != "" && (!sample || len(m.Text) <= 32<<10) {
				texts = append(texts, m.Text)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(texts) < 1000 {
		t.Fatalf("only %d texts found in the corpus and testdata", len(texts))
	}
	return texts
}

// checkSame fails t when Strip or Fold differ from the code before.
func checkSame(t testing.TB, text string, markers []string) bool {
	t.Helper()
	ok := true
	if got, want := quote.Strip(text, markers), legacyStrip(text, markers); got != want {
		t.Errorf("Strip(%q)\n got  %q\n want %q (before)", text, got, want)
		ok = false
	}
	gb, gq := quote.Fold(text)
	wb, wq := legacyFold(text)
	if gb != wb || gq != wq {
		t.Errorf("Fold(%q)\n got  %q, %q\n want %q, %q (before)", text, gb, gq, wb, wq)
		ok = false
	}
	return ok
}

// sampled reports whether the differential tests compare a sample only:
// with -short, or with -race (ten times slower).
func sampled() bool { return testing.Short() || quote.RaceDetector }

func TestStripSameOnCorpus(t *testing.T) {
	markers := templates.AllReplyMarkers()
	texts := sameInputs(t)
	for _, text := range texts {
		checkSame(t, text, markers)
	}
	t.Logf("%d texts compared (sample: %v)", len(texts), sampled())
}

// interesting are lines that some rule looks for, or nearly: mutations
// put them into other texts, so that the rules meet each other and the
// guards meet near misses.
var interesting = []string{
	"On Mon, 2 Mar 2026 at 10:00, Carl Customer <carl@example.com> wrote:",
	"On Mon, 2 Mar 2026 at 10:00, Carl Customer",
	"<carl@example.com> wrote:",
	"Carl Customer <carl@example.com> schrieb am Do. 16. Mai 2024 um 00:02:",
	"Am 25.06.2015 um 10:55 schrieb Carl Customer:",
	"Le 2 mars 2026 à 10:00, Carl <c@example.fr> a écrit :",
	"2014-03-20 8:48 GMT+01:00 Carl <carl@example.com>:",
	"ср, 30 апр. 2025 г. в 15:19, Carl <c@example.ru>:",
	"在 2016年11月8日，下午2:15，Carl <c@example.cn> 写道：",
	"---- On Mon, 02 Mar 2026 10:00:00 +0100 Carl wrote ----",
	"Thanks! On Wed, Apr 4, 2012 at 3:59 PM, Bob <bob@example.com> wrote:",
	"-----Original Message-----",
	"------------------ 原始邮件 ------------------",
	"Original Message",
	"________________________________",
	"From: Acme Support <acme@support.example.com>",
	"*From:* Acme Support",
	"Sent: Monday, November 2, 2026 10:00 AM",
	"Gesendet: Montag, 2. November 2026 um 10:00 Uhr",
	"Von: Acme <a@example.com>",
	"De : Acme",
	"Envoyé le : lundi 2 mars 2026",
	"Date: Mon, 2 Mar 2026 10:00:00 +0100",
	"To: Carl",
	"Subject: [ACME-1] Printer",
	"发件人: Acme",
	"发送时间: 2026年3月2日",
	"From: a@example.com Sent: Monday To: Carl Subject: Hi",
	"---------- Forwarded message ---------",
	"Begin forwarded message:",
	"> quoted line of the original",
	">",
	"> > deeper",
	"-- ",
	"--",
	"---",
	"Sent from my iPhone",
	"Von meinem iPhone gesendet",
	"Get Outlook for Android",
	"Best regards,",
	"Mit freundlichen Grüßen",
	"Carl Customer",
	"+49 30 1234567",
	"www.example.com",
	"This e-mail and any attachments are confidential.",
	"## Reply above this line ##",
	"## Bitte oberhalb dieser Zeile antworten ##",
	"see the following header fields:",
	"It broke at 10:30 on 2.3.2026.",
	"Fr., 28.",
	"",
	"   ",
}

// mutate changes text in one to four random ways: lines deleted,
// duplicated, swapped, quoted, borrowed from other texts or from
// interesting, bytes changed, cases changed, line ends changed.
func mutate(r *rand.Rand, text string, pool []string) string {
	lines := strings.Split(text, "\n")
	randLine := func() int { return r.IntN(len(lines)) }
	for range 1 + r.IntN(4) {
		if len(lines) == 0 {
			lines = []string{""}
		}
		i := randLine()
		switch r.IntN(12) {
		case 0:
			lines = append(lines[:i], lines[i+1:]...)
		case 1:
			lines = append(lines[:i+1], lines[i:]...)
		case 2:
			j := randLine()
			lines[i], lines[j] = lines[j], lines[i]
		case 3:
			lines = append(lines[:i], append([]string{interesting[r.IntN(len(interesting))]}, lines[i:]...)...)
		case 4:
			other := strings.Split(pool[r.IntN(len(pool))], "\n")
			lines = append(lines[:i], append([]string{other[r.IntN(len(other))]}, lines[i:]...)...)
		case 5:
			lines[i] = []string{"> ", ">", " > ", ">> "}[r.IntN(4)] + lines[i]
		case 6:
			lines[i] = strings.TrimLeft(lines[i], " >")
		case 7:
			if r.IntN(2) == 0 {
				lines[i] = strings.ToUpper(lines[i])
			} else {
				lines[i] = strings.ToLower(lines[i])
			}
		case 8:
			l := lines[i]
			k := r.IntN(len(l) + 1)
			ins := []string{"\r", "\t", "\v", "\f", " ", "\u00a0", "\u202f", "\u200e", "\u200b", "\xff", "\xe2\x80", ":", "：", ">", "-", "*", "_", "=", "@", ".", "?", "»", "\"", "0", "9", "İ", "ſ", "K", "<", "(", "/"}[r.IntN(31)]
			lines[i] = l[:k] + ins + l[k:]
		case 9:
			if l := lines[i]; l != "" {
				k := r.IntN(len(l))
				lines[i] = l[:k] + l[k+1:]
			}
		case 10:
			if l := lines[i]; l != "" {
				k := r.IntN(len(l) + 1)
				lines = append(lines[:i], append([]string{l[:k], l[k:]}, lines[i+1:]...)...)
			}
		case 11:
			if i+1 < len(lines) {
				lines = append(lines[:i], append([]string{lines[i] + " " + lines[i+1]}, lines[i+2:]...)...)
			}
		}
	}
	sep := "\n"
	if r.IntN(8) == 0 {
		sep = "\r\n"
	}
	return strings.Join(lines, sep)
}

func TestStripSameMutated(t *testing.T) {
	markers := templates.AllReplyMarkers()
	texts := sameInputs(t)
	// Long messages make the reference slow and add little: mutate the
	// texts a reply can be.
	var pool []string
	for _, s := range texts {
		if len(s) <= 16<<10 {
			pool = append(pool, s)
		}
	}
	n := 10000
	if sampled() {
		n = 2000
	}
	r := rand.New(rand.NewPCG(13, 2026))
	failed := 0
	for range n {
		if !checkSame(t, mutate(r, pool[r.IntN(len(pool))], pool), markers) {
			if failed++; failed >= 10 {
				t.Fatal("stopped after 10 differences")
			}
		}
	}
	t.Logf("%d mutations of %d texts compared", n, len(pool))
}

// FuzzStripSame compares Strip and Fold with the code before on what the
// fuzzer makes of the reply cases and the interesting lines:
//
//	go test -run XXX -fuzz FuzzStripSame -fuzztime 5m ./quote
func FuzzStripSame(f *testing.F) {
	dir := filepath.Join(corpustest.Dir(f), "replies", "cases")
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(raw))
	}
	f.Add(strings.Join(interesting, "\n"))
	markers := templates.AllReplyMarkers()
	f.Fuzz(func(t *testing.T, text string) {
		checkSame(t, text, markers)
	})
}
