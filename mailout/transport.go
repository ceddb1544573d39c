// Package mailout delivers queued outbound mail over an SMTP relay or into a
// maildir, and runs the sender loop that drains the outbox with retries.
package mailout

import (
	"context"
	"io"
)

// Envelope is the SMTP envelope of one outbound message.
type Envelope struct {
	// From is the envelope sender (the project's bounce address).
	From string
	// To holds the recipients; the gateway sends one copy per recipient,
	// so it usually has one entry.
	To []string
	// MessageID is the message's Message-ID without brackets, for logs.
	MessageID string
}

// Transport hands one message to the next hop.
//
// Send returns nil only once the next hop has taken responsibility for the
// message (an SMTP 250 after DATA, or a maildir file fsynced and renamed into
// new/). Errors that may succeed later (connection refused, 4xx replies,
// timeouts) satisfy fault.IsTemporary; a 5xx reply is permanent. Send must
// read msg to the end or fail.
type Transport interface {
	Send(ctx context.Context, env Envelope, msg io.Reader) error
	// Close releases connections kept between sends.
	Close() error
}
