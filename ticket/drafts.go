package ticket

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/store"
)

// Issue 17: who may open a ticket. Mail that would open a ticket of a
// project with open_to known or key, from a sender not entitled, is kept
// as a draft (its own number space, ACME-D17): nobody is notified, the
// sender is told once what is missing. A later mail of the sender with a
// valid key, an agent's #accept or `ticketgate accept` turns it into a
// request, with the normal notifications then.

// ByDraft is the threading rule of an agent's #accept mail: it went to
// the ticket the draft became.
const ByDraft = "draft"

// draftMailWindow: one draft mail per sender and project per day.
const draftMailWindow = 24 * time.Hour

// DraftNotifier queues the mail that tells a draft's sender what is
// missing (notify.Notifier implements it).
type DraftNotifier interface {
	// NotifyDraft queues the mail and returns it (nil: held back).
	NotifyDraft(tx store.Tx, p *config.Project, d *store.Draft, template string) (*store.DraftTold, error)
}

// redactMail finds the support keys in m (an X-Support-Key header, the
// subject, the text) and returns a copy with every key redacted: from
// here on nothing but the key check sees one whole.
func redactMail(p *config.Project, m *Mail) *Mail {
	re := p.KeyPattern()
	if re == nil {
		return m
	}
	c := *m
	c.keys = decide.FindKeys(re, m.SupportKey, m.Subject, m.Text, m.HTML)
	c.SupportKey = decide.Redact(re, m.SupportKey)
	c.Subject = decide.Redact(re, m.Subject)
	c.Text = decide.Redact(re, m.Text)
	c.HTML = decide.Redact(re, m.HTML)
	c.FromName = decide.Redact(re, m.FromName)
	// A file named after its key is listed on every page.
	c.Attach = redactFiles(re, m.Attach)
	if m.Forward != nil {
		// An agent's forward of a customer's mail becomes the customer's
		// request: its text is stored too.
		fw := *m.Forward
		fw.Name, fw.Subject = decide.Redact(re, fw.Name), decide.Redact(re, fw.Subject)
		fw.Text, fw.Note = decide.Redact(re, fw.Text), decide.Redact(re, fw.Note)
		fw.Attach = redactFiles(re, fw.Attach)
		c.Forward = &fw
	}
	return &c
}

// redactFiles is files with the keys in their names redacted (nil stays
// nil: for a forward it means "the mail's own files").
func redactFiles(re *regexp.Regexp, files []store.Attachment) []store.Attachment {
	if files == nil {
		return nil
	}
	out := make([]store.Attachment, len(files))
	for i, a := range files {
		a.Filename = decide.Redact(re, a.Filename)
		out[i] = a
	}
	return out
}

// admitFacts works out, for a mail that would open a ticket, whether it
// may (decide.Admit) and the sender's open draft, recording the reads.
func (e *Engine) admitFacts(tx store.Tx, pr *prepared, p *config.Project, m *Mail, staff bool) error {
	mode := p.OpenToMode()
	if mode == config.OpenToAnyone {
		return nil
	}
	pr.keyState, pr.key = decide.BestKey(p.SupportKeyList(), m.keys, pr.author, pr.now)
	known := false
	if mode == config.OpenToKnown && !staff && pr.keyState != decide.KeyValid {
		var err error
		if known, err = knownSender(tx, p, pr.author); err != nil {
			return err
		}
	}
	pr.admit = decide.Admit(decide.AdmitFacts{OpenTo: mode, Staff: staff, Known: known, Key: pr.keyState})
	d, err := pr.reads.draftOf(tx, pr.author)
	pr.senderDraft = d
	return err
}

// knownSender reports whether addr is a known customer of p: listed in
// known_customers, a member of one of p's organizations, or the reporter
// or a participant of an earlier ticket — one seek in the store's
// customers index, which PutTicket keeps in the ticket's transaction.
func knownSender(tx store.Tx, p *config.Project, addr string) (bool, error) {
	if p.IsKnownCustomer(addr) {
		return true, nil
	}
	org, err := tx.OrganizationOf(p.Key, addr)
	if err != nil || org != nil {
		return org != nil, err
	}
	return tx.IsCustomer(p.Key, addr)
}

// draftOf reads sender's open draft and records it.
func (r *readSet) draftOf(tx store.Tx, sender string) (*store.Draft, error) {
	d, err := tx.DraftOf(r.project, sender)
	if err != nil {
		return nil, err
	}
	remember(&r.drafts, sender, d)
	return d, nil
}

