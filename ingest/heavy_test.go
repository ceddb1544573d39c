package ingest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/mailin"
	"github.com/ticketgate/ticketgate/store"
)

// TestLargeMessagesWholeAcrossThePriorityHandOver: a message's first
// store.LargeBlobMin bytes are spooled by the session's goroutine and
// the rest, with the parsing, on a thread of lower priority (package
// lowprio). Around that size and well above it, the raw blob is the
// message byte for byte (its name its SHA-256) and the attachment blob
// its decoded content.
func TestLargeMessagesWholeAcrossThePriorityHandOver(t *testing.T) {
	tp := newTestPipeline(t)
	head := func(id string) string {
		return fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: logs %s\r\nMessage-ID: <%s>\r\nDate: Mon, 1 Jun 2026 09:00:00 +0000\r\n"+
			"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe logs.\r\n"+
			"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"logs.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", customer, acme, id, id)
	}
	const tail = "--b--\r\n"
	r := rand.New(rand.NewPCG(1, 2))
	for i, total := range []int{store.LargeBlobMin - 1, store.LargeBlobMin, store.LargeBlobMin + 1, 3*store.LargeBlobMin + 12345} {
		id := fmt.Sprintf("big-%d@customer.example", i)
		h := head(id)
		// Base64 lines of 76 characters plus CRLF carry 57 bytes each;
		// the last line is padded to the exact total with a comment
		// of spaces after the closing boundary.
		lines := (total - len(h) - len(tail)) / 78
		data := make([]byte, lines*57)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		var b strings.Builder
		b.WriteString(h)
		enc := base64.StdEncoding.EncodeToString(data)
		for len(enc) > 0 {
			n := min(76, len(enc))
			b.WriteString(enc[:n] + "\r\n")
			enc = enc[n:]
		}
		b.WriteString(tail)
		if pad := total - b.Len(); pad > 0 {
			b.WriteString(strings.Repeat(" ", pad-2) + "\r\n")
		}
		raw := b.String()
		if len(raw) != total {
			t.Fatalf("built %d bytes, want %d", len(raw), total)
		}
		env := &mailin.Envelope{Source: "smtp", MailFrom: customer, Rcpts: []string{acme}}
		if err := one(tp.Receive(t.Context(), env, strings.NewReader(raw))); err != nil {
			t.Fatalf("%d bytes: %v", total, err)
		}
		res := tp.last(t).Result
		if res == nil || !res.Created {
			t.Fatalf("%d bytes: no new ticket: %+v", total, tp.last(t))
		}
		m := tp.message(t, res.Message)
		sum := sha256.Sum256([]byte(raw))
		if m.Raw != hex.EncodeToString(sum[:]) || m.RawSize != int64(total) {
			t.Errorf("%d bytes: raw blob %s of %d bytes, want %x of %d", total, m.Raw, m.RawSize, sum, total)
		}
		if got := readBlob(t, tp.st, m.Raw); got != raw {
			t.Errorf("%d bytes: the raw blob differs from the message (%d bytes)", total, len(got))
		}
		if len(m.Attach) != 1 {
			t.Fatalf("%d bytes: %d attachments, want 1", total, len(m.Attach))
		}
		if got := readBlob(t, tp.st, m.Attach[0].Blob); !bytes.Equal([]byte(got), data) {
			t.Errorf("%d bytes: the attachment blob (%d bytes) is not the decoded attachment (%d bytes)", total, len(got), len(data))
		}
	}
}

func readBlob(t *testing.T, st store.DB, hash string) string {
	t.Helper()
	rc, err := st.OpenBlob(hash)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tooLarge reads n bytes of a message and then fails as the SMTP
// listener's size limit does.
type tooLarge struct{ n int }

func (r *tooLarge) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, smtp.ErrDataTooLarge
	}
	n := min(len(p), r.n)
	for i := range p[:n] {
		p[i] = 'x'
	}
	r.n -= n
	return n, nil
}

// TestOversizeAfterThePriorityHandOver: the size limit striking in the
// part spooled at lower priority is still the answer to a message too
// large.
func TestOversizeAfterThePriorityHandOver(t *testing.T) {
	tp := newTestPipeline(t)
	env := &mailin.Envelope{Source: "smtp", MailFrom: customer, Rcpts: []string{acme}}
	err := one(tp.Receive(t.Context(), env, io.MultiReader(strings.NewReader("Subject: big\r\n\r\n"), &tooLarge{n: 3 << 20})))
	if !errors.Is(err, smtp.ErrDataTooLarge) {
		t.Fatalf("Receive = %v, want %v", err, smtp.ErrDataTooLarge)
	}
}
