package message

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// writeBigMessage writes a text message of about size bytes to a file:
// format=flowed (its paragraphs are long runs of soft-broken lines) or
// plain, in one text/plain part.
func writeBigMessage(t testing.TB, size int, flowed bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "big.eml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	ct := "text/plain; charset=utf-8"
	if flowed {
		ct += "; format=flowed; delsp=yes"
	}
	w.WriteString("From: Big <big@customer.example>\r\nTo: acme@support.example.com\r\nSubject: logs\r\n" +
		"Message-ID: <big@customer.example>\r\nDate: Mon, 02 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: " + ct + "\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	line := strings.Repeat("Grüße aus dem Log, Zeile für Zeile ", 2) + "\r\n"
	n := 0
	for n < size {
		w.WriteString(line)
		n += len(line)
	}
	w.WriteString("-- \r\nEnd\r\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// allocatedParsing parses the file and returns the bytes allocated while
// doing so (runtime.MemStats.TotalAlloc: every allocation counts, even
// what is garbage a moment later), with the message.
func allocatedParsing(t *testing.T, path string, opts ParseOptions) (uint64, *Message) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := Parse(f, opts)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	return after.TotalAlloc - before.TotalAlloc, m
}

// Memory per message in flight is a small constant: parsing an 11 MB
// (and a 22 MB) text message from its spooled file allocates a bounded
// amount that does not grow with the message, because the kept text is
// capped (the raw message stays whole on disk). Before the cap, an 11.4 MB
// format=flowed message took the daemon from 26 to 385 MB RSS (issue 13,
// item 8; issue 15, item 10).
func TestParseMemoryIsBoundedPerMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 66 MB of test messages")
	}
	// The bound: a few copies of the kept text (DefaultMaxTextBytes)
	// plus buffers, far below the message's size.
	const bound = 8 * DefaultMaxTextBytes
	for _, tc := range []struct {
		name   string
		size   int
		flowed bool
	}{
		{"11MB flowed", 11 << 20, true},
		{"22MB flowed", 22 << 20, true},
		{"11MB plain", 11 << 20, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeBigMessage(t, tc.size, tc.flowed)
			alloc, m := allocatedParsing(t, path, ParseOptions{})
			t.Logf("%s: %d bytes allocated while parsing (%.2f MiB), text kept %d bytes", tc.name, alloc, float64(alloc)/(1<<20), len(m.Text))
			if alloc > bound {
				t.Errorf("parsing a %d-byte message allocated %d bytes; the bound is %d", tc.size, alloc, bound)
			}
			if !m.TextCut || len(m.Text) > DefaultMaxTextBytes || len(m.Text) < DefaultMaxTextBytes/2 {
				t.Errorf("text %d bytes, cut %v: want it cut at %d", len(m.Text), m.TextCut, DefaultMaxTextBytes)
			}
			if !strings.HasPrefix(m.Text, "Grüße aus dem Log") {
				t.Errorf("text starts %q", m.Text[:min(len(m.Text), 40)])
			}
		})
	}
}
