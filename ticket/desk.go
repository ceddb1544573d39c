package ticket

import (
	"context"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/store"
)

// What the agents' desk (package desk) asks of the domain. Each is the
// same operation as the mail command or CLI verb it stands for, so a
// change made on the desk writes the same events and queues the same
// mail.

// DeskComment is Comment from the desk, with files attached (their blobs
// already stored): a public answer mails them to the customers.
func (e *Engine) DeskComment(ctx context.Context, key, actor, text string, internal bool, attach []store.Attachment) (int, error) {
	return e.comment(ctx, key, actor, text, internal, "desk", attach)
}

// Command runs one agent command on ticket key exactly as the same line
// in an agent's mail would ("#priority high" is Command(…, "priority",
// []string{"high"})), minus the answer by mail: the desk shows the
// outcome itself. A refusal is a *RefusedError.
func (e *Engine) Command(ctx context.Context, key, actor, name string, args []string) (int, error) {
	return e.change(ctx, key, actor, func(tx store.Tx, p *config.Project, t *store.Ticket, now time.Time, emit func(*Event) error) error {
		cc := commandContext{author: strings.ToLower(actor), agent: true, now: now, emit: emit}
		return e.runCommand(tx, p, t, decide.Command{Name: strings.ToLower(name), Args: args}, cc)
	})
}

// Priorities lists the priorities a ticket may have, lowest first.
func Priorities() []string { return append([]string(nil), priorities...) }

// Statuses lists project p's statuses in their configured order.
func Statuses(p *config.Project) []string {
	var out []string
	for _, st := range p.StatusList() {
		out = append(out, st.Name)
	}
	return out
}

// StatusCategory is the category of status in p (new, open, pending,
// resolved, closed, cancelled), "" when p has no such status.
func StatusCategory(p *config.Project, status string) string { return categoryOf(p, status) }
