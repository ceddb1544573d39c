package ticket

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/store"
)

// commandNames are the commands mail understands.
var commandNames = []string{"status", "assign", "priority", "participant", "organization",
	"resolve", "reopen", "close", "internal", "approve", "decline", "private",
	"due", "snooze", "macro", // issue 21
	"digest", // issue 21: the agent's daily digest (digest.go)
	// Issue 17 (ticket/access.go).
	"type", "publish", "requester", "accept",
	"take", "pass", // issue 18: offers
	"key",  // issue 19
	"held"} // issue 22: held mail published or discarded (held.go)

// customerCommands may be used by customers (approve and decline only by
// approvers).
var customerCommands = []string{"close", "approve", "decline", "private", "type", "key"}

var priorities = []string{"low", "normal", "high", "urgent"}

// commandContext is who runs commands, with which rights.
type commandContext struct {
	author         string
	agent          bool
	customerProven bool
	created        bool
	now            time.Time
	emit           func(*Event) error
	// acceptedDraft is the draft this mail's #accept turned into the
	// ticket (issue 17); draftWas is the draft the mail named that an
	// earlier acceptance had already turned into the ticket.
	acceptedDraft string
	draftWas      string
}

// runCommands runs cmds on t in the caller's transaction and appends a
// line per command to told; statusSet reports whether one set the status.
func (e *Engine) runCommands(tx store.Tx, p *config.Project, t *store.Ticket, cmds []decide.Command, cc commandContext, told []string) ([]string, bool, error) {
	statusSet := false
	for _, c := range cmds {
		var err error
		said := ""
		if c.Name == "digest" {
			said, err = e.digestCommand(tx, c, cc)
		} else {
			err = e.runCommand(tx, p, t, c, cc)
		}
		var refusal *RefusedError
		switch {
		case err == nil && said != "":
			told = append(told, "done: "+c.Line+" — "+said)
		case err == nil && (c.Name == "internal" || (c.Name == "private" || c.Name == "type") && cc.created):
			// They only say what the mail is: nothing to report.
		case err == nil:
			told = append(told, "done: "+c.Line)
			switch c.Name {
			case "status", "resolve", "reopen", "close", "approve", "decline", "take":
				statusSet = true
			}
		case errors.As(err, &refusal):
			told = append(told, "refused: "+c.Line+" — "+refusal.Reason)
		case errors.Is(err, store.ErrNotFound):
			told = append(told, "refused: "+c.Line+" — not found")
		default:
			return nil, false, err
		}
	}
	return told, statusSet, nil
}

