// Package message is the one model of an e-mail message: the tolerant,
// streaming MIME parser that turns raw RFC 5322 bytes into a Message,
// addresses, header reading and Message-ID lists (their canonical form is
// package msgid's). It is a leaf: it imports no other package of the
// gateway but msgid and tnef (the winmail.dat decoder, itself a leaf).
package message

import (
	"bufio"
	"io"
	"time"

	"github.com/ticketgate/ticketgate/tnef"
)

// Address is one mailbox from an address header.
type Address struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// Attachment describes one non-body part. Its bytes are not kept here: the
// parser streams them to ParseOptions.Attachments, which returns a reference
// (the content hash of the stored blob) recorded in Ref.
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	// Size is the decoded size in bytes.
	Size int64 `json:"size"`
	// ContentID is the part's Content-ID without <>, for inline images.
	ContentID string `json:"content_id,omitempty"`
	// Inline is true for parts with Content-Disposition: inline (images in
	// HTML mail) as opposed to explicit attachments.
	Inline bool `json:"inline,omitempty"`
	// Ref is what the AttachmentSink returned (a blob hash); empty when no
	// sink was given.
	Ref string `json:"-"`
}

// HeaderField is one header field as it appeared, name case preserved, value
// unfolded but not RFC 2047 decoded.
type HeaderField struct {
	Name  string
	Value string
}

// Message is a parsed inbound message. Parsing never fails on malformed
// input: whatever could be read is filled in and what was wrong is listed in
// Problems.
type Message struct {
	Subject  string `json:"subject"`
	From     string `json:"from"`
	FromName string `json:"from_name"`
	// FromNameAddress is the address From's display name holds when it is
	// not From's own address: only a name, recorded because it misleads.
	FromNameAddress string    `json:"from_name_address,omitempty"`
	To              []Address `json:"to"`
	Cc              []Address `json:"cc"`
	ReplyTo         []Address `json:"reply_to,omitempty"`
	// MessageID, InReplyTo and References are canonical: no angle
	// brackets, no whitespace (see msgid.Canonical).
	MessageID  string    `json:"message_id"`
	InReplyTo  []string  `json:"in_reply_to"`
	References []string  `json:"references"`
	Date       time.Time `json:"-"`
	// Text is the preferred body as text: the text/plain of an alternative,
	// else the HTML converted to text.
	Text string `json:"text"`
	// HTML is the text/html body, if any (not sanitised).
	HTML string `json:"html"`
	// TextCut is set when Text or HTML was cut at ParseOptions.MaxTextBytes
	// (the raw message still holds all of it).
	TextCut     bool         `json:"text_cut,omitempty"`
	Attachments []Attachment `json:"attachments"`
	// Problems lists what was malformed, in words a sysadmin understands.
	Problems []string `json:"problems"`

	// MIMEDepth is how deep multiparts nest (0 for a single part).
	MIMEDepth int `json:"-"`

	// Header is every top-level header field in order, for the policy stage
	// (Auto-Submitted, Precedence, List-Id, Authentication-Results …).
	Header Header `json:"-"`
	// ContentType is the top-level media type, lower-case (e.g.
	// "multipart/report"), and ReportType its report-type parameter.
	ContentType string `json:"-"`
	ReportType  string `json:"-"`
	// DeliveryStatus holds the raw text of a message/delivery-status part
	// (RFC 3464), if the message is a DSN.
	DeliveryStatus string `json:"-"`
	// OriginalHeaders holds the header block of an attached original message
	// (message/rfc822 or text/rfc822-headers in a report), used to match a
	// bounce to the notification that caused it.
	OriginalHeaders []HeaderField `json:"-"`
}

// Get returns the first header field with the given name (case-insensitive),
// or "".
func (m *Message) Get(name string) string { return m.Header.Get(name) }

// Values returns every header field with the given name (case-insensitive).
func (m *Message) Values(name string) []string { return m.Header.Values(name) }

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

// AttachmentSink stores one attachment's decoded bytes and returns a
// reference to them. It must consume r fully or return an error.
type AttachmentSink func(a *Attachment, r io.Reader) (ref string, err error)

// ParseOptions tunes Parse.
type ParseOptions struct {
	// Attachments receives every attachment's bytes as they are decoded, so
	// a large attachment never sits whole in memory. Nil: bytes are counted
	// and discarded.
	Attachments AttachmentSink
	// MaxTextBytes caps the Text and HTML bodies kept in memory (the rest is
	// still stored raw; Message.TextCut tells); 0 means DefaultMaxTextBytes.
	MaxTextBytes int
	// TNEF bounds the decoding of a winmail.dat part (application/ms-tnef):
	// zero fields take package tnef's defaults, and MaxInput (the bytes
	// of one TNEF part held in memory to decode it) DefaultMaxTNEFBytes.
	// A larger or broken part is kept as it came.
	TNEF tnef.Limits
	// Reader, when set, is reset onto the message and read through
	// instead of a new 32 KiB reader per message (callers that parse many
	// keep a few); it must have at least that size and is not to be used
	// by anything else during Parse.
	Reader *bufio.Reader
}

// DefaultMaxTNEFBytes is how much of one winmail.dat part is read to
// decode it when ParseOptions.TNEF.MaxInput is 0.
const DefaultMaxTNEFBytes = 32 << 20
