package mailout

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/redact"
	"github.com/ticketgate/ticketgate/store"
)

// Body is the rendered text of a queued mail.
type Body struct {
	Text, HTML string
}

// Renderer renders the bodies of a queued mail from its row (and the
// records it names, read through tx) at send time. It must be a function
// of them and of the templates: a retry renders the same text.
type Renderer interface {
	Render(tx store.Tx, item *store.OutboxItem) (Body, error)
}

// Seal is what the OpenPGP step (package pgp, issue 19) makes of one mail
// at send time, where the MIME is composed.
type Seal struct {
	// Autocrypt is the value of an Autocrypt header to add ("" none).
	Autocrypt string
	// Encrypt, when set, makes the mail PGP/MIME (RFC 3156): the content
	// (bodies and attachments, with their MIME headers) streams through
	// the writer it returns, which writes the armored OpenPGP message to
	// w. OpenPGP encryption is randomized (a fresh session key per
	// message), so a retry sends other bytes for the same Message-ID and
	// plaintext; see docs/architecture.md "The outbox".
	Encrypt func(w io.Writer) (io.WriteCloser, error)
	// Notice replaces the bodies, and the attachments are left out: the
	// text must not leave in clear (a notice with the link instead).
	Notice *Body
	// Attach are small files made at send time (the project's public
	// key), attached after the row's own.
	Attach []Part
}

// Part is a small attachment held in memory.
type Part struct {
	Filename, ContentType string
	Data                  []byte
}

// Sealer decides the Seal of a mail; it reads keys through tx and may
// render a notice through r. Its error fails the attempt like a render
// error (temporary unless it says otherwise).
type Sealer interface {
	Seal(tx store.Tx, item *store.OutboxItem, r Renderer) (Seal, error)
}

// OpenBlob opens a stored blob (an attachment, or the whole message of a
// row queued by an older layout).
type OpenBlob func(hash string) (io.ReadCloser, error)

// Message is one queued mail ready to be streamed: its row, its rendered
// bodies and its attachment files opened (so a missing file fails before
// the relay is contacted). Close releases the files.
type Message struct {
	Item *store.OutboxItem
	Body Body
	Seal Seal
	// Redact is the project's support_keys.pattern (issue 17; nil:
	// none): text-like attachments stream through package redact.
	Redact *regexp.Regexp
	// Bufs lends the header and quoted-printable buffers (nil: the
	// message allocates its own).
	Bufs *Buffers
	// files are the row's attachments that still have a blob, each
	// with its blob opened, in the row's order.
	files []attachFile
	raw   io.ReadCloser
	// cw counts what WriteTo writes (a field: one allocation less per
	// mail than a writer of its own).
	cw countWriter
}

// Prepare opens what streaming item needs. A blob that is gone is a
// permanent failure: no retry brings it back.
func Prepare(item *store.OutboxItem, body Body, open OpenBlob) (*Message, error) {
	m := &Message{Item: item, Body: body}
	openOne := func(hash string) (io.ReadCloser, error) {
		if open == nil {
			return nil, fault.Permanentf("mailout: no blob store to read %s", hash)
		}
		f, err := open(hash)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
				return nil, fault.Permanent(fmt.Errorf("mailout: blob %s of %s: %w", hash, item.MessageID, err))
			}
			return nil, fault.Temporary(fmt.Errorf("mailout: blob %s of %s: %w", hash, item.MessageID, err))
		}
		return f, nil
	}
	if item.RawBlob != "" {
		f, err := openOne(item.RawBlob)
		if err != nil {
			return nil, err
		}
		m.raw = f
		return m, nil
	}
	for _, a := range item.Attach {
		if a.Blob == "" {
			continue // removed by retention before it was queued
		}
		f, err := openOne(a.Blob)
		if err != nil {
			m.Close()
			return nil, err
		}
		m.files = append(m.files, attachFile{a, f})
	}
	return m, nil
}

// attachFile is an attachment of the row and its opened blob.
type attachFile struct {
	store.Attachment
	r io.ReadCloser
}

// small reports whether m is a mail without attachments whose bodies
// are small enough to be composed in memory (quoted-printable at most
// triples them) before the transport reads it.
func (m *Message) small() bool {
	return m.raw == nil && len(m.files) == 0 && len(m.Seal.Attach) == 0 && m.Seal.Encrypt == nil &&
		len(m.Body.Text)+len(m.Body.HTML) <= maxComposedInMemory/4
}

// Close closes the opened blobs.
func (m *Message) Close() error {
	var errs []error
	if m.raw != nil {
		errs = append(errs, m.raw.Close())
	}
	for _, f := range m.files {
		errs = append(errs, f.r.Close())
	}
	m.raw, m.files = nil, nil
	return errors.Join(errs...)
}