func (e *Engine) runCommand(tx store.Tx, p *config.Project, t *store.Ticket, c decide.Command, cc commandContext) error {
	if !slices.Contains(commandNames, c.Name) {
		return refused("unknown command (known: #%s)", strings.Join(commandNames, ", #"))
	}
	if !cc.agent {
		if !slices.Contains(customerCommands, c.Name) {
			return refused("only agents may use #%s", c.Name)
		}
		// #key asks for the project's public key: nothing to prove.
		if !cc.customerProven && c.Name != "private" && c.Name != "key" && !(c.Name == "type" && cc.created) {
			return refused("we could not verify that you sent this mail, so it runs no command; reply to one of our notification mails to use #%s", c.Name)
		}
	}
	arg := strings.Join(c.Args, " ")
	actor := cc.author
	switch c.Name {
	case "status":
		if arg == "" {
			return refused("which status? (%s)", statusNames(p))
		}
		return setStatus(tx, p, t, arg, actor, cc.now, cc.emit)
	case "assign":
		if arg == "" {
			return refused("assign to whom? (#assign me, or an agent's address)")
		}
		return assign(tx, p, t, arg, actor, cc.now, cc.emit)
	case "priority":
		pr := strings.ToLower(arg)
		if !slices.Contains(priorities, pr) {
			return refused("priority must be one of %s", strings.Join(priorities, ", "))
		}
		old := t.Priority
		t.Priority = pr
		return record(tx, &store.Event{Ticket: t.Key, Time: cc.now, Kind: store.EvPriorityChanged, Actor: actor, OldPriority: old, NewPriority: pr})
	case "participant":
		if len(c.Args) != 2 {
			return refused("use #participant add <address> or #participant remove <address>")
		}
		switch strings.ToLower(c.Args[0]) {
		case "add":
			return e.addParticipant(tx, p, t, strings.Trim(c.Args[1], "<>"), actor, cc.now, cc.emit)
		case "remove":
			return removeParticipant(tx, t, strings.Trim(c.Args[1], "<>"), actor, cc.now)
		}
		return refused("use #participant add <address> or #participant remove <address>")
	case "organization":
		if arg == "" {
			return refused("which organization?")
		}
		o, err := tx.Organization(p.Key, arg)
		if errors.Is(err, store.ErrNotFound) {
			return refused("no organization %q in %s", arg, p.Key)
		} else if err != nil {
			return err
		}
		return share(tx, t, o, actor, cc.now, cc.emit)
	case "resolve":
		return setStatus(tx, p, t, firstOf(p, CatResolved), actor, cc.now, cc.emit)
	case "close":
		return setStatus(tx, p, t, firstOf(p, CatClosed), actor, cc.now, cc.emit)
	case "reopen":
		if !isDone(p, t.Status) {
			return refused("%s is not resolved or closed (it is %s)", t.Key, t.Status)
		}
		return setStatus(tx, p, t, firstOf(p, CatOpen), actor, cc.now, cc.emit)
	case "macro": // issue 21: applied before the mail is stored (macros.go)
		return refused("a macro answers the customers: write to the project address, not the internal one")
	case "due":
		return e.setDue(tx, p, t, arg, actor, cc.now)
	case "snooze":
		return e.snooze(tx, p, t, arg, actor, cc.now)
	case "digest": // runCommands answers it with the schedule in force
		_, err := e.digestCommand(tx, c, cc)
		return err
	case "take":
		return take(tx, p, t, actor, "", cc.now, cc.emit)
	case "pass":
		return pass(tx, p, t, actor, "", cc.now, cc.emit)
	case "internal":
		return nil // the mail was stored as an internal note
	case "key":
		if p.PGP == nil {
			return refused("%s does not use OpenPGP", p.Address)
		}
		return nil // the answer carries the key (Event.AttachKey)
	case "private":
		if cc.created {
			return nil // the new request was created private
		}
		if !cc.agent {
			return refused("#private works on a new request; an agent can stop sharing this one")
		}
		t.Organization, t.Private = "", true
		return record(tx, &store.Event{Ticket: t.Key, Time: cc.now, Kind: store.EvUnshared, Actor: actor})
	case "type", "publish", "requester", "accept":
		return e.accessCommand(tx, p, t, c, cc)
	case "held":
		return e.heldCommand(tx, p, t, c, cc)
	case "approve", "decline":
		st, ok := p.Status(t.Status)
		if !ok || st.Approval == nil {
			return refused("%s is not waiting for approval", t.Key)
		}
		if !st.Approval.IsApprover(actor) {
			return refused("%s is not an approver of %s", actor, t.Key)
		}
		next := st.Approval.Approved
		if c.Name == "decline" {
			next = st.Approval.Declined
			if next == "" {
				next = firstOf(p, CatCancelled)
			}
		} else if next == "" {
			next = firstOf(p, CatOpen)
		}
		if err := record(tx, &store.Event{Ticket: t.Key, Time: cc.now, Kind: EvApproved, Actor: actor, Approved: c.Name == "approve"}); err != nil {
			return err
		}
		return setStatus(tx, p, t, next, actor, cc.now, cc.emit)
	}
	return refused("unknown command")
}

