package store

import "time"

// Ticket is one support request. Business rules (who may change what,
// transitions) live in package ticket; this is the stored shape.
type Ticket struct {
	Key          string        `json:"key"` // ACME-42
	Project      string        `json:"project"`
	Number       uint64        `json:"number"`
	Subject      string        `json:"subject"`
	Status       string        `json:"status"`
	Priority     string        `json:"priority,omitempty"`
	Reporter     string        `json:"reporter"`
	ReporterName string        `json:"reporter_name,omitempty"`
	Participants []Participant `json:"participants,omitempty"`
	Assignee     string        `json:"assignee,omitempty"`
	Language     string        `json:"language,omitempty"`
	Muted        []string      `json:"muted,omitempty"`
	Created      time.Time     `json:"created"`
	Updated      time.Time     `json:"updated"`
	// Closed is when the ticket entered a closed status (zero while open).
	Closed time.Time `json:"closed,omitzero"`
	// Messages counts the messages on the ticket.
	Messages int `json:"messages"`
	// MergedInto names the ticket this one was merged into; mail
	// threaded here goes there.
	MergedInto string `json:"merged_into,omitempty"`
	// Organization names the organization the request is shared with:
	// its members may follow and write into it.
	Organization string `json:"organization,omitempty"`
	// Resolved is when the ticket entered a resolved status (zero
	// otherwise): auto-close counts from it; Reminded is when the
	// customers were reminded that it will close.
	Resolved time.Time `json:"resolved,omitzero"`
	Reminded time.Time `json:"reminded,omitzero"`
	// Follows names the closed ticket this one continues (a customer
	// wrote again after the reopen window).
	Follows string `json:"follows,omitempty"`
	// Private keeps the request from the reporter's organization.
	Private bool `json:"private,omitempty"`
	// Issue 21: the response-target clocks (nil on tickets from before
	// them), the end of a snooze, and Wake, the earliest instant the
	// timers must look at the ticket again (a warning, a breach, the end
	// of a snooze; zero: never). The store indexes Wake and Resolved
	// (TimerTx), deriving the index from the stored row.
	FirstResponse *Clock    `json:"first_response,omitempty"`
	Resolution    *Clock    `json:"resolution,omitempty"`
	Snoozed       time.Time `json:"snoozed,omitzero"`
	Wake          time.Time `json:"wake,omitzero"`
	// Reopens counts the reopenings; LastReopened is the last one.
	Reopens      int       `json:"reopens,omitempty"`
	LastReopened time.Time `json:"last_reopened,omitzero"`
	// Visibility is VisibilityInternal for a ticket customers must not
	// see (no customer mail, no customer page); "" and VisibilityPublic
	// are public (tickets stored before issue 17 have "").
	Visibility string `json:"visibility,omitempty"`
	// Type is the project's request type the ticket was opened as
	// (request_types[].name; "" when the project has none).
	Type string `json:"type,omitempty"`
	// Encrypted: a message came in OpenPGP-encrypted (issue 19); the
	// ticket is never answered in clear.
	Encrypted bool `json:"encrypted,omitempty"`
}

// Ticket visibilities (issue 17).
const (
	VisibilityPublic   = "public"
	VisibilityInternal = "internal"
)

// Internal reports whether customers must not see t.
func (t *Ticket) Internal() bool { return t.Visibility == VisibilityInternal }

// Participant is a customer following a request besides its reporter.
type Participant struct {
	Address string    `json:"address"`
	Name    string    `json:"name,omitempty"`
	Added   time.Time `json:"added"`
	// Via says how they joined: "cc" on a message, or an agent's command.
	Via string `json:"via,omitempty"`
	// ByAgent is true when an agent added or confirmed them (a command,
	// the admin API, an invitation, a proven agent's Cc): other customers'
	// comments then reach them whoever wrote them.
	ByAgent bool `json:"by_agent,omitempty"`
}

// Attachment is a stored attachment: its bytes are the blob Blob.
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Blob        string `json:"blob,omitempty"`
	ContentID   string `json:"content_id,omitempty"`
	Inline      bool   `json:"inline,omitempty"`
}

