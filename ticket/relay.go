package ticket

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// A customer's comment is a person's mail sent on by us from the support
// domain, so it is the one thing a stranger could use the gateway to send
// to people of their choosing. These rules decide who gets it.

// confirmedByAgent reports whether an agent added or confirmed pa.
// Participants stored before ByAgent existed carry it only in Via, which
// this package wrote.
func confirmedByAgent(pa store.Participant) bool {
	return pa.ByAgent || strings.HasPrefix(pa.Via, "agent ") || strings.HasPrefix(pa.Via, "invited by ")
}

// roomFor refuses a participant beyond inbound.max_participants.
func roomFor(cfg *config.Config, t *store.Ticket) error {
	if max := cfg.Inbound.MaxParticipants; len(t.Participants) >= max {
		return refused("%s already has %d participants, the most inbound.max_participants allows", t.Key, max)
	}
	return nil
}

// relay is who gets a customer's comment by mail.
type relay struct {
	// to get a copy.
	to []string
	// held would have got one, but the copies are held: why says why.
	held []string
	why  string
	// unrelated share neither the author's organization nor mail domain
	// and were not added by an agent: they get agents' answers, not other
	// customers' comments.
	unrelated []string
}

// relayComment decides who gets the customer comment msg by author on t,
// and counts the copies in the relay budgets (in tx, so they persist and
// a rolled-back change does not count). already received the mail
// directly.
func relayComment(tx store.Tx, cfg *config.Config, p *config.Project, t *store.Ticket, msg *store.Message, author string, already []string, now time.Time) (relay, error) {
	var r relay
	authorOrg, err := tx.OrganizationOf(p.Key, author)
	if err != nil {
		return r, err
	}
	var orgErr error // an organization that cannot be read: no guessing
	consider := func(addr string, related bool) {
		addr = strings.ToLower(addr)
		if addr == "" || addr == author || slices.Contains(t.Muted, addr) || cfg.IsOwnAddress(addr) || p.IsStaff(addr) ||
			slices.ContainsFunc(already, func(a string) bool { return strings.EqualFold(a, addr) }) {
			return
		}
		related = related || sameDomain(addr, author)
		if !related && authorOrg != nil {
			o, err := tx.OrganizationOf(p.Key, addr)
			if err != nil && orgErr == nil {
				orgErr = err
			}
			related = o != nil && strings.EqualFold(o.Name, authorOrg.Name)
		}
		if related {
			r.to = append(r.to, addr)
		} else {
			r.unrelated = append(r.unrelated, addr)
		}
	}
	// The reporter chose to open the ticket and whom to Cc: what the
	// people on it write reaches them.
	consider(t.Reporter, true)
	for _, pa := range t.Participants {
		consider(pa.Address, confirmedByAgent(pa))
	}
	if orgErr != nil {
		return r, orgErr
	}
	if len(r.to) == 0 {
		return r, nil
	}
	switch {
	case msg.Unverified:
		r.why = "the sender is not verified (no proof that " + author + " sent it); an agent may answer the customers"
	default:
		n := float64(len(r.to))
		l := cfg.Limits
		budgets := []struct {
			key  string
			rate config.Rate
			what string
		}{
			{"relay|t|" + t.Key, l.RelayPerTicket, "per ticket (limits.relay_per_ticket)"},
			{"relay|s|" + p.Key + "|" + author, l.RelayPerSender, "per sender (limits.relay_per_sender)"},
		}
		for _, b := range budgets {
			count, err := tx.RateCount(b.key, b.rate.Per, now)
			if err != nil {
				return r, err
			}
			if count+n > float64(b.rate.Count) {
				r.why = fmt.Sprintf("relay budget reached: %s copies of customers' comments %s", b.rate, b.what)
				break
			}
		}
		if r.why == "" {
			for _, b := range budgets {
				for range r.to {
					if err := tx.RateAdd(b.key, b.rate.Per, now); err != nil {
						return r, err
					}
				}
			}
			return r, nil
		}
	}
	r.held, r.to = r.to, nil
	return r, nil
}

func sameDomain(a, b string) bool {
	i, j := strings.LastIndexByte(a, '@'), strings.LastIndexByte(b, '@')
	return i >= 0 && j >= 0 && strings.EqualFold(a[i+1:], b[j+1:])
}

// recordRelay writes down on t what r decided about msg's copies, and
// tells the agents through ev (the comment's internal notification).
func recordRelay(tx store.Tx, t *store.Ticket, msg *store.Message, author string, r relay, now time.Time, ev *Event) error {
	var told []string
	if msg.Unverified {
		told = append(told, "Sender not verified: nothing proves that "+author+" wrote this mail.")
	}
	if len(r.held) > 0 {
		if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvRelayHeld, Actor: author, Message: msg.ID, Addresses: r.held, Reason: r.why}); err != nil {
			return err
		}
		told = append(told, "This comment was NOT sent to the other customers ("+strings.Join(r.held, ", ")+"): "+r.why+".")
	}
	if len(r.unrelated) > 0 {
		if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvRelaySkipped, Actor: author, Message: msg.ID, Addresses: r.unrelated}); err != nil {
			return err
		}
	}
	if len(told) > 0 {
		ev.Detail = strings.Join(append(told, ev.Detail), " ")
		ev.Detail = strings.TrimSpace(ev.Detail)
	}
	return nil
}
