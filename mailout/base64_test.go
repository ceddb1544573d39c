package mailout

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/emersion/go-message"

	"github.com/ticketgate/ticketgate/store"
)

// goBase64 is what go-message's base64 writer makes of chunks, written
// one after the other: the reference base64Body is held to.
func goBase64(t testing.TB, chunks [][]byte) []byte {
	t.Helper()
	var h message.Header
	h.Set("Content-Transfer-Encoding", "base64")
	var buf bytes.Buffer
	w, err := message.CreateWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	hdr := buf.Len()
	for _, c := range chunks {
		if _, err := w.Write(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()[hdr:]
}

// ourBase64 is what e makes of chunks.
func ourBase64(t testing.TB, e *base64Body, chunks [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	e.Reset(&buf)
	for _, c := range chunks {
		if n, err := e.Write(c); n != len(c) || err != nil {
			t.Fatalf("Write of %d bytes = %d, %v", len(c), n, err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// cut cuts data into chunks whose lengths are taken in turn from sizes
// (the last one shorter).
func cut(data []byte, sizes ...int) [][]byte {
	var chunks [][]byte
	for i := 0; len(data) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(data))
		chunks = append(chunks, data[:n])
		data = data[n:]
	}
	return chunks
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestBase64Body: base64Body writes go-message's base64 bytes for bodies
// of every length that matters (none, less than a line, a line and its
// neighbours, a block and its neighbours, more than a megabyte, random
// ones), whole and written in many different chunkings, and read by
// ReadFrom in pieces of any size; one encoder serves them all in turn.
func TestBase64Body(t *testing.T) {
	r := rand.New(rand.NewPCG(64, 76))
	sizes := []int{0, 1, 2, 3, 4, 5, 6, 54, 55, 56, 57, 58, 59, 75, 76, 77, 113, 114, 115, 4095, 4096,
		b64BlockIn - 57, b64BlockIn - 1, b64BlockIn, b64BlockIn + 1, b64BlockIn + 57, 2*b64BlockIn - 1, 2 * b64BlockIn, 2*b64BlockIn + 2,
		1<<20 + 1}
	for range 40 {
		sizes = append(sizes, r.IntN(3*b64BlockIn))
	}
	e := newBase64Body()
	for _, size := range sizes {
		data := randBytes(r, size)
		want := goBase64(t, [][]byte{data})
		chunkings := [][][]byte{
			{data},
			cut(data, 1),
			cut(data, 3),
			cut(data, 56),
			cut(data, 57),
			cut(data, 58),
			cut(data, 4096),
			cut(data, b64BlockIn-1),
			cut(data, b64BlockIn),
			cut(data, b64BlockIn+1),
			cut(data, 1, b64BlockIn*2+5, 7, 0, 57),
			cut(data, 1+r.IntN(100), 1+r.IntN(5000), 1+r.IntN(100000)),
		}
		if size > 8192 {
			// Chunks of a few bytes: slow with go-message (the short
			// sizes cover them; chunks of 56 and random ones cross the
			// blocks).
			chunkings[1], chunkings[2] = nil, nil
		}
		for i, chunks := range chunkings {
			if chunks == nil {
				continue
			}
			if i > 0 && size <= 8192 {
				// The chunking changes nothing for go-message either.
				if w := goBase64(t, chunks); !bytes.Equal(w, want) {
					t.Fatalf("%d bytes, chunking %d: go-message wrote other bytes", size, i)
				}
			}
			if got := ourBase64(t, e, chunks); !bytes.Equal(got, want) {
				t.Fatalf("%d bytes, chunking %d: got\n%.200q (%d)\nwant\n%.200q (%d)", size, i, got, len(got), want, len(want))
			}
		}
		for i, rd := range []io.Reader{
			bytes.NewReader(data),
			iotest.OneByteReader(bytes.NewReader(data)),
			iotest.HalfReader(bytes.NewReader(data)),
			iotest.DataErrReader(bytes.NewReader(data)),
			io.MultiReader(bytes.NewReader(data[:size/3]), strings.NewReader(""), bytes.NewReader(data[size/3:])),
		} {
			if size > 8192 && i == 1 {
				continue
			}
			var buf bytes.Buffer
			e.Reset(&buf)
			n, err := io.Copy(e, rd)
			if n != int64(size) || err != nil {
				t.Fatalf("%d bytes, reader %d: io.Copy = %d, %v", size, i, n, err)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("%d bytes, reader %d: ReadFrom wrote other bytes", size, i)
			}
		}
	}
}

// TestBase64Shape states go-message's shape that base64Body copies,
// so that a change of go-message's shows here: lines of 76, CRLF
// between them and none at the end, the last line padded, nothing for
// an empty body.
func TestBase64Shape(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"", ""},
		{"a", "YQ=="},
		{"ab", "YWI="},
		{"abc", "YWJj"},
		{strings.Repeat("x", 57), strings.Repeat("eHh4", 19)},
		{strings.Repeat("x", 58), strings.Repeat("eHh4", 19) + "\r\neA=="},
		{strings.Repeat("x", 114), strings.Repeat("eHh4", 19) + "\r\n" + strings.Repeat("eHh4", 19)},
	} {
		if got := string(goBase64(t, [][]byte{[]byte(tc.in)})); got != tc.want {
			t.Errorf("go-message: %d bytes: %q, want %q", len(tc.in), got, tc.want)
		}
		if got := string(ourBase64(t, newBase64Body(), [][]byte{[]byte(tc.in)})); got != tc.want {
			t.Errorf("base64Body: %d bytes: %q, want %q", len(tc.in), got, tc.want)
		}
	}
}

// FuzzBase64Body: for any data cut into any chunks, base64Body writes
// go-message's bytes.
func FuzzBase64Body(f *testing.F) {
	f.Add([]byte{}, []byte{})
	f.Add([]byte("a"), []byte{0})
	f.Add(bytes.Repeat([]byte{0xff, 0, 'x'}, 100), []byte{56, 0, 1})
	f.Add(bytes.Repeat([]byte("attachment"), 6000), []byte{255, 3})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		sizes := []int{len(data) + 1}
		if len(cuts) > 0 {
			sizes = sizes[:0]
			for i, c := range cuts {
				// Large cuts now and then, so blocks are crossed.
				sizes = append(sizes, int(c)+1+i%2*int(c)*200)
			}
		}
		chunks := cut(data, sizes...)
		want := goBase64(t, chunks)
		if got := ourBase64(t, newBase64Body(), chunks); !bytes.Equal(got, want) {
			t.Fatalf("%d bytes in %d chunks: got\n%q\nwant\n%q", len(data), len(chunks), got, want)
		}
	})
}

// errAfter fails every write after its first n bytes.
type errAfter struct{ n int }

var errSink = errors.New("sink failed")

func (w *errAfter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errSink
	}
	w.n -= len(p)
	return len(p), nil
}

// TestBase64BodyError: a failed write is returned by the Write, ReadFrom
// or Close that made it, and by every call after it.
func TestBase64BodyError(t *testing.T) {
	data := make([]byte, 3*b64BlockIn)
	e := newBase64Body()
	e.Reset(&errAfter{n: b64BlockOut})
	if _, err := e.Write(data); !errors.Is(err, errSink) {
		t.Fatalf("Write: %v", err)
	}
	if _, err := e.Write(data[:1]); !errors.Is(err, errSink) {
		t.Fatalf("Write after a failure: %v", err)
	}
	if err := e.Close(); !errors.Is(err, errSink) {
		t.Fatalf("Close after a failure: %v", err)
	}
	e.Reset(&errAfter{n: b64BlockOut})
	if _, err := io.Copy(e, iotest.HalfReader(bytes.NewReader(data))); !errors.Is(err, errSink) {
		t.Fatalf("ReadFrom: %v", err)
	}
	e.Reset(&errAfter{n: 0})
	if _, err := e.Write(data[:10]); err != nil {
		t.Fatalf("Write of what is kept back: %v", err)
	}
	if err := e.Close(); !errors.Is(err, errSink) {
		t.Fatalf("Close: %v", err)
	}
	e.Reset(io.Discard)
	rerr := errors.New("read failed")
	if _, err := io.Copy(e, iotest.ErrReader(rerr)); !errors.Is(err, rerr) {
		t.Fatalf("ReadFrom of a failing reader: %v", err)
	}
}

// TestWritePartsGo: a mail with attachments (none to several, of sizes
// around a line and a block and over a megabyte, some text-like and
// redacted, some removed before they were queued, with and without the
// project's public key) is written as go-message's writers wrote it
// (writePartsGo), as the whole message and as the inner entity of an
// encrypted one. The golden mails (notify.TestSentBytes) have two small
// attachments only.
func TestWritePartsGo(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 64))
	sizes := []int{0, 1, 2, 56, 57, 58, 76, 1000, b64BlockIn - 1, b64BlockIn, b64BlockIn + 1, 1<<20 + 3}
	types := []struct{ ct, name string }{
		{"application/pdf", "Rechnung März.pdf"},
		{"text/plain", "notes.txt"},
		{"", ""},
		{"message/rfc822", "fwd.eml"},
		{"image/png", "screen shot.png"},
		{"text/plain; charset=iso-8859-1", "latin.txt"},
	}
	// Text for the text-like attachments: keys to redact among lines.
	text := func(n int) []byte {
		var b bytes.Buffer
		for b.Len() < n {
			switch r.IntN(4) {
			case 0:
				fmt.Fprintf(&b, "key ACME-%08d here\r\n", r.IntN(1e8))
			case 1:
				b.WriteString("Subject: x\n\n")
			default:
				b.WriteString("a line of ordinary text, and then some more of it\n")
			}
		}
		return b.Bytes()[:n]
	}
	bufs := &Buffers{}
	for i := range 120 {
		it := &store.OutboxItem{MessageID: fmt.Sprintf("tg.%d@support.example.com", i), Recipient: "a@b.example", Date: time.Unix(1.8e9, 0).UTC(),
			Header: store.OutboxHeader{From: "s@x.example", FromName: "Acme", Subject: "[ACME-1] files"}}
		var blobs [][]byte
		for range r.IntN(4) {
			ty := types[r.IntN(len(types))]
			size := sizes[r.IntN(len(sizes))]
			if size > 1<<20 && r.IntN(4) > 0 {
				size = r.IntN(3 * b64BlockIn)
			}
			a := store.Attachment{Filename: ty.name, ContentType: ty.ct, Size: int64(size)}
			if r.IntN(6) == 0 {
				it.Attach = append(it.Attach, a) // removed by retention
				continue
			}
			a.Blob = fmt.Sprintf("blob-%d", len(blobs))
			if strings.HasPrefix(ty.ct, "text/") || strings.HasPrefix(ty.ct, "message/") {
				blobs = append(blobs, text(size))
			} else {
				blobs = append(blobs, randBytes(r, size))
			}
			it.Attach = append(it.Attach, a)
		}
		var seal Seal
		if r.IntN(3) == 0 || len(blobs) == 0 {
			seal.Attach = []Part{{Filename: "acme-pubkey.asc", ContentType: "application/pgp-keys",
				Data: []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF" + strings.Repeat("x", r.IntN(2000)) + "\r\n\n-----END PGP PUBLIC KEY BLOCK-----\n")}}
		}
		var re *regexp.Regexp
		if r.IntN(2) == 0 {
			re = regexp.MustCompile(`ACME-[0-9]{8}`)
		}
		body := Body{Text: randBody(r), HTML: randBody(r)}
		newMessage := func() *Message {
			m, err := Prepare(it, body, func(h string) (io.ReadCloser, error) {
				var k int
				fmt.Sscanf(h, "blob-%d", &k)
				if r.IntN(2) == 0 {
					return io.NopCloser(iotest.HalfReader(bytes.NewReader(blobs[k]))), nil
				}
				return io.NopCloser(bytes.NewReader(blobs[k])), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			m.Seal, m.Redact = seal, re
			if r.IntN(2) == 0 {
				m.Bufs = bufs
			}
			return m
		}
		for _, inner := range []bool{false, true} {
			header := func(m *Message) message.Header {
				if inner {
					return message.Header{}
				}
				return m.header().Header
			}
			var want, got bytes.Buffer
			mw, mg := newMessage(), newMessage()
			if err := mw.writePartsGo(&want, header(mw)); err != nil {
				t.Fatal(err)
			}
			if err := mg.writeContent(&got, header(mg)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				g, w := got.Bytes(), want.Bytes()
				at := 0
				for at < min(len(g), len(w)) && g[at] == w[at] {
					at++
				}
				t.Fatalf("mail %d (inner %v): %d bytes written, go-message %d; they part at %d:\n%.300q\ngo-message:\n%.300q",
					i, inner, len(g), len(w), at, g[max(0, at-100):], w[max(0, at-100):])
			}
			if !inner {
				// The whole message, as the sender writes it.
				var whole bytes.Buffer
				if _, err := newMessage().WriteTo(&whole); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(whole.Bytes(), want.Bytes()) {
					t.Fatalf("mail %d: WriteTo wrote other bytes than go-message", i)
				}
			}
		}
	}
}
