package ticket

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/store"
)

// maxPrepares bounds how often Ingest prepares a mail against a read
// snapshot; when what it relied on changed that often, the last attempt
// prepares under the writer itself, where nothing can change.
const maxPrepares = 3

// errStale aborts a commit whose preparation no longer holds.
var errStale = errors.New("ticket: what the message was prepared against changed")

// Ingest stores m on its ticket (threading it, or opening a new one) and
// queues what it causes, all in one durable transaction.
//
// It works in two steps. prepare gathers, against a read snapshot and
// without holding the store's single writer, every fact the decision
// needs: the duplicate check, the threading look-ups (reply tokens, up to
// decide.MaxReferences Message-IDs, the subject token), the ticket and
// its merges, the organization, the command lines, the quote stripping
// and the internal-note check. commit then, inside Update, validates that
// everything prepare read is unchanged, allocates what only the writer may
// (a new ticket's number), runs the pure decisions (package decide) and
// writes. When validation fails the mail is prepared again.
func (e *Engine) Ingest(ctx context.Context, m *Mail) (*Result, error) {
	cfg := e.cfg()
	p := cfg.Project(m.Project)
	if p == nil {
		return nil, fmt.Errorf("ticket: unknown project %q", m.Project)
	}
	m = redactMail(p, m)
	refs := decide.ReferencedIDs(m.InReplyTo, m.References)
	for attempt := 1; ; attempt++ {
		var pr *prepared
		if attempt <= maxPrepares {
			err := e.store.View(func(tx store.Tx) error {
				var err error
				pr, err = e.prepare(tx, p, m, refs)
				return err
			})
			if err != nil {
				return nil, err
			}
			if e.prepared != nil {
				e.prepared(attempt)
			}
		}
		var res *Result
		err := e.store.Update(ctx, func(tx store.Tx) error {
			// Update may run this more than once: start from scratch each time.
			res = &Result{}
			return tapped(tx, res, func(tx store.Tx) error {
				q := pr
				if q == nil {
					// Prepared under the writer: nothing to validate.
					var err error
					if q, err = e.prepare(tx, p, m, refs); err != nil {
						return err
					}
				} else if err := q.reads.validate(tx); err != nil {
					return err
				}
				return e.commit(tx, cfg, p, m, q, res)
			})
		})
		if errors.Is(err, errStale) {
			e.log.Debug("prepared again: the store changed meanwhile", "msgid", m.MessageID, "project", p.Key, "attempt", attempt)
			continue
		}
		if err != nil {
			return nil, err
		}
		return res, nil
	}
}

// readSet records what prepare read, so that commit can check it is
// still so (optimistic concurrency: any change means prepare again).
type readSet struct {
	project string
	tickets map[string]*store.Ticket       // nil: not found
	tokens  map[string]*store.Token        // nil: not found
	orgs    map[string]*store.Organization // by name; nil: not found
	refs    map[string]string              // Message-ID → ticket ("": not indexed)
	// drafts: a sender's open draft (nil: none); draftKeys: by key;
	// accepted: the ticket an accepted draft became ("": none).
	drafts    map[string]*store.Draft
	draftKeys map[string]*store.Draft
	accepted  map[string]string
}

func newReadSet(project string) *readSet {
	// The maps are made on first use (remember): a new request reads
	// into two or three of the seven.
	return &readSet{project: project}
}

// remember sets m[k] = v, making m first if need be.
func remember[V any](m *map[string]V, k string, v V) {
	if *m == nil {
		*m = make(map[string]V)
	}
	(*m)[k] = v
}

func notFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func (r *readSet) ticket(tx store.Tx, key string) (*store.Ticket, error) {
	t, err := tx.Ticket(key)
	if err != nil && !notFound(err) {
		return nil, err
	}
	remember(&r.tickets, key, t)
	return t, err
}

func (r *readSet) token(tx store.Tx, tok string) (*store.Token, error) {
	t, err := tx.Token(tok)
	if err != nil && !notFound(err) {
		return nil, err
	}
	remember(&r.tokens, tok, t)
	return t, nil
}

func (r *readSet) org(tx store.Tx, name string) (*store.Organization, error) {
	o, err := tx.Organization(r.project, name)
	if err != nil && !notFound(err) {
		return nil, err
	}
	remember(&r.orgs, name, o)
	return o, nil
}

