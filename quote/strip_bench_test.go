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

// BenchmarkStripLongPlain strips a realistic 4 KB new request: varied
// sentences in wrapped paragraphs, no quote, a closing and a signature at
// the end.
func BenchmarkStripLongPlain(b *testing.B) {
	text := longPlainText()
	markers := templates.AllReplyMarkers()
	for b.Loop() {
		Strip(text, markers)
	}
}

// longPlainText is the text of BenchmarkStripLongPlain.
func longPlainText() string {
	sentences := []string{
		"Hello support team,",
		"since the update on Monday our invoices no longer export to the accounting system.",
		"When I click on Export, the progress bar stops at about 80 percent and nothing happens.",
		"We tried it with Firefox and with Chrome, and on two different computers in the office.",
		"The error message says that the connection was reset by the server, error code 42.",
		"Could you please check whether something changed on your side last weekend?",
		"Our accountant needs the March figures by Friday, so this is rather urgent for us.",
		"I have attached a screenshot of the settings page and the log file from this morning.",
		"The customer number is 10451 and the affected project is called Northwind Retail.",
		"Yesterday afternoon it worked once, but only for the first twenty invoices.",
		"We did not change anything in the configuration since the last release.",
		"Is there a way to export the invoices manually in the meantime, maybe as a CSV file?",
		"If you need access to our test system, just let me know and I will set up an account.",
		"Thank you very much for your help and sorry for the long description.",
		"By the way, the password reset mail also takes more than an hour to arrive.",
	}
	// Paragraphs of four sentences, wrapped at 72 columns as plain-text
	// clients send them.
	var sb strings.Builder
	for k := 0; sb.Len() < 4000; k += 4 {
		var para []string
		for j := range 4 {
			para = append(para, sentences[(k+j)%len(sentences)])
		}
		col := 0
		for _, w := range strings.Fields(strings.Join(para, " ")) {
			if col > 0 && col+1+len(w) > 72 {
				sb.WriteString("\n")
				col = 0
			} else if col > 0 {
				sb.WriteString(" ")
				col++
			}
			sb.WriteString(w)
			col += len(w)
		}
		sb.WriteString("\n\n")
	}
	return sb.String() + "\nBest regards,\nJane Doe\n-- \nJane Doe | Head of Accounting\nACME Corp, Example Street 1, 10115 Berlin\n+49 30 1234567\n"
}