// draft reads a draft by key and records it.
func (r *readSet) draft(tx store.Tx, key string) (*store.Draft, error) {
	d, err := tx.Draft(key)
	if err != nil && !notFound(err) {
		return nil, err
	}
	remember(&r.draftKeys, key, d)
	return d, nil
}

// acceptedAs reads the ticket draft key became and records it.
func (r *readSet) acceptedAs(tx store.Tx, key string) (string, error) {
	t, err := tx.DraftAcceptedAs(key)
	if err != nil {
		return "", err
	}
	remember(&r.accepted, key, t)
	return t, nil
}

// acceptedDraftThread threads a mail that names a draft ([ACME-D17])
// accepted meanwhile into the ticket it became, when its author may post
// there (the draft's sender is its reporter; agents may): the loser of a
// race between two acceptances — an agent's #accept, the customer's key
// reply, `ticketgate accept` — never opens a ticket of its own.
func (pr *prepared) acceptedDraftThread(tx store.Tx, p *config.Project, m *Mail) error {
	key := decide.DraftToken(p.Key, m.Subject)
	if key == "" {
		return nil
	}
	as, err := pr.reads.acceptedAs(tx, key)
	if err != nil || as == "" {
		return err
	}
	t, err := pr.reads.ticket(tx, as)
	if notFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	member, err := pr.reads.orgMember(tx, t, pr.author)
	if err != nil {
		return err
	}
	if decide.MayPost(p, t, pr.author) || member {
		pr.th, pr.draftWas = decide.Threading{Key: as, Rule: ByDraft}, key
	}
	return nil
}

// validateDrafts returns errStale when a draft read changed.
func (r *readSet) validateDrafts(tx store.Tx) error {
	for key, was := range r.accepted {
		now, err := tx.DraftAcceptedAs(key)
		if err != nil {
			return err
		}
		if now != was {
			return fmt.Errorf("draft %s accepted: %w", key, errStale)
		}
	}
	for sender, was := range r.drafts {
		now, err := tx.DraftOf(r.project, sender)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(was, now) {
			return fmt.Errorf("draft of %s: %w", sender, errStale)
		}
	}
	for key, was := range r.draftKeys {
		now, err := tx.Draft(key)
		if err != nil && !notFound(err) {
			return err
		}
		if !reflect.DeepEqual(was, now) {
			return fmt.Errorf("draft %s: %w", key, errStale)
		}
	}
	return nil
}

// draftMessage is m as a draft keeps it (and as it is stored on the
// ticket the draft becomes).
func draftMessage(p *config.Project, m *Mail, author string, now time.Time) store.Message {
	return store.Message{
		Project: p.Key, Direction: "in", Kind: "request", Source: m.Source, MailFrom: m.MailFrom, From: m.From, FromName: m.FromName,
		To: m.To, Cc: m.Cc, Subject: m.Subject, MessageID: m.MessageID, InReplyTo: m.InReplyTo, References: m.References,
		Date: m.Date, Received: now, Text: m.Text, HTML: m.HTML, TextCut: m.TextCut, Attach: m.Attach, Raw: m.Raw, RawSize: m.RawSize,
		ThreadedBy: ByDraft, Auto: m.Verdict.Recorded(), Problems: m.Problems, Unverified: !m.SenderProven || author != strings.ToLower(m.From),
	}
}

// commitDraft keeps m on its sender's draft (a new one, or the open one)
// and tells the sender what is missing when decide.TellDraft says so.
func (e *Engine) commitDraft(tx store.Tx, p *config.Project, m *Mail, pr *prepared, res *Result) error {
	now, author := pr.now, pr.author
	d, err := tx.DraftOf(p.Key, author)
	if err != nil {
		return err
	}
	if d != nil {
		for _, dm := range d.Mails {
			if dm.MessageID == m.MessageID && dm.Raw == m.Raw {
				// The same mail again (an MTA's retry): already kept.
				res.Duplicate, res.Draft = true, d.Key
				return nil
			}
		}
	} else {
		n, err := tx.NextDraftNumber(p.Key)
		if err != nil {
			return err
		}
		d = &store.Draft{Key: store.DraftKey(p.Key, n), Project: p.Key, Number: n, Sender: author, SenderName: m.FromName,
			Subject: decide.CleanSubject(m.Subject), Subaddress: m.Subaddress, Created: now,
			Expires: now.Add(time.Duration(p.DraftExpireDays()) * 24 * time.Hour)}
		if author != strings.ToLower(m.From) {
			d.SenderName = ""
		}
	}
	d.Missing = pr.admit.Missing
	dm := draftMessage(p, m, author, now)
	if len(d.Mails) > 0 {
		dm.Kind = "comment"
	}
	d.Mails = append(d.Mails, dm)
	res.Draft = d.Key
	rateKey := "draft|" + p.Key + "|" + author
	sent, err := tx.RateCount(rateKey, draftMailWindow, now)
	if err != nil {
		return err
	}
	dn, ok := e.notify.(DraftNotifier)
	if ok && decide.TellDraft(m.Verdict, sent >= 1) {
		told, err := dn.NotifyDraft(tx, p, d, decide.DraftTemplate(d.Missing))
		if err != nil {
			return fmt.Errorf("ticket: draft mail for %s: %w", d.Key, err)
		}
		if told != nil {
			res.Queued++
			d.Told = append(d.Told, *told)
			if err := tx.RateAdd(rateKey, draftMailWindow, now); err != nil {
				return err
			}
		}
	}
	if err := tx.PutDraft(d); err != nil {
		return err
	}
	key, state := d.Key, pr.keyState
	tx.AfterCommit(func() {
		e.log.Info("kept as a draft", "msgid", m.MessageID, "project", p.Key, "draft", key, "missing", d.Missing, "key", state.String(), "told", res.Queued > 0)
	})
	return nil
}

