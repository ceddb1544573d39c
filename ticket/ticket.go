// Package ticket is the domain: it threads inbound mail into tickets, applies
// the change (a new request, a comment, a recorded automatic mail) and emits
// domain events, which a Notifier turns into outbound mail inside the same
// store transaction. It knows nothing of SMTP, IMAP or MIME: callers hand it
// a Mail already parsed and classified.
package ticket

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// Threading rules, recorded on every message.
const (
	ByNew          = "new"
	ByReplyToken   = "reply-token"
	ByReferences   = "references"
	BySubjectToken = "subject-token"
)

// Mail is one inbound message for one project, parsed and classified.
type Mail struct {
	Project string
	Source  string // smtp, lmtp, pipe, imap
	// MailFrom is the envelope sender ("" for <> or unknown).
	MailFrom string
	// RcptTag is a reply token found in the recipient's plus-address.
	RcptTag    string
	From       string
	FromName   string
	To, Cc     []string
	CcNames    map[string]string
	Subject    string
	MessageID  string
	InReplyTo  []string
	References []string
	Date       time.Time
	Text, HTML string
	Attach     []store.Attachment
	Raw        string // blob hash of the raw message: also the content hash
	RawSize    int64
	Problems   []string
	// Auto is why the mail counts as automatic ("" for a person's mail):
	// it is recorded, but answers nobody.
	Auto string
	// Loop is why the mail is our own mail come back ("" otherwise): it is
	// recorded internally and nothing is sent.
	Loop string
	// Quiet records the mail but sends nothing (IMAP start: all-quiet).
	Quiet bool
	// ReplyTo holds the Reply-To addresses (the reporter of mail relayed
	// by a contact form listed in form_senders).
	ReplyTo []string
	// SenderProven is true when the receiving MTA vouched for From
	// (trusted Authentication-Results with dmarc=pass or aligned
	// dkim=pass, on a trusted path) or trust_from is on. Only then may the
	// sender act as an agent.
	SenderProven bool
	// DMARCFail is true when a trusted Authentication-Results says
	// dmarc=fail: From is forged.
	DMARCFail bool
	// Spam is why the receiving MTA marked the mail as spam ("" if not).
	Spam string
	// AllowNew, when set, is asked before the mail opens a new ticket; its
	// error (a flood limit) aborts the change and is returned by Ingest.
	AllowNew func() error
	// TellStaff makes automatic mail still notify the agents (never
	// customers): a refused message must not go unnoticed.
	TellStaff bool
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
}

// Event is a domain event: something happened to a ticket that someone may
// need to hear about.
type Event struct {
	Type    string
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
}

// Event types emitted by the domain.
const (
	EvRequestCreated       = "request_created"
	EvCustomerCommentAdded = "customer_comment_added"
	EvAgentCommentAdded    = "agent_comment_added"
	EvInternalNoteAdded    = "internal_note_added"
	EvPublicCommentEdited  = "public_comment_edited"
	EvAutomaticRecorded    = "automatic_recorded"
	EvParticipantAdded     = "participant_added"
	EvOrganizationAdded    = "organization_added"
	EvApprovalRequired     = "approval_required"
	EvCustomerInvited      = "customer_invited"
	EvStatusChanged        = "status_changed"
	EvRequestResolved      = "request_resolved"
	EvRequestReopened      = "request_reopened"
	EvAssigned             = "assigned"
	EvDeliveryFailed       = "delivery_failed"
	EvMessageRefused       = "message_refused"
)

// Notifier turns events into queued outbound mail within tx. It returns how
// many messages it queued.
type Notifier interface {
	Notify(tx *store.Tx, ev *Event) (int, error)
}

// Engine applies mail to tickets.
type Engine struct {
	// Queued, when set, is called after a commit that queued outbound
	// mail (it wakes the sender).
	Queued func()
	store  *store.Store
	cfg    func() *config.Config
	notify Notifier
	now    func() time.Time
	log    *slog.Logger
}

