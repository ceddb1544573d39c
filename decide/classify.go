package decide

import (
	"strings"

	"github.com/ticketgate/ticketgate/quote"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/templates"
)

// StripQuotes keeps what an agent wrote: quoted history and signatures go
// (the raw mail keeps them).
func StripQuotes(text string) string {
	return strings.TrimSpace(quote.Strip(text, templates.AllReplyMarkers()))
}

// HasMarker reports whether text still has our "reply above this line"
// marker, below which everything was cut.
func HasMarker(text string) bool {
	for _, mk := range templates.AllReplyMarkers() {
		if mk != "" && strings.Contains(text, mk) {
			return true
		}
	}
	return false
}

// MinNoteLine is the shortest line of an internal note that counts as its
// text when found in a reply (shorter ones are greetings and the like).
const MinNoteLine = 24

// normLines lower-cases the lines of text, without quote marks and with
// runs of white space made one space.
func normLines(text string) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		l = strings.TrimLeft(strings.TrimSpace(l), "> ")
		l = strings.ToLower(strings.Join(strings.Fields(l), " "))
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// QuotesNote reports whether text contains a line (of at least
// MinNoteLine characters) of one of the internal notes among msgs.
func QuotesNote(msgs []*store.Message, text string) bool {
	reply := strings.Join(normLines(text), "\n")
	for _, m := range msgs {
		if !m.Internal || (m.Kind != "note" && m.Kind != "command") {
			continue
		}
		for _, l := range normLines(m.Text) {
			if len([]rune(l)) >= MinNoteLine && strings.Contains(reply, l) {
				return true
			}
		}
	}
	return false
}

// Mail is what Classify needs to know of a mail.
type Mail struct {
	Verdict Verdict
	// ToInternal: addressed to the project's internal address.
	ToInternal bool
	// Text is the mail's text without its command lines; Stripped is
	// StripQuotes(Text) (needed for staff's mail and internal notes).
	Text, Stripped string
	// Commands are the mail's command lines.
	Commands []Command
	// FromNameAddress: From's display name is another address (meant to
	// mislead).
	FromNameAddress bool
	// QuotesNote: the stripped text contains an internal note of the
	// ticket and the mail has no "reply above this line" marker (only
	// looked at for a proven agent's mail).
	QuotesNote bool
}

// Outcome is what a mail becomes on its ticket.
type Outcome struct {
	// Kind is the message's kind: request, comment, note, command, auto,
	// loop.
	Kind     string
	Internal bool
	// Unverified marks mail whose sender nothing proves.
	Unverified bool
	// Held says why the mail reaches nobody but the agents ("" if not).
	Held string
	// Text is the text stored.
	Text string
	// Event is the event that announces it; NoEvent for none.
	Event store.EventKind
	// Public: an agent's public answer (the ticket then waits for the
	// customer).
	Public bool
	// Told is what the sender must be told.
	Told []string
}

// NoEvent is "announce nothing" (a mail of commands only).
const NoEvent = store.EventKind(0)

// Classify decides what m, written by w, is on the ticket key — a
// request, a comment, an agent's public answer, an internal note, held
// mail; created: m opens the ticket.
func Classify(m Mail, w Who, key string, created bool) Outcome {
	o := Outcome{Kind: "comment", Text: m.Text, Event: store.EvCustomerCommentAdded}
	v := m.Verdict
	switch {
	case v.Loop != "":
		o.Kind, o.Internal, o.Event = "loop", true, store.EvAutomaticRecorded
	case v.Auto != "":
		o.Kind, o.Event = "auto", store.EvAutomaticRecorded
		if v.TellStaff() {
			o.Event = store.EvCustomerCommentAdded
		}
		if created {
			o.Kind = "request"
			if v.TellStaff() {
				o.Event = store.EvRequestCreated
			}
		}
	case m.ToInternal && !w.Agent:
		o.Kind, o.Internal, o.Event = "note", true, store.EvInternalNoteAdded
		o.Held = w.Author + " wrote to the internal address but is not a verified agent"
		o.Unverified = true
	case m.ToInternal || (w.Agent && HasCommand(m.Commands, "internal")):
		o.Kind, o.Internal, o.Event = "note", true, store.EvInternalNoteAdded
		o.Text = m.Stripped
	case created:
		o.Kind, o.Event = "request", store.EvRequestCreated
	case w.Staff && !w.Agent:
		o.Kind, o.Internal, o.Event = "note", true, store.EvInternalNoteAdded
		o.Held = "sender not verified: mail from an agent's address without proof (Authentication-Results) that the agent sent it"
		o.Unverified = true
		// The agent hears of it: their answer did not reach anyone.
		o.Told = append(o.Told, "Your mail was NOT sent to the customers: nothing proved that you sent it (no Authentication-Results "+
			"of a trusted server with dmarc=pass or aligned dkim=pass). It is kept on "+key+" as an internal note marked \"sender not verified\".")
	case w.Agent:
		o.Text = m.Stripped
		switch {
		case strings.TrimSpace(o.Text) == "" && len(m.Commands) > 0:
			// Commands only: nothing to tell the customers.
			o.Kind, o.Internal, o.Event = "command", true, NoEvent
		case m.QuotesNote:
			// The heuristics kept text of an internal note: it must not
			// reach customers by their miss.
			o.Kind, o.Internal, o.Event = "note", true, store.EvInternalNoteAdded
			o.Held = "held as an internal note: the reply contains the text of an internal note and no \"reply above this line\" marker"
			o.Told = append(o.Told, "Your reply was NOT sent to the customers: it contains the text of an internal note of "+key+
				" and no \"reply above this line\" marker. It is kept as an internal note; to answer the customers, write again without the quoted note.")
		default:
			o.Kind, o.Event, o.Public = "comment", store.EvAgentCommentAdded, true
		}
	case !w.Member:
		o.Kind, o.Internal, o.Event = "note", true, store.EvInternalNoteAdded
		o.Held = "held: " + w.Author + " is not the reporter, a participant or an agent of " + key + "; an agent may admit them with #participant add " + w.Author
		o.Unverified = !w.Proven
	default:
		// Without proof, anyone who saw a ticket number or a Message-ID of
		// the thread could have written it: it is marked, and held from the
		// other customers until an agent has seen it.
		o.Unverified = !w.Proven || w.Relayed || m.FromNameAddress
		if strings.TrimSpace(m.Text) == "" && len(m.Commands) > 0 {
			// Commands only: no comment for anyone to read.
			o.Kind, o.Internal, o.Event = "command", true, NoEvent
		}
	}
	return o
}
