package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/internal/corpustest"
	"github.com/ticketgate/ticketgate/message"
)

// parseCorpus parses every .eml file of the corpus, keyed by its path
// relative to the corpus root.
func parseCorpus(t *testing.T) map[string]*message.Message {
	t.Helper()
	root := corpustest.Dir(t)
	out := map[string]*message.Message{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".eml") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		m, err := message.Parse(f, message.ParseOptions{})
		if err != nil {
			t.Errorf("%s: parse: %v", path, err)
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		out[filepath.ToSlash(rel)] = m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 600 {
		t.Fatalf("only %d corpus messages parsed; expected the full corpus (647)", len(out))
	}
	return out
}

type rcpt struct {
	addr      string
	action    string
	permanent bool
}

// corpusBounces lists every bounce-like message of the corpus, found by
// grepping for delivery-status parts, multipart/report, MAILER-DAEMON and
// postmaster senders, null Return-Paths and bounce wording, with the
// recipients and permanence read from each file by hand. Every other corpus
// message must not parse as a bounce (two of the null-Return-Path ones,
// zammad mail019 and mail035, are spam, not bounces).
var corpusBounces = map[string]struct {
	rcpts   []rcpt
	delayed bool
	origID  string // "" when the file does not say
}{
	// report-type=delivery-status with no status part at all: a MIME
	// structure test, nobody to name.
	"cpython/msg_05.eml": {},
	// Sun Internet Mail Server, multipart/report without report-type.
	"cpython/msg_16.eml": {rcpts: []rcpt{{"jangel1@cougar.noc.ucla.edu", "failed", true}},
		origID: "002001c144a6$8752e060$56104586@oxy.edu"},
	// sendmail; its Content-Type header is cut off inside the boundary
	// parameter.
	"cpython/msg_25.eml":                            {rcpts: []rcpt{{"scoffman@wellpartner.com", "failed", true}}, origID: "01040616033903.00962@server"},
	"cpython/msg_43.eml":                            {rcpts: repeatFailed(msg43Recipients...), origID: "edab.7804f5cb8070@python.org"},
	"enmime/dsn/delayed_dsn.eml":                    {rcpts: []rcpt{{"thomas@de-montfort.ac.uk", "delayed", false}}, delayed: true},
	"enmime/dsn/dsn_with_multipart_alternative.eml": {rcpts: []rcpt{{"non-existing@example.com", "failed", true}}},
	"enmime/dsn/multi_recipient_dsn.eml": {rcpts: []rcpt{
		{"arathib@vnet.ibm.com", "failed", true},
		{"johnh@hpnjld.njd.hp.com", "delayed", false},
		{"wsnell@sdcc13.ucsd.edu", "failed", true},
	}},
	// Action failed after 5 days with Status 4.0.0: given up on a
	// temporary problem, so not a reason to suppress the address.
	"enmime/dsn/simple_dsn.eml":           {rcpts: []rcpt{{"louisl@larry.slip.umd.edu", "failed", false}}},
	"enmime/dsn/simple_dsn_with_html.eml": {rcpts: []rcpt{{"louisl@larry.slip.umd.edu", "failed", false}}},
	// From Mailer-Daemon, "Delivery Status Notification (Failure)", no body.
	"enmime/mail/multipart-wo-boundary.eml": {},
	// A delivery-status part inside multipart/mixed with no Status field:
	// 5.1.1 comes from the Diagnostic-Code.
	"otobo/EmailParser/FilenameWithCRLF.eml": {rcpts: []rcpt{{"abc123@mydomain.somewhere", "failed", true}}},
	// Its original (Message-ID test4567@mydomain.somewhere) is attached
	// outside a report, so the parser keeps it as an .eml attachment and
	// the bounce cannot name it.
	"otobo/EmailParser/FilenameWithNewline.eml": {rcpts: []rcpt{{"abc123@mydomain.somewhere", "failed", true}}},
	"otobo/EmailParser/PostMaster-Test10.eml":   {rcpts: []rcpt{{"asdfasdfasdfasd@example.com", "failed", true}}, origID: "1183717051.586927.929001308.97809.36@otobo.otobo.org"},
	"otobo/PostMaster/PostMaster-Test10.eml":    {rcpts: []rcpt{{"asdfasdfasdfasd@example.com", "failed", true}}, origID: "1183717051.586927.929001308.97809.36@otobo.otobo.org"},
	"rt/multipart-report.eml": {rcpts: []rcpt{{"jesmund@mailbox.other.example.com", "failed", true}},
		origID: "200308221615.h7MGFGac020135@mx12.other.example.com"},
	"ruby-mail/mime_emails/raw_email_with_mimepart_without_content_type.eml": {rcpts: []rcpt{{"larose.julie@courrier.uqam.ca", "delayed", false}}, delayed: true,
		origID: "89d7557c0610181510r6fa5ebd8n66a7deec71ade118@mail.gmail.com"},
	"ruby-mail/multipart_report_emails/multi_address_bounce1.eml": {rcpts: repeatFailed(gmailBounceRecipients...),
		origID: "118707422.15521266992174819.JavaMail.root@lvmail01"},
	"ruby-mail/multipart_report_emails/multi_address_bounce2.eml": {rcpts: repeatFailed(gmailBounceRecipients...),
		origID: "118707422.15521266992174819.JavaMail.root@lvmail01"},
	// Two delivery-status parts: the first is prose, the second has the fields.
	"ruby-mail/multipart_report_emails/multipart_report_multiple_status.eml": {rcpts: []rcpt{{"u@ci.com", "failed", true}},
		origID: "4c2a146147ac8_61ff157c4ec1652df@s.h.c.mail"},
	"ruby-mail/multipart_report_emails/report_422.eml": {rcpts: []rcpt{{"fraser@oooooooo.com.au", "delayed", false}}, delayed: true,
		origID: "15655788.13.1200472642578.JavaMail.Administrator@mail.ttttt.com.au"},
	"ruby-mail/multipart_report_emails/report_530.eml": {rcpts: []rcpt{{"edwin@zzzzzzz.com", "failed", true}},
		origID: "200712232303.lBNN3jDq002941@mail12.rrrr.com.au"},
	// Exchange DSN (German), charset unicode-1-1-utf-7 in the subject.
	"zammad/mail018.eml": {rcpts: []rcpt{{"m.smith@example.com", "failed", true}}, origID: "20131115125507.4636.975502@portal.znuny.com"},
	"zammad/mail033-undelivered-mail-returned-to-sender.eml": {rcpts: []rcpt{{"not_existing@znuny.com", "failed", true}},
		origID: "20150830145601.30.608881@edenhofer.tts.com"},
	// From MAILER-DAEMON, Postfix's subject, body "some test".
	"zammad/mail052.eml": {},
	// Postfix gave up after "Connection timed out", Status 4.4.1.
	"zammad/mail053.eml": {rcpts: []rcpt{{"john_example@example.com", "failed", false}}, origID: "20170227103514.188.920664@help.example.com"},
	"zammad/mail055.eml": {rcpts: []rcpt{{"ticket-bounce-trigger2@example.com", "failed", true}}, origID: "20170526150141.232.13312@example.tts.loc"},
	"zammad/mail063.eml": {rcpts: []rcpt{{"notextisting@example.com", "failed", true}}, origID: "E8C3CD7C-8350-4E48-97C5-AE18EE900ECD@example.com"},
	// Gmail delay notice with an X-Original-Message-ID.
	"zammad/mail078.eml": {rcpts: []rcpt{{"bob.smith@example.de", "delayed", false}}, delayed: true, origID: "20150830145601.30.608881@example.com"},
	"zammad/mail092.eml": {rcpts: []rcpt{{"receiver@example.org", "failed", true}}},
}

var msg43Recipients = []string{
	"xxxxxxx", "xxxxxxxxxxxxx", "xxxxxxxxxx", "xxxxxxxx", "xxxxxxxxxx", "xxxxxx", "xxxxxxxxxx",
	"xxxxxx", "xxxxxx", "xxxxxxxxxxxxxxxx", "xxxxxxxxxxx", "xxxxxxxxxx", "xxxxxxxxxx", "xxxxxxxxxxxx",
	"xxxxxxxxxxxx", "xxxxxxx", "xxxxxxxxx", "xxxxxxxxxx", "xxxxxx", "xxx", "xxxxxxx", "xxxxxxx",
	"xxxxxxxxxxxxxxx", "xxxxxxxxxx", "xxxxxxx",
}

var gmailBounceRecipients = []string{
	"bbbbvhvbbvkjbhfbvbvjhb@gmail.com", "bscdbcjhasbcjhbdscbhbsdhcbj@gmail.com", "egyfefsdvsfvvhjsd@gmail.com",
	"kfhejkfbsjkjsbhds@gmail.com", "qfvhgsvhgsduiohncdhcvhsdfvsfygusd@gmail.com",
}

func repeatFailed(addrs ...string) []rcpt {
	out := make([]rcpt, 0, len(addrs))
	for _, a := range addrs {
		if !strings.Contains(a, "@") {
			a += "@dot.ca.gov"
		}
		out = append(out, rcpt{a, "failed", true})
	}
	return out
}

func TestCorpusBounces(t *testing.T) {
	msgs := parseCorpus(t)
	for path := range corpusBounces {
		if _, ok := msgs[path]; !ok {
			t.Errorf("%s: listed bounce is missing from the corpus", path)
		}
	}
	paths := make([]string, 0, len(msgs))
	for p := range msgs {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	for _, path := range paths {
		m := msgs[path]
		b := ParseBounce(m)
		want, isBounce := corpusBounces[path]
		if !isBounce {
			if b != nil {
				t.Errorf("%s: ordinary mail parsed as a bounce: %+v", path, b)
			}
			continue
		}
		if b == nil {
			t.Errorf("%s: ParseBounce() = nil, want a bounce", path)
			continue
		}
		var got []rcpt
		for _, r := range b.Recipients {
			got = append(got, rcpt{r.Address, r.Action, r.Permanent})
		}
		if !reflect.DeepEqual(got, want.rcpts) {
			t.Errorf("%s: recipients (address, action, permanent) =\n  %v\nwant\n  %v", path, got, want.rcpts)
		}
		if b.Delayed != want.delayed {
			t.Errorf("%s: Delayed = %v, want %v", path, b.Delayed, want.delayed)
		}
		if want.origID != "" && b.OriginalMessageID != want.origID {
			t.Errorf("%s: OriginalMessageID = %q, want %q", path, b.OriginalMessageID, want.origID)
		}
		// A bounce must never be answered.
		if Automatic(m, Envelope{Source: SourceIMAP}, Options{}) == "" {
			t.Errorf("%s: bounce not flagged automatic", path)
		}
	}
}

func TestCorpusAutomaticFlagsEveryDSN(t *testing.T) {
	msgs := parseCorpus(t)
	dsns, flagged := 0, 0
	for path, m := range msgs {
		// Whatever the message, classifying it must not panic; run every
		// check on every message, with every kind of envelope.
		for _, env := range []Envelope{{Source: SourceSMTP}, {MailFrom: "x@example.com", Source: SourceLMTP}, {Source: SourceIMAP}, {Source: SourcePipe}} {
			reason := Automatic(m, env, Options{IntakeLists: []string{"scr.socal-raves.org"}})
			if reason != "" {
				flagged++
			}
		}
		_ = SpamFlagged(m)
		_ = OwnLoop(m, fakeOwn{})
		_ = Authenticated(m, trusted, "")
		_, _ = StripForgedAuthResults(m.Header, trusted, true)

		isDSN := strings.TrimSpace(m.DeliveryStatus) != "" ||
			(strings.EqualFold(m.ContentType, "multipart/report") && strings.EqualFold(m.ReportType, "delivery-status"))
		if !isDSN {
			continue
		}
		dsns++
		if got := Automatic(m, Envelope{MailFrom: "someone@example.com", Source: SourceSMTP}, Options{}); got != "delivery status notification" {
			t.Errorf("%s: DSN classified as %q, want %q", path, got, "delivery status notification")
		}
	}
	// 27 corpus files have a delivery-status part or declare
	// report-type=delivery-status; fewer means the parser lost some and
	// the check above proved nothing about them.
	if dsns < 27 {
		t.Errorf("only %d corpus messages carry a DSN after parsing, want at least 27", dsns)
	}
	t.Logf("%d messages, %d DSNs, %d automatic verdicts over 4 envelopes", len(msgs), dsns, flagged)
}

// corpusSpam lists the messages whose own headers carry a spam verdict
// (grep -i for X-Spam-Flag: YES, X-Spam-Status: Yes, X-Spam: yes and
// X-Spamd-Result: default: True over the corpus).
var corpusSpam = []string{
	"otobo/EmailParser/PostMaster-Test14.eml",
	"otobo/EmailParser/PostMaster-Test18.eml",
	"otobo/PostMaster/PostMaster-Test14.eml",
	"otobo/PostMaster/PostMaster-Test18.eml",
	"ruby-mail/error_emails/empty_group_lists.eml",
	"ruby-mail/plain_emails/raw_email_bad_time.eml",
	"zammad/mail046.eml",
	"zammad/mail069.eml",
	"zammad/mail071.eml",
}

func TestCorpusSpamFlagged(t *testing.T) {
	msgs := parseCorpus(t)
	var got []string
	for path, m := range msgs {
		if SpamFlagged(m) != "" {
			got = append(got, path)
		}
	}
	sort.Strings(got)
	if !reflect.DeepEqual(got, corpusSpam) {
		t.Errorf("spam-flagged corpus messages =\n  %v\nwant\n  %v", got, corpusSpam)
	}
}
