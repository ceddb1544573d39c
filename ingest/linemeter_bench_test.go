package ingest

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// BenchmarkLineMeter measures the longest line of a 4 KB message (the
// size smtpload sends) as the spool reads it through lineMeter.
func BenchmarkLineMeter(b *testing.B) {
	body := []byte(strings.Repeat("The printer on the second floor prints blank pages since this morning.\r\n", 57))
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		m := &lineMeter{r: bytes.NewReader(body)}
		for {
			if _, err := m.Read(buf); err == io.EOF {
				break
			}
		}
		if m.longest != 70 {
			b.Fatalf("longest %d", m.longest)
		}
	}
}
