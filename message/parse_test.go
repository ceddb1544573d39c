package message

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/internal/corpustest"
)

func parseString(t *testing.T, s string, opts ...ParseOptions) *Message {
	t.Helper()
	var o ParseOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	m, err := Parse(strings.NewReader(s), o)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func problemContaining(m *Message, sub string) bool {
	for _, p := range m.Problems {
		if strings.Contains(p, sub) {
			return true
		}
	}
	return false
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

const simpleMail = `From: "Jane Doe" <Jane.Doe@Example.COM>
To: acme@support.example.com, "Bob" <bob@example.net>
Cc: =?utf-8?Q?Andr=C3=A9?= <andre@example.org>
Subject: =?iso-8859-1?Q?Gr=FC=DFe?= from Jane
Date: Tue, 4 Mar 2025 09:30:00 +0100 (CET)
Message-ID: <Abc.123@Mail.Example.COM>
In-Reply-To: <out.1@support.example.com>
References: <root@example.com> <out.1@support.example.com>
Content-Type: text/plain; charset=utf-8

Hello, the printer is broken.
`

func TestParseSimpleMessage(t *testing.T) {
	for name, raw := range map[string]string{"LF": simpleMail, "CRLF": crlf(simpleMail)} {
		t.Run(name, func(t *testing.T) {
			m := parseString(t, raw)
			if m.From != "jane.doe@example.com" || m.FromName != "Jane Doe" {
				t.Errorf("From = %q %q", m.From, m.FromName)
			}
			wantTo := []Address{{"", "acme@support.example.com"}, {"Bob", "bob@example.net"}}
			if fmt.Sprint(m.To) != fmt.Sprint(wantTo) {
				t.Errorf("To = %v", m.To)
			}
			if len(m.Cc) != 1 || m.Cc[0].Name != "André" {
				t.Errorf("Cc = %v", m.Cc)
			}
			if m.Subject != "Grüße from Jane" {
				t.Errorf("Subject = %q", m.Subject)
			}
			if want := time.Date(2025, 3, 4, 8, 30, 0, 0, time.UTC); !m.Date.Equal(want) {
				t.Errorf("Date = %v", m.Date)
			}
			if m.MessageID != "Abc.123@mail.example.com" {
				t.Errorf("MessageID = %q", m.MessageID)
			}
			if fmt.Sprint(m.InReplyTo) != "[out.1@support.example.com]" || fmt.Sprint(m.References) != "[root@example.com out.1@support.example.com]" {
				t.Errorf("InReplyTo %v References %v", m.InReplyTo, m.References)
			}
			if m.Text != "Hello, the printer is broken.\n" {
				t.Errorf("Text = %q (CRLF must become LF)", m.Text)
			}
			if len(m.Problems) != 0 {
				t.Errorf("unexpected problems %q", m.Problems)
			}
			if m.Get("message-id") != "<Abc.123@Mail.Example.COM>" || len(m.Header) != 9 {
				t.Errorf("Header = %v", m.Header)
			}
		})
	}
}

func TestParseMboxFromLine(t *testing.T) {
	m := parseString(t, "From jane@example.com Tue Mar  4 09:30:00 2025\n"+simpleMail)
	if m.From != "jane.doe@example.com" || m.Subject != "Grüße from Jane" {
		t.Errorf("From %q Subject %q: the From_ line was not skipped", m.From, m.Subject)
	}
	if m.Get("From ") != "" || len(m.Header) != 9 {
		t.Errorf("the mbox line ended up in the header: %v", m.Header)
	}
}

func TestParseMissingHeaders(t *testing.T) {
	m := parseString(t, "Subject: nothing else\n\nbody\n")
	if m.From != "" || m.FromName != "" || m.MessageID != "" || !m.Date.IsZero() {
		t.Errorf("fabricated fields: From %q MessageID %q Date %v", m.From, m.MessageID, m.Date)
	}
	if len(m.Problems) != 0 {
		t.Errorf("missing headers are not problems: %q", m.Problems)
	}
	if m.Text != "body\n" {
		t.Errorf("Text = %q", m.Text)
	}
}

func TestParseNoHeaderBlock(t *testing.T) {
	body := "Hi there,\nplease call me back.\nThanks\n"
	m := parseString(t, body)
	if m.Text != body || len(m.Header) != 0 {
		t.Errorf("Text %q Header %v", m.Text, m.Header)
	}
	if !problemContaining(m, "no header") {
		t.Errorf("problems %q", m.Problems)
	}
}

// TestParseOddHeaders covers header blocks that stop textproto.ReadHeader:
// names with tabs and punctuation, junk lines and an indented first line.
// Everything after them must still be read.
func TestParseOddHeaders(t *testing.T) {
	t.Run("odd names", func(t *testing.T) {
		m := parseString(t, "Subject: first\nX-Script/function/\t !\"#$%&'()*+,-./;<=>?@[\\]^_`{|}~: TEST\n VALUE 1\nFrom: later@example.com\nTo: to@example.com\n\nbody\n")
		if m.Subject != "first" || m.From != "later@example.com" || len(m.To) != 1 || m.Text != "body\n" {
			t.Errorf("Subject %q From %q To %v Text %q", m.Subject, m.From, m.To, m.Text)
		}
		if got := m.Get("X-Script/function/\t !\"#$%&'()*+,-./;<=>?@[\\]^_`{|}~"); got != "TEST VALUE 1" {
			t.Errorf("odd header value %q", got)
		}
	})
	t.Run("junk lines", func(t *testing.T) {
		m := parseString(t, "---- Original email message ----\nReceived: from a\nby b with ESMTP\nSubject: after junk\nFrom: x@example.com\n\nbody\n")
		if m.Subject != "after junk" || m.From != "x@example.com" || m.Get("Received") != "from a by b with ESMTP" {
			t.Errorf("Subject %q From %q Received %q", m.Subject, m.From, m.Get("Received"))
		}
		if !problemContaining(m, "without a field name") {
			t.Errorf("problems %q", m.Problems)
		}
	})
	t.Run("indented first line", func(t *testing.T) {
		m := parseString(t, " From: James <james@example.com>\nSubject: plain text\n\nA text section\n")
		if m.From != "james@example.com" || m.Subject != "plain text" || m.Text != "A text section\n" {
			t.Errorf("From %q Subject %q Text %q", m.From, m.Subject, m.Text)
		}
		if !problemContaining(m, "indented") {
			t.Errorf("problems %q", m.Problems)
		}
	})
	t.Run("no blank line", func(t *testing.T) {
		m := parseString(t, "Subject: hi\nFrom: x@example.com\nThis is the body\nand more\n")
		if m.Subject != "hi" || m.Text != "This is the body\nand more\n" {
			t.Errorf("Subject %q Text %q", m.Subject, m.Text)
		}
	})
}

func TestParse8BitHeaders(t *testing.T) {
	t.Run("latin1", func(t *testing.T) {
		m := parseString(t, "From: J\xf6rg <j@example.de>\nSubject: Stra\xdfe\n\nx\n")
		if m.FromName != "Jörg" || m.Subject != "Straße" {
			t.Errorf("FromName %q Subject %q", m.FromName, m.Subject)
		}
		if !problemContaining(m, "raw 8-bit bytes in the Subject header read as windows-1252") {
			t.Errorf("problems %q", m.Problems)
		}
	})
	t.Run("utf-8", func(t *testing.T) {
		m := parseString(t, "From: Jörg <j@example.de>\nSubject: Straße\n\nx\n")
		if m.FromName != "Jörg" || m.Subject != "Straße" || len(m.Problems) != 0 {
			t.Errorf("FromName %q Subject %q problems %q", m.FromName, m.Subject, m.Problems)
		}
	})
	t.Run("charset of the body", func(t *testing.T) {
		// KOI8-R "тест" in the subject; the body declares koi8-r.
		m := parseString(t, "Subject: \xd4\xc5\xd3\xd4\nContent-Type: text/plain; charset=koi8-r\n\n\xd0\xd2\xc9\xd7\xc5\xd4\n")
		if m.Subject != "тест" || m.Text != "привет\n" {
			t.Errorf("Subject %q Text %q", m.Subject, m.Text)
		}
	})
}

func TestParseCharsets(t *testing.T) {
	cases := []struct {
		name, charset, cte, body, want string
	}{
		{"koi8-r", "koi8-r", "8bit", "\xd0\xd2\xc9\xd7\xc5\xd4", "привет"},
		{"iso-gb2312 alias", "iso-gb2312", "8bit", "\xc4\xe3\xba\xc3", "你好"},
		{"gb2312", "GB2312", "base64", base64.StdEncoding.EncodeToString([]byte("\xc4\xe3\xba\xc3")), "你好"},
		{"windows-874 mixed case", "WINdows-874", "8bit", "\xca\xc7\xd1\xca\xb4\xd5", "สวัสดี"},
		{"iso-2022-jp", "ISO-2022-JP", "7bit", "\x1b$B$3$s$K$A$O\x1b(B", "こんにちは"},
		{"iso-2022-jp that is Shift_JIS", "iso-2022-jp", "8bit", "\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd", "こんにちは"},
		{"ks_c_5601-1987", "ks_c_5601-1987", "8bit", "\xbe\xc8\xb3\xe7", "안녕"},
		{"x-sjis", "x-sjis", "8bit", "\x83\x65\x83\x58\x83\x67", "テスト"},
		{"cp1252", "cp1252", "quoted-printable", "=93quoted=94 =80", "“quoted” €"},
		{"latin1 is cp1252", "iso-8859-1", "8bit", "\x93x\x94 caf\xe9", "“x” café"},
		{"latin1", "latin1", "8bit", "caf\xe9", "café"},
		{"utf8", "utf8", "8bit", "café", "café"},
		{"ascii", "ascii", "7bit", "plain", "plain"},
		{"charset= junk", "charset=us-ascii", "7bit", "plain", "plain"},
		{"utf-7", "utf-7", "7bit", "Hi Mom -+Jjo--!", "Hi Mom -☺-!"},
		{"unicode-1-1-utf-7", "unicode-1-1-utf-7", "7bit", "+ZeVnLIqe-", "日本語"},
		{"utf-8 labelled latin1", "iso-8859-15", "8bit", "Grüße", "Grüße"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := fmt.Sprintf("Subject: x\nContent-Type: text/plain; charset=%q\nContent-Transfer-Encoding: %s\n\n%s", c.charset, c.cte, c.body)
			m := parseString(t, raw)
			if m.Text != c.want {
				t.Errorf("Text = %q, want %q", m.Text, c.want)
			}
			if problemContaining(m, "unknown charset") {
				t.Errorf("%s reported unknown: %q", c.charset, m.Problems)
			}
		})
	}
}

func TestParseUnknownCharset(t *testing.T) {
	for _, cs := range []string{"x-unknown", "fakescii", "x-invalid"} {
		m := parseString(t, "Subject: =?"+cs+"?Q?caf=E9?=\nContent-Type: text/plain; charset="+cs+"\n\nna\xefve\n")
		if m.Text != "naïve\n" || m.Subject != "café" {
			t.Errorf("%s: Text %q Subject %q: text must be kept, best effort", cs, m.Text, m.Subject)
		}
		if !problemContaining(m, `unknown charset "`+cs+`"; text decoded as windows-1252`) {
			t.Errorf("%s: problems %q", cs, m.Problems)
		}
	}
	m := parseString(t, "Content-Type: text/plain; charset=x-unknown\n\nvalid UTF-8: ü\n")
	if m.Text != "valid UTF-8: ü\n" || !problemContaining(m, "text kept as UTF-8") {
		t.Errorf("Text %q problems %q", m.Text, m.Problems)
	}
}

func TestParseRFC2047Subjects(t *testing.T) {
	cases := map[string]string{
		"=?utf-8?B?8J+Tpw==?= Signed Test =?ascii?q?English_Pangrams?=": "📧 Signed Test English Pangrams",
		// A multi-byte character split across two words.
		"=?utf-8?B?w6Q=?= =?utf-8?B?w7Y=?=":         "äö",
		"=?UTF-8?B?4oKs?==?UTF-8?B?4oKs?=":          "€€",
		"=?utf-8?q?a b?=":                           "a b",
		"=?koi8-r?B?+sHR18vB?=":                     "Заявка",
		"=?utf-7?Q?Gr+APw-+AN8-e?=":                 "Grüße",
		"=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=":        "テスト",
		"plain =?broken?x?word?= text":              "plain =?broken?x?word?= text",
		"=?windows-1252?Q?=93Quoted=94_=80_price?=": "“Quoted” € price",
	}
	for raw, want := range cases {
		m := parseString(t, "Subject: "+raw+"\n\n")
		if m.Subject != want {
			t.Errorf("Subject %q = %q, want %q", raw, m.Subject, want)
		}
	}
}

func TestParseHTMLOnly(t *testing.T) {
	m := parseString(t, `Subject: html
Content-Type: text/html; charset=utf-8

<html><head><title>T</title><style>p{color:red}</style></head><body>
<p class="a">Hello&nbsp;<b>World</b></p><div>line one</div><div>line two<br />three</div>
<a href="https://example.com/x">the link</a>
</body></html>
`)
	want := "Hello World\n\nline one\nline two\nthree\nthe link <https://example.com/x>"
	if m.Text != want {
		t.Errorf("Text = %q, want %q", m.Text, want)
	}
	if !strings.Contains(m.HTML, "<b>World</b>") {
		t.Errorf("HTML not kept: %q", m.HTML)
	}
}

const alternativeMail = `Subject: alt
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

plain version
--alt
Content-Type: text/html; charset=utf-8

<p>html version</p>
--alt
Content-Type: text/enriched

<bold>enriched</bold>
--alt--
`

func TestParseAlternativePrefersPlain(t *testing.T) {
	m := parseString(t, alternativeMail)
	if m.Text != "plain version" || m.HTML != "<p>html version</p>" {
		t.Errorf("Text %q HTML %q", m.Text, m.HTML)
	}
	if len(m.Attachments) != 0 {
		t.Errorf("an alternative rendering became an attachment: %v", m.Attachments)
	}
}

const inlineImageMail = `Subject: img
Content-Type: multipart/related; boundary="rel"

--rel
Content-Type: text/html; charset=utf-8

<p>see <img src="cid:logo@x"></p>
--rel
Content-Type: image/png
Content-ID: <logo@x>
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--rel
Content-Type: text/html; name=extra.html

<p>not the body</p>
--rel--
`

func TestParseInlineImage(t *testing.T) {
	m := parseString(t, inlineImageMail)
	if m.HTML != `<p>see <img src="cid:logo@x"></p>` {
		t.Errorf("HTML = %q", m.HTML)
	}
	if len(m.Attachments) != 2 {
		t.Fatalf("attachments %+v", m.Attachments)
	}
	img := m.Attachments[0]
	if !img.Inline || img.ContentID != "logo@x" || img.ContentType != "image/png" || img.Size != 8 || img.Filename != "image.png" {
		t.Errorf("inline image %+v", img)
	}
	if a := m.Attachments[1]; a.Filename != "extra.html" || a.Inline {
		t.Errorf("second related resource %+v", a)
	}
}

func TestParseAttachmentFilenames(t *testing.T) {
	cases := map[string]string{
		`attachment; filename="report.pdf"`:                                      "report.pdf",
		`attachment; filename*=utf-8''R%C3%A9sum%C3%A9.pdf`:                      "Résumé.pdf",
		`attachment; filename*=iso-8859-1''Pr%FCfung.pdf`:                        "Prüfung.pdf",
		`attachment; filename*0*=utf-8''Sehr%20langer%20; filename*1="Name.txt"`: "Sehr langer Name.txt",
		`attachment; filename="=?utf-8?B?w4RyZ2VyLnBkZg==?="`:                    "Ärger.pdf",
		`attachment; filename=Rechnung März.pdf`:                                 "Rechnung März.pdf",
		`attachment; filename="a.pdf"; filename="b.pdf"`:                         "a.pdf",
		`attachment; filename="../../etc/passwd"`:                                "passwd",
		`attachment; filename="C:\\Users\\x\\notes.txt"`:                         "notes.txt",
		`attachment; filename="unterminated.pdf; size=10`:                        "unterminated.pdf",
		`attachment; filename="` + strings.Repeat("ä", 150) + `.pdf"`:            strings.Repeat("ä", 98) + ".pdf",
	}
	for disp, want := range cases {
		m := parseString(t, "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/octet-stream\nContent-Disposition: "+disp+"\n\ndata\n--b--\n")
		if len(m.Attachments) != 1 || m.Attachments[0].Filename != want {
			t.Errorf("%s: attachments %+v, want filename %q", disp, m.Attachments, want)
		}
	}
}

func TestParseUnknownTransferEncoding(t *testing.T) {
	m := parseString(t, `Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

see attachment
--b
Content-Type: application/octet-stream; name="data.bin"
Content-Transfer-Encoding: x-uuencode

begin 644 data.bin
#86)C
`+"`"+`
end
--b--
`)
	if len(m.Attachments) != 1 {
		t.Fatalf("attachments %+v", m.Attachments)
	}
	a := m.Attachments[0]
	if a.Filename != "data.bin" || a.Size != int64(len("begin 644 data.bin\n#86)C\n`\nend")) {
		t.Errorf("raw part not kept: %+v", a)
	}
	if !problemContaining(m, `unknown Content-Transfer-Encoding "x-uuencode"`) || m.Text != "see attachment" {
		t.Errorf("problems %q text %q", m.Problems, m.Text)
	}
}

func TestParseUUEncodedText(t *testing.T) {
	sink := &hashingSink{}
	m := parseString(t, "Subject: report\n\nbegin 644 report.csv\n#86)C\n`\nend\n", ParseOptions{Attachments: sink.sink})
	if !strings.Contains(m.Text, "begin 644 report.csv") {
		t.Errorf("the text must keep the block: %q", m.Text)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Filename != "report.csv" || string(sink.blobs[m.Attachments[0].Ref]) != "abc" {
		t.Errorf("attachments %+v blobs %q", m.Attachments, sink.blobs)
	}
}

func TestParseMalformedMultipart(t *testing.T) {
	t.Run("missing final boundary", func(t *testing.T) {
		m := parseString(t, "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n--b\nContent-Type: text/plain\n\nsecond, truncated")
		if m.Text != "first\nsecond, truncated" || !problemContaining(m, "not closed") {
			t.Errorf("Text %q problems %q", m.Text, m.Problems)
		}
	})
	t.Run("nested without inner close", func(t *testing.T) {
		m := parseString(t, "Content-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: multipart/alternative; boundary=inner\n\n--inner\n\ninner text\n--outer\nContent-Type: application/pdf; name=x.pdf\n\n%PDF\n--outer--\n")
		if m.Text != "inner text" || len(m.Attachments) != 1 || m.Attachments[0].Filename != "x.pdf" {
			t.Errorf("Text %q attachments %+v", m.Text, m.Attachments)
		}
	})
	t.Run("similar boundary", func(t *testing.T) {
		m := parseString(t, "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/alternative; boundary=b-inner\n\n--b-inner\n\ninner\n--b-inner--\n--b--\n")
		if m.Text != "inner" {
			t.Errorf("Text %q problems %q", m.Text, m.Problems)
		}
	})
	t.Run("no boundary", func(t *testing.T) {
		m := parseString(t, "Content-Type: multipart/report;\n\nI'm a multipart message without boundary\n")
		if m.Text != "I'm a multipart message without boundary\n" || !problemContaining(m, "without a boundary") {
			t.Errorf("Text %q problems %q", m.Text, m.Problems)
		}
	})
	t.Run("boundary never used", func(t *testing.T) {
		m := parseString(t, "Content-Type: multipart/mixed; boundary=nope\nContent-Transfer-Encoding: quoted-printable\n\nGr=C3=BC=C3=9Fe\n")
		if m.Text != "Grüße\n" || !problemContaining(m, "no part with boundary") {
			t.Errorf("Text %q problems %q", m.Text, m.Problems)
		}
	})
	t.Run("bad part header", func(t *testing.T) {
		m := parseString(t, "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\nbad header line\n\nfirst\n--b\n\nsecond\n--b--\n")
		if !strings.Contains(m.Text, "second") {
			t.Errorf("Text %q: parts after a malformed part header must be read", m.Text)
		}
	})
	t.Run("deep nesting", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("Subject: deep\n")
		for i := 0; i < 200; i++ {
			fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i)
		}
		b.WriteString("Content-Type: text/plain\n\ndeepest\n")
		m := parseString(t, b.String())
		if !problemContaining(m, "nesting too deep") || len(m.Attachments) != 1 {
			t.Errorf("problems %q attachments %d", m.Problems, len(m.Attachments))
		}
	})
}