// AutoClose closes resolved tickets whose auto_close_days have passed and
// reminds customers auto_close_reminder_days after the resolution. It
// returns how many tickets it closed and reminded.
func (e *Engine) AutoClose(ctx context.Context) (closed, reminded int, err error) {
	cfg := e.cfg()
	now := e.now().UTC()
	type due struct {
		key    string
		remind bool
	}
	var list []due
	day := 24 * time.Hour
	// The earliest age at which anything happens, over every project:
	// only tickets resolved that long ago are read, through the timer
	// index (issue 21), not every ticket.
	var first time.Duration
	for i := range cfg.Projects {
		p := &cfg.Projects[i]
		days := p.AutoCloseAfterDays()
		if days == 0 {
			continue
		}
		if rem := p.AutoCloseReminderDays; rem > 0 && rem < days {
			days = rem
		}
		if d := time.Duration(days) * day; first == 0 || d < first {
			first = d
		}
	}
	if first == 0 {
		return 0, 0, nil
	}
	err = e.store.View(func(tx store.Tx) error {
		var err error
		if ferr := tx.ResolvedBefore(now.Add(-first), func(key string, _ time.Time) bool {
			var t *store.Ticket
			if t, err = tx.Ticket(key); err != nil {
				return false
			}
			p := cfg.Project(t.Project)
			if p == nil {
				return true
			}
			days := p.AutoCloseAfterDays()
			rem := p.AutoCloseReminderDays
			if days == 0 || t.Resolved.IsZero() || categoryOf(p, t.Status) != CatResolved {
				return true
			}
			switch age := now.Sub(t.Resolved); {
			case age >= time.Duration(days)*day:
				list = append(list, due{key: t.Key})
			case rem > 0 && t.Reminded.IsZero() && age >= time.Duration(rem)*day:
				list = append(list, due{key: t.Key, remind: true})
			}
			return true
		}); ferr != nil {
			return ferr
		}
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("ticket: auto-close scan: %w", err)
	}
	for _, d := range list {
		if ctx.Err() != nil {
			return closed, reminded, ctx.Err()
		}
		queued := 0
		did := false
		err := e.store.Update(ctx, func(tx store.Tx) error {
			queued, did = 0, false
			t, err := tx.Ticket(d.key)
			if err != nil {
				return err
			}
			p := cfg.Project(t.Project)
			if p == nil || t.Resolved.IsZero() || categoryOf(p, t.Status) != CatResolved {
				return nil // changed since the scan
			}
			emit := func(ev *Event) error {
				ev.Project, ev.Ticket, ev.Actor = p, t, SystemActor
				n, err := e.notifyIn(tx, ev, now)
				queued += n
				return err
			}
			if d.remind {
				if !t.Reminded.IsZero() {
					return nil
				}
				t.Reminded = now
				if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvAutoCloseReminder, Days: p.AutoCloseAfterDays()}); err != nil {
					return err
				}
				if err := emit(&Event{Type: EvAutoCloseReminder, Detail: fmt.Sprint(p.AutoCloseAfterDays() - p.AutoCloseReminderDays)}); err != nil {
					return err
				}
			} else {
				if err := setStatus(tx, p, t, firstOf(p, CatClosed), SystemActor, now, emit); err != nil {
					return err
				}
				if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvAutoClosed, Days: p.AutoCloseAfterDays()}); err != nil {
					return err
				}
			}
			did = true
			t.Updated = now
			return e.putTicket(tx, p, t, now)
		})
		if err != nil {
			return closed, reminded, fmt.Errorf("ticket: auto-close %s: %w", d.key, err)
		}
		if did {
			if d.remind {
				reminded++
			} else {
				closed++
			}
		}
		if queued > 0 && e.Queued != nil {
			e.Queued()
		}
	}
	return closed, reminded, nil
}

// SyncOrganizations makes the store's organizations of each project match
// those declared in the configuration (organizations created through the
// admin interface are left alone).
func (e *Engine) SyncOrganizations(ctx context.Context) error {
	cfg := e.cfg()
	now := e.now().UTC()
	return e.store.Update(ctx, func(tx store.Tx) error {
		for i := range cfg.Projects {
			p := &cfg.Projects[i]
			want := map[string]bool{}
			for _, od := range p.Organizations {
				o := &store.Organization{Project: p.Key, Name: strings.TrimSpace(od.Name), Created: now, By: ConfigActor}
				for _, d := range od.Domains {
					d, _ := config.OrgDomain(d) // validated by config
					o.Domains = append(o.Domains, d)
				}
				for _, m := range od.Members {
					o.Members = append(o.Members, strings.ToLower(strings.TrimSpace(m)))
				}
				want[strings.ToLower(o.Name)] = true
				if old, err := tx.Organization(p.Key, o.Name); err == nil {
					if old.By == ConfigActor && slices.Equal(old.Domains, o.Domains) && slices.Equal(old.Members, o.Members) {
						continue
					}
					o.Created = old.Created
				}
				if err := tx.PutOrganization(o); err != nil {
					return err
				}
			}
			orgs, err := tx.Organizations(p.Key)
			if err != nil {
				return err
			}
			for _, o := range orgs {
				if o.By == ConfigActor && !want[strings.ToLower(o.Name)] {
					if err := tx.DeleteOrganization(p.Key, o.Name); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}

// ConfigActor marks organizations that come from the configuration file.
const ConfigActor = "config"
