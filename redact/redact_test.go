package redact

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"regexp"
	"strings"
	"testing"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
)

var pattern = regexp.MustCompile(`OX-[0-9]{4}-[A-Z0-9]{6}`)

const (
	key    = "OX-1234-ABCDEF"
	hidden = "**********CDEF"
)

func TestKey(t *testing.T) {
	for in, want := range map[string]string{key: hidden, "abc": "***", "abcde": "*bcde", "äöüßx": "*öüßx"} {
		if got := Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWriterKeyAcrossWrites writes a stream holding keys in two pieces,
// split at every position of every key and across the Writer's hold.
func TestWriterKeyAcrossWrites(t *testing.T) {
	text := strings.Repeat("x", 3*Hold-5) + key + strings.Repeat("y", Hold+3) + key + " end " + key
	want := strings.ReplaceAll(text, key, hidden)
	for split := 1; split < len(text); split += 7 {
		var out bytes.Buffer
		w := NewWriter(&out, pattern)
		for _, part := range []string{text[:split], text[split:]} {
			if _, err := io.WriteString(w, part); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Fatalf("split at %d: key leaked or text changed (contains key: %v, len %d want %d)", split, strings.Contains(out.String(), key), out.Len(), len(want))
		}
	}
	// One byte at a time.
	var out bytes.Buffer
	w := NewWriter(&out, pattern)
	for i := 0; i < len(text); i++ {
		w.Write([]byte{text[i]})
	}
	w.Close()
	if out.String() != want {
		t.Fatalf("byte by byte: key leaked or text changed")
	}
}

func TestWriterNoPatternCopies(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, nil)
	io.WriteString(w, key)
	w.Close()
	if out.String() != key {
		t.Fatalf("got %q", out.String())
	}
}

// TestWriterGrowingMatch: a pattern without a bounded length over a run
// longer than the hold is still redacted.
func TestWriterGrowingMatch(t *testing.T) {
	re := regexp.MustCompile(`K[0-9]+`)
	run := "K" + strings.Repeat("7", 3*Hold)
	var out bytes.Buffer
	w := NewWriter(&out, re)
	for i := 0; i < len(run); i += 100 {
		end := min(i+100, len(run))
		w.Write([]byte(run[i:end]))
	}
	io.WriteString(w, " tail")
	w.Close()
	if want := Key(run) + " tail"; out.String() != want {
		t.Fatalf("got %d bytes, leaked digits: %v", out.Len(), strings.Contains(out.String(), "77777"))
	}
}

func b64lines(s string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	var b strings.Builder
	for len(enc) > 0 {
		n := min(76, len(enc))
		b.WriteString(enc[:n] + "\r\n")
		enc = enc[n:]
	}
	return b.String()
}

// mime builds a message with a key in the Subject (plain), in an
// encoded-word header, in the text body, in a base64 text attachment, in
// a quoted-printable part split by a soft line break, in a nested
// message and in a PNG (left alone: binary).
func sample() string { return sampleWith(key, "OX-12=\r\n34-ABC=44EF") }

func sampleWith(key, qpKey string) string {
	png := "\x89PNG\r\n\x1a\n" + key + "\x00\x01"
	return "From: Kunde <kunde@example.com>\r\n" +
		"To: acme@example.net\r\n" +
		"Subject: my key " + key + "\r\n" +
		"X-Support-Key: =?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte("Schlüssel "+key)) + "?=\r\n" +
		"X-Folded: first part\r\n  and " + key + "\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"outer\"\r\n" +
		"\r\n" +
		"preamble " + key + "\r\n" +
		"--outer\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" +
		"Hello, my key is " + key + ".\r\n" +
		"--outer\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Disposition: attachment; filename=\"licence.txt\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		b64lines("licence: "+key+"\nvalid until 2030\n") +
		"--outer\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n" +
		"\r\n" +
		"<p>key " + qpKey + " and caf=C3=A9</p>\r\n" +
		"--outer\r\n" +
		"Content-Type: message/rfc822\r\n" +
		"\r\n" +
		"Subject: forwarded " + key + "\r\n" +
		"\r\n" +
		"inner body " + key + "\r\n" +
		"--outer\r\n" +
		"Content-Type: image/png\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		b64lines(png) +
		"--outer--\r\n" +
		"epilogue " + key + "\r\n"
}

// TestMessageRedactsEveryPart checks the rewritten message: no key
// whole anywhere in its bytes or in any decoded part (but the PNG's), the
// same structure, the other text unchanged.
func TestMessageRedactsEveryPart(t *testing.T) {
	var out bytes.Buffer
	if err := Message(&out, strings.NewReader(sample()), pattern); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Count(got, key) != 0 {
		t.Fatalf("a key is whole in the raw output:\n%s", got)
	}
	mr, err := mail.CreateReader(strings.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := mr.Header.Subject()
	if subj != "my key "+hidden {
		t.Errorf("Subject = %q", subj)
	}
	if v, _ := mr.Header.Text("X-Support-Key"); v != "Schlüssel "+hidden {
		t.Errorf("X-Support-Key = %q", v)
	}
	if v := mr.Header.Get("X-Folded"); !strings.HasSuffix(v, hidden) {
		t.Errorf("X-Folded = %q", v)
	}
	var parts []string
	var png []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p.Body)
		ct, _, _ := p.Header.(interface {
			ContentType() (string, map[string]string, error)
		}).ContentType()
		if ct == "image/png" {
			png = b
			continue
		}
		parts = append(parts, string(b))
		if bytes.Contains(b, []byte(key)) {
			t.Errorf("part %s holds a key whole: %q", ct, b)
		}
	}
	want := []string{
		"Hello, my key is " + hidden + ".",
		"licence: " + hidden + "\nvalid until 2030\n",
		"<p>key " + hidden + " and café</p>\r\n",
	}
	if len(parts) < 4 {
		t.Fatalf("parts = %q", parts)
	}
	for i, w := range want {
		if strings.TrimRight(parts[i], "\r\n") != strings.TrimRight(w, "\r\n") {
			t.Errorf("part %d = %q, want %q", i, parts[i], w)
		}
	}
	inner, err := gomessage.Read(strings.NewReader(parts[3]))
	if err != nil {
		t.Fatal(err)
	}
	if s := inner.Header.Get("Subject"); s != "forwarded "+hidden {
		t.Errorf("nested Subject = %q", s)
	}
	if b, _ := io.ReadAll(inner.Body); strings.TrimSpace(string(b)) != "inner body "+hidden {
		t.Errorf("nested body = %q", b)
	}
	if !bytes.Contains(png, []byte(key)) {
		t.Errorf("the PNG was changed: %q", png)
	}
	for _, s := range []string{"preamble " + hidden, "epilogue " + hidden, "From: Kunde <kunde@example.com>\r\n", "--outer--\r\n"} {
		if !strings.Contains(got, s) {
			t.Errorf("output lacks %q", s)
		}
	}
}