// boundary derives a multipart boundary from the Message-ID, so that the
// same row always gives the same bytes.
func boundary(msgID, part string) string {
	var in [256]byte
	sum := sha256.Sum256(append(append(append(in[:0], msgID...), 0), part...))
	var b strings.Builder
	b.Grow(len("tg-") + len(part) + 1 + hex.EncodedLen(12))
	b.WriteString("tg-")
	b.WriteString(part)
	b.WriteByte('-')
	var x [24]byte
	hex.Encode(x[:], sum[:12])
	b.Write(x[:])
	return b.String()
}

// WriteTo streams the message: multipart/alternative (text, then HTML),
// inside multipart/mixed with the attachments when there are any. Every
// header value comes from the row, boundaries from the Message-ID: the
// same row, bodies and files give the same bytes. A row of an older
// layout streams its stored bytes unchanged. It may be called once.
func (m *Message) WriteTo(w io.Writer) (int64, error) {
	m.cw = countWriter{w: w}
	err := m.write(&m.cw)
	n := m.cw.n
	m.cw = countWriter{}
	return n, err
}

func (m *Message) write(w io.Writer) error {
	if m.raw != nil {
		_, err := io.Copy(w, m.raw)
		return err
	}
	if m.Seal.Encrypt == nil && len(m.files) == 0 && len(m.Seal.Attach) == 0 {
		// The usual mail: its header written without go-message.
		b := boundary(m.Item.MessageID, "alt")
		ok, err := m.writeAltHeader(w, b)
		if err != nil {
			return fmt.Errorf("mailout: compose: %w", err)
		}
		if ok {
			return m.writeAltBody(w, b)
		}
	}
	return m.writeSlow(w)
}

// writeSlow writes the message with go-message's header (the whole form
// of write, which the usual mail's header does without).
func (m *Message) writeSlow(w io.Writer) error {
	mh := m.header()
	if m.Seal.Encrypt != nil {
		return m.writeEncrypted(w, mh.Header)
	}
	return m.writeContent(w, mh.Header)
}

