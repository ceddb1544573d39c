// Package ticket is the domain: it threads inbound mail into tickets, applies
// the change (a new request, a comment, a recorded automatic mail) and emits
// domain events, which a Notifier turns into outbound mail inside the same
// store transaction. It knows nothing of SMTP, IMAP or MIME: callers hand it
// a Mail already parsed and classified.
package ticket

import (
	"log/slog"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/store"
)

// Threading rules, recorded on every message (see decide.Thread).
const (
	ByNew          = decide.ByNew
	ByReplyToken   = decide.ByReplyToken
	ByReferences   = decide.ByReferences
	BySubjectToken = decide.BySubjectToken
)

// Mail is one inbound message for one project, parsed and classified.
type Mail struct {
	Project string
	Source  string // smtp, lmtp, pipe, imap
	// MailFrom is the envelope sender ("" for <> or unknown).
	MailFrom string
	// RcptTag is a reply token found in the recipient's plus-address.
	RcptTag  string
	From     string
	FromName string
	// FromNameAddress is set when From's display name is an address other
	// than From's own ("a@customer.example <b@attacker.example>"): only a
	// name, but one meant to mislead, so the mail is treated as unverified.
	FromNameAddress string
	To, Cc          []string
	CcNames         map[string]string
	Subject         string
	MessageID       string
	InReplyTo       []string
	References      []string
	Date            time.Time
	Text, HTML      string
	Attach          []store.Attachment
	Raw             string // blob hash of the raw message: also the content hash
	RawSize         int64
	Problems        []string
	// Verdict is what the policy stage made of the mail (a person's,
	// automatic, a loop, spam, refused, blocked).
	Verdict decide.Verdict
	// TextCut: Text or HTML was cut at inbound.max_text_bytes.
	TextCut bool
	// ToInternal is true when the mail was addressed to the project's
	// internal address: an internal note (from a proven agent).
	ToInternal bool
	// ReplyTo holds the Reply-To addresses (the reporter of mail relayed
	// by a contact form listed in form_senders).
	ReplyTo []string
	// SenderProven is true when the receiving MTA vouched for From
	// (trusted Authentication-Results with dmarc=pass or aligned
	// dkim=pass, on a trusted path) or trust_from is on. Only then may the
	// sender act as an agent.
	SenderProven bool
	// SupportKey is the mail's X-Support-Key header (issue 17).
	SupportKey string
	// keys are the support keys found in the mail before redaction.
	keys []string
	// Subaddress is the +tag of the project address the mail came to
	// ("" for none, and for the reserved internal, t-… and bounce-… tags):
	// it may select a request type.
	Subaddress string
	// FromFallback is set when the mail had no usable From: From then
	// holds the address decide.FallbackFrom chose and this where it came
	// from (decide.FromReplyTo, FromSender, FromEnvelope). Such an author
	// is never proven, never staff, and the mail runs no command.
	FromFallback string
	// Forward is a message/rfc822 a proven agent attached (read by the
	// pipeline); inline forwards are found in Text (decide.FindForward).
	Forward *decide.Forwarded
	// AllowNew, when set, is asked before the mail opens a new ticket; its
	// error (a flood limit) aborts the change and is returned by Ingest.
	AllowNew func(tx store.Tx) error
	// Encrypted: the mail came in OpenPGP-encrypted (issue 19). Signature
	// is its signature check; KeySigned is true when the signature is
	// good and made by From's verified key, which proves From as a reply
	// token does (customer rights, never an agent's).
	Encrypted bool
	Signature store.Signature
	KeySigned bool
}

// Result says what Ingest did.
type Result struct {
	Ticket     string
	Message    uint64
	ThreadedBy string
	Created    bool
	// Duplicate is true when the same message (Message-ID and content) was
	// already stored: nothing changed.
	Duplicate bool
	// Queued counts outbound messages queued by this change.
	Queued int
	// Draft is the draft (ACME-D17) the mail was kept on instead of
	// opening a ticket (issue 17); Ticket is then "".
	Draft string
	// Proven: the author was proven (a trusted MTA, their own reply
	// token, their verified key's signature).
	Proven bool
	// Events are the history events the change wrote, in order, as
	// stored, and those of the follow-ups of the same mail that were
	// handed this Result (MessageRefused, PGPUndecryptable,
	// PGPKeyChanged): Caused reads what the mail caused from them.
	Events []store.Event
}

