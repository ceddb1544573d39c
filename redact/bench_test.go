package redact

import (
	"io"
	"strings"
	"testing"
)

// BenchmarkRedact: a 4 MiB text attachment through a Writer, and a 4 MiB
// message (a text part and a base64 text file) through Message, one key
// every 64 KiB.
//
//	go test -run '^$' -bench BenchmarkRedact -count 3 ./redact
func BenchmarkRedact(b *testing.B) {
	chunk := strings.Repeat("lorem ipsum dolor sit amet, ", 64<<10/28) + key + "\n"
	text := strings.Repeat(chunk, 64)
	b.Run("writer", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			w := NewWriter(io.Discard, pattern)
			r := strings.NewReader(text)
			if _, err := io.Copy(w, r); err != nil {
				b.Fatal(err)
			}
			w.Close()
		}
	})
	msg := "Subject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n" +
		strings.ReplaceAll(text[:len(text)/2], "\n", "\r\n") + "\r\n--B\r\nContent-Type: text/plain; name=a.txt\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		b64lines(text[:len(text)/2]) + "--B--\r\n"
	b.Run("message", func(b *testing.B) {
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if err := Message(io.Discard, strings.NewReader(msg), pattern); err != nil {
				b.Fatal(err)
			}
		}
	})
}