func TestParseDSN(t *testing.T) {
	m := parseString(t, `From: MAILER-DAEMON (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status; boundary="r"

--r
Content-Type: text/plain

could not deliver
--r
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; gone@example.net
Action: failed
Status: 5.1.1
--r
Content-Type: text/rfc822-headers

Message-ID: <notify.1@support.example.com>
Subject: [ACME-1] hello
--r--
`)
	if m.ContentType != "multipart/report" || m.ReportType != "delivery-status" {
		t.Errorf("ContentType %q ReportType %q", m.ContentType, m.ReportType)
	}
	if !strings.Contains(m.DeliveryStatus, "Status: 5.1.1") || !strings.HasPrefix(m.DeliveryStatus, "Reporting-MTA") {
		t.Errorf("DeliveryStatus %q", m.DeliveryStatus)
	}
	if len(m.OriginalHeaders) != 2 || m.OriginalHeaders[0].Value != "<notify.1@support.example.com>" {
		t.Errorf("OriginalHeaders %v", m.OriginalHeaders)
	}
	if m.From != "mailer-daemon" || m.FromName != "" || m.Text != "could not deliver" || len(m.Attachments) != 0 {
		t.Errorf("From %q Text %q attachments %v", m.From, m.Text, m.Attachments)
	}
}