// Event is a domain event: something happened to a ticket that someone may
// need to hear about.
type Event struct {
	Type    store.EventKind
	Project *config.Project
	Ticket  *store.Ticket
	// Message is the message that caused the event, if any.
	Message *store.Message
	// Actor is the address of whoever caused it.
	Actor string
	// Automatic marks events caused by automatic mail: they reach no
	// customer.
	Automatic bool
	// Already lists addresses that received the causing mail directly (its
	// To/Cc): they get no copy of it from us.
	Already []string
	// Added lists participants added by this change.
	Added []string
	// Recipients names the people an event is for when they are not a
	// ticket role: approvers, an organization's members, an invited
	// customer.
	Recipients []string
	// Status is the status entered (status events, and the initial status
	// of a new request); StatusCustomerVisible says whether customers see it.
	Status                string
	OldStatus             string
	StatusCustomerVisible bool
	// Detail carries an event's own text (the delivery failure reason).
	Detail string
	// InternalOnly keeps an event from customers: a status change that
	// follows from a comment is no news to whoever got the comment.
	InternalOnly bool
	// RelayLimited limits the customers who hear of the event to Relay:
	// set on a customer's comment, whose copies go only to the customers
	// the relay rules allow (see relayComment). Agents' answers reach
	// every customer.
	RelayLimited bool
	Relay        []string
	// Record writes what the notifier did (queued, held back) into the
	// ticket's history, in the change's transaction: set by the engine,
	// so the notifier never writes ticket records itself. Ticket, Time
	// and (when empty) Actor are filled in.
	Record func(*store.Event) error
	// Target and Due: the response target and its due time of a
	// warning or breach, the end of a snooze (issue 21).
	Target string
	Due    time.Time
	// CustomerOnly keeps an event from the staff: the request-created
	// mail a requester gets when an internal ticket is published (the
	// agents knew of the ticket all along).
	CustomerOnly bool
	// Comment is a customer's comment on their rating (issue 18).
	Comment string
	// AttachKey: the mail carries the project's OpenPGP public key (a
	// customer's #key, issue 19).
	AttachKey bool
	// Reopened marks a customer's comment that reopened the ticket: the
	// staff's mail about the comment says so, and no separate reopening
	// mail goes to them.
	Reopened bool
	// HooksOnly: the event mails nobody (a status change implied by a
	// comment, whose mail says it all) but still reaches webhooks.
	HooksOnly bool
}

// Event kinds the domain emits: the store's kinds (one enum for the
// history and for notifications), named here for the domain's callers.
const (
	EvRequestCreated       = store.EvRequestCreated
	EvCustomerCommentAdded = store.EvCustomerCommentAdded
	EvAgentCommentAdded    = store.EvAgentCommentAdded
	EvInternalNoteAdded    = store.EvInternalNoteAdded
	EvPublicCommentEdited  = store.EvPublicCommentEdited
	EvAutomaticRecorded    = store.EvAutomaticRecorded
	EvParticipantAdded     = store.EvParticipantAdded
	EvOrganizationAdded    = store.EvOrganizationAdded
	EvApprovalRequired     = store.EvApprovalRequired
	EvCustomerInvited      = store.EvCustomerInvited
	EvStatusChanged        = store.EvStatusChanged
	EvRequestResolved      = store.EvRequestResolved
	EvRequestReopened      = store.EvRequestReopened
	EvAssigned             = store.EvAssigned
	EvDeliveryFailed       = store.EvDeliveryFailed
	EvMessageRefused       = store.EvMessageRefused
	// EvCommandsAnswered tells the sender of commands by mail what was
	// done and what was refused (Recipients: the sender).
	EvCommandsAnswered = store.EvCommandsAnswered
	// EvAutoCloseReminder reminds the customers that a resolved request
	// will close by itself.
	EvAutoCloseReminder = store.EvAutoCloseReminder
	// EvApproved records an approver's answer.
	EvApproved = store.EvApprovalAnswered
)

// noEvent is "announce nothing" (a mail of commands only).
const noEvent = decide.NoEvent

// Notifier turns events into queued outbound mail within tx. It returns how
// many messages it queued.
type Notifier interface {
	Notify(tx store.Tx, ev *Event) (int, error)
}

// Engine applies mail to tickets.
type Engine struct {
	// Queued, when set, is called after a commit that queued outbound
	// mail (it wakes the sender).
	Queued func()
	// HookQueued, when set, is called after a commit that queued webhook
	// deliveries (it wakes the webhook sender).
	HookQueued func()
	store      store.DB
	cfg        func() *config.Config
	notify     Notifier
	now        func() time.Time
	log        *slog.Logger
	// Macros renders canned answers for #macro (issue 21); nil: none.
	Macros Macros
	// OnTarget, when set, is told once a committed change reached a
	// response target with a budget (outcome TargetMet or TargetMissed);
	// OnBreach when a breach was announced (issue 21, for metrics).
	OnTarget func(project, target, outcome string)
	OnBreach func(project, target string)
	// OnWake, when set, is told a committed ticket's next wake-up, so
	// the timers need not wait for their next look (it must not block).
	OnWake func(at time.Time)
	// prepared, when set, is called after each prepare of Ingest, before
	// its commit (tests change the store there to force a re-prepare).
	prepared func(attempt int)
}

// NewEngine returns an engine. cfg is called per message so a reload takes
// effect for the next message; now is the clock (time.Now in production).
func NewEngine(s store.DB, cfg func() *config.Config, n Notifier, now func() time.Time, log *slog.Logger) *Engine {
	if now == nil {
		now = time.Now
	}
	return &Engine{store: s, cfg: cfg, notify: n, now: now, log: log}
}

// SubjectToken returns the ticket key of the leftmost [KEY-N] token of
// project in subject, or "".
func SubjectToken(project, subject string) string { return decide.SubjectToken(project, subject) }

// MessageIDPrefix starts every Message-ID we mint; the reply token follows.
const MessageIDPrefix = decide.MessageIDPrefix

// TokenFromMessageID extracts the reply token from a Message-ID we minted
// ("tg.<token>@domain"), if it looks like one.
func TokenFromMessageID(id string) (string, bool) { return decide.TokenFromMessageID(id) }
