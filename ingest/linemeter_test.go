package ingest

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// byteMeter is the longest line as the pipeline measured it before
// lineMeter.meter: a byte at a time, CR not counted, LF ending the line.
func byteMeter(data []byte) int {
	cur, longest := 0, 0
	for _, c := range data {
		switch c {
		case '\n':
			cur = 0
		case '\r':
		default:
			if cur++; cur > longest {
				longest = cur
			}
		}
	}
	return longest
}

// FuzzLineMeter: lineMeter agrees with the byte loop whatever the data
// and however the reads split it.
func FuzzLineMeter(f *testing.F) {
	for _, s := range []string{"", "\n", "\r\n", "abc", "abc\r\nde\r\n", "a\rb\r\n\r\r\nxyz", "no end\r", "\n\n\nlong line here\nx"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want := byteMeter(data)
		for _, r := range []io.Reader{bytes.NewReader(data), iotest.OneByteReader(bytes.NewReader(data)), iotest.HalfReader(bytes.NewReader(data))} {
			m := &lineMeter{r: r}
			got, err := io.ReadAll(m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("lineMeter changed the data")
			}
			if m.longest != want {
				t.Fatalf("longest line of %q = %d, want %d", data, m.longest, want)
			}
		}
	})
}