func TestParseAttachedMessage(t *testing.T) {
	const inner = "Subject: =?utf-8?Q?Die_Rechnung_/_M=C3=A4rz?=\nFrom: a@example.com\n\ninner body"
	m := parseString(t, "Subject: fwd\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nsee below\n--b\nContent-Type: message/rfc822\n\n"+inner+"\n--b--\n")
	if len(m.Attachments) != 1 {
		t.Fatalf("attachments %+v", m.Attachments)
	}
	// A subject is not a path: its slash must not cut the name.
	if a := m.Attachments[0]; a.ContentType != "message/rfc822" || a.Filename != "Die Rechnung _ März.eml" || a.Size != int64(len(inner)) {
		t.Errorf("attachment %+v", a)
	}
	if m.Text != "see below" || len(m.OriginalHeaders) != 0 {
		t.Errorf("Text %q OriginalHeaders %v", m.Text, m.OriginalHeaders)
	}
}

func TestParseMaxTextBytes(t *testing.T) {
	long := strings.Repeat("äöü ", 1000) // 7000 bytes
	m := parseString(t, "Content-Type: text/plain; charset=utf-8\n\n"+long, ParseOptions{MaxTextBytes: 1001})
	if len(m.Text) > 1001 || !strings.HasPrefix(long, m.Text) || len(m.Text) < 990 {
		t.Errorf("Text has %d bytes, want a prefix of at most 1001", len(m.Text))
	}
	if !problemContaining(m, "longer than 1001 bytes; truncated") {
		t.Errorf("problems %q", m.Problems)
	}
	m = parseString(t, "Content-Type: text/html\n\n<p>"+long+"</p>", ParseOptions{MaxTextBytes: 500})
	if len(m.HTML) > 500 || !problemContaining(m, "HTML body longer than 500 bytes") {
		t.Errorf("HTML has %d bytes, problems %q", len(m.HTML), m.Problems)
	}
}

