package mailout

import (
	"fmt"
	"io"

	"github.com/emersion/go-message"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/redact"
)

// writePartsGo is writeParts as it was, with go-message's writers
// throughout: the reference TestWriteAlternative and TestWritePartsGo
// hold mailout's writers to. The part headers' fields are the same
// functions' (attachmentHeader, sealHeader); how they are written is
// go-message's.
func (m *Message) writePartsGo(w io.Writer, mh message.Header) error {
	it := m.Item
	var mixed, alt *message.Writer
	var err error
	if len(m.files) > 0 || len(m.Seal.Attach) > 0 {
		mh.SetContentType("multipart/mixed", map[string]string{"boundary": boundary(it.MessageID, "mixed")})
		if mixed, err = message.CreateWriter(w, mh); err != nil {
			return fmt.Errorf("mailout: compose: %w", err)
		}
		var ah message.Header
		ah.SetContentType("multipart/alternative", map[string]string{"boundary": boundary(it.MessageID, "alt")})
		if alt, err = mixed.CreatePart(ah); err != nil {
			return fmt.Errorf("mailout: compose: %w", err)
		}
	} else {
		mh.SetContentType("multipart/alternative", map[string]string{"boundary": boundary(it.MessageID, "alt")})
		if alt, err = message.CreateWriter(w, mh); err != nil {
			return fmt.Errorf("mailout: compose: %w", err)
		}
	}
	for _, part := range []struct{ typ, body string }{{"text/plain", m.Body.Text}, {"text/html", m.Body.HTML}} {
		var ph message.Header
		ph.SetContentType(part.typ, map[string]string{"charset": "utf-8"})
		ph.Set("Content-Transfer-Encoding", "quoted-printable")
		pw, err := alt.CreatePart(ph)
		if err != nil {
			return fmt.Errorf("mailout: compose: %w", err)
		}
		if _, err := io.WriteString(pw, part.body); err != nil {
			return fmt.Errorf("mailout: compose: %w", err)
		}
		if err := pw.Close(); err != nil {
			return fmt.Errorf("mailout: compose: %w", err)
		}
	}
	if err := alt.Close(); err != nil {
		return fmt.Errorf("mailout: compose: %w", err)
	}
	if mixed == nil {
		return nil
	}
	for _, f := range m.files {
		fh, name := attachmentHeader(f.Attachment)
		pw, err := mixed.CreatePart(fh)
		if err != nil {
			return fmt.Errorf("mailout: compose: %w", err)
		}
		if err := redact.Attachment(pw, f.r, m.Redact, f.ContentType, name); err != nil {
			return fault.Temporary(fmt.Errorf("mailout: attachment %s: %w", name, err))
		}
		if err := pw.Close(); err != nil {
			return fmt.Errorf("mailout: compose: %w", err)
		}
	}
	for _, a := range m.Seal.Attach {
		pw, err := mixed.CreatePart(sealHeader(a))
		if err != nil {
			return fmt.Errorf("mailout: compose: %w", err)
		}
		if _, err := pw.Write(a.Data); err != nil {
			return fmt.Errorf("mailout: compose: %w", err)
		}
		if err := pw.Close(); err != nil {
			return fmt.Errorf("mailout: compose: %w", err)
		}
	}
	if err := mixed.Close(); err != nil {
		return fmt.Errorf("mailout: compose: %w", err)
	}
	return nil
}
