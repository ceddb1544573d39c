package message

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ticketgate/ticketgate/internal/corpustest"
)

// FuzzParse feeds arbitrary bytes to Parse. Seeds are the hand-written
// testdata messages and, when present, every corpus message. Crashers found
// are kept in testdata/fuzz/FuzzParse as regression seeds.
//
// Invariants: Parse never fails on an in-memory reader with a sink that
// never fails, every text a user sees is valid UTF-8 without NUL bytes, the
// sink gets exactly the bytes Size reports, bodies respect MaxTextBytes, and
// parsing is deterministic.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if corpus := corpustest.Root(); corpus != "" {
		for _, rel := range corpusFiles(f, corpus) {
			seeds = append(seeds, filepath.Join(corpus, rel))
		}
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	const maxText = 32 << 10
	f.Fuzz(func(t *testing.T, raw []byte) {
		parse := func() (*Message, []int64) {
			var sizes []int64
			m, err := Parse(bytes.NewReader(raw), ParseOptions{MaxTextBytes: maxText, Attachments: func(a *Attachment, r io.Reader) (string, error) {
				n, err := io.Copy(io.Discard, r)
				sizes = append(sizes, n)
				return "ref", err
			}})
			if err != nil {
				t.Fatalf("Parse failed on in-memory input: %v", err)
			}
			return m, sizes
		}
		m, sizes := parse()
		texts := []string{m.Subject, m.From, m.FromName, m.Text, m.HTML, m.MessageID, m.DeliveryStatus, m.ContentType, m.ReportType}
		for _, a := range append(append(append([]Address{}, m.To...), m.Cc...), m.ReplyTo...) {
			texts = append(texts, a.Name, a.Address)
		}
		for _, a := range m.Attachments {
			texts = append(texts, a.Filename, a.ContentType, a.ContentID)
		}
		for _, h := range append(append([]HeaderField{}, m.Header...), m.OriginalHeaders...) {
			texts = append(texts, h.Name, h.Value)
		}
		texts = append(append(append(texts, m.Problems...), m.InReplyTo...), m.References...)
		for _, s := range texts {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("invalid UTF-8 or NUL in %q", s)
			}
		}
		if len(sizes) != len(m.Attachments) {
			t.Fatalf("sink called %d times for %d attachments", len(sizes), len(m.Attachments))
		}
		for i, a := range m.Attachments {
			if a.Size != sizes[i] {
				t.Fatalf("attachment %d: Size %d, sink read %d", i, a.Size, sizes[i])
			}
		}
		if len(m.HTML) > maxText || (m.HTML == "" && len(m.Text) > maxText) {
			t.Fatalf("body over MaxTextBytes: text %d html %d", len(m.Text), len(m.HTML))
		}
		again, _ := parse()
		j1, _ := json.Marshal(golden(m))
		j2, _ := json.Marshal(golden(again))
		if !bytes.Equal(j1, j2) {
			t.Fatalf("parsing is not deterministic")
		}
	})
}