func (r *readSet) ref(tx store.Tx, id string) (string, error) {
	ref, ok, err := tx.LookupMessageID(r.project, id)
	if err != nil {
		return "", err
	}
	key := ""
	if ok {
		key = ref.Ticket
	}
	remember(&r.refs, id, key)
	return key, nil
}

// orgMember reports whether addr belongs to the organization t is shared
// with.
func (r *readSet) orgMember(tx store.Tx, t *store.Ticket, addr string) (bool, error) {
	if t.Organization == "" || addr == "" {
		return false, nil
	}
	o, err := r.org(tx, t.Organization)
	return err == nil && o != nil && o.Has(addr), err
}

// validate returns errStale when anything read differs in tx.
func (r *readSet) validate(tx store.Tx) error {
	for key, was := range r.tickets {
		now, err := tx.Ticket(key)
		if err != nil && !notFound(err) {
			return err
		}
		if !reflect.DeepEqual(was, now) {
			return fmt.Errorf("ticket %s: %w", key, errStale)
		}
	}
	for tok, was := range r.tokens {
		now, err := tx.Token(tok)
		if err != nil && !notFound(err) {
			return err
		}
		if !reflect.DeepEqual(was, now) {
			return fmt.Errorf("a reply token: %w", errStale)
		}
	}
	for name, was := range r.orgs {
		now, err := tx.Organization(r.project, name)
		if err != nil && !notFound(err) {
			return err
		}
		if !reflect.DeepEqual(was, now) {
			return fmt.Errorf("organization %s: %w", name, errStale)
		}
	}
	for id, was := range r.refs {
		ref, ok, err := tx.LookupMessageID(r.project, id)
		if err != nil {
			return err
		}
		if now := ref.Ticket; !ok && was != "" || ok && now != was {
			return fmt.Errorf("message %s: %w", id, errStale)
		}
	}
	return r.validateDrafts(tx)
}

// prepared is everything Ingest works out before the writer: the facts
// of package decide's steps, and what they were read from.
type prepared struct {
	reads *readSet
	now   time.Time
	// dup: the snapshot already holds the message.
	dup     bool
	author  string
	relayed bool
	th      decide.Threading
	// t is the ticket the mail threads into, after merges (nil: a new
	// one); follows the closed ticket a new one continues.
	t       *store.Ticket
	follows string
	// orgMember: the author belongs to t's organization.
	orgMember bool
	cmds      []decide.Command
	text      string
	stripped  string
	// quotesNote: an agent's reply carries an internal note's text.
	quotesNote bool
	// Issue 17 (ticket/drafts.go). admit: may the mail open a ticket;
	// keyState/key: the best support key found; senderDraft: the
	// sender's open draft; acceptDraft: the draft a proven agent's
	// "#accept" mail names.
	admit       decide.Admission
	keyState    decide.KeyState
	key         string
	senderDraft *store.Draft
	acceptDraft *store.Draft
	// draftWas: the mail named a draft accepted meanwhile, and threads
	// into the ticket it became (acceptedDraftThread).
	draftWas string
	// behalf: the mail is an agent's on a customer's behalf (behalf.go).
	behalf decide.Behalf
}

