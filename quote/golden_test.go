package quote

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/message"
	"github.com/ticketgate/ticketgate/templates"
)

var update = flag.Bool("update", false, "rewrite quote/testdata/replies/*.golden from Strip's output")

// replyCases lists every case in testdata/replies: <client>-<lang>-<n>.txt
// is a reply's plain-text body as that client produces it, and .golden is
// what Strip must leave of it. corpus names the message in ../shared/corpus
// a case is an excerpt of (its decoded text, the first lines when the
// message is long); the others are written to the client's format.
var replyCases = []struct{ name, client, corpus string }{
	// Gmail (web): our marker inside the quoted notification.
	{"gmail-en-1", "Gmail web, en, quoted marker", ""},
	// Gmail wraps a long attribution, leaving "wrote:" alone on a line.
	{"gmail-en-2", "Gmail web, en, attribution wrapped over two lines", ""},
	// HTML-only Gmail as mailin turns it into text: no "> " on the quote.
	{"gmail-en-3", "Gmail web, en, HTML quote without > markers", ""},
	{"gmail-en-4", "Gmail web, en, forward with a note", "ruby-mail/mime_emails/raw_email2.eml"},
	{"gmail-en-5", "Gmail web, en, forward without a note", ""},
	{"gmail-de-1", "Gmail web, de, address wrapped to the next line", ""},
	{"gmail-fr-1", "Gmail web, fr", ""},
	{"gmail-es-1", "Gmail web, es, wrapped", ""},
	{"gmail-it-1", "Gmail web, it, wrapped", ""},
	{"gmail-nl-1", "Gmail web, nl", ""},
	{"android-gmail-en-1", "Gmail for Android, en", ""},
	{"outlook-en-1", "Outlook desktop, en, underscore rule and From/Sent block", ""},
	{"outlook-en-2", "Outlook desktop plain text, en, -----Original Message-----", ""},
	{"outlook-de-1", "Outlook/Exchange, de, Von/Gesendet block without a rule", "zammad/mail003.eml"},
	{"outlook-de-2", "Outlook/Exchange, de, -----Ursprüngliche Nachricht-----", "zammad/mail012.eml"},
	{"outlook-fr-1", "Outlook desktop, fr, De : / Envoyé :", ""},
	{"outlook-es-1", "Outlook desktop, es, De: / Enviado:", ""},
	{"outlook-it-1", "Outlook desktop, it, Da: / Inviato:", ""},
	{"outlook-nl-1", "Outlook desktop, nl, Van: / Verzonden:", ""},
	{"outlookmac-en-1", "Outlook for Mac, en, From/Date block, -- signature", ""},
	{"owa-de-1", "Outlook on the web, de", ""},
	{"outlookios-en-1", "Outlook for iOS, en, Get Outlook for iOS", ""},
	{"applemail-en-1", "Apple Mail, en, attribution inside the quote", ""},
	{"applemail-en-2", "Apple Mail, en, attribution above the quote", ""},
	{"applemail-en-3", "Apple Mail, en, Begin forwarded message", ""},
	{"applemail-de-1", "Apple Mail, de", ""},
	{"thunderbird-en-1", "Thunderbird, en, -- signature above the quote", ""},
	{"thunderbird-de-1", "Thunderbird, de, quoted German marker", ""},
	{"thunderbird-de-2", "Thunderbird 12, de, bottom-posted below the quote", "zammad/mail005.eml"},
	{"thunderbird-de-3", "Thunderbird, de, -- signature without the space", "zammad/mail030.eml"},
	{"ios-en-1", "iOS Mail, en, Sent from my iPhone", ""},
	{"ios-de-1", "iOS Mail, de, Von meinem iPhone gesendet", ""},
	{"ios-nl-1", "iOS Mail, nl, Verstuurd vanaf mijn iPhone, het volgende geschreven", ""},
	{"ios-fr-1", "iOS Mail, fr, Envoyé de mon iPhone", ""},
	{"ios-es-1", "iOS Mail, es, Enviado desde mi iPhone", ""},
	{"ios-it-1", "iOS Mail, it, Inviato da iPhone", ""},
	{"thunderbird-de-4", "Thunderbird, de, forward with a note", ""},
	{"outlookandroid-es-1", "Outlook for Android, es, Obtener Outlook para Android", ""},
	{"yahoo-en-1", "Yahoo Mail, en, quote without > markers", ""},
	{"yahoo-de-1", "Yahoo Mail, de, Folgendes geschrieben", ""},
	{"k9-en-1", "K-9 Mail, en, >quote without space", ""},
	{"fairemail-de-1", "FairEmail, de", ""},
	{"roundcube-de-1", "Roundcube, de", ""},
	{"zimbra-en-1", "Zimbra, en, ----- Original Message -----", ""},
	{"zimbra-de-1", "Zimbra, de, ----- Ursprüngliche Nachricht -----", ""},
	{"webde-de-1", "web.de, de, forward of a forward: Gesendet before Von", "zammad/mail036.eml"},
	{"tonline-de-1", "T-Online webmail, de, forward without a note", "zammad/mail057.eml"},
	{"eudora-en-1", "Eudora 5, en, bottom-posted, At … you wrote:", "rt/new-ticket-from-iso-8859-1-full.eml"},
	{"mulberry-de-1", "Mulberry, de, --Am … schrieb wrapped", "rt/8859-15-message-series/dir.eml"},
	{"kmail-en-1", "KMail, en, forwarded message with FYI", "rt/crashes-file-based-parser.eml"},
	{"dsn-en-1", "a delivery report listing Date:/From: of the bounced mail is not a quote", "cpython/msg_16.eml"},
	{"spam-zh-1", "underscore rules inside the text are not a quote", "zammad/mail017.eml"},
	{"marker-en-1", "our marker below an Outlook header block", ""},
	{"marker-de-1", "our German marker, unquoted", ""},
	{"marker-en-2", "our marker quoted under an attribution without a date", ""},
	{"topposted-en-1", "a reply with no quote stays whole", ""},
	{"inline-en-1", "answers between quotes stay", ""},
	{"inline-en-2", "answers between quotes, full quote below", ""},
	{"forward-en-1", "a body that is only a quote stays", ""},
	{"ownwords-en-1", "the author's own 'On … wrote:' sentence without a date stays", ""},
	{"outlook-en-3", "a From: line without a Sent:/Date: line is text", ""},
}

func repoRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test file")
	}
	return filepath.Dir(filepath.Dir(file))
}

func TestStripGolden(t *testing.T) {
	dir := filepath.Join("testdata", "replies")
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk, listed []string
	for _, f := range files {
		onDisk = append(onDisk, strings.TrimSuffix(filepath.Base(f), ".txt"))
	}
	for _, c := range replyCases {
		listed = append(listed, c.name)
	}
	sort.Strings(onDisk)
	sort.Strings(listed)
	if strings.Join(onDisk, " ") != strings.Join(listed, " ") {
		t.Fatalf("replyCases and testdata/replies differ:\n listed  %v\n on disk %v", listed, onDisk)
	}
	markers := templates.AllReplyMarkers()
	for _, c := range replyCases {
		t.Run(c.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(dir, c.name+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			got := Strip(string(in), markers) + "\n"
			golden := filepath.Join(dir, c.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./quote -run TestStripGolden -update, then review the golden)", err)
			}
			if got != string(want) {
				t.Errorf("%s (%s):\n got %q\nwant %q", c.name, c.client, got, want)
			}
			if strings.TrimSpace(got) == "" {
				t.Errorf("%s came out empty", c.name)
			}
		})
	}
}

// TestStripCorpus checks that the corpus cases are what mailin decodes
// from the real messages, and that Strip gives the golden result on the
// whole message text too, not only on the excerpt.
func TestStripCorpus(t *testing.T) {
	corpus := filepath.Join(repoRoot(t), "..", "shared", "corpus")
	if _, err := os.Stat(corpus); err != nil {
		t.Skipf("mail corpus not found at %s: %v", corpus, err)
	}
	markers := templates.AllReplyMarkers()
	n := 0
	for _, c := range replyCases {
		if c.corpus == "" {
			continue
		}
		n++
		t.Run(c.name, func(t *testing.T) {
			f, err := os.Open(filepath.Join(corpus, c.corpus))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			m, err := message.Parse(f, message.ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			excerpt, err := os.ReadFile(filepath.Join("testdata", "replies", c.name+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(m.Text, strings.TrimRight(string(excerpt), "\n")) {
				t.Errorf("testdata/replies/%s.txt is not the start of the text of %s", c.name, c.corpus)
			}
			want, err := os.ReadFile(filepath.Join("testdata", "replies", c.name+".golden"))
			if err != nil {
				t.Fatal(err)
			}
			if got := Strip(m.Text, markers) + "\n"; got != string(want) {
				t.Errorf("Strip of the whole %s:\n got %q\nwant %q", c.corpus, got, want)
			}
		})
	}
	t.Logf("%d corpus messages checked", n)
}

// TestStripHTMLOnly runs HTML-only replies (testdata/html/*.eml, written
// in the markup Outlook, Gmail and Apple Mail send) through mailin, which
// turns their HTML into text without "> " markers, and checks what Strip
// leaves of that text against the .golden beside each message.
func TestStripHTMLOnly(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "html", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no messages in testdata/html")
	}
	markers := templates.AllReplyMarkers()
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			f, err := os.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			m, err := message.Parse(f, message.ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if m.HTML == "" || m.Text == "" {
				t.Fatalf("%s: want an HTML-only message that mailin turns into text; html %d bytes, text %q", name, len(m.HTML), m.Text)
			}
			got := Strip(m.Text, markers) + "\n"
			golden := strings.TrimSuffix(name, ".eml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("text from mailin:\n%s\n\n got %q\nwant %q", m.Text, got, want)
			}
		})
	}
}
