package ticket

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/quote"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/templates"
)

// command is one "#name args" line from the top of a mail.
type command struct {
	name string
	args []string
	line string
}

// commandNames are the commands mail understands.
var commandNames = []string{"status", "assign", "priority", "participant", "organization",
	"resolve", "reopen", "close", "internal", "approve", "decline", "private"}

// customerCommands may be used by customers (approve and decline only by
// approvers).
var customerCommands = []string{"close", "approve", "decline", "private"}

var priorities = []string{"low", "normal", "high", "urgent"}

// parseCommands takes the "#command" lines from the top of text, before
// any other text, and returns them with the rest of the text.
func parseCommands(text string) ([]command, string) {
	norm := strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(norm, "\n")
	var cmds []command
	i := 0
	for ; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		c, ok := parseCommand(l)
		if !ok {
			break
		}
		cmds = append(cmds, c)
	}
	if len(cmds) == 0 {
		return nil, text
	}
	return cmds, strings.TrimLeft(strings.Join(lines[i:], "\n"), "\n")
}

// parseCommand recognises "#word args…": a word of letters right after
// the hash (so "#1 is broken" or "# heading" stay text).
func parseCommand(l string) (command, bool) {
	if !strings.HasPrefix(l, "#") || len(l) < 2 || len(l) > 200 || !unicode.IsLetter(rune(l[1])) {
		return command{}, false
	}
	f := strings.Fields(l[1:])
	if len(f) == 0 {
		return command{}, false
	}
	for _, r := range f[0] {
		if !unicode.IsLetter(r) && r != '_' && r != '-' {
			return command{}, false
		}
	}
	return command{name: strings.ToLower(f[0]), args: f[1:], line: l}, true
}

func hasCommand(cmds []command, name string) bool {
	return slices.ContainsFunc(cmds, func(c command) bool { return c.name == name })
}

// authorOf is who wrote m: From, or Reply-To for a contact form listed in
// form_senders. relayed reports the latter: anyone can type any address
// into a form, so whatever proves From proves the form, never the person
// named in Reply-To.
func authorOf(p *config.Project, m *Mail) (author string, relayed bool) {
	if p.IsFormSender(m.From) && len(m.ReplyTo) > 0 && m.ReplyTo[0] != "" {
		if a := strings.ToLower(m.ReplyTo[0]); a != reporterOf(m) {
			return a, true
		}
	}
	return reporterOf(m), false
}

// stripQuotes keeps what an agent wrote: quoted history and signatures
// go (the raw mail keeps them).
func stripQuotes(text string) string {
	return strings.TrimSpace(quote.Strip(text, templates.AllReplyMarkers()))
}

// hasMarker reports whether text still has our "reply above this line"
// marker, below which everything was cut.
func hasMarker(text string) bool {
	for _, mk := range templates.AllReplyMarkers() {
		if mk != "" && strings.Contains(text, mk) {
			return true
		}
	}
	return false
}

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

// minNoteLine is the shortest line of an internal note that counts as its
// text when found in a reply (shorter ones are greetings and the like).
const minNoteLine = 24

// quotesInternalNote reports whether text contains a line of one of the
// ticket's internal notes.
func quotesInternalNote(tx store.Tx, key, text string) bool {
	msgs, err := tx.TicketMessages(key)
	if err != nil {
		// Unknown is treated as yes: better held than leaked.
		return true
	}
	reply := strings.Join(normLines(text), "\n")
	for _, m := range msgs {
		if !m.Internal || (m.Kind != "note" && m.Kind != "command") {
			continue
		}
		for _, l := range normLines(m.Text) {
			if len([]rune(l)) >= minNoteLine && strings.Contains(reply, l) {
				return true
			}
		}
	}
	return false
}

// commandContext is who runs commands, with which rights.
type commandContext struct {
	author         string
	agent          bool
	customerProven bool
	created        bool
	now            time.Time
	emit           func(*Event) error
}