// TestParseAttachmentSink checks the bytes and sizes the sink sees: the
// decoded content, streamed, with Size set to the decoded length.
func TestParseAttachmentSink(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef\x00\xff"), 5000) // 90000 bytes
	enc := base64.StdEncoding.EncodeToString(payload)
	var lines []string
	for len(enc) > 76 {
		lines = append(lines, enc[:76])
		enc = enc[76:]
	}
	lines = append(lines, enc)
	raw := "Content-Type: multipart/mixed; boundary=b\n\n--b\n\ntext\n--b\nContent-Type: application/octet-stream; name=blob.bin\nContent-Transfer-Encoding: base64\n\n" +
		strings.Join(lines, "\r\n") + "\n--b\nContent-Type: text/csv; name=q.csv; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\na;b=E9\n--b--\n"

	sink := &hashingSink{}
	var seenSize []int64
	m, err := Parse(strings.NewReader(raw), ParseOptions{Attachments: func(a *Attachment, r io.Reader) (string, error) {
		seenSize = append(seenSize, a.Size)
		return sink.sink(a, r)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != 2 {
		t.Fatalf("attachments %+v", m.Attachments)
	}
	if a := m.Attachments[0]; !bytes.Equal(sink.blobs[a.Ref], payload) || a.Size != int64(len(payload)) {
		t.Errorf("blob: size %d, stored %d bytes, equal %v", a.Size, len(sink.blobs[a.Ref]), bytes.Equal(sink.blobs[a.Ref], payload))
	}
	// Attachments are stored as sent: no charset conversion of text/*.
	if a := m.Attachments[1]; string(sink.blobs[a.Ref]) != "a;b\xe9" || a.Size != 4 || a.ContentType != "text/csv" {
		t.Errorf("csv: %+v stored %q", a, sink.blobs[a.Ref])
	}
	if seenSize[0] != 0 {
		t.Errorf("the sink saw Size %d before reading", seenSize[0])
	}

	// Without a sink the sizes are still counted.
	m = parseString(t, raw)
	if m.Attachments[0].Size != int64(len(payload)) || m.Attachments[0].Ref != "" {
		t.Errorf("nil sink: %+v", m.Attachments[0])
	}
}

// countingSource counts how much of the message Parse has read.
type countingSource struct {
	r io.Reader
	n int
}

func (c *countingSource) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += n
	return n, err
}

// TestParseStreamsAttachments shows that an attachment reaches the sink
// while most of the message is still unread, i.e. it is not buffered.
func TestParseStreamsAttachments(t *testing.T) {
	line := strings.Repeat("QUJD", 19) + "\n"
	const lines = 100000 // 7.7 MB of base64
	head := "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/octet-stream; name=big\nContent-Transfer-Encoding: base64\n\n"
	src := &countingSource{r: io.MultiReader(strings.NewReader(head), strings.NewReader(strings.Repeat(line, lines)), strings.NewReader("--b--\n"))}
	total := len(head) + len(line)*lines + 6
	var readAtFirstByte int
	m, err := Parse(src, ParseOptions{Attachments: func(a *Attachment, r io.Reader) (string, error) {
		var b [1]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", err
		}
		readAtFirstByte = src.n
		_, err := io.Copy(io.Discard, r)
		return "ref", err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if readAtFirstByte > 1<<20 {
		t.Errorf("%d of %d bytes read before the sink got its first byte", readAtFirstByte, total)
	}
	if m.Attachments[0].Size != int64(lines*57) {
		t.Errorf("Size %d", m.Attachments[0].Size)
	}
}

var errDiskFull = errors.New("disk full")

func TestParseSinkError(t *testing.T) {
	_, err := Parse(strings.NewReader(inlineImageMail), ParseOptions{Attachments: func(a *Attachment, r io.Reader) (string, error) {
		return "", fault.Temporary(errDiskFull)
	}})
	if !errors.Is(err, errDiskFull) || !fault.IsTemporary(err) {
		t.Errorf("err = %v: the sink's error (and its classification) must come through", err)
	}
}

// failingReader returns some bytes and then an error.
type failingReader struct {
	data string
	err  error
}

func (f *failingReader) Read(b []byte) (int, error) {
	if f.data == "" {
		return 0, f.err
	}
	n := copy(b, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestParseReadError(t *testing.T) {
	errConn := errors.New("connection reset")
	for _, cut := range []int{0, 10, 60, 150, len(inlineImageMail) - 5} {
		var sinkErr error
		m, err := Parse(&failingReader{data: inlineImageMail[:cut], err: errConn}, ParseOptions{Attachments: func(a *Attachment, r io.Reader) (string, error) {
			_, sinkErr = io.Copy(io.Discard, r)
			return "", sinkErr
		}})
		if m != nil || !errors.Is(err, errConn) {
			t.Errorf("cut %d: message %v, err %v: a read error must be returned", cut, m != nil, err)
		}
		if fault.IsTemporary(err) {
			t.Errorf("cut %d: the parser must not decide temporariness for the reader", cut)
		}
	}
}

func TestParseFlowed(t *testing.T) {
	m := parseString(t, "Content-Type: text/plain; format=flowed\n\nThis is a \nlong line.\n> quoted \n> more\n>> deeper\n \n-- \nsig\n")
	want := "This is a long line.\n> quoted more\n>> deeper\n\n-- \nsig\n"
	if m.Text != want {
		t.Errorf("Text = %q, want %q", m.Text, want)
	}
	// With DelSp=yes the space before a soft break was added by the
	// sender and goes.
	m = parseString(t, "Content-Type: text/plain; format=flowed; delsp=yes\n\nsuper \ncalifragilistic\n")
	if m.Text != "supercalifragilistic\n" {
		t.Errorf("DelSp: Text = %q", m.Text)
	}
}

func TestParseDates(t *testing.T) {
	cases := map[string]string{
		"Tue, 4 Mar 2025 09:30:00 +0100":                  "2025-03-04T08:30:00Z",
		"Tue, 4 Mar 2025 09:30:00 +0100 (CET)":            "2025-03-04T08:30:00Z",
		"4 Mar 2025 09:30 +0100":                          "2025-03-04T08:30:00Z",
		"Tue, 04 Mar 25 09:30:00 +0100":                   "2025-03-04T08:30:00Z",
		"Tue, 4 Mar 2025 09:30:00 +0100 CET":              "2025-03-04T08:30:00Z",
		"Tue, 4 Mar 2025 09:30:00 GMT+01:00":              "2025-03-04T08:30:00Z",
		"Tue Mar  4 09:30:00 2025":                        "2025-03-04T09:30:00Z",
		"2025-03-04T09:30:00+01:00":                       "2025-03-04T08:30:00Z",
		"2025-03-04 09:30:00":                             "2025-03-04T09:30:00Z",
		"Fri, 21 Nov 1997 09(comment):   55  :  06 -0600": "1997-11-21T15:55:06Z",
		"01 Jan 2001 00:01+0000":                          "2001-01-01T00:01:00Z",
		"Tue, 12 Oct 2010 16:21:05 H0500":                 "2010-10-12T16:21:05Z",
	}
	for in, want := range cases {
		got, ok := parseDate(in)
		if !ok || got.UTC().Format(time.RFC3339) != want {
			t.Errorf("parseDate(%q) = %v %v, want %s", in, got.UTC(), ok, want)
		}
	}
	for _, bad := range []string{"%DATE%", "<HR>", "Pn, 29 paX 2007 21:13:00 +0100", "Wed, 05 Sep 2018 29:24:05 +0700"} {
		if got, ok := parseDate(bad); ok {
			t.Errorf("parseDate(%q) = %v, want failure", bad, got)
		}
		m := parseString(t, "Date: "+bad+"\n\n")
		if !m.Date.IsZero() || !problemContaining(m, "could not be read") {
			t.Errorf("%q: Date %v problems %q", bad, m.Date, m.Problems)
		}
	}
}

func TestParseAddressList(t *testing.T) {
	cases := map[string]string{
		`"Doe, Jane" <Jane@Example.COM>, bob@example.net`:                     `[{Doe, Jane jane@example.com} { bob@example.net}]`,
		`=?utf-8?Q?J=C3=B6rg?= <j@example.de>`:                                `[{Jörg j@example.de}]`,
		`"=?utf-8?Q?J=C3=B6rg?=" <j@example.de>`:                              `[{Jörg j@example.de}]`,
		`Test test@example.com`:                                               `[{Test test@example.com}]`,
		`MAILER-DAEMON (Mail Delivery System)`:                                `[{ mailer-daemon}]`,
		`"Millions Lottery"@example.com>`:                                     `[{ millions lottery@example.com}]`,
		`Bob Dunite <bob@extern> Bobby Dunite <bobby@extern>`:                 `[{Bob Dunite bob@extern} {Bobby Dunite bobby@extern}]`,
		`undisclosed-recipients:;`:                                            `[]`,
		`"Name" <>`:                                                           `[]`,
		`Mary Smith <@machine.tld:mary@example.net>, , jdoe@test   . example`: `[{Mary Smith mary@example.net} { jdoe@test}]`,
		`"Yangzhou ABC Lighting Equipment " <>, "LTD" <ly@example.com>`:       `[{LTD ly@example.com}]`,
		// Not valid RFC 5322 (an unquoted "@" in the name), but the angle
		// address is the address: the name only looks like one.
		`reporter@customer.example <attacker@attacker.example>`: `[{reporter@customer.example attacker@attacker.example}]`,
	}
	for in, want := range cases {
		if got := fmt.Sprint(ParseAddressList(in)); got != want {
			t.Errorf("ParseAddressList(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestParseCorpusFeatures checks named corpus messages for the features
// the brief lists, with the values a user would see.
func TestParseCorpusFeatures(t *testing.T) {
	corpus := corpustest.Dir(t)
	cases := []struct {
		file  string
		check func(t *testing.T, m *Message)
	}{
		{"zammad/mail018.eml", func(t *testing.T, m *Message) { // UTF-7
			if m.Subject != "Benachrichtung zum Übermittlungsstatus (Fehlgeschlagen)" {
				t.Errorf("Subject %q", m.Subject)
			}
			if !strings.Contains(m.Text, "Benachrichtigung über den Zustellstatus") {
				t.Errorf("Text %q", clip(m.Text))
			}
		}},
		{"otobo/EmailParser/UTF-7.eml", func(t *testing.T, m *Message) {
			if !strings.HasPrefix(m.Subject, "Microsoft Forefront Protection for SharePoint") || m.Text != "Microsoft Forefront Protection performed a successful scan engine update.\n" {
				t.Errorf("Subject %q Text %q", m.Subject, m.Text)
			}
		}},
		{"letters/test_japanese_plaintext_iso-2022-jp_over_7bit.eml", func(t *testing.T, m *Message) {
			if m.Subject != "📧 Test いろは歌" || m.FromName != "郵便アリス" || !strings.Contains(m.Text, "色は匂えど") {
				t.Errorf("Subject %q FromName %q Text %q", m.Subject, m.FromName, clip(m.Text))
			}
		}},
		{"zammad/mail060.eml", func(t *testing.T, m *Message) { // iso-gb2312
			if !strings.HasPrefix(m.Text, "Here it goes - ") || problemContaining(m, "unknown charset") {
				t.Errorf("Text %q problems %q", m.Text, m.Problems)
			}
		}},
		{"letters/test_thai_plaintext_windows-874_over_quoted-printable.eml", func(t *testing.T, m *Message) {
			if !strings.Contains(m.Text, "เป็นมนุษย์สุดประเสริฐเลิศคุณค่า") || !strings.Contains(m.Subject, "แพนแกรมภาษาไทย") || len(m.Problems) != 0 {
				t.Errorf("Subject %q Text %q problems %q", m.Subject, clip(m.Text), m.Problems)
			}
		}},
		{"letters/test_thai_multipart_mixed_windows-874_over_base64.eml", func(t *testing.T, m *Message) {
			if !strings.Contains(m.Text, "เป็นมนุษย์สุดประเสริฐเลิศคุณค่า") {
				t.Errorf("Text %q problems %q", clip(m.Text), m.Problems)
			}
		}},
		{"otobo/PostMaster/PostMaster-Test13.eml", func(t *testing.T, m *Message) { // koi8-r
			if m.Subject != "Заявка на генерацию 402 240108 (3)" || len(m.Attachments) != 1 || m.Attachments[0].Filename != "Заявка на генерацию 402 240108 (3).doc" {
				t.Errorf("Subject %q attachments %+v", m.Subject, m.Attachments)
			}
		}},
		{"rt/new-ticket-from-iso-8859-1.eml", func(t *testing.T, m *Message) { // 8-bit header
			if m.FromName != "Wilhelmsen Håvard" || m.Text != "Håvard\n" {
				t.Errorf("FromName %q Text %q", m.FromName, m.Text)
			}
		}},
		{"zammad/mail093.eml", func(t *testing.T, m *Message) { // Shift_JIS bytes labelled ISO-2022-JP
			if m.Subject != "ツール" || m.FromName != "ツール EXAMPLE" || !strings.Contains(m.Text, "無料バージョンを導入いただけます") {
				t.Errorf("Subject %q FromName %q Text %q", m.Subject, m.FromName, m.Text)
			}
		}},
		{"zammad/mail054.eml", func(t *testing.T, m *Message) { // mbox From line, junk header lines
			if m.From != "karoline.smith@example.com" || m.Subject != "AW: One Net Business" {
				t.Errorf("From %q Subject %q", m.From, m.Subject)
			}
		}},
		{"cpython/msg_18.eml", func(t *testing.T, m *Message) { // no Date, Message-ID, From
			if m.From != "" || m.MessageID != "" || !m.Date.IsZero() || problemContaining(m, "Date") {
				t.Errorf("From %q MessageID %q Date %v problems %q", m.From, m.MessageID, m.Date, m.Problems)
			}
		}},
		{"letters/test_english_empty.eml", func(t *testing.T, m *Message) { // no header block
			if !strings.HasPrefix(m.Text, "While this email is undeliverable") || len(m.Header) != 0 {
				t.Errorf("Text %q Header %v", clip(m.Text), m.Header)
			}
		}},
		{"enmime/low-quality/bad-header-start.eml", func(t *testing.T, m *Message) {
			if m.From != "james@makita.skynet" || m.Text != "A text section" {
				t.Errorf("From %q Text %q", m.From, m.Text)
			}
		}},
		{"letters/test_english_multipart_signed_ascii_over_quoted-printable.eml", func(t *testing.T, m *Message) {
			if m.ContentType != "multipart/signed" || !strings.HasPrefix(m.Text, "The quick brown fox") || m.Get("X-Clacks-Overhead") != "GNU Terry Pratchett" {
				t.Errorf("ContentType %q Text %q", m.ContentType, clip(m.Text))
			}
		}},
		{"zammad/mail027.eml", func(t *testing.T, m *Message) { // HTML only: text derived
			if m.HTML == "" || strings.Contains(m.Text, "<") {
				t.Errorf("HTML %q Text %q", clip(m.HTML), m.Text)
			}
		}},
		{"zammad/mail001.eml", func(t *testing.T, m *Message) {
			if !strings.Contains(m.Text, "wie besprochen hier noch die Daten für die Intranetseite") {
				t.Errorf("Text %q", clip(m.Text))
			}
		}},
		{"letters/test_english_plaintext_unknown_charset.eml", func(t *testing.T, m *Message) {
			if m.Text != "body\n" || !problemContaining(m, `unknown charset "x-invalid"`) {
				t.Errorf("Text %q problems %q", m.Text, m.Problems)
			}
		}},
		{"enmime/low-quality/unk-charset-part.eml", func(t *testing.T, m *Message) {
			if m.Text == "" || !problemContaining(m, `unknown charset "fakescii"`) {
				t.Errorf("Text %q problems %q", m.Text, m.Problems)
			}
		}},
		{"enmime/mail/html-mime-bad-charset-inline.eml", func(t *testing.T, m *Message) {
			if problemContaining(m, "unknown charset") || m.HTML == "" {
				t.Errorf("HTML %q problems %q", clip(m.HTML), m.Problems)
			}
		}},
		{"zammad/mail078-content_transfer_encoding_x_uuencode.eml", func(t *testing.T, m *Message) {
			if len(m.Attachments) != 1 || m.Attachments[0].Filename != "PGP_Cmts_on_12-14-01_Pkg.txt" || m.Attachments[0].Size == 0 || !problemContaining(m, "x-uuencode") {
				t.Errorf("attachments %+v problems %q", m.Attachments, m.Problems)
			}
		}},
		{"enmime/low-quality/unk-encoding-part.eml", func(t *testing.T, m *Message) {
			if len(m.Attachments) != 1 || m.Attachments[0].Size == 0 || !problemContaining(m, `"base9000"`) {
				t.Errorf("attachments %+v problems %q", m.Attachments, m.Problems)
			}
		}},
		{"rt/notes-uuencoded.eml", func(t *testing.T, m *Message) {
			if len(m.Attachments) != 1 || m.Attachments[0].Filename != "Naz_Head.jpg" || m.Attachments[0].Size < 100000 {
				t.Errorf("attachments %+v", m.Attachments)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			c.check(t, parseFile(t, filepath.Join(corpus, c.file), ParseOptions{}))
		})
	}
}

// TestParseCorpusDSNs checks the enmime DSN samples.
func TestParseCorpusDSNs(t *testing.T) {
	corpus := corpustest.Dir(t)
	files, _ := filepath.Glob(filepath.Join(corpus, "enmime", "dsn", "*.eml"))
	if len(files) != 5 {
		t.Fatalf("expected 5 enmime DSNs, found %d", len(files))
	}
	for _, f := range files {
		m := parseFile(t, f, ParseOptions{})
		name := filepath.Base(f)
		if m.ContentType != "multipart/report" || m.ReportType != "delivery-status" {
			t.Errorf("%s: ContentType %q ReportType %q", name, m.ContentType, m.ReportType)
		}
		if !strings.Contains(m.DeliveryStatus, "Reporting-MTA: dns;") || !strings.Contains(m.DeliveryStatus, "Action: ") {
			t.Errorf("%s: DeliveryStatus %q", name, m.DeliveryStatus)
		}
		if len(m.Attachments) != 0 {
			t.Errorf("%s: the original of a DSN is not an attachment: %+v", name, m.Attachments)
		}
		if !strings.Contains(m.Text, "human-readable explanation") {
			t.Errorf("%s: Text %q", name, m.Text)
		}
	}
	m := parseFile(t, filepath.Join(corpus, "cpython", "msg_25.eml"), ParseOptions{})
	if len(m.OriginalHeaders) == 0 || !strings.Contains(m.DeliveryStatus, "Status: 5.4.6") {
		t.Errorf("msg_25: OriginalHeaders %d DeliveryStatus %q", len(m.OriginalHeaders), m.DeliveryStatus)
	}
}

// TestParsePathological feeds inputs built to trigger quadratic behaviour
// (nested links, whitespace between block tags, thousands of encoded words,
// ids, parts and header lines). Each is a few megabytes: linear code parses
// it in well under a second, quadratic code would take minutes.
func TestParsePathological(t *testing.T) {
	if testing.Short() {
		t.Skip("slow inputs")
	}
	// Header fields are folded so the header stays under its 1 MiB bound
	// and the field parsers, not the size limit, get the input.
	cases := map[string]string{
		"block tags":     "Content-Type: text/html\n\n" + strings.Repeat("<div> ", 500000),
		"nested links":   "Content-Type: text/html\n\n" + strings.Repeat("<a href=\"http://x.example/\">", 100000) + strings.Repeat("</a>", 100000),
		"encoded words":  "Subject: " + strings.Repeat("=?utf-8?q?a?=\n ", 60000) + "\n\n",
		"ids":            "References: " + strings.Repeat("<a@b>\n ", 60000) + strings.Repeat("<", 300000) + "\n\n",
		"addresses":      "To: " + strings.Repeat("a@b, \"x\" <c@d>,\n ", 50000) + "\n\n",
		"bad addresses":  "To: " + strings.Repeat("a b c @ <> \n ", 70000) + "\n\n",
		"comments":       "Date: " + strings.Repeat("(", 900000) + "\n\n",
		"parts":          "Content-Type: multipart/mixed; boundary=b\n\n" + strings.Repeat("--b\n\n", 200000),
		"header lines":   strings.Repeat("X-Junk: y\n", 100000) + "\nbody",
		"uuencode":       "\n" + strings.Repeat("begin 644 x\n", 10) + strings.Repeat("\n", 2000000),
		"base64 junk":    "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n" + strings.Repeat("*", 4<<20),
		"long line":      "Subject: x\n\n" + strings.Repeat("x", 8<<20),
		"no line breaks": strings.Repeat("a", 8<<20),
	}
	for name, raw := range cases {
		start := time.Now()
		m, err := Parse(strings.NewReader(raw), ParseOptions{})
		if err != nil || m == nil {
			t.Errorf("%s: %v", name, err)
		}
		// Printed, not asserted: a blow-up shows as the test's timeout,
		// and BenchmarkParsePathological measures them.
		t.Logf("%s: %v", name, time.Since(start))
		if name == "encoded words" && len(m.Subject) != 60000 ||
			name == "ids" && len(m.References) != 1 ||
			name == "addresses" && len(m.To) != 100000 ||
			name == "no line breaks" && len(m.Text) != DefaultMaxTextBytes {
			t.Errorf("%s: Subject %d bytes, References %d, To %d, Text %d", name, len(m.Subject), len(m.References), len(m.To), len(m.Text))
		}
	}
}

// TestParseFromDisplayNameAddress: a From whose display name is another
// address is read as RFC 5322 says (the angle address is the sender),
// and the mismatch is recorded.
func TestParseFromDisplayNameAddress(t *testing.T) {
	for _, from := range []string{
		"reporter@customer.example <attacker@attacker.example>",
		`"reporter@customer.example" <attacker@attacker.example>`,
	} {
		m, err := Parse(strings.NewReader("From: "+from+"\r\nSubject: x\r\n\r\nbody\r\n"), ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if m.From != "attacker@attacker.example" || m.FromNameAddress != "reporter@customer.example" {
			t.Errorf("From %s: address %q, name address %q", from, m.From, m.FromNameAddress)
		}
		if !slices.ContainsFunc(m.Problems, func(p string) bool { return strings.Contains(p, "display name") }) {
			t.Errorf("From %s: mismatch not recorded: %q", from, m.Problems)
		}
	}
	m, err := Parse(strings.NewReader("From: \"carl@customer.example\" <Carl@customer.example>\r\n\r\nx\r\n"), ParseOptions{})
	if err != nil || m.FromNameAddress != "" || len(m.Problems) != 0 {
		t.Errorf("a name that is the address itself is no mismatch: %q %q %v", m.FromNameAddress, m.Problems, err)
	}
}