// headerFields hands the mail's top-level fields to s, in the order
// they are set on go-message's header (which writes them last first):
// the one list of them, for go-message's writer (goHeader) and for
// mailout's own (headerBuf). Keys are spelled as go-message
// canonicalises them, so that neither writer needs to.
func (m *Message) headerFields(s headerSink) {
	it := m.Item
	h := it.Header
	if !it.Date.IsZero() {
		s.date(it.Date)
	}
	s.addr("From", h.FromName, h.From)
	s.addr("To", it.RecipientName, it.Recipient)
	if h.ReplyTo != "" {
		s.addr("Reply-To", h.ReplyToName, h.ReplyTo)
	}
	s.subject(h.Subject)
	if it.MessageID != "" {
		s.msgID(it.MessageID)
	}
	if len(it.InReplyTo) > 0 {
		s.msgIDs("In-Reply-To", it.InReplyTo)
	}
	if len(it.References) > 0 {
		s.msgIDs("References", it.References)
	}
	if h.AutoSubmitted != "" {
		s.text("Auto-Submitted", h.AutoSubmitted)
	}
	s.text("X-Auto-Response-Suppress", "All")
	if h.Loop != "" {
		s.text(loopKey, h.Loop)
	}
	if h.Unsubscribe != "" {
		s.text("List-Unsubscribe", "<"+h.Unsubscribe+"/mute>")
		s.text("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	s.text("Mime-Version", "1.0")
	if m.Seal.Autocrypt != "" {
		s.text("Autocrypt", m.Seal.Autocrypt)
	}
}

// headerSink takes a header's fields (headerFields).
type headerSink interface {
	date(t time.Time)
	addr(key, name, address string)
	subject(v string)
	msgID(id string)
	msgIDs(key string, ids []string)
	text(key, v string)
}

// goHeader sets the fields on go-message's header.
type goHeader struct{ *mail.Header }

func (g goHeader) date(t time.Time) { g.SetDate(t) }
func (g goHeader) addr(key, name, address string) {
	g.SetAddressList(key, []*mail.Address{{Name: name, Address: address}})
}
func (g goHeader) subject(v string)                { g.SetSubject(v) }
func (g goHeader) msgID(id string)                 { g.SetMessageID(id) }
func (g goHeader) msgIDs(key string, ids []string) { g.SetMsgIDList(key, ids) }
func (g goHeader) text(key, v string)              { g.Set(key, v) }

// header is the mail's top-level header as go-message writes it.
func (m *Message) header() mail.Header {
	var mh mail.Header
	m.headerFields(goHeader{&mh})
	return mh
}

// writeEncrypted writes the PGP/MIME form (RFC 3156 §4): the outer header
// with multipart/encrypted, the version part, and the content, armored
// and encrypted, streaming.
func (m *Message) writeEncrypted(w io.Writer, outer message.Header) error {
	it := m.Item
	outer.SetContentType("multipart/encrypted", map[string]string{"protocol": "application/pgp-encrypted", "boundary": boundary(it.MessageID, "enc")})
	enc, err := message.CreateWriter(w, outer)
	if err != nil {
		return fmt.Errorf("mailout: compose: %w", err)
	}
	var vh message.Header
	vh.SetContentType("application/pgp-encrypted", nil)
	vh.Set("Content-Description", "PGP/MIME version identification")
	vw, err := enc.CreatePart(vh)
	if err != nil {
		return fmt.Errorf("mailout: compose: %w", err)
	}
	if _, err := io.WriteString(vw, "Version: 1\r\n"); err != nil {
		return fmt.Errorf("mailout: compose: %w", err)
	}
	if err := vw.Close(); err != nil {
		return fmt.Errorf("mailout: compose: %w", err)
	}
	var dh message.Header
	dh.SetContentType("application/octet-stream", map[string]string{"name": "encrypted.asc"})
	dh.SetContentDisposition("inline", map[string]string{"filename": "encrypted.asc"})
	dh.Set("Content-Description", "OpenPGP encrypted message")
	dw, err := enc.CreatePart(dh)
	if err != nil {
		return fmt.Errorf("mailout: compose: %w", err)
	}
	pw, err := m.Seal.Encrypt(dw)
	if err != nil {
		return fmt.Errorf("mailout: encrypt: %w", err)
	}
	// The encrypted entity carries only its content header: who it is
	// from and to, and the subject, are the outer header's.
	if err := m.writeContent(pw, message.Header{}); err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("mailout: encrypt: %w", err)
	}
	if err := dw.Close(); err != nil {
		return fmt.Errorf("mailout: compose: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("mailout: compose: %w", err)
	}
	return nil
}

// writeContent writes mh (given its Content-Type here) and the content:
// multipart/alternative, inside multipart/mixed with the attachments.
func (m *Message) writeContent(w io.Writer, mh message.Header) error {
	if len(m.files) == 0 && len(m.Seal.Attach) == 0 {
		return m.writeAlternative(w, mh)
	}
	return m.writeParts(w, mh)
}

// altParts are the header blocks of the two parts of a
// multipart/alternative as go-message writes them (textproto.WriteHeader
// writes the fields last set first).
var altParts = [2]string{
	"Content-Transfer-Encoding: quoted-printable\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
	"Content-Transfer-Encoding: quoted-printable\r\nContent-Type: text/html; charset=utf-8\r\n\r\n",
}

// writeAlternative writes what writeParts writes for a mail without
// attachments, byte for byte (TestWriteAlternative compares them), without
// go-message's writers: their header copies, media-type parsing and
// formatting per part were a tenth of the sender's work per mail.
func (m *Message) writeAlternative(w io.Writer, mh message.Header) error {
	b := boundary(m.Item.MessageID, "alt")
	if err := writeMultipartHeader(w, mh, "multipart/alternative", b); err != nil {
		return err
	}
	return m.writeAltBody(w, b)
}

// writeMultipartHeader writes mh as the header of a multipart entity of
// type typ with boundary b, as message.CreateWriter does: MIME needs its
// version; a multipart entity has no transfer encoding of its own.
func writeMultipartHeader(w io.Writer, mh message.Header, typ, b string) error {
	mh.SetContentType(typ, map[string]string{"boundary": b})
	if !mh.Has("Mime-Version") {
		mh.Set("MIME-Version", "1.0")
	}
	mh.Del("Content-Transfer-Encoding")
	if err := textproto.WriteHeader(w, mh.Header); err != nil {
		return fmt.Errorf("mailout: compose: %w", err)
	}
	return nil
}

// writeAltBody writes the two parts of a multipart/alternative with
// boundary b, and its end.
func (m *Message) writeAltBody(w io.Writer, b string) error {
	qp := m.Bufs.getQP()
	defer m.Bufs.putQP(qp)
	// Delimiters, part headers and bodies go out through the encoder's
	// buffer: a write per body, not per piece.
	qp.out, qp.i = qp.out[:0], 0
	var err error
	raw := func(pieces ...string) {
		for _, p := range pieces {
			if err == nil {
				err = qp.appendRaw(w, p)
			}
		}
	}
	raw("--", b, "\r\n", altParts[0])
	if err == nil {
		err = qp.appendBody(w, m.Body.Text)
	}
	raw("\r\n--", b, "\r\n", altParts[1])
	if err == nil {
		err = qp.appendBody(w, m.Body.HTML)
	}
	raw("\r\n--", b, "--\r\n")
	if err == nil {
		err = qp.writeOut(w)
	}
	if err != nil {
		return fmt.Errorf("mailout: compose: %w", err)
	}
	return nil
}

// writeParts writes mh (given its Content-Type here) and the content of
// a mail with attachments (writeContent gives one without to
// writeAlternative): multipart/alternative inside multipart/mixed with
// the attachments. It writes the bytes go-message's writers wrote (writePartsGo in the
// tests; TestWritePartsGo and the golden mails compare them), with
// go-message's header type and WriteHeader for the headers and its
// writer for 7bit bodies, but mailout's own for the rest: the
// delimiters, the alternative part (writeAltBody) and the base64
// bodies of attachments (base64Body), which were the whole cost of
// sending a large one.
func (m *Message) writeParts(w io.Writer, mh message.Header) error {
	it := m.Item
	b := boundary(it.MessageID, "mixed")
	if err := writeMultipartHeader(w, mh, "multipart/mixed", b); err != nil {
		return err
	}
	// part writes a part's delimiter and header, in one write, as
	// textproto's MultipartWriter.CreatePart does (which ignores an
	// error of WriteHeader's: none of the fields below can have one, and
	// a charset, which message.Writer.CreatePart checks, is never among
	// their parameters).
	var ph bytes.Buffer
	first := true
	part := func(h message.Header) error {
		ph.Reset()
		if !first {
			ph.WriteString("\r\n")
		}
		first = false
		ph.WriteString("--")
		ph.WriteString(b)
		ph.WriteString("\r\n")
		_ = textproto.WriteHeader(&ph, h.Header)
		if _, err := w.Write(ph.Bytes()); err != nil {
			return fmt.Errorf("mailout: compose: %w", err)
		}
		return nil
	}
	alt := boundary(it.MessageID, "alt")
	var ah message.Header
	ah.SetContentType("multipart/alternative", map[string]string{"boundary": alt})
	if err := part(ah); err != nil {
		return err
	}
	if err := m.writeAltBody(w, alt); err != nil {
		return err
	}
	if len(m.files) > 0 {
		enc := m.Bufs.getBase64()
		defer m.Bufs.putBase64(enc)
		for _, f := range m.files {
			fh, name := attachmentHeader(f.Attachment)
			if err := part(fh); err != nil {
				return err
			}
			enc.Reset(w)
			if err := redact.Attachment(enc, f.r, m.Redact, f.ContentType, name); err != nil {
				return fault.Temporary(fmt.Errorf("mailout: attachment %s: %w", name, err))
			}
			if err := enc.Close(); err != nil {
				return fmt.Errorf("mailout: compose: %w", err)
			}
			enc.Reset(nil)
		}
	}
	for _, a := range m.Seal.Attach {
		fh := sealHeader(a)
		if err := part(fh); err != nil {
			return err
		}
		if err := write7bit(w, fh, a.Data); err != nil {
			return fmt.Errorf("mailout: compose: %w", err)
		}
	}
	if _, err := io.WriteString(w, "\r\n--"+b+"--\r\n"); err != nil {
		return fmt.Errorf("mailout: compose: %w", err)
	}
	return nil
}

// attachmentHeader is the part header of a stored attachment, base64,
// and the file name it goes by.
func attachmentHeader(a store.Attachment) (message.Header, string) {
	ct, name := a.ContentType, a.Filename
	if ct == "" {
		ct = "application/octet-stream"
	}
	if name == "" {
		name = "attachment"
	}
	var h message.Header
	h.SetContentType(ct, nil)
	h.SetContentDisposition("attachment", map[string]string{"filename": name})
	h.Set("Content-Transfer-Encoding", "base64")
	return h, name
}

// sealHeader is the part header of a file the seal adds (the project's
// public key), 7bit.
func sealHeader(a Part) message.Header {
	var h message.Header
	h.SetContentType(a.ContentType, map[string]string{"name": a.Filename})
	h.SetContentDisposition("attachment", map[string]string{"filename": a.Filename})
	h.Set("Content-Transfer-Encoding", "7bit")
	return h
}

// write7bit writes data as the body of a part with header h, through
// go-message's 7bit writer (which wraps lines at 998 characters and makes
// a bare LF a CRLF). go-message makes that writer only with a header of
// its own: it is made over a buffer, and what follows the header is
// written. A small body (the project's public key).
func write7bit(w io.Writer, h message.Header, data []byte) error {
	var buf bytes.Buffer
	bw, err := message.CreateWriter(&buf, h)
	if err != nil {
		return err
	}
	hdr := buf.Len()
	if _, err := bw.Write(data); err != nil {
		return err
	}
	if err := bw.Close(); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes()[hdr:])
	return err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