// prepare gathers the facts of m's decision from tx (a read snapshot, or
// the writer's own transaction on the last attempt).
func (e *Engine) prepare(tx store.Tx, p *config.Project, m *Mail, refs []string) (*prepared, error) {
	pr := &prepared{reads: newReadSet(p.Key), now: e.now().UTC(), text: m.Text}
	if _, dup, err := tx.Duplicate(p.Key, m.MessageID, m.Raw); err != nil {
		return nil, err
	} else if dup {
		pr.dup = true
		return pr, nil
	}
	pr.author, pr.relayed = decide.AuthorOf(p, decide.Sender{From: m.From, MailFrom: m.MailFrom, ReplyTo: m.ReplyTo})
	staff := !pr.relayed && m.FromFallback == "" && p.IsStaff(pr.author)
	person := m.Verdict.Person()
	if decide.RunsCommands(person, m.FromFallback) {
		pr.cmds, pr.text = decide.ParseCommands(m.Text)
	}
	if m.ToInternal || staff {
		pr.stripped = decide.StripQuotes(pr.text)
	}
	if key := decide.DraftToken(p.Key, m.Subject); key != "" && staff && m.SenderProven && decide.HasCommand(pr.cmds, "accept") {
		// A proven agent's #accept on a draft: it becomes a ticket, and
		// the mail goes there.
		d, err := pr.reads.draft(tx, key)
		if err != nil {
			return nil, err
		}
		if d != nil {
			pr.acceptDraft = d
			return pr, nil
		}
	}
	th, err := e.threadFacts(tx, pr, p, m, refs)
	if err != nil {
		return nil, err
	}
	pr.th = th
	if th.Key == "" {
		if err := pr.acceptedDraftThread(tx, p, m); err != nil {
			return nil, err
		}
	}
	if pr.th.Key == "" && staff && person {
		if err := e.prepareBehalf(tx, pr, p, m); err != nil {
			return nil, err
		}
	}
	if pr.th.Key == "" {
		return pr, e.admitFacts(tx, pr, p, m, staff)
	}
	th = pr.th
	t, err := pr.reads.ticket(tx, th.Key)
	if err != nil {
		return nil, err
	}
	// A merged ticket's mail goes to where it was merged.
	for hops := 0; t.MergedInto != "" && hops < 10; hops++ {
		if t, err = pr.reads.ticket(tx, t.MergedInto); err != nil {
			return nil, err
		}
	}
	// Past the reopen window a customer's mail starts a new ticket that
	// links the old one.
	if decide.StartsAnew(p, t, person, staff, pr.toInternal(m), pr.now) {
		pr.follows = t.Key
		return pr, e.admitFacts(tx, pr, p, m, staff)
	}
	pr.t = t
	if pr.orgMember, err = pr.reads.orgMember(tx, t, pr.author); err != nil {
		return nil, err
	}
	if staff && m.SenderProven && !pr.toInternal(m) && !decide.HasMarker(m.Text) {
		msgs, err := tx.TicketMessages(t.Key)
		// Unknown is treated as yes: better held than leaked.
		pr.quotesNote = err != nil || decide.QuotesNote(msgs, pr.stripped)
	}
	return pr, nil
}

// threadFacts looks up what decide.Thread decides from: the reply tokens,
// the referenced Message-IDs up to the first one known, the subject
// token's ticket.
func (e *Engine) threadFacts(tx store.Tx, pr *prepared, p *config.Project, m *Mail, refs []string) (decide.Threading, error) {
	var f decide.ThreadFacts
	for _, tok := range decide.ReplyTokens(m.RcptTag, refs) {
		t, err := pr.reads.token(tx, tok)
		if err != nil {
			return decide.Threading{}, err
		}
		f.Tokens = append(f.Tokens, t)
	}
	if th := decide.Thread(p.Key, pr.author, f); th.Rule == ByReplyToken {
		return th, nil
	}
	for _, id := range refs {
		key, err := pr.reads.ref(tx, id)
		if err != nil {
			return decide.Threading{}, err
		}
		if key != "" {
			f.Reference = key
			return decide.Thread(p.Key, pr.author, f), nil
		}
	}
	// The subject token, leftmost wins, only for a sender who may post
	// into that ticket.
	if key := decide.SubjectToken(p.Key, m.Subject); key != "" {
		t, err := pr.reads.ticket(tx, key)
		if err != nil && !notFound(err) {
			return decide.Threading{}, err
		}
		if t != nil {
			member, err := pr.reads.orgMember(tx, t, pr.author)
			if err != nil {
				return decide.Threading{}, err
			}
			if decide.MayPost(p, t, pr.author) || member {
				f.Subject = key
			}
		}
	}
	return decide.Thread(p.Key, pr.author, f), nil
}