// Message is one mail (or web post) on a ticket, inbound or outbound.
type Message struct {
	ID      uint64 `json:"id"`
	Ticket  string `json:"ticket"`
	Project string `json:"project"`
	// Direction is "in" or "out".
	Direction string `json:"direction"`
	// Kind: request, comment, note, auto (automatic mail recorded), bounce,
	// rejected.
	Kind string `json:"kind"`
	// Internal messages are never shown or sent to customers.
	Internal bool `json:"internal,omitempty"`
	// Held says why a message was kept from the customers as an internal
	// note (a stranger's mail, an unverified agent, a reply quoting an
	// internal note).
	Held string `json:"held,omitempty"`
	// Discarded: an agent discarded this held message (issue 22); it
	// stays an internal note and reaches nobody.
	Discarded  bool         `json:"discarded,omitempty"`
	Source     string       `json:"source,omitempty"` // smtp, lmtp, pipe, imap, web
	MailFrom   string       `json:"mail_from,omitempty"`
	From       string       `json:"from"`
	FromName   string       `json:"from_name,omitempty"`
	To         []string     `json:"to,omitempty"`
	Cc         []string     `json:"cc,omitempty"`
	Subject    string       `json:"subject"`
	MessageID  string       `json:"message_id,omitempty"`
	InReplyTo  []string     `json:"in_reply_to,omitempty"`
	References []string     `json:"references,omitempty"`
	Date       time.Time    `json:"date,omitzero"`
	Received   time.Time    `json:"received"`
	Text       string       `json:"text"`
	HTML       string       `json:"html,omitempty"`
	Attach     []Attachment `json:"attachments,omitempty"`
	// TextCut: Text/HTML hold only the first inbound.max_text_bytes of
	// the mail's text; Raw holds all of it.
	TextCut bool `json:"text_cut,omitempty"`
	// Raw is the blob holding the message exactly as received; RawSize
	// its length. Empty after retention removed it.
	Raw     string `json:"raw,omitempty"`
	RawSize int64  `json:"raw_size,omitempty"`
	// ThreadedBy records the rule that placed the message: new,
	// reply-token, references, subject-token.
	ThreadedBy string   `json:"threaded_by,omitempty"`
	Auto       string   `json:"auto,omitempty"`
	Problems   []string `json:"problems,omitempty"`
	// Unverified marks mail whose sender could not be proven.
	Unverified bool `json:"unverified,omitempty"`
	// Encrypted: the mail came in OpenPGP-encrypted (Raw is the encrypted
	// original, Text and the attachments the decrypted content);
	// Signature is the result of its OpenPGP signature check (issue 19).
	Encrypted bool      `json:"encrypted,omitempty"`
	Signature Signature `json:"signature,omitempty"`
	// FromFallback names where From came from when the mail had no usable
	// From header (issue 20): "reply-to", "sender" or "envelope"
	// (decide.FromReplyTo …); "" for a usable From.
	FromFallback string `json:"from_fallback,omitempty"`
	// ForwardedBy is the agent who forwarded this customer's mail to the
	// project (or named its requester), opening the ticket in the
	// customer's name (issue 20); "" otherwise.
	ForwardedBy string `json:"forwarded_by,omitempty"`
}

// Token kinds.
const (
	TokenLink  = "link"  // opens the ticket page as a recipient
	TokenReply = "reply" // in a reply address / Message-ID: threads a reply
	TokenAgent = "agent" // opens the read-only agent view of a ticket
	// TokenBounce is a copy's bounce-address secret: it appears only in
	// the envelope sender of that copy, never in a header.
	TokenBounce = "bounce"
	// TokenOffer opens an offer's page for the agent it was offered to
	// (issue 18); TokenRating opens a ticket's rating page for one
	// customer. Neither opens the ticket page.
	TokenOffer  = "offer"
	TokenRating = "rating"
)

// Token is an unguessable reference to a ticket for one recipient.
type Token struct {
	Token     string    `json:"token"`
	Kind      string    `json:"kind"`
	Project   string    `json:"project"`
	Ticket    string    `json:"ticket"`
	Recipient string    `json:"recipient"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires,omitzero"`
	Revoked   bool      `json:"revoked,omitempty"`
	// Proof marks a reply token that only ever travelled in its
	// recipient's own copies (minted since per-copy References): only
	// such a token proves that a mail From its recipient is theirs.
	// Older reply tokens may sit in other recipients' References: they
	// still thread mail but prove nothing.
	Proof bool `json:"proof,omitempty"`
	// MessageID and Event name the mail a bounce token was minted for.
	MessageID string `json:"message_id,omitempty"`
	Event     string `json:"event,omitempty"`
}

// Valid reports whether the token may be used at now.
func (t *Token) Valid(now time.Time) bool {
	return !t.Revoked && (t.Expires.IsZero() || now.Before(t.Expires))
}

// MessageRef is what the Message-ID index says about an id.
type MessageRef struct {
	Ticket string
	// Message is the stored message's id; 0 for an outbound id.
	Message uint64
	// Outbound marks ids we minted for mail we sent.
	Outbound bool
}
