package mailout

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"

	"github.com/ticketgate/ticketgate/store"
)

// randBody is text that exercises quoted-printable: long lines, trailing
// white space, "=", non-ASCII, every kind of line break, HTML.
func randBody(r *rand.Rand) string {
	pieces := []string{"", "Hello Jörg,", "\n", "\r\n", "\r", " ", "\t", "=", "=3D", "<p>Grüße</p>", "&amp;", ".", "\n.\n", "😀",
		strings.Repeat("x", 75), strings.Repeat("y ", 50), "\xff", "line with trailing space \n", "> quoted\n"}
	var b strings.Builder
	for range r.IntN(30) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

func randHeaderText(r *rand.Rand) string {
	pieces := []string{"", "ACME-12", "Jörg Müller", "[ACME-1] Printer prints blank pages", "=?utf-8?q?x?=", "\"quoted\"", "a,b", strings.Repeat("long subject ", 12), "日本語"}
	return pieces[r.IntN(len(pieces))] + pieces[r.IntN(len(pieces))]
}

// TestWriteAlternative: a mail without attachments is written by
// writeAlternative exactly as go-message's writers (writePartsGo) write it,
// as the whole message and as the inner entity of an encrypted one.
func TestWriteAlternative(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 13))
	for i := range 2000 {
		it := &store.OutboxItem{MessageID: randHeaderText(r) + "@support.example.com", Recipient: "a@b.example", RecipientName: randHeaderText(r),
			Date: time.Unix(r.Int64N(4e9), 0).UTC(), InReplyTo: []string{"r@x.example"},
			Header: store.OutboxHeader{From: "s@x.example", FromName: randHeaderText(r), Subject: randHeaderText(r), Loop: "s@x.example", AutoSubmitted: "auto-replied"}}
		m := &Message{Item: it, Body: Body{Text: randBody(r), HTML: randBody(r)}}
		if r.IntN(4) == 0 {
			m.Seal.Autocrypt = "addr=s@x.example; keydata=" + strings.Repeat("QUJD", 40)
		}
		for _, inner := range []bool{false, true} {
			header := func() message.Header {
				if inner {
					return message.Header{}
				}
				return m.header().Header
			}
			var want, got bytes.Buffer
			if err := m.writePartsGo(&want, header()); err != nil {
				t.Fatal(err)
			}
			if err := m.writeAlternative(&got, header()); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("mail %d (inner %v): writeAlternative wrote\n%q\ngo-message:\n%q", i, inner, got.Bytes(), want.Bytes())
			}
		}
	}
}
