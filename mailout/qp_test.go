package mailout

import (
	"bytes"
	"math/rand/v2"
	"mime/quotedprintable"
	"strings"
	"testing"
)

// stdQP is what mime/quotedprintable's Writer makes of s written at once.
func stdQP(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// chunkWriter takes at most n bytes per Write, as a short buffer would,
// and records them.
type chunkWriter struct {
	bytes.Buffer
	writes int
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.Buffer.Write(p)
}

func checkQP(t testing.TB, s string) {
	e := &qpEncoder{out: make([]byte, 0, qpBufSize)}
	var got chunkWriter
	if err := e.encodeBody(&got, s); err != nil {
		t.Fatal(err)
	}
	if want := stdQP(t, s); !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("quoted-printable of %q:\n got %q\nwant %q", s, got.Bytes(), want)
	}
}

// TestQuotedPrintable holds qpEncoder to mime/quotedprintable on random
// bodies made of the pieces that matter (line breaks of every kind, white
// space at line ends, "=", long runs, non-ASCII, control bytes) and on
// bodies longer than the encoder's buffer.
func TestQuotedPrintable(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	pieces := []string{"", "a", "Hello Jörg,", "\n", "\r\n", "\r", "\n\r", " ", "\t", "  \t", "=", "=3D", "\x00", "\x7f", "\xff", "😀", ".",
		strings.Repeat("x", 73), strings.Repeat("x", 74), strings.Repeat("x", 75), strings.Repeat("x", 76), strings.Repeat("y ", 50), "line \n", "tab\t\r\n"}
	for range 20000 {
		var b strings.Builder
		for range r.IntN(40) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		checkQP(t, b.String())
	}
	for _, n := range []int{qpFlushAt - 1, qpFlushAt, qpBufSize, 3 * qpBufSize} {
		for _, unit := range []string{"x", "é", " ", "ab \r\n", "=", strings.Repeat("z", 80) + "\n"} {
			checkQP(t, strings.Repeat(unit, n/len(unit)+1))
		}
	}
}

func FuzzQuotedPrintable(f *testing.F) {
	for _, s := range []string{"", "a \r\n", "\r\xff\n", strings.Repeat("=", 100), strings.Repeat("x", 75) + " \n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkQP(t, s) })
}

// TestQPPlain8 holds the eight-byte test to the byte table on every
// byte in every position.
func TestQPPlain8(t *testing.T) {
	base := []byte("abcdefgh")
	for pos := range 8 {
		for c := range 256 {
			b := append([]byte(nil), base...)
			b[pos] = byte(c)
			want := true
			for _, x := range b {
				if qpClass[x] != qpPlain || x == '\t' {
					want = false
				}
			}
			if got := qpPlain8(string(b)); got != want {
				t.Fatalf("%q: %v, want %v", b, got, want)
			}
		}
	}
	// Several unusual bytes at once (borrows and carries between them).
	r := rand.New(rand.NewPCG(37, 41))
	alphabet := []byte{0, 1, 0x1f, 0x20, 0x21, '=', 0x3c, 0x3e, 0x7e, 0x7f, 0x80, 0xff, 'a', '\t', '\n'}
	for range 500000 {
		var b [8]byte
		want := true
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
			if qpClass[b[i]] != qpPlain || b[i] == '\t' {
				want = false
			}
		}
		if got := qpPlain8(string(b[:])); got != want {
			t.Fatalf("%q: %v, want %v", b, got, want)
		}
	}
}
