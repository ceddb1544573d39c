package quote

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/templates"
)

// BenchmarkStripReplies strips every reply of ../shared/corpus/replies once
// per iteration (ns/op is for the whole set).
func BenchmarkStripReplies(b *testing.B) {
	dir := filepath.Join(repoRoot(b), "..", "shared", "corpus", "replies", "cases")
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Skipf("reply corpus not found at %s (it lives beside the project in ../shared): %v", dir, err)
	}
	var texts []string
	for _, e := range entries {
		if caseName.MatchString(e.Name()) {
			in, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				b.Fatal(err)
			}
			texts = append(texts, string(in))
		}
	}
	markers := templates.AllReplyMarkers()
	b.ResetTimer()
	for b.Loop() {
		for _, t := range texts {
			Strip(t, markers)
		}
	}
}

// BenchmarkStripPlain strips a new request without any quote: the common
// case of every first mail.
func BenchmarkStripPlain(b *testing.B) {
	text := strings.Repeat("Hello, the export fails since this morning with error 42 on every invoice we try.\nIt worked yesterday.\n\n", 8) +
		"Best regards,\nJane Doe\nACME Corp\n+49 30 1234567\n"
	markers := templates.AllReplyMarkers()
	for b.Loop() {
		Strip(text, markers)
	}
}
