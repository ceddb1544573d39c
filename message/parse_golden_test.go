package message

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite message/testdata/*.golden.json from the parser's output")

// goldenMessage is everything Parse returns, including the fields that
// Message keeps out of its JSON, in a stable form.
type goldenMessage struct {
	Subject         string             `json:"subject"`
	From            string             `json:"from"`
	FromName        string             `json:"from_name"`
	To              []Address          `json:"to"`
	Cc              []Address          `json:"cc"`
	ReplyTo         []Address          `json:"reply_to"`
	MessageID       string             `json:"message_id"`
	InReplyTo       []string           `json:"in_reply_to"`
	References      []string           `json:"references"`
	Date            string             `json:"date"`
	ContentType     string             `json:"content_type"`
	ReportType      string             `json:"report_type"`
	Text            string             `json:"text"`
	HTML            string             `json:"html"`
	Attachments     []goldenAttachment `json:"attachments"`
	Problems        []string           `json:"problems"`
	DeliveryStatus  string             `json:"delivery_status"`
	OriginalHeaders []HeaderField      `json:"original_headers"`
	Header          []HeaderField      `json:"header"`
}

// goldenAttachment adds the sink's reference (the content hash), which
// Attachment keeps out of its JSON, so the golden file pins the bytes too.
type goldenAttachment struct {
	Attachment
	Ref string `json:"ref"`
}

// hashingSink is an AttachmentSink that keeps the SHA-256 and the bytes of
// what it was given, as a blob store would.
type hashingSink struct {
	blobs map[string][]byte
}

func (s *hashingSink) sink(a *Attachment, r io.Reader) (string, error) {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	ref := "sha256:" + hex.EncodeToString(sum[:])
	if s.blobs == nil {
		s.blobs = map[string][]byte{}
	}
	s.blobs[ref] = buf.Bytes()
	return ref, nil
}

func golden(m *Message) goldenMessage {
	g := goldenMessage{
		Subject: m.Subject, From: m.From, FromName: m.FromName,
		To: m.To, Cc: m.Cc, ReplyTo: m.ReplyTo,
		MessageID: m.MessageID, InReplyTo: m.InReplyTo, References: m.References,
		ContentType: m.ContentType, ReportType: m.ReportType,
		Text: m.Text, HTML: m.HTML, Problems: m.Problems,
		DeliveryStatus: m.DeliveryStatus, OriginalHeaders: m.OriginalHeaders, Header: m.Header,
	}
	if !m.Date.IsZero() {
		g.Date = m.Date.Format(time.RFC3339)
	}
	g.Attachments = []goldenAttachment{}
	for _, a := range m.Attachments {
		g.Attachments = append(g.Attachments, goldenAttachment{Attachment: a, Ref: a.Ref})
	}
	return g
}

// TestGolden parses the hand-written messages in testdata and compares the
// whole result with testdata/<name>.golden.json. Run with -update after a
// deliberate change and review the diff.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.eml: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".eml")
		t.Run(name, func(t *testing.T) {
			sink := &hashingSink{}
			m := parseFile(t, file, ParseOptions{Attachments: sink.sink})
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(golden(m)); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			path := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file:\n%s", name, firstDiff(string(want), string(got)))
			}
		})
	}
}

// firstDiff shows the first differing line of two texts, with context.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\nwant: " + w + "\n got: " + g
		}
	}
	return "(no line differs)"
}
