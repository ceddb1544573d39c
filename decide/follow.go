package decide

import (
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// StartsAnew reports whether a person's mail threaded into a closed (or
// cancelled) ticket opens a new ticket that follows it: a customer's, to
// the public address, past the reopen window since the ticket closed.
func StartsAnew(p *config.Project, t *store.Ticket, person, staff, toInternal bool, now time.Time) bool {
	if !person || staff || toInternal || t.Closed.IsZero() {
		return false
	}
	st, ok := p.Status(t.Status)
	if !ok || (st.Category != config.CatClosed && st.Category != config.CatCancelled) {
		return false
	}
	return now.Sub(t.Closed) > time.Duration(p.ReopenWindowDays())*24*time.Hour
}

// Join is how the people a mail was addressed to (To/Cc) join its ticket.
type Join int

const (
	// JoinNone: nobody joins.
	JoinNone Join = iota
	// JoinAdd: they become participants.
	JoinAdd
	// JoinPending: they wait for an agent to admit them.
	JoinPending
)

// Participation decides whether the people a person's mail Cc'd join its
// ticket: on a request, or from a proven sender (anyone can type a ticket
// number into a subject); otherwise they wait for an agent. Nobody joins
// through held or automatic mail, or an internal note.
func Participation(person bool, o Outcome, w Who, created bool) Join {
	if !person || o.Held != "" || (o.Internal && o.Kind != "command") {
		return JoinNone
	}
	if (created || w.Proven) && !o.Unverified || w.Agent {
		return JoinAdd
	}
	return JoinPending
}

// Candidates lists the addresses of addrs (a mail's To then Cc) that would
// join t: not yet on it, not ours, not staff, at most
// inbound.max_cc_participants, and no more than inbound.max_participants
// on the ticket (over: the rest).
func Candidates(cfg *config.Config, p *config.Project, t *store.Ticket, addrs []string) (out, over []string) {
	max := min(cfg.Inbound.MaxCcParticipants, cfg.Inbound.MaxParticipants-len(t.Participants))
	seen := map[string]bool{t.Reporter: true}
	for _, pa := range t.Participants {
		seen[pa.Address] = true
	}
	for _, a := range addrs {
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

// Follows are the changes and events that follow a stored mail, in the
// order they happen.
type Follows struct {
	// Silent: nothing is announced or sent (a loop, a quiet mail).
	Silent bool
	// Reopen: a customer writing into a ticket that waits for them, or
	// that was resolved or closed, moves it to the first open status (an
	// event for staff only).
	Reopen bool
	// Announce: the mail's own event (Outcome.Event) is announced;
	// Relayed: to the customers the relay rules allow only.
	Announce, Relayed bool
	// AnnounceAdded: the participants who joined are announced (on a
	// later mail; a request announces them with itself).
	AnnounceAdded bool
	// Share: a new request is shared with the reporter's organization.
	Share bool
	// Pending: an agent's public answer leaves the ticket waiting for the
	// customer, unless a command set the status or the work is done.
	Pending bool
	// Answer: the sender may be told what their commands did, or why
	// their mail was held (a member or an agent: strangers get no answer,
	// their mail is held).
	Answer bool
}

// FollowFacts are what Follow decides from.
type FollowFacts struct {
	Verdict Verdict
	Outcome Outcome
	Who     Who
	Created bool
	// Status is the ticket's status before the mail.
	Status config.StatusDef
	// Added counts the participants who joined.
	Added int
	// Private: the new request is kept from the reporter's organization.
	Private bool
}

// Follow decides what follows a stored mail.
func Follow(f FollowFacts) Follows {
	person := f.Verdict.Person()
	if f.Verdict.Loop != "" || f.Verdict.Quiet {
		return Follows{Silent: true}
	}
	var out Follows
	if !f.Created && person && !f.Who.Staff && !f.Outcome.Internal && f.Status.Approval == nil {
		switch f.Status.Category {
		case config.CatPending, config.CatResolved, config.CatClosed:
			out.Reopen = true
		}
	}
	out.Announce = f.Outcome.Event != NoEvent
	out.Relayed = out.Announce && f.Outcome.Event == store.EvCustomerCommentAdded && person && !f.Outcome.Internal
	out.AnnounceAdded = f.Added > 0 && !f.Created
	out.Share = f.Created && !f.Private && person && !f.Outcome.Internal
	out.Pending = f.Outcome.Public
	out.Answer = f.Who.Member || f.Who.Agent
	return out
}
