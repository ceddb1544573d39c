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
	// Auto is why the mail counts as automatic ("" for a person's mail):
	// it is recorded, but answers nobody.
	Auto string
	// Loop is why the mail is our own mail come back ("" otherwise): it is
	// recorded internally and nothing is sent.
	Loop string
	// Quiet records the mail but sends nothing (IMAP start: all-quiet).
	Quiet bool
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
	// DMARCFail is true when a trusted Authentication-Results says
	// dmarc=fail: From is forged.
	DMARCFail bool
	// Spam is why the receiving MTA marked the mail as spam ("" if not).
	Spam string
	// AllowNew, when set, is asked before the mail opens a new ticket; its
	// error (a flood limit) aborts the change and is returned by Ingest.
	AllowNew func(tx store.Tx) error
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
	// Reopened marks a customer's comment that reopened the ticket: the
	// staff's mail about the comment says so, and no separate reopening
	// mail goes to them.
	Reopened bool
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
const noEvent = store.EventKind(0)

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
	store  store.DB
	cfg    func() *config.Config
	notify Notifier
	now    func() time.Time
	log    *slog.Logger
}

// NewEngine returns an engine. cfg is called per message so a reload takes
// effect for the next message; now is the clock (time.Now in production).
func NewEngine(s store.DB, cfg func() *config.Config, n Notifier, now func() time.Time, log *slog.Logger) *Engine {
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
	// Whatever depends on the mail alone is worked out here, before the
	// store's single writer runs apply: a mail with a huge References
	// field must not hold up everyone else's.
	refs := referencedIDs(m)
	var res *Result
	err := e.store.Update(ctx, func(tx store.Tx) error {
		// Update may run this more than once: start from scratch each time.
		res = &Result{}
		return e.apply(tx, cfg, p, m, refs, res)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (e *Engine) apply(tx store.Tx, cfg *config.Config, p *config.Project, m *Mail, refs []string, res *Result) error {
	ref, dup, err := tx.Duplicate(p.Key, m.MessageID, m.Raw)
	if err != nil {
		return err
	}
	if dup {
		res.Duplicate, res.Ticket, res.Message = true, ref.Ticket, ref.Message
		return nil
	}
	now := e.now().UTC()
	author, relayed := authorOf(p, m)
	// Mail relayed by a contact form is customer mail of its Reply-To at
	// most: the form's proof says nothing about that person.
	staff := !relayed && p.IsStaff(author)
	agent := staff && m.SenderProven
	person := m.Auto == "" && m.Loop == ""
	text := m.Text
	var cmds []command
	if person {
		cmds, text = parseCommands(m.Text)
	}
	key, rule, tokenFor, err := thread(tx, p, m, author, refs)
	if err != nil {
		return err
	}
	var t *store.Ticket
	follows := ""
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
		// Past the reopen window a customer's mail starts a new ticket
		// that links the old one.
		if person && !staff && !m.ToInternal && isFinal(p, t.Status) && !t.Closed.IsZero() &&
			now.Sub(t.Closed) > time.Duration(p.ReopenWindowDays())*24*time.Hour {
			follows, t = t.Key, nil
		}
	}
	if t == nil {
		if m.AllowNew != nil {
			// Checked here, where threading has decided: replies to
			// existing tickets are never held back by a flood limit.
			if err := m.AllowNew(tx); err != nil {
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
			Status:       firstOf(p, CatNew),
			Priority:     "normal",
			Reporter:     author,
			ReporterName: m.FromName,
			Language:     p.Language,
			Created:      now,
			Follows:      follows,
			Private:      p.PrivateByDefault || hasCommand(cmds, "private"),
		}
		if author != strings.ToLower(m.From) {
			t.ReporterName = "" // From names the contact form, not the reporter
		}
		res.Created = true
		rule = ByNew
	}

	// Who is writing, and how much do we know about them?
	who := sender{author: author, staff: staff, agent: agent, relayed: relayed,
		// A reply token proves its recipient only as the mail's From
		// (not a Reply-To a form or anyone else may set).
		proven: !relayed && (m.SenderProven || (rule == ByReplyToken && tokenFor != "" && tokenFor == author && tokenFor == strings.ToLower(m.From)))}
	if st, ok := p.Status(t.Status); ok && st.Approval != nil && st.Approval.IsApprover(author) {
		who.member = true // an approver answers the approval mail
	}
	who.member = who.member || res.Created || mayPost(p, t, author) || orgMember(tx, t, author)

	msg := &store.Message{
		Ticket: t.Key, Project: p.Key, Direction: "in", Kind: "comment",
		Source: m.Source, MailFrom: m.MailFrom, From: m.From, FromName: m.FromName,
		To: m.To, Cc: m.Cc, Subject: m.Subject, MessageID: m.MessageID,
		InReplyTo: m.InReplyTo, References: m.References, Date: m.Date, Received: now,
		Text: text, HTML: m.HTML, Attach: m.Attach, Raw: m.Raw, RawSize: m.RawSize,
		ThreadedBy: rule, Auto: firstNonEmpty(m.Auto, m.Loop), Problems: m.Problems,
	}
	evType, public, told := who.classify(tx, t, m, msg, cmds, res.Created, rule)
	if err := tx.AddMessage(msg); err != nil {
		return err
	}
	if err := tx.IndexMessageID(p.Key, m.MessageID, m.Raw, store.MessageRef{Ticket: t.Key, Message: msg.ID}); err != nil {
		return err
	}
	held := msg.Held != ""
	var added, pending []string
	// Cc'd people join a request; on a later message only when the
	// sender is proven (anyone can type a ticket number into a subject):
	// otherwise they wait for an agent. Beyond inbound.max_participants
	// nobody joins.
	var over []string
	if person && !held && (!msg.Internal || msg.Kind == "command") {
		if (res.Created || who.proven) && !msg.Unverified || agent {
			added, over = addParticipants(cfg, p, t, m, now, agent)
		} else {
			pending, over = candidates(cfg, p, t, m)
		}
	}
	t.Messages++
	t.Updated = now
	res.Ticket, res.Message, res.ThreadedBy = t.Key, msg.ID, rule

	if err := record(tx, messageEvent(t.Key, evType, author, msg, m, follows, p.ReopenWindowDays(), now)); err != nil {
		return err
	}
	if follows != "" {
		if err := record(tx, &store.Event{Ticket: follows, Time: now, Kind: store.EvFollowedUp, Actor: author, Other: t.Key}); err != nil {
			return err
		}
	}
	if len(over) > 0 {
		if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvParticipantsRefused, Actor: author, Message: msg.ID,
			Addresses: over, Count: cfg.Inbound.MaxParticipants}); err != nil {
			return err
		}
	}
	if len(pending) > 0 {
		if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvParticipantsPending, Actor: author, Message: msg.ID, Addresses: pending}); err != nil {
			return err
		}
	}
	if m.Loop != "" || m.Quiet || e.notify == nil {
		return tx.PutTicket(t)
	}
	emit := func(ev *Event) error {
		if ev.Project == nil {
			ev.Project, ev.Ticket = p, t
		}
		if ev.Actor == "" {
			ev.Actor = author
		}
		n, err := e.notifyIn(tx, ev, now)
		res.Queued += n
		return err
	}
	// A customer writing into a ticket that waits for them, or that was
	// resolved or closed, reopens it.
	var reopened *Event
	if !res.Created && person && !staff && !msg.Internal {
		st, _ := p.Status(t.Status)
		switch {
		case st.Approval != nil:
			// Waiting for an approval: only the approvers move it on.
		case st.Category == CatPending || st.Category == CatResolved || st.Category == CatClosed:
			// The customers hear of the comment itself; the status change
			// that follows is for staff. A reopening waits: the staff's
			// mail about the comment can carry it (one mail, not two).
			err := setStatus(tx, p, t, firstOf(p, CatOpen), author, now, func(ev *Event) error {
				if ev.Type == EvRequestReopened {
					reopened = ev
					return nil
				}
				return implied(emit)(ev)
			})
			if err != nil {
				return err
			}
		}
	}
	already := append(append([]string(nil), m.To...), m.Cc...)
	if evType != noEvent {
		ev := &Event{Type: evType, Project: p, Ticket: t, Message: msg, Actor: author,
			Automatic: m.Auto != "", Already: already, Added: added, Detail: msg.Held,
			Status: t.Status, StatusCustomerVisible: true}
		if st, ok := p.Status(t.Status); ok {
			ev.StatusCustomerVisible = st.Visible()
		}
		if evType == EvCustomerCommentAdded && person && !msg.Internal {
			r, err := relayComment(tx, cfg, p, t, msg, author, already, now)
			if err != nil {
				return err
			}
			ev.RelayLimited, ev.Relay = true, r.to
			if err := recordRelay(tx, t, msg, author, r, now, ev); err != nil {
				return err
			}
		}
		if reopened != nil && evType == EvCustomerCommentAdded && p.Notifications.Internal.CustomerCommentAdded.Applies(t.Status) {
			ev.Reopened, reopened = true, nil
		}
		if err := emit(ev); err != nil {
			return fmt.Errorf("ticket: notify %s: %w", evType, err)
		}
	}
	if reopened != nil {
		// The staff got no mail about the comment: tell them of the
		// reopening on its own.
		if err := implied(emit)(reopened); err != nil {
			return fmt.Errorf("ticket: notify %s: %w", EvRequestReopened, err)
		}
	}
	if len(added) > 0 && !res.Created {
		for _, a := range added {
			if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvParticipantAdded, Actor: author, Message: msg.ID, Addresses: []string{a}}); err != nil {
				return err
			}
		}
		if err := emit(&Event{Type: EvParticipantAdded, Message: msg, Already: already, Added: added}); err != nil {
			return fmt.Errorf("ticket: notify %s: %w", EvParticipantAdded, err)
		}
	}
	if res.Created && !t.Private && person && !msg.Internal {
		// Shared with the reporter's organization unless kept private.
		o, err := tx.OrganizationOf(p.Key, author)
		if err != nil {
			return err
		}
		if o != nil {
			if err := share(tx, t, o, author, now, emit); err != nil {
				return err
			}
		}
	}
	statusSet := false
	if len(cmds) > 0 && !held {
		var err error
		told, statusSet, err = e.runCommands(tx, p, t, cmds, commandContext{
			author: author, agent: agent, customerProven: who.proven,
			created: res.Created, now: now, emit: emit,
		}, told)
		if err != nil {
			return err
		}
	} else if len(cmds) > 0 {
		told = append(told, "No command was run: "+msg.Held+".")
	}
	// An agent's public answer leaves the ticket waiting for the customer.
	if public && !statusSet && !isDone(p, t.Status) {
		if err := setStatus(tx, p, t, firstOf(p, CatPending), author, now, implied(emit)); err != nil {
			return err
		}
	}
	if err := tx.PutTicket(t); err != nil {
		return err
	}
	if len(told) > 0 {
		// One answer to whoever sent commands: what was done, what was
		// refused and why. Strangers get none (their mail is held).
		if who.member || agent {
			ev := &Event{Type: EvCommandsAnswered, Recipients: []string{author}, Actor: "ticketgate",
				Detail: strings.Join(told, "\n"), InternalOnly: staff, Message: msg}
			if err := emit(ev); err != nil {
				return err
			}
		}
		if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvCommandsAnswered, Actor: author, Message: msg.ID, Lines: told}); err != nil {
			return err
		}
	}
	return nil
}