// runCommands runs cmds on t in the caller's transaction and appends a
// line per command to told; statusSet reports whether one set the status.
func (e *Engine) runCommands(tx store.Tx, p *config.Project, t *store.Ticket, cmds []command, cc commandContext, told []string) ([]string, bool, error) {
	statusSet := false
	for _, c := range cmds {
		err := e.runCommand(tx, p, t, c, cc)
		var refusal *RefusedError
		switch {
		case err == nil && (c.name == "internal" || c.name == "private" && cc.created):
			// They only say what the mail is: nothing to report.
		case err == nil:
			told = append(told, "done: "+c.line)
			switch c.name {
			case "status", "resolve", "reopen", "close", "approve", "decline":
				statusSet = true
			}
		case errors.As(err, &refusal):
			told = append(told, "refused: "+c.line+" — "+refusal.Reason)
		case errors.Is(err, store.ErrNotFound):
			told = append(told, "refused: "+c.line+" — not found")
		default:
			return nil, false, err
		}
	}
	return told, statusSet, nil
}

func (e *Engine) runCommand(tx store.Tx, p *config.Project, t *store.Ticket, c command, cc commandContext) error {
	if !slices.Contains(commandNames, c.name) {
		return refused("unknown command (known: #%s)", strings.Join(commandNames, ", #"))
	}
	if !cc.agent {
		if !slices.Contains(customerCommands, c.name) {
			return refused("only agents may use #%s", c.name)
		}
		if !cc.customerProven && c.name != "private" {
			return refused("we could not verify that you sent this mail, so it runs no command; reply to one of our notification mails to use #%s", c.name)
		}
	}
	arg := strings.Join(c.args, " ")
	actor := cc.author
	switch c.name {
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
		if len(c.args) != 2 {
			return refused("use #participant add <address> or #participant remove <address>")
		}
		switch strings.ToLower(c.args[0]) {
		case "add":
			return e.addParticipant(tx, p, t, strings.Trim(c.args[1], "<>"), actor, cc.now, cc.emit)
		case "remove":
			return removeParticipant(tx, t, strings.Trim(c.args[1], "<>"), actor, cc.now)
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
	case "internal":
		return nil // the mail was stored as an internal note
	case "private":
		if cc.created {
			return nil // the new request was created private
		}
		if !cc.agent {
			return refused("#private works on a new request; an agent can stop sharing this one")
		}
		t.Organization, t.Private = "", true
		return record(tx, &store.Event{Ticket: t.Key, Time: cc.now, Kind: store.EvUnshared, Actor: actor})
	case "approve", "decline":
		st, ok := p.Status(t.Status)
		if !ok || st.Approval == nil {
			return refused("%s is not waiting for approval", t.Key)
		}
		if !st.Approval.IsApprover(actor) {
			return refused("%s is not an approver of %s", actor, t.Key)
		}
		next := st.Approval.Approved
		if c.name == "decline" {
			next = st.Approval.Declined
			if next == "" {
				next = firstOf(p, CatCancelled)
			}
		} else if next == "" {
			next = firstOf(p, CatOpen)
		}
		if err := record(tx, &store.Event{Ticket: t.Key, Time: cc.now, Kind: EvApproved, Actor: actor, Approved: c.name == "approve"}); err != nil {
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
	err = e.store.View(func(tx store.Tx) error {
		for i := range cfg.Projects {
			p := &cfg.Projects[i]
			days := p.AutoCloseAfterDays()
			if days == 0 {
				continue
			}
			rem := p.AutoCloseReminderDays
			if err := tx.ForEachTicket(p.Key, func(t *store.Ticket) bool {
				if t.Resolved.IsZero() || categoryOf(p, t.Status) != CatResolved {
					return true
				}
				switch age := now.Sub(t.Resolved); {
				case age >= time.Duration(days)*day:
					list = append(list, due{key: t.Key})
				case rem > 0 && t.Reminded.IsZero() && age >= time.Duration(rem)*day:
					list = append(list, due{key: t.Key, remind: true})
				}
				return true
			}); err != nil {
				return err
			}
		}
		return nil
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
			return tx.PutTicket(t)
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
