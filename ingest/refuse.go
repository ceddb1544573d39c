package ingest

import (
	"fmt"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/message"
)

// refuse checks a parsed message against limits.max_attachments and
// limits.max_header_bytes (the size limit is enforced while receiving).
// A refused message is still stored, so nothing is lost and the agents see
// it, but the sender is answered 552 and nobody is mailed about it.
func refuse(cfg *config.Config, m *message.Message) *smtp.SMTPError {
	l := cfg.Limits
	if n := len(m.Attachments); n > l.MaxAttachments {
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
			Message: fmt.Sprintf("Too many attachments (%d, at most %d)", n, l.MaxAttachments)}
	}
	size := 0
	for _, f := range m.Header {
		size += len(f.Name) + len(f.Value) + 4
	}
	if size > l.MaxHeaderBytes {
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
			Message: fmt.Sprintf("Message header too large (%d bytes, at most %d)", size, l.MaxHeaderBytes)}
	}
	if m.MIMEDepth > l.MaxMIMEDepth {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
			Message: fmt.Sprintf("MIME structure nested too deep (%d levels, at most %d)", m.MIMEDepth, l.MaxMIMEDepth)}
	}
	return nil
}

// refuseOversize is the refusal of a message the IMAP source did not
// download because of its size (SMTP refuses those while receiving).
func refuseOversize(size, limit int64) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
		Message: fmt.Sprintf("Message too large (%d bytes, at most %d)", size, limit)}
}