// sender is who wrote a mail and what is known of them.
type sender struct {
	author       string
	staff, agent bool // agent: staff, and proven
	// member: may write into the ticket (reporter, participant, member of
	// the organization it is shared with, approver, staff).
	member bool
	// proven: the receiving MTA vouched for From, or the mail answers a
	// reply token we sent to this very address.
	proven bool
	// relayed: a form_senders form relayed the mail; the author is its
	// Reply-To, which nothing proves.
	relayed bool
}

// classify decides what m is on t — a request, a comment, an agent's
// public answer, an internal note, held mail — and sets msg's kind, text
// and flags. It returns the event to announce ("" for none), whether the
// mail is an agent's public answer, and what the sender must be told.
func (s sender) classify(tx store.Tx, t *store.Ticket, m *Mail, msg *store.Message, cmds []command, created bool, rule string) (evType store.EventKind, public bool, told []string) {
	text := msg.Text
	evType = EvCustomerCommentAdded
	switch {
	case m.Loop != "":
		msg.Kind, msg.Internal, evType = "loop", true, EvAutomaticRecorded
	case m.Auto != "":
		msg.Kind, evType = "auto", EvAutomaticRecorded
		if m.TellStaff {
			evType = EvCustomerCommentAdded
		}
		if created {
			msg.Kind = "request"
			if m.TellStaff {
				evType = EvRequestCreated
			}
		}
	case m.ToInternal && !s.agent:
		msg.Kind, msg.Internal, evType = "note", true, EvInternalNoteAdded
		msg.Held = s.author + " wrote to the internal address but is not a verified agent"
		msg.Unverified = true
	case m.ToInternal || (s.agent && hasCommand(cmds, "internal")):
		msg.Kind, msg.Internal, evType = "note", true, EvInternalNoteAdded
		msg.Text = stripQuotes(text)
	case created:
		msg.Kind, evType = "request", EvRequestCreated
	case s.staff && !s.agent:
		msg.Kind, msg.Internal, evType = "note", true, EvInternalNoteAdded
		msg.Held = "sender not verified: mail from an agent's address without proof (Authentication-Results) that the agent sent it"
		msg.Unverified = true
		// The agent hears of it: their answer did not reach anyone.
		told = append(told, "Your mail was NOT sent to the customers: nothing proved that you sent it (no Authentication-Results "+
			"of a trusted server with dmarc=pass or aligned dkim=pass). It is kept on "+t.Key+" as an internal note marked \"sender not verified\".")
	case s.agent:
		msg.Text = stripQuotes(text)
		switch {
		case strings.TrimSpace(msg.Text) == "" && len(cmds) > 0:
			// Commands only: nothing to tell the customers.
			msg.Kind, msg.Internal, evType = "command", true, noEvent
		case !hasMarker(m.Text) && quotesInternalNote(tx, t.Key, msg.Text):
			// The heuristics kept text of an internal note: it must not
			// reach customers by their miss.
			msg.Kind, msg.Internal, evType = "note", true, EvInternalNoteAdded
			msg.Held = "held as an internal note: the reply contains the text of an internal note and no \"reply above this line\" marker"
			told = append(told, "Your reply was NOT sent to the customers: it contains the text of an internal note of "+t.Key+
				" and no \"reply above this line\" marker. It is kept as an internal note; to answer the customers, write again without the quoted note.")
		default:
			msg.Kind, evType, public = "comment", EvAgentCommentAdded, true
		}
	case !s.member:
		msg.Kind, msg.Internal, evType = "note", true, EvInternalNoteAdded
		msg.Held = "held: " + s.author + " is not the reporter, a participant or an agent of " + t.Key + "; an agent may admit them with #participant add " + s.author
		msg.Unverified = !s.proven
	default:
		// Without proof, anyone who saw a ticket number or a Message-ID
		// of the thread could have written it: it is marked, and held from
		// the other customers (relayComment) until an agent has seen it.
		msg.Unverified = !s.proven || s.relayed || m.FromNameAddress != ""
		if strings.TrimSpace(text) == "" && len(cmds) > 0 {
			// Commands only: no comment for anyone to read.
			msg.Kind, msg.Internal, evType = "command", true, noEvent
		}
	}
	return evType, public, told
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

// thread finds the ticket m belongs to, by the rules in order of trust;
// refs are m's referencedIDs. It also returns, for a reply token, whom we
// sent that token to.
func thread(tx store.Tx, p *config.Project, m *Mail, author string, refs []string) (key, rule, tokenFor string, err error) {
	// 1. A reply token of ours: in the recipient address, or inside a
	// Message-ID we minted that the mail refers to.
	tokens := []string{}
	if m.RcptTag != "" {
		tokens = append(tokens, m.RcptTag)
	}
	for _, id := range refs {
		if tok, ok := TokenFromMessageID(id); ok {
			tokens = append(tokens, tok)
		}
	}
	var found *store.Token
	for _, tok := range tokens {
		t, err := tx.Token(tok)
		if err != nil || t.Kind != store.TokenReply || t.Project != p.Key {
			continue
		}
		// Prefer a token that was sent to this sender: it proves them.
		if found == nil || (strings.EqualFold(t.Recipient, author) && !strings.EqualFold(found.Recipient, author)) {
			found = t
		}
	}
	if found != nil {
		// Only a token that travelled in its recipient's own copies
		// alone (Proof) says who may be writing; an older one may sit in
		// other recipients' References: it threads, it proves nothing.
		tokenFor = ""
		if found.Proof {
			tokenFor = strings.ToLower(found.Recipient)
		}
		return found.Ticket, ByReplyToken, tokenFor, nil
	}
	// 2. In-Reply-To / References naming a message we stored or sent.
	for _, id := range refs {
		ref, ok, err := tx.LookupMessageID(p.Key, id)
		if err != nil {
			return "", "", "", err
		}
		if ok && ref.Ticket != "" {
			return ref.Ticket, ByReferences, "", nil
		}
	}
	// 3. The subject token, leftmost wins, only for a sender who may post
	// into that ticket.
	if key := SubjectToken(p.Key, m.Subject); key != "" {
		t, err := tx.Ticket(key)
		if err == nil && (mayPost(p, t, author) || orgMember(tx, t, author)) {
			return key, BySubjectToken, "", nil
		}
	}
	return "", ByNew, "", nil
}

// maxReferences is how many referenced Message-IDs threading considers.
// A reply's parent is In-Reply-To or among the newest References; each ID
// costs index lookups under the store's single writer, and anyone can
// send a References field of 100,000 IDs.
const maxReferences = 100

// referencedIDs lists In-Reply-To first, then References newest first
// (the most specific parent wins), without repeats, at most maxReferences.
// It is linear in the size of the fields.
func referencedIDs(m *Mail) []string {
	out := make([]string, 0, min(maxReferences, len(m.InReplyTo)+len(m.References)))
	seen := make(map[string]struct{}, cap(out))
	add := func(id string) bool {
		if _, dup := seen[id]; !dup && id != "" {
			seen[id] = struct{}{}
			out = append(out, id)
		}
		return len(out) < maxReferences
	}
	for _, id := range m.InReplyTo {
		if !add(id) {
			return out
		}
	}
	for i := len(m.References) - 1; i >= 0; i-- {
		if !add(m.References[i]) {
			return out
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

// addParticipants adds m's candidates to t; byAgent: a proven agent
// Cc'd them. over lists those the ticket has no room for.
func addParticipants(cfg *config.Config, p *config.Project, t *store.Ticket, m *Mail, now time.Time, byAgent bool) (added, over []string) {
	added, over = candidates(cfg, p, t, m)
	for _, a := range added {
		t.Participants = append(t.Participants, store.Participant{Address: a, Name: m.CcNames[a], Added: now, Via: "cc", ByAgent: byAgent})
	}
	return added, over
}

// candidates lists the To/Cc addresses of m that would join t: not yet on
// it, not ours, not staff, at most inbound.max_cc_participants, and no
// more than inbound.max_participants on the ticket (over: the rest).
func candidates(cfg *config.Config, p *config.Project, t *store.Ticket, m *Mail) (out, over []string) {
	max := min(cfg.Inbound.MaxCcParticipants, cfg.Inbound.MaxParticipants-len(t.Participants))
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
		if len(out) >= max {
			if len(t.Participants)+len(out) >= cfg.Inbound.MaxParticipants {
				over = append(over, a)
				continue
			}
			break
		}
		out = append(out, a)
	}
	return out, over
}