// NewEngine returns an engine. cfg is called per message so a reload takes
// effect for the next message; now is the clock (time.Now in production).
func NewEngine(s *store.Store, cfg func() *config.Config, n Notifier, now func() time.Time, log *slog.Logger) *Engine {
	if now == nil {
		now = time.Now
	}
	return &Engine{store: s, cfg: cfg, notify: n, now: now, log: log}
}

// Ingest stores m on its ticket (threading it, or opening a new one) and
// queues what it causes, all in one durable transaction.
func (e *Engine) Ingest(ctx context.Context, m *Mail) (*Result, error) {
	cfg := e.cfg()
	p := cfg.Project(m.Project)
	if p == nil {
		return nil, fmt.Errorf("ticket: unknown project %q", m.Project)
	}
	var res *Result
	err := e.store.Update(ctx, func(tx *store.Tx) error {
		// Update may run this more than once: start from scratch each time.
		res = &Result{}
		return e.apply(tx, cfg, p, m, res)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (e *Engine) apply(tx *store.Tx, cfg *config.Config, p *config.Project, m *Mail, res *Result) error {
	if ref, dup := tx.Duplicate(p.Key, m.MessageID, m.Raw); dup {
		res.Duplicate, res.Ticket, res.Message = true, ref.Ticket, ref.Message
		return nil
	}
	now := e.now().UTC()
	key, rule, err := thread(tx, p, m)
	if err != nil {
		return err
	}
	var t *store.Ticket
	if key != "" {
		if t, err = tx.Ticket(key); err != nil {
			return err
		}
		// A merged ticket's mail goes to where it was merged.
		for hops := 0; t.MergedInto != "" && hops < 10; hops++ {
			if t, err = tx.Ticket(t.MergedInto); err != nil {
				return err
			}
		}
	} else {
		if m.AllowNew != nil {
			// Checked here, where threading has decided: replies to
			// existing tickets are never held back by a flood limit.
			if err := m.AllowNew(); err != nil {
				return err
			}
		}
		n, err := tx.NextTicketNumber(p.Key)
		if err != nil {
			return err
		}
		t = &store.Ticket{
			Key:          store.TicketKey(p.Key, n),
			Project:      p.Key,
			Number:       n,
			Subject:      cleanSubject(m.Subject),
			Status:       "new",
			Priority:     "normal",
			Reporter:     reporterOf(m),
			ReporterName: m.FromName,
			Language:     p.Language,
			Created:      now,
		}
		res.Created = true
	}
	internal := m.Loop != ""
	kind := "comment"
	switch {
	case m.Loop != "":
		kind = "loop"
	case m.Auto != "":
		kind = "auto"
	case res.Created:
		kind = "request"
	}
	msg := &store.Message{
		Ticket: t.Key, Project: p.Key, Direction: "in", Kind: kind, Internal: internal,
		Source: m.Source, MailFrom: m.MailFrom, From: m.From, FromName: m.FromName,
		To: m.To, Cc: m.Cc, Subject: m.Subject, MessageID: m.MessageID,
		InReplyTo: m.InReplyTo, References: m.References, Date: m.Date, Received: now,
		Text: m.Text, HTML: m.HTML, Attach: m.Attach, Raw: m.Raw, RawSize: m.RawSize,
		ThreadedBy: rule, Auto: firstNonEmpty(m.Auto, m.Loop), Problems: m.Problems,
	}
	if err := tx.AddMessage(msg); err != nil {
		return err
	}
	if err := tx.IndexMessageID(p.Key, m.MessageID, m.Raw, store.MessageRef{Ticket: t.Key, Message: msg.ID}); err != nil {
		return err
	}
	var added []string
	// Cc'd people join a request; on a later message only when the thread
	// was proven by something of ours, since anyone can type a ticket
	// number into a subject.
	if m.Loop == "" && m.Auto == "" && (res.Created || rule == ByReplyToken || rule == ByReferences) {
		added = addParticipants(cfg, p, t, m, now)
	}
	t.Messages++
	t.Updated = now
	if err := tx.PutTicket(t); err != nil {
		return err
	}
	res.Ticket, res.Message, res.ThreadedBy = t.Key, msg.ID, rule

	detail := "threaded by " + rule
	if m.Auto != "" {
		detail += "; automatic: " + m.Auto
	}
	if m.Loop != "" {
		detail += "; our own mail came back: " + m.Loop
	}
	evType := EvCustomerCommentAdded
	switch {
	case m.Loop != "" || (m.Auto != "" && !m.TellStaff):
		evType = EvAutomaticRecorded
	case res.Created:
		evType = EvRequestCreated
	}
	if err := tx.AddEvent(&store.Event{Ticket: t.Key, Time: now, Type: evType, Actor: m.From, Message: msg.ID, Detail: detail}); err != nil {
		return err
	}
	if m.Loop != "" || m.Quiet || e.notify == nil {
		return nil
	}
	// A customer writing into a ticket that waits for them, or that was
	// resolved or closed, reopens it.
	if !res.Created && m.Auto == "" && !p.IsStaff(m.From) {
		if st, ok := StatusByName(t.Status); ok && (st.Category == CatPending || st.Category == CatResolved || st.Category == CatClosed) {
			emit := func(ev *Event) error {
				ev.Project, ev.Ticket, ev.Actor = p, t, m.From
				// The customers hear of the comment itself; the status
				// change that follows is for staff.
				if ev.Type == EvStatusChanged {
					ev.InternalOnly = true
				}
				n, err := e.notify.Notify(tx, ev)
				res.Queued += n
				return err
			}
			if err := setStatus(tx, t, firstOf(CatOpen), m.From, now, emit); err != nil {
				return err
			}
			if err := tx.PutTicket(t); err != nil {
				return err
			}
		}
	}
	already := append(append([]string(nil), m.To...), m.Cc...)
	ev := &Event{Type: evType, Project: p, Ticket: t, Message: msg, Actor: m.From,
		Automatic: m.Auto != "", Already: already, Added: added,
		Status: t.Status, StatusCustomerVisible: true}
	n, err := e.notify.Notify(tx, ev)
	if err != nil {
		return fmt.Errorf("ticket: notify %s: %w", evType, err)
	}
	res.Queued += n
	if len(added) > 0 && !res.Created {
		for _, a := range added {
			if err := tx.AddEvent(&store.Event{Ticket: t.Key, Time: now, Type: EvParticipantAdded, Actor: m.From, Message: msg.ID, Detail: a}); err != nil {
				return err
			}
		}
		n, err := e.notify.Notify(tx, &Event{Type: EvParticipantAdded, Project: p, Ticket: t, Message: msg, Actor: m.From, Already: already, Added: added})
		if err != nil {
			return fmt.Errorf("ticket: notify %s: %w", EvParticipantAdded, err)
		}
		res.Queued += n
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func reporterOf(m *Mail) string {
	if m.From != "" {
		return strings.ToLower(m.From)
	}
	return strings.ToLower(m.MailFrom)
}

// thread finds the ticket m belongs to, by the rules in order of trust.
func thread(tx *store.Tx, p *config.Project, m *Mail) (string, string, error) {
	// 1. A reply token of ours: in the recipient address, or inside a
	// Message-ID we minted that the mail refers to.
	tokens := []string{}
	if m.RcptTag != "" {
		tokens = append(tokens, m.RcptTag)
	}
	refs := referencedIDs(m)
	for _, id := range refs {
		if tok, ok := TokenFromMessageID(id); ok {
			tokens = append(tokens, tok)
		}
	}
	for _, tok := range tokens {
		t, err := tx.Token(tok)
		if err == nil && t.Kind == store.TokenReply && t.Project == p.Key {
			return t.Ticket, ByReplyToken, nil
		}
	}
	// 2. In-Reply-To / References naming a message we stored or sent.
	for _, id := range refs {
		if ref, ok := tx.LookupMessageID(p.Key, id); ok && ref.Ticket != "" {
			return ref.Ticket, ByReferences, nil
		}
	}
	// 3. The subject token, leftmost wins, only for a sender who may post
	// into that ticket.
	if key := SubjectToken(p.Key, m.Subject); key != "" {
		t, err := tx.Ticket(key)
		if err == nil && (mayPost(p, t, m.From) || orgMember(tx, t, strings.ToLower(m.From))) {
			return key, BySubjectToken, nil
		}
	}
	return "", ByNew, nil
}

// referencedIDs lists In-Reply-To first, then References newest first: the
// most specific parent wins.
func referencedIDs(m *Mail) []string {
	out := append([]string(nil), m.InReplyTo...)
	for i := len(m.References) - 1; i >= 0; i-- {
		if !slices.Contains(out, m.References[i]) {
			out = append(out, m.References[i])
		}
	}
	return out
}

func mayPost(p *config.Project, t *store.Ticket, from string) bool {
	from = strings.ToLower(from)
	if from == "" {
		return false
	}
	if from == t.Reporter || p.IsStaff(from) {
		return true
	}
	for _, pa := range t.Participants {
		if pa.Address == from {
			return true
		}
	}
	return false
}

var subjectTokenRE = regexp.MustCompile(`\[([A-Za-z][A-Za-z0-9]{1,9})-([0-9]{1,12})\]`)

// SubjectToken returns the ticket key of the leftmost [KEY-N] token of
// project in subject, or "".
func SubjectToken(project, subject string) string {
	for _, sm := range subjectTokenRE.FindAllStringSubmatch(subject, -1) {
		if strings.EqualFold(sm[1], project) {
			return project + "-" + strings.TrimLeft(sm[2], "0")
		}
	}
	return ""
}

// MessageIDPrefix starts every Message-ID we mint; the reply token follows.
const MessageIDPrefix = "tg."

// TokenFromMessageID extracts the reply token from a Message-ID we minted
// ("tg.<token>@domain"), if it looks like one.
func TokenFromMessageID(id string) (string, bool) {
	if !strings.HasPrefix(id, MessageIDPrefix) {
		return "", false
	}
	rest := id[len(MessageIDPrefix):]
	at := strings.IndexByte(rest, '@')
	if at <= 0 {
		return "", false
	}
	tok := rest[:at]
	if i := strings.IndexByte(tok, '.'); i >= 0 {
		tok = tok[:i]
	}
	return tok, tok != ""
}

var replyPrefixRE = regexp.MustCompile(`(?i)^\s*((re|aw|sv|vs|antw|antwort|fwd?|wg|tr|rv|odp|ynt|r|enc|res)\s*(\[\d+\])?\s*[:：]\s*)+`)

// cleanSubject strips reply/forward prefixes (many languages) for a new
// ticket's title; an empty subject gets a placeholder title.
func cleanSubject(s string) string {
	s = strings.TrimSpace(replyPrefixRE.ReplaceAllString(s, ""))
	if s == "" {
		return "(no subject)"
	}
	return s
}

func addParticipants(cfg *config.Config, p *config.Project, t *store.Ticket, m *Mail, now time.Time) []string {
	max := cfg.Inbound.MaxCcParticipants
	var added []string
	seen := map[string]bool{t.Reporter: true}
	for _, pa := range t.Participants {
		seen[pa.Address] = true
	}
	for _, a := range append(append([]string(nil), m.To...), m.Cc...) {
		a = strings.ToLower(a)
		if a == "" || seen[a] || cfg.IsOwnAddress(a) || p.IsStaff(a) {
			continue
		}
		seen[a] = true
		if len(added) >= max {
			break
		}
		t.Participants = append(t.Participants, store.Participant{Address: a, Name: m.CcNames[a], Added: now, Via: "cc"})
		added = append(added, a)
	}
	return added
}
