package message

import (
	"bytes"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/internal/corpustest"
	"github.com/ticketgate/ticketgate/tnef"
)

// winmailMail wraps data as the winmail.dat part of a mail, after an
// optional text part.
func winmailMail(text string, data []byte, ctype string) string {
	var b strings.Builder
	b.WriteString("From: o@customer.example\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
	if text != "" {
		b.WriteString("--b\r\nContent-Type: text/plain\r\n\r\n" + text + "\r\n")
	}
	b.WriteString("--b\r\nContent-Type: " + ctype + "\r\nContent-Disposition: attachment; filename=winmail.dat\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	b.WriteString(base64.StdEncoding.EncodeToString(data) + "\r\n--b--\r\n")
	return b.String()
}

// parseKeeping parses raw and returns the message and each attachment's
// bytes by name.
func parseKeeping(t *testing.T, raw string, opts ParseOptions) (*Message, map[string][]byte) {
	t.Helper()
	got := map[string][]byte{}
	opts.Attachments = func(a *Attachment, r io.Reader) (string, error) {
		b, err := io.ReadAll(r)
		got[a.Filename] = b
		return a.Filename, err
	}
	m, err := Parse(strings.NewReader(raw), opts)
	if err != nil {
		t.Fatal(err)
	}
	return m, got
}

func tnefSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpustest.Dir(t), "tnef", name))
	if err != nil {
		t.Fatalf("TNEF sample of the corpus: %v", err)
	}
	return b
}

// TestWinmailDat: a winmail.dat part becomes the files inside it (whatever
// type it was labelled with), its body the text when there is no other,
// and one that cannot be decoded — broken, or larger than the decoder may
// read — stays as it came with a problem saying why.
func TestWinmailDat(t *testing.T) {
	two := tnefSample(t, "two-files.tnef")
	for _, ct := range []string{"application/ms-tnef", "application/vnd.ms-tnef", "application/octet-stream"} {
		m, files := parseKeeping(t, winmailMail("See the files.", two, ct), ParseOptions{})
		if len(m.Attachments) != 2 || m.Attachments[0].Filename != "AUTHORS" || m.Attachments[1].Filename != "README" {
			t.Fatalf("%s: attachments %+v", ct, m.Attachments)
		}
		if a := m.Attachments[0]; a.Size != int64(len(files["AUTHORS"])) || a.Ref != "AUTHORS" || a.ContentType != "application/octet-stream" {
			t.Errorf("%s: %+v", ct, a)
		}
		if m.Text != "See the files." {
			t.Errorf("%s: text %q: the mail's own body wins", ct, m.Text)
		}
	}

	m, _ := parseKeeping(t, winmailMail("", tnefSample(t, "rtf.tnef"), "application/ms-tnef"), ParseOptions{})
	if !strings.Contains(m.Text, "Greg Allen") || len(m.Attachments) != 0 {
		t.Errorf("no other body: text %q, attachments %+v", m.Text, m.Attachments)
	}
	m, _ = parseKeeping(t, winmailMail("", tnefSample(t, "rtf.tnef"), "application/ms-tnef"), ParseOptions{MaxTextBytes: 10})
	if len(m.Text) > 10 || !m.TextCut {
		t.Errorf("the stream's body is capped like any text: %q, cut %v", m.Text, m.TextCut)
	}

	broken := tnefSample(t, "bad_checksum.tnef")
	m, files := parseKeeping(t, winmailMail("x", broken, "application/ms-tnef"), ParseOptions{})
	if len(m.Attachments) != 1 || !bytes.Equal(files["winmail.dat"], broken) || !strings.Contains(strings.Join(m.Problems, "\n"), "could not be decoded") {
		t.Errorf("broken: attachments %+v, problems %q", m.Attachments, m.Problems)
	}
	m, files = parseKeeping(t, winmailMail("x", two, "application/ms-tnef"), ParseOptions{TNEF: tnefLimits(100)})
	if len(m.Attachments) != 1 || !bytes.Equal(files["winmail.dat"], two) || !strings.Contains(strings.Join(m.Problems, "\n"), "larger than 100 bytes") {
		t.Errorf("too large: attachments %+v, problems %q", m.Attachments, m.Problems)
	}
	m, files = parseKeeping(t, winmailMail("x", []byte("not TNEF at all"), "application/ms-tnef"), ParseOptions{})
	if len(m.Attachments) != 1 || string(files["winmail.dat"]) != "not TNEF at all" {
		t.Errorf("not TNEF: %+v", m.Attachments)
	}
}

func tnefLimits(maxInput int64) (l tnef.Limits) {
	l.MaxInput = maxInput
	return l
}
