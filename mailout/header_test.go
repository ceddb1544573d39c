package mailout

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/ticketgate/ticketgate/store"
)

// randHeaderValue is header text that exercises go-message's formatting:
// encoded words, quoting, folding at and without white space, and line
// breaks (which go-message refuses).
func randHeaderValue(r *rand.Rand) string {
	pieces := []string{"", "ACME-12", "Jörg Müller", "[ACME-1] Printer prints blank pages", "=?utf-8?q?x?=", "\"quoted\"", "a,b", "(Kunde)", "x\\y",
		strings.Repeat("long subject ", 12), strings.Repeat("x", 90), "日本語", " ", "\t", "tab\there", "a.b", "@", "<>", "\r\n", "\n", "\x00", "\xff"}
	var b strings.Builder
	for range r.IntN(4) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

func randAddress(r *rand.Rand) string {
	locals := []string{"a", "joerg.mueller", "a..b", ".a", "a.", "x y", "\"q\"", "ü", "carl+tag", "", "a\nb"}
	domains := []string{"@b.example", "@support.example.com", "", "@", "@dömain.example"}
	return locals[r.IntN(len(locals))] + domains[r.IntN(len(domains))]
}

// TestHeaderFast: the header writeAltHeader writes is go-message's (the
// message written by write and by writeSlow are the same bytes), and a
// row it cannot write (a line break in a value) goes to go-message's
// writer, which fails it as before.
func TestHeaderFast(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 17))
	fallbacks := 0
	for i := range 20000 {
		var refs []string
		for range r.IntN(25) {
			refs = append(refs, fmt.Sprintf("ref-%d.%s@mail.example", r.IntN(1000), strings.Repeat("x", r.IntN(40))))
		}
		it := &store.OutboxItem{MessageID: randHeaderValue(r) + "@support.example.com", Recipient: randAddress(r), RecipientName: randHeaderValue(r),
			References: refs,
			Header: store.OutboxHeader{From: randAddress(r), FromName: randHeaderValue(r), Subject: randHeaderValue(r) + randHeaderValue(r),
				AutoSubmitted: randHeaderValue(r), Loop: randAddress(r)}}
		if r.IntN(2) == 0 {
			it.InReplyTo = refs[:min(len(refs), 1)]
		}
		if r.IntN(3) > 0 {
			it.Date = time.Unix(r.Int64N(4e9)-1e9, 0).In(time.FixedZone("X", (r.IntN(49)-24)*1800))
		}
		if r.IntN(5) == 0 {
			it.MessageID = ""
		}
		if r.IntN(2) == 0 {
			it.Header.ReplyTo, it.Header.ReplyToName = randAddress(r), randHeaderValue(r)
		}
		if r.IntN(2) == 0 {
			it.Header.Unsubscribe = "https://help.example.com/t/" + randHeaderValue(r)
		}
		m := &Message{Item: it, Body: Body{Text: "Hello\n", HTML: "<p>Hello</p>"}}
		if r.IntN(4) == 0 {
			m.Seal.Autocrypt = "addr=s@x.example; keydata=" + strings.Repeat("QUJD", r.IntN(80))
		}
		var got, want bytes.Buffer
		gerr := m.write(&got)
		werr := m.writeSlow(&want)
		if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Fatalf("row %d: write: %v, go-message: %v", i, gerr, werr)
		}
		if werr != nil {
			fallbacks++
			continue
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("row %d: written\n%q\ngo-message:\n%q", i, got.Bytes(), want.Bytes())
		}
	}
	if fallbacks == 0 {
		t.Error("no row went to go-message's writer")
	}
}

// TestAppendAddress holds the plain-address writer to net/mail's
// Address.String for every address it writes, on random names and
// addresses made of the characters that matter.
func TestAppendAddress(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 31))
	chars := []string{"a", "Z", "0", ".", " ", "\t", "\"", "\\", "(", ")", "<", ">", "[", "]", ":", ";", "@", ",", "!", "~", "+", "é", "\x00", "\x7f", "\n", "=?"}
	word := func() string {
		var b strings.Builder
		for range r.IntN(8) + r.IntN(2)*r.IntN(60) {
			b.WriteString(chars[r.IntN(len(chars))])
		}
		return b.String()
	}
	written, encoded := 0, 0
	for range 200000 {
		name, addr := word(), word()
		if r.IntN(2) == 0 {
			// A name without the characters that make net/mail
			// base64-encode it: plain, or Q-encoded when not ASCII.
			var b strings.Builder
			for range r.IntN(40) {
				b.WriteString([]string{"a", "Z", "0", " ", "\t", "é", "日本", "\x00", "\n", "=", "?", "_", "-", "\xff"}[r.IntN(14)])
			}
			name = b.String()
		}
		if r.IntN(2) == 0 {
			addr += "@" + word()
		}
		got, ok := appendAddress(nil, name, addr)
		if !ok {
			continue
		}
		written++
		if strings.Contains(string(got), "=?utf-8?q?") {
			encoded++
		}
		a := mail.Address{Name: name, Address: addr}
		if want := a.String(); string(got) != want {
			t.Fatalf("name %q address %q: %q, net/mail %q", name, addr, got, want)
		}
	}
	if written-encoded < 1000 || encoded < 1000 {
		t.Errorf("%d of the random addresses written without net/mail, %d of them with an encoded name: too few to test both", written, encoded)
	}
}

// TestQEncoded holds appendQEncoded to mime.QEncoding.Encode("utf-8", …)
// on random text: ASCII that needs no encoding, the bytes Q encoding
// escapes, multi-byte characters at the edges of encoded words, invalid
// UTF-8, and text long enough for several words.
func TestQEncoded(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 47))
	pieces := []string{"a", "Z", " ", "\t", "_", "=", "?", "é", "日本", "😀", "\xff", "\x00", "\n", "~", "!", "Grüße ", strings.Repeat("x", 20)}
	for range 100000 {
		var b strings.Builder
		for range r.IntN(30) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := b.String()
		if got, want := string(appendQEncoded([]byte("prefix"), s)), "prefix"+mime.QEncoding.Encode("utf-8", s); got != want {
			t.Fatalf("%q: %q, mime %q", s, got, want)
		}
	}
}