// absorbDraft moves draft d's mails onto the new ticket t (before the
// mail that completed it) and removes the draft; it returns the first
// of them, the request the agents hear of.
func absorbDraft(tx store.Tx, p *config.Project, t *store.Ticket, d *store.Draft, actor, why string, now time.Time) (*store.Message, error) {
	var first *store.Message
	for i := range d.Mails {
		msg := d.Mails[i]
		msg.Ticket, msg.ID = t.Key, 0
		if err := tx.AddMessage(&msg); err != nil {
			return nil, err
		}
		if msg.MessageID != "" {
			if err := tx.IndexMessageID(p.Key, msg.MessageID, msg.Raw, store.MessageRef{Ticket: t.Key, Message: msg.ID}); err != nil {
				return nil, err
			}
		}
		t.Messages++
		if first == nil {
			first = &msg
		}
	}
	for _, told := range d.Told {
		if err := record(tx, &store.Event{Ticket: t.Key, Time: told.Time, Kind: store.EvQueued, Recipient: d.Sender, Template: told.Template,
			MessageID: told.MessageID, OutboxID: told.OutboxID}); err != nil {
			return nil, err
		}
	}
	if err := tx.DeleteDraft(d.Key); err != nil {
		return nil, err
	}
	// A later acceptance of the same draft (an agent's #accept, `ticketgate
	// accept`, the customer's key reply racing this one) finds the ticket.
	if err := tx.MarkDraftAccepted(d.Key, t.Key); err != nil {
		return nil, err
	}
	if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvDraftAccepted, Actor: actor, Other: d.Key, Reason: why}); err != nil {
		return nil, err
	}
	return first, nil
}

// newTicketFor builds a new ticket of p for a draft's sender (not
// stored).
func newTicketFor(tx store.Tx, p *config.Project, d *store.Draft, now time.Time) (*store.Ticket, error) {
	n, err := tx.NextTicketNumber(p.Key)
	if err != nil {
		return nil, err
	}
	t := &store.Ticket{Key: store.TicketKey(p.Key, n), Project: p.Key, Number: n, Subject: d.Subject, Status: firstOf(p, CatNew),
		Reporter: d.Sender, ReporterName: d.SenderName, Language: p.Language, Created: now, Updated: now, Private: p.PrivateByDefault}
	t.Type, _ = decide.RequestType(p, decide.TypeFacts{Subaddress: d.Subaddress, Subject: d.Subject})
	t.Priority = decide.TypePriority(p, t.Type)
	return t, nil
}

// acceptDraft turns d into a request as actor: a new ticket holding its
// mails, the request-created notifications (the customer's auto-reply,
// the agents' mail), sharing as for any new request.
func (e *Engine) acceptDraft(tx store.Tx, p *config.Project, d *store.Draft, actor, why string, now time.Time) (*store.Ticket, int, error) {
	t, err := newTicketFor(tx, p, d, now)
	if err != nil {
		return nil, 0, err
	}
	first, err := absorbDraft(tx, p, t, d, actor, why, now)
	if err != nil {
		return nil, 0, err
	}
	if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvRequestCreated, Actor: d.Sender, Message: first.ID, Rule: ByDraft}); err != nil {
		return nil, 0, err
	}
	queued := 0
	emit := func(ev *Event) error {
		// The agent who accepted it needs no mail about it.
		ev.Project, ev.Ticket, ev.Actor = p, t, actor
		n, err := e.notifyIn(tx, ev, now)
		queued += n
		return err
	}
	st, _ := p.Status(t.Status)
	if err := emit(&Event{Type: EvRequestCreated, Message: first, Status: t.Status, StatusCustomerVisible: st.Visible()}); err != nil {
		return nil, 0, fmt.Errorf("ticket: notify %s: %w", EvRequestCreated, err)
	}
	if !t.Private {
		org, err := tx.OrganizationOf(p.Key, t.Reporter)
		if err != nil {
			return nil, 0, err
		}
		if org != nil {
			if err := share(tx, t, org, actor, now, emit); err != nil {
				return nil, 0, err
			}
		}
	}
	return t, queued, tx.PutTicket(t)
}

