package decide

import (
	"strings"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// Sender is who wrote a mail, as its headers say.
type Sender struct {
	From     string
	MailFrom string
	ReplyTo  []string
}

// Reporter is the address a mail is from: From, else the envelope sender,
// lower-cased.
func (s Sender) Reporter() string {
	if s.From != "" {
		return strings.ToLower(s.From)
	}
	return strings.ToLower(s.MailFrom)
}

// AuthorOf is who wrote a mail: From, or Reply-To for a contact form
// listed in form_senders. relayed reports the latter: anyone can type any
// address into a form, so whatever proves From proves the form, never the
// person named in Reply-To.
func AuthorOf(p *config.Project, s Sender) (author string, relayed bool) {
	if p.IsFormSender(s.From) && len(s.ReplyTo) > 0 && s.ReplyTo[0] != "" {
		if a := strings.ToLower(s.ReplyTo[0]); a != s.Reporter() {
			return a, true
		}
	}
	return s.Reporter(), false
}

// MayPost reports whether from is the ticket's reporter, a participant
// or staff of p.
func MayPost(p *config.Project, t *store.Ticket, from string) bool {
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

// Who is who wrote a mail and what is known of them.
type Who struct {
	Author string
	// Staff: an agent's address (or a manager's); Agent: staff, and
	// proven.
	Staff, Agent bool
	// Member: may write into the ticket (reporter, participant, member of
	// the organization it is shared with, approver, staff, or the mail
	// opens the ticket).
	Member bool
	// Proven: the receiving MTA vouched for From, or the mail answers a
	// reply token we sent to this very address.
	Proven bool
	// Relayed: a form_senders form relayed the mail; the author is its
	// Reply-To, which nothing proves.
	Relayed bool
}

// WhoFacts are what Identify decides from.
type WhoFacts struct {
	Author  string
	Relayed bool
	// From is the mail's From, lower-cased.
	From string
	// Staff: Author is staff of the project.
	Staff bool
	// SenderProven: the receiving MTA vouched for From (or trust_from).
	SenderProven bool
	// Threading is how the mail was threaded.
	Threading Threading
	// Created: the mail opens its ticket.
	Created bool
	// MayPost: Author is the ticket's reporter, a participant or staff;
	// OrgMember: a member of the organization it is shared with;
	// Approver: an approver of the status the ticket waits in.
	MayPost, OrgMember, Approver bool
	// KeySigned: the mail carries a good OpenPGP signature by From's
	// verified key (issue 19): it proves From like their reply token —
	// customer rights, never an agent's (Agent needs SenderProven).
	KeySigned bool
	// Fallback: the mail had no usable From and Author comes from
	// Reply-To, Sender or the envelope (FallbackFrom): never proven, never
	// staff.
	Fallback bool
}

// Identify decides who wrote a mail and with what proof.
func Identify(f WhoFacts) Who {
	if f.Fallback {
		f.Staff, f.SenderProven, f.Threading.TokenFor = false, false, ""
	}
	staff := !f.Relayed && f.Staff
	w := Who{Author: f.Author, Staff: staff, Agent: staff && f.SenderProven, Relayed: f.Relayed,
		// A reply token proves its recipient only as the mail's From (not
		// a Reply-To a form or anyone else may set).
		Proven: !f.Relayed && (f.SenderProven || (f.Threading.Rule == ByReplyToken && f.Threading.TokenFor != "" &&
			f.Threading.TokenFor == f.Author && f.Threading.TokenFor == f.From) ||
			(f.KeySigned && f.Author == f.From)),
	}
	w.Member = f.Approver || f.Created || f.MayPost || f.OrgMember
	return w
}
