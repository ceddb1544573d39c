package message

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ticketgate/ticketgate/tnef"
)

// Outlook's winmail.dat (application/ms-tnef) carries the real files of a
// mail, and sometimes its only body, inside one opaque attachment. The
// parser opens it with package tnef: the files become ordinary
// attachments (streamed to the sink like any other), the body is used
// when the mail has no other one. A stream that does not decode, or is
// larger than the decoder may read, stays as it came, with a problem
// saying why: nothing is lost, and the raw mail holds it anyway.

// isTNEF reports whether a part is a TNEF stream: by its type, or by the
// name Outlook gives it (some gateways relabel it application/octet-stream).
func isTNEF(mediaType, filename string) bool {
	switch mediaType {
	case "application/ms-tnef", "application/vnd.ms-tnef":
		return true
	}
	return strings.EqualFold(strings.TrimSpace(filename), "winmail.dat")
}

// tnefPart decodes one TNEF part read from r, whose own attachment record
// is orig (kept when decoding fails).
func (p *parser) tnefPart(orig Attachment, r io.Reader, c walkCtx) error {
	note := func(s string) { p.problem(c.where() + ": " + s) }
	lim := p.opts.TNEF
	maxIn := lim.MaxInput
	if maxIn <= 0 {
		maxIn = DefaultMaxTNEFBytes
		lim.MaxInput = maxIn
	}
	// The decoder needs the whole stream: it is read up to the limit
	// (one part's worth, at most MaxInput bytes in memory).
	buf, err := io.ReadAll(io.LimitReader(r, maxIn+1))
	if err != nil && p.ioFailed() {
		return p.readErr(err)
	}
	if tr, ok := r.(*tolerantReader); ok && int64(len(buf)) <= maxIn {
		tr.report() // base64 junk noted before the part is judged
	}
	if int64(len(buf)) > maxIn {
		note(fmt.Sprintf("%s is larger than %d bytes; kept undecoded as an attachment", orig.Filename, maxIn))
		return p.attachment(orig, io.MultiReader(bytes.NewReader(buf), r))
	}
	tm, err := tnef.Decode(bytes.NewReader(buf), lim)
	if err != nil {
		var te *tnef.Error
		if !errors.As(err, &te) {
			return fmt.Errorf("message: decoding %s: %w", orig.Filename, err)
		}
		note(fmt.Sprintf("%s (Outlook's TNEF) could not be decoded (%s); kept as it came", orig.Filename, te.Error()))
		return p.attachment(orig, bytes.NewReader(buf))
	}
	for i, ta := range tm.Attachments {
		a := Attachment{
			Filename:    sanitizeFilename(ta.Name),
			ContentType: strings.ToLower(strings.TrimSpace(ta.MIMEType)),
			ContentID:   strings.Trim(strings.ToValidUTF8(strings.TrimSpace(ta.ContentID), ""), "<>"),
		}
		if !validMediaType(a.ContentType) {
			a.ContentType = "application/octet-stream"
		}
		if a.Filename == "" {
			a.Filename = fallbackFilename("", a.ContentID, "", a.ContentType)
			note(fmt.Sprintf("file %d in %s has no name; stored as %q", i+1, orig.Filename, a.Filename))
		}
		if err := p.attachment(a, bytes.NewReader(ta.Data)); err != nil {
			return err
		}
	}
	if p.tnefText == "" {
		text := tm.Text()
		if text == "" && len(tm.HTML) > 0 {
			text = htmlToText(strings.ToValidUTF8(string(tm.HTML), "\uFFFD"))
		}
		text = strings.ReplaceAll(strings.ToValidUTF8(text, "\uFFFD"), "\r\n", "\n")
		p.tnefText = stripNUL(text)
	}
	return nil
}

// useTNEFBody makes the text of a decoded winmail.dat the body when the
// mail has no other one.
func (p *parser) useTNEFBody() {
	m := p.msg
	if p.tnefText == "" || strings.TrimSpace(m.Text) != "" || strings.TrimSpace(m.HTML) != "" {
		return
	}
	t := p.tnefText
	if len(t) > p.maxText {
		t = truncateUTF8(t, p.maxText)
		m.TextCut = true
		p.problem(fmt.Sprintf("text body longer than %d bytes; truncated", p.maxText))
	}
	m.Text = t
}
