package notify

import (
	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// NotifyDraft implements ticket.DraftNotifier (issue 17): it queues one mail to a
// draft's sender saying what is missing (template customer/draft_needs_key
// or customer/draft_unknown_sender) and that replying with it is enough.
// It is an auto-reply like the request-created mail: Auto-Submitted,
// counted against the automatic-mail limits, never to a suppressed
// address. A draft has no ticket: the row names none, so deliveries and
// bounces are recorded nowhere, and it carries no reply token or link
// (the reply is recognised by its sender). It returns what it queued,
// nil when the mail was held back.
func (n *Notifier) NotifyDraft(tx store.Tx, p *config.Project, d *store.Draft, template string) (*store.DraftTold, error) {
	now := n.now().UTC()
	rcpt := d.Sender
	if rcpt == "" || n.cfg().IsOwnAddress(rcpt) {
		return nil, nil
	}
	// The limits are counted as for any auto-reply (hold needs an event
	// and a ticket: a stand-in named like the draft).
	stand := &store.Ticket{Key: d.Key, Project: p.Key, Subject: d.Subject, Reporter: rcpt}
	// A draft has no history: what hold would record is logged only.
	ev := &ticket.Event{Type: store.EvDraftMailed, Project: p, Ticket: stand,
		Record: func(*store.Event) error { return nil }}
	if h, err := n.hold(tx, ev, Planned{Audience: Customer, Template: template, Recipient: rcpt}); err != nil || h {
		return nil, err
	}
	msgID := ticket.MessageIDPrefix + "d." + NewToken() + "@" + p.Domain()
	lang := p.Language
	item := &store.OutboxItem{
		Project: p.Key, Kind: store.EvDraftMailed, Event: template, Language: lang,
		Recipient: rcpt, RecipientName: d.SenderName,
		MailFrom:  p.BounceAddress(NewToken()),
		MessageID: msgID, Date: now,
		Vars: store.OutboxVars{ProjectKey: p.Key, ProjectName: p.Name, ProjectAddress: p.Address, TicketSubject: d.Subject,
			Reporter: rcpt, Draft: d.Key},
		Header: store.OutboxHeader{
			FromName: p.Name, From: p.Address, ReplyTo: p.Address, ReplyToName: p.Name,
			Subject: "[" + d.Key + "] " + d.Subject, AutoSubmitted: autoReplied, Loop: p.Address,
		},
		Automatic: true, Created: now, NextAttempt: now,
	}
	if len(d.Mails) > 0 {
		if id := d.Mails[len(d.Mails)-1].MessageID; id != "" {
			item.InReplyTo, item.References = []string{id}, []string{id}
		}
	}
	if err := tx.Enqueue(item); err != nil {
		return nil, err
	}
	return &store.DraftTold{Template: template, MessageID: msgID, OutboxID: item.ID, Time: now}, nil
}