// AcceptDraft turns a draft into a request as agent actor (`ticketgate
// accept`). It returns the new ticket's key and how many mails were
// queued.
func (e *Engine) AcceptDraft(ctx context.Context, key, actor string) (string, int, error) {
	actor = strings.ToLower(actor)
	var tkey string
	queued := 0
	err := e.store.Update(ctx, func(tx store.Tx) error {
		d, err := tx.Draft(strings.ToUpper(key))
		if notFound(err) {
			// Accepted meanwhile (another agent, the customer's key):
			// acceptance happens once; say what it became.
			as, aerr := tx.DraftAcceptedAs(strings.ToUpper(key))
			if aerr != nil {
				return aerr
			}
			if as != "" {
				return refused("%s was already accepted as %s", strings.ToUpper(key), as)
			}
		}
		if err != nil {
			return err
		}
		p := e.cfg().Project(d.Project)
		if p == nil {
			return refused("project %s is not configured any more", d.Project)
		}
		if !p.IsStaff(actor) {
			return refused("%s is not an agent or admin of %s", actor, p.Key)
		}
		t, n, err := e.acceptDraft(tx, p, d, actor, "accepted by "+actor, e.now().UTC())
		if err != nil {
			return err
		}
		tkey, queued = t.Key, n
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	if queued > 0 && e.Queued != nil {
		e.Queued()
	}
	e.log.Info("draft accepted", "draft", strings.ToUpper(key), "ticket", tkey, "agent", actor, "queued", queued)
	return tkey, queued, nil
}

// ExpireDrafts removes, silently, the drafts whose expire_days have
// passed; it returns how many. The daemon runs it on one node (the
// timers' node lock), like auto-close.
func (e *Engine) ExpireDrafts(ctx context.Context) (int, error) {
	now := e.now().UTC()
	var due []string
	err := e.store.View(func(tx store.Tx) error {
		all, err := tx.Drafts("")
		for _, d := range all {
			if !now.Before(d.Expires) {
				due = append(due, d.Key)
			}
		}
		return err
	})
	if err != nil || len(due) == 0 {
		return 0, err
	}
	removed := 0
	err = e.store.Update(ctx, func(tx store.Tx) error {
		removed = 0
		for _, key := range due {
			d, err := tx.Draft(key)
			if errors.Is(err, store.ErrNotFound) {
				continue // accepted meanwhile
			}
			if err != nil {
				return err
			}
			if now.Before(d.Expires) {
				continue
			}
			if err := tx.DeleteDraft(key); err != nil {
				return err
			}
			removed++
		}
		return nil
	})
	if err == nil && removed > 0 {
		e.log.Info("drafts expired", "count", removed)
	}
	return removed, err
}

// CheckKey answers `ticketgate keys check`: the key's state for sender
// (any sender when "") in project, with the file entry it matched.
func (e *Engine) CheckKey(project, key, sender string) (decide.KeyState, *config.SupportKey, error) {
	p := e.cfg().Project(strings.ToUpper(project))
	if p == nil {
		return decide.KeyNone, nil, refused("no project %q", project)
	}
	if p.KeyPattern() == nil {
		return decide.KeyNone, nil, refused("%s has no support_keys.pattern", p.Key)
	}
	if p.KeyPattern().FindString(key) != key {
		return decide.KeyNone, nil, nil
	}
	keys := p.SupportKeyList()
	if sender == "" {
		// No sender named: whether the key is valid for the one it is
		// bound to (the answer shows the binding).
		keys = make([]config.SupportKey, len(p.SupportKeyList()))
		copy(keys, p.SupportKeyList())
		for i := range keys {
			keys[i].Bound = ""
		}
	}
	st, entry := decide.CheckKey(keys, key, sender, e.now().UTC())
	if entry != nil {
		// The file's own entry, binding included.
		for i := range p.SupportKeyList() {
			if k := &p.SupportKeyList()[i]; k.Key == entry.Key && k.Expires.Equal(entry.Expires) {
				entry = k
				break
			}
		}
	}
	return st, entry, nil
}