// commit writes the outcome of m's decision in tx, whose reads pr's
// readSet has validated.
func (e *Engine) commit(tx store.Tx, cfg *config.Config, p *config.Project, m *Mail, pr *prepared, res *Result) error {
	ref, dup, err := tx.Duplicate(p.Key, m.MessageID, m.Raw)
	if err != nil {
		return err
	}
	if dup {
		res.Duplicate, res.Ticket, res.Message = true, ref.Ticket, ref.Message
		return nil
	}
	if pr.dup {
		return fmt.Errorf("message %s: %w", m.MessageID, errStale)
	}
	now, author := pr.now, pr.author
	person := m.Verdict.Person()
	rule := pr.th.Rule
	// On a customer's behalf, the request is the customer's: their
	// address, their words, no proof and no command of theirs; the agent's
	// part follows it (commitBehalf).
	from, fromName, proven, text, cmds, attach := strings.ToLower(m.From), m.FromName, m.SenderProven, pr.text, pr.cmds, m.Attach
	opensForCustomer := pr.behalf.Kind == decide.BehalfOpen
	if opensForCustomer {
		author, from, fromName, proven, text, cmds = pr.behalf.Reporter, pr.behalf.Reporter, pr.behalf.Name, false, pr.behalf.Text, nil
		if pr.behalf.Attach != nil {
			attach = pr.behalf.Attach
		}
	}
	var t *store.Ticket
	// request is the message the agents hear of when a draft this mail
	// completes becomes a request (its first mail), nil otherwise.
	var request *store.Message
	accepted := ""
	switch {
	case pr.acceptDraft != nil:
		d, err := tx.Draft(pr.acceptDraft.Key)
		if err != nil {
			return err
		}
		n := 0
		if t, n, err = e.acceptDraft(tx, p, d, author, "accepted by "+author, now); err != nil {
			return err
		}
		res.Queued += n
		rule, accepted = ByDraft, d.Key
	case pr.t != nil:
		// A fresh copy: this function may run twice, and pr is shared.
		if t, err = tx.Ticket(pr.t.Key); err != nil {
			return err
		}
	case pr.admit.Draft:
		if m.AllowNew != nil {
			if err := m.AllowNew(tx); err != nil {
				return err
			}
		}
		return e.commitDraft(tx, p, m, pr, res)
	default:
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
			Subject:      decide.CleanSubject(m.Subject),
			Status:       firstOf(p, CatNew),
			Priority:     "normal",
			Reporter:     author,
			ReporterName: fromName,
			Language:     p.Language,
			Created:      now,
			Follows:      pr.follows,
			Private:      p.PrivateByDefault || decide.HasCommand(pr.cmds, "private"),
		}
		// The request type (decide.RequestType): the sub-address, a
		// "#type" line of the person who wrote the new request, subject
		// keywords, the default.
		t.Type, _ = decide.RequestType(p, decide.TypeFacts{Subaddress: m.Subaddress, Commands: pr.cmds, MayType: person, Subject: m.Subject})
		t.Priority = decide.TypePriority(p, t.Type)
		if author != from {
			t.ReporterName = "" // From names the contact form, not the reporter
		}
		res.Created = true
		rule = ByNew
		if pr.senderDraft != nil {
			// The sender's draft is complete now (a valid key, or they
			// became known): its mails come first on the ticket.
			d, err := tx.Draft(pr.senderDraft.Key)
			if err != nil {
				return err
			}
			why := "the sender is known now"
			if pr.keyState == decide.KeyValid {
				why = "the sender sent a valid support key " + decide.RedactKey(pr.key)
			}
			t.Subject = d.Subject
			t.Type, _ = decide.RequestType(p, decide.TypeFacts{Subaddress: d.Subaddress, Commands: pr.cmds, MayType: person, Subject: d.Subject})
			t.Priority = decide.TypePriority(p, t.Type)
			if request, err = absorbDraft(tx, p, t, d, author, why, now); err != nil {
				return err
			}
		}
	}
	if m.Encrypted {
		t.Encrypted = true
	}
	status, _ := p.Status(t.Status)
	who := decide.Identify(decide.WhoFacts{
		Author: author, Relayed: pr.relayed, From: from,
		Staff: p.IsStaff(author), SenderProven: proven, KeySigned: m.KeySigned, Fallback: m.FromFallback != "",
		Threading: decide.Threading{Key: t.Key, Rule: rule, TokenFor: pr.th.TokenFor},
		Created:   res.Created, MayPost: decide.MayPost(p, t, author), OrgMember: pr.orgMember,
		Approver: status.Approval != nil && status.Approval.IsApprover(author),
	})
	// #macro (issue 21): an agent's canned answer becomes the text.
	stripped := pr.stripped
	var macroTold []string
	if who.Agent && !m.ToInternal {
		var err error
		if cmds, stripped, macroTold, err = e.applyMacros(p, t, author, cmds, pr.stripped); err != nil {
			return err
		}
		if stripped != pr.stripped {
			text = stripped
		}
	}
	if res.Created {
		if decide.Visibility(true, m.ToInternal, who, pr.cmds) == store.VisibilityInternal {
			t.Visibility = store.VisibilityInternal
		}
	}
	classifyCmds := pr.cmds
	if opensForCustomer {
		classifyCmds = nil // the customer's request carries no command of theirs
	}
	o := decide.Classify(decide.Mail{Verdict: m.Verdict, ToInternal: pr.toInternal(m), Text: text, Stripped: stripped,
		Commands: classifyCmds, FromNameAddress: m.FromNameAddress != "" && !opensForCustomer, QuotesNote: pr.quotesNote}, who, t.Key, res.Created)

	msg := &store.Message{
		Ticket: t.Key, Project: p.Key, Direction: "in", Kind: o.Kind, Internal: o.Internal, Held: o.Held, Unverified: o.Unverified,
		Source: m.Source, MailFrom: m.MailFrom, From: from, FromName: fromName,
		To: m.To, Cc: m.Cc, Subject: m.Subject, MessageID: m.MessageID,
		InReplyTo: m.InReplyTo, References: m.References, Date: m.Date, Received: now,
		Text: o.Text, HTML: m.HTML, TextCut: m.TextCut, Attach: attach, Raw: m.Raw, RawSize: m.RawSize,
		ThreadedBy: rule, Auto: m.Verdict.Recorded(), Problems: m.Problems, FromFallback: m.FromFallback,
		Encrypted: m.Encrypted, Signature: m.Signature,
	}
	if opensForCustomer {
		msg.ForwardedBy = pr.author
	}
	res.Proven = who.Proven
	if err := tx.AddMessage(msg); err != nil {
		return err
	}
	if err := tx.IndexMessageID(p.Key, m.MessageID, m.Raw, store.MessageRef{Ticket: t.Key, Message: msg.ID}); err != nil {
		return err
	}
	// Cc'd people join a request; on a later message only when the
	// sender is proven (anyone can type a ticket number into a subject):
	// otherwise they wait for an agent. Beyond inbound.max_participants
	// nobody joins.
	var added, pending, over []string
	addrs := append(append([]string(nil), m.To...), m.Cc...)
	switch decide.Participation(person, o, who, res.Created) {
	case decide.JoinAdd:
		added, over = decide.Candidates(cfg, p, t, addrs)
		for _, a := range added {
			t.Participants = append(t.Participants, store.Participant{Address: a, Name: m.CcNames[a], Added: now, Via: "cc", ByAgent: who.Agent})
		}
	case decide.JoinPending:
		pending, over = decide.Candidates(cfg, p, t, addrs)
	}
	t.Messages++
	t.Updated = now
	res.Ticket, res.Message, res.ThreadedBy = t.Key, msg.ID, rule

	if err := record(tx, messageEvent(t.Key, o.Event, author, msg, m, pr.follows, p.ReopenWindowDays(), now)); err != nil {
		return err
	}
	if pr.follows != "" {
		if err := record(tx, &store.Event{Ticket: pr.follows, Time: now, Kind: store.EvFollowedUp, Actor: author, Other: t.Key}); err != nil {
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
	f := decide.Follow(decide.FollowFacts{Verdict: m.Verdict, Outcome: o, Who: who, Created: res.Created,
		Status: status, Added: len(added), Private: t.Private})
	if res.Created {
		startClocks(t) // issue 21: putTicket starts them
	}
	if o.Event == EvAgentCommentAdded && !msg.Internal {
		e.answered(p, t, now)
	}
	if who.Agent {
		// A proven agent's mail into the ticket: they have seen it (its
		// offer shows so; issue 18).
		if err := markSeen(tx, t, author, now); err != nil {
			return err
		}
	}
	if f.Silent || e.notify == nil {
		if err := e.putTicket(tx, p, t, now); err != nil {
			return err
		}
	} else {
		if err := e.follow(tx, cfg, p, t, m, msg, o, who, f, pr, cmds, macroTold, added, res, request, accepted); err != nil {
			return err
		}
		if res.Created && person && !o.Internal {
			// A new request of a project with offers goes to its agents
			// (issue 18), unless a command already assigned or closed it.
			if err := e.offerNew(tx, p, t, now, res); err != nil {
				return err
			}
		}
	}
	if opensForCustomer {
		return e.commitBehalf(tx, p, t, m, pr, res)
	}
	return nil
}

// offerNew starts the offer of a new ticket (offers live in records of
// their own: the ticket is not changed); its mails count in res.Queued.
func (e *Engine) offerNew(tx store.Tx, p *config.Project, t *store.Ticket, now time.Time, res *Result) error {
	return startOffer(tx, p, t, now, func(ev *Event) error {
		ev.Project, ev.Ticket = p, t
		n, err := e.notifyIn(tx, ev, now)
		res.Queued += n
		return err
	})
}

// follow runs what follows a stored mail (decide.Follow): status changes,
// announcements, sharing, commands and the answer to them.
func (e *Engine) follow(tx store.Tx, cfg *config.Config, p *config.Project, t *store.Ticket, m *Mail, msg *store.Message,
	o decide.Outcome, who decide.Who, f decide.Follows, pr *prepared, cmds []decide.Command, macroTold []string, added []string, res *Result, request *store.Message, accepted string) error {
	now, author := pr.now, who.Author
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
	var reopened *Event
	if f.Reopen {
		// The customers hear of the comment itself; the status change
		// that follows is for staff. A reopening waits: the staff's mail
		// about the comment can carry it (one mail, not two).
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
	already := append(append([]string(nil), m.To...), m.Cc...)
	if f.Announce {
		ev := &Event{Type: o.Event, Project: p, Ticket: t, Message: msg, Actor: author,
			Automatic: m.Verdict.Auto != "", Already: already, Added: added, Detail: msg.Held,
			Status: t.Status, StatusCustomerVisible: true}
		if st, ok := p.Status(t.Status); ok {
			ev.StatusCustomerVisible = st.Visible()
		}
		if request != nil && o.Event == EvRequestCreated {
			// A draft became this request: the agents read what it
			// asked, not the mail that completed it.
			ev.Message = request
		}
		if f.Relayed {
			r, err := relayComment(tx, cfg, p, t, msg, author, already, now)
			if err != nil {
				return err
			}
			ev.RelayLimited, ev.Relay = true, r.to
			if err := recordRelay(tx, t, msg, author, r, now, ev); err != nil {
				return err
			}
		}
		if reopened != nil && o.Event == EvCustomerCommentAdded && p.Notifications.Internal.CustomerCommentAdded.Applies(t.Status) {
			// The staff's mail about the comment carries the reopening;
			// webhooks still get it on its own (below).
			ev.Reopened, reopened.HooksOnly = true, true
		}
		if err := emit(ev); err != nil {
			return fmt.Errorf("ticket: notify %s: %w", o.Event, err)
		}
	}
	if reopened != nil {
		// The staff got no mail about the comment: tell them of the
		// reopening on its own (or only the webhooks, HooksOnly).
		if err := implied(emit)(reopened); err != nil {
			return fmt.Errorf("ticket: notify %s: %w", EvRequestReopened, err)
		}
	}
	if f.AnnounceAdded {
		for _, a := range added {
			if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvParticipantAdded, Actor: author, Message: msg.ID, Addresses: []string{a}}); err != nil {
				return err
			}
		}
		if err := emit(&Event{Type: EvParticipantAdded, Message: msg, Already: already, Added: added}); err != nil {
			return fmt.Errorf("ticket: notify %s: %w", EvParticipantAdded, err)
		}
	}
	if f.Share {
		// Shared with the reporter's organization unless kept private.
		org, err := tx.OrganizationOf(p.Key, author)
		if err != nil {
			return err
		}
		if org != nil {
			if err := share(tx, t, org, author, now, emit); err != nil {
				return err
			}
		}
	}
	run, told := decide.Commands(cmds, o.Held)
	told = append(append(append([]string(nil), o.Told...), macroTold...), told...)
	statusSet := false
	if len(run) > 0 {
		var err error
		told, statusSet, err = e.runCommands(tx, p, t, run, commandContext{
			author: author, agent: who.Agent, customerProven: who.Proven,
			created: res.Created, now: now, emit: emit, acceptedDraft: accepted, draftWas: pr.draftWas,
		}, told)
		if err != nil {
			return err
		}
	}
	// An agent's public answer leaves the ticket waiting for the customer.
	if f.Pending && !statusSet && !isDone(p, t.Status) {
		if err := setStatus(tx, p, t, firstOf(p, CatPending), author, now, implied(emit)); err != nil {
			return err
		}
	}
	if err := e.putTicket(tx, p, t, now); err != nil {
		return err
	}
	if len(told) > 0 {
		// One answer to whoever sent commands: what was done, what was
		// refused and why. Strangers get none (their mail is held).
		if f.Answer {
			ev := &Event{Type: EvCommandsAnswered, Recipients: []string{author}, Actor: "ticketgate",
				Detail: strings.Join(told, "\n"), InternalOnly: who.Staff, Message: msg,
				AttachKey: p.PGP != nil && decide.HasCommand(run, "key")}
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
