package ticket

import (
	"strings"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/store"
)

// A proven agent's mail on a customer's behalf (issue 20): prepare finds
// the forwarded mail or the "#requester" command and asks
// decide.OnBehalf; commit stores the customer's request as theirs (the
// ordinary path, with the customer as author) and then the agent's part
// here: their own text as an internal note, their other commands run
// with their rights.

// prepareBehalf looks at a staff member's new mail: when it is proven and
// carries a forwarded mail or "#requester", pr.behalf says what it does.
// A forwarded mail whose Message-ID is already stored threads there.
func (e *Engine) prepareBehalf(tx store.Tx, pr *prepared, p *config.Project, m *Mail) error {
	if !m.SenderProven || m.FromFallback != "" || m.ToInternal || pr.relayed {
		return nil
	}
	fw := m.Forward
	if fw != nil {
		c := *fw
		c.Note = strings.TrimSpace(pr.text) // the agent's text, without command lines
		fw = &c
	} else {
		fw = decide.FindForward(pr.text)
	}
	req, found, _ := decide.Requester(pr.cmds)
	if fw == nil && !found {
		return nil
	}
	known := ""
	if fw != nil && fw.MessageID != "" {
		var err error
		if known, err = pr.reads.ref(tx, fw.MessageID); err != nil {
			return err
		}
	}
	pr.behalf = decide.OnBehalf(p, e.cfg().IsOwnAddress, decide.BehalfFacts{
		Agent: true, Forward: fw, Requester: req, Text: strings.TrimSpace(pr.text), Known: known,
	})
	if pr.behalf.Kind == decide.BehalfThread {
		pr.th = decide.Threading{Key: pr.behalf.Ticket, Rule: ByReferences}
		pr.stripped = pr.behalf.Note
	}
	return nil
}

// toInternal reports whether m is stored as an internal note: sent to the
// internal address, or an agent's text about a forwarded mail the ticket
// already holds.
func (pr *prepared) toInternal(m *Mail) bool {
	return m.ToInternal || pr.behalf.Kind == decide.BehalfThread
}

// commitBehalf adds the agent's part to the ticket just opened for a
// customer: the agent's own text as an internal note, and the agent's
// commands (all but #requester) run with the agent's rights and answered.
func (e *Engine) commitBehalf(tx store.Tx, p *config.Project, t *store.Ticket, m *Mail, pr *prepared, res *Result) error {
	agent, now := pr.author, pr.now
	emit := func(ev *Event) error {
		if ev.Project == nil {
			ev.Project, ev.Ticket = p, t
		}
		if ev.Actor == "" {
			ev.Actor = agent
		}
		n, err := e.notifyIn(tx, ev, now)
		res.Queued += n
		return err
	}
	if note := strings.TrimSpace(pr.behalf.Note); note != "" {
		msg := &store.Message{Ticket: t.Key, Project: p.Key, Direction: "in", Kind: "note", Internal: true,
			Source: m.Source, MailFrom: m.MailFrom, From: agent, FromName: m.FromName, Subject: m.Subject,
			Received: now, Text: note, ThreadedBy: ByNew}
		if err := tx.AddMessage(msg); err != nil {
			return err
		}
		t.Messages++
		if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvInternalNoteAdded, Actor: agent, Message: msg.ID}); err != nil {
			return err
		}
		if err := emit(&Event{Type: EvInternalNoteAdded, Message: msg}); err != nil {
			return err
		}
	}
	var cmds []decide.Command
	for _, c := range pr.cmds {
		if c.Name != "requester" {
			cmds = append(cmds, c)
		}
	}
	if len(cmds) > 0 {
		told, _, err := e.runCommands(tx, p, t, cmds, commandContext{author: agent, agent: true, customerProven: true, created: true, now: now, emit: emit}, nil)
		if err != nil {
			return err
		}
		if len(told) > 0 {
			if err := emit(&Event{Type: EvCommandsAnswered, Recipients: []string{agent}, Actor: "ticketgate",
				Detail: strings.Join(told, "\n"), InternalOnly: true}); err != nil {
				return err
			}
			if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvCommandsAnswered, Actor: agent, Lines: told}); err != nil {
				return err
			}
		}
	}
	return e.putTicket(tx, p, t, now)
}