// TestMessageKeyAcrossReadBuffer puts keys where the reader's line buffer
// splits a long line and where a QP line is folded.
func TestMessageKeyAcrossReadBuffer(t *testing.T) {
	for _, off := range []int{lineBuf - 20, lineBuf - 7, lineBuf - 1, lineBuf, 2*lineBuf - 3} {
		body := strings.Repeat("a", off) + key + strings.Repeat("b", 100)
		raw := "Subject: long\r\n\r\n" + body + "\r\n"
		var out bytes.Buffer
		if err := Message(&out, strings.NewReader(raw), pattern); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), key) || !strings.Contains(out.String(), hidden) || out.Len() != len(raw) {
			t.Fatalf("offset %d: key leaked or length changed (%d vs %d)", off, out.Len(), len(raw))
		}
		// The same text quoted-printable, soft-wrapped at 76 by the encoder.
		var qp bytes.Buffer
		qw := quotedprintable.NewWriter(&qp)
		io.WriteString(qw, body)
		qw.Close()
		raw = "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp.String() + "\r\n"
		out.Reset()
		if err := Message(&out, strings.NewReader(raw), pattern); err != nil {
			t.Fatal(err)
		}
		dec, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(out.Bytes()[bytes.Index(out.Bytes(), []byte("\r\n\r\n"))+4:])))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(dec), key) || strings.TrimRight(string(dec), "\r\n") != strings.ReplaceAll(body, key, hidden) {
			t.Fatalf("offset %d: QP part decoded to something else (leaked %v)", off, strings.Contains(string(dec), key))
		}
	}
}

func TestMessageWithoutPatternIsUnchanged(t *testing.T) {
	var out bytes.Buffer
	if err := Message(&out, strings.NewReader(sample()), nil); err != nil {
		t.Fatal(err)
	}
	if out.String() != sample() {
		t.Fatal("changed")
	}
}

// TestMessageWithoutKeysKeepsBytes: a message with no key comes out byte
// for byte (but re-encoded text parts keep their content).
func TestMessageWithoutKeysKeepsBytes(t *testing.T) {
	raw := sampleWith("nothing here", "none") // (soft line breaks of a re-encoded part may move)
	var out bytes.Buffer
	if err := Message(&out, strings.NewReader(raw), pattern); err != nil {
		t.Fatal(err)
	}
	if out.String() != raw {
		t.Fatalf("changed:\n%q\n----\n%q", out.String(), raw)
	}
}

func TestTextLike(t *testing.T) {
	for _, c := range []struct {
		ct, name string
		want     bool
	}{
		{"text/plain; charset=utf-8", "", true}, {"message/rfc822", "", true}, {"application/json", "", true},
		{"application/vnd.api+json", "", true}, {"application/octet-stream", "keys.csv", true},
		{"application/pdf", "keys.pdf", false}, {"image/png", "", false}, {"application/zip", "x.txt", false},
		{"", "notes.TXT", true},
	} {
		if got := TextLike(c.ct, c.name); got != c.want {
			t.Errorf("TextLike(%q, %q) = %v", c.ct, c.name, got)
		}
	}
}
