package ticket

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// Push by webhook (issue 18). The domain decides which of a project's
// webhooks a domain event reaches, and queues one delivery per hook in the
// transaction of the change, next to the event's mail: a delivery exists
// exactly when the change committed. The webhook package sends it.

// HookPush is one delivery a domain event causes.
type HookPush struct {
	Hook *config.Webhook
	// Kind is the event as the hook subscribed to it: a resolution is a
	// status_changed for a hook that asked for status changes only, and a
	// ticket created in a chosen status is one too.
	Kind store.EventKind
	// Mention lists who the push is for (the hook's "to", resolved).
	Mention []string
	// Assignment: pushed because an assignment always reaches the
	// assignee, whatever the hook's events say.
	Assignment bool
}

// isStatusEvent: a resolution and a reopening are status changes too.
func isStatusEvent(k store.EventKind) bool {
	return k == EvStatusChanged || k == EvRequestResolved || k == EvRequestReopened
}

// PlanHooks returns the deliveries ev causes under its project's
// webhooks. It is a pure function of the event, the ticket and the
// configuration.
func PlanHooks(ev *Event) []HookPush {
	if ev.Project == nil || ev.Ticket == nil {
		return nil
	}
	var out []HookPush
	for i := range ev.Project.Webhooks {
		h := &ev.Project.Webhooks[i]
		kind, fires := ev.Type, false
		switch {
		case ev.Type == EvStatusChanged:
			fires = h.Wants(EvStatusChanged) && ev.Status != "" && h.StatusApplies(ev.Status)
		case h.Wants(ev.Type):
			fires = true
		case isStatusEvent(ev.Type):
			kind = EvStatusChanged
			fires = h.Wants(EvStatusChanged) && ev.Status != "" && h.StatusApplies(ev.Status)
		case ev.Type == EvRequestCreated:
			// "Tell us when a ticket enters Open", also when it is
			// created so: only a rule naming statuses asks for that.
			kind = EvStatusChanged
			fires = h.Wants(EvStatusChanged) && len(h.StatusChanged.Statuses) > 0 && ev.Status != "" && h.StatusApplies(ev.Status)
		}
		toAssignee := slices.Contains(h.To, config.AudienceAssignee)
		if fires {
			out = append(out, HookPush{Hook: h, Kind: kind, Mention: hookMentions(ev, h.To)})
			continue
		}
		if ev.Type == EvAssigned && toAssignee && ev.Ticket.Assignee != "" {
			out = append(out, HookPush{Hook: h, Kind: EvAssigned, Mention: []string{ev.Ticket.Assignee}, Assignment: true})
		}
	}
	return out
}

// hookMentions resolves a hook's audiences to addresses (lower-cased,
// each once, in the order named).
func hookMentions(ev *Event, to []string) []string {
	var out []string
	add := func(addrs ...string) {
		for _, a := range addrs {
			a = strings.ToLower(strings.TrimSpace(a))
			if a != "" && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	for _, name := range to {
		switch name {
		case config.AudienceAgents:
			add(ev.Project.Agents...)
		case config.AudienceAdmins:
			add(ev.Project.Admins...)
		case config.AudienceAssignee:
			add(ev.Ticket.Assignee)
		}
	}
	return out
}

// HookLink fills a hook's link template for ticket key ("" without one).
func HookLink(h *config.Webhook, key string) string {
	if h.Link == "" {
		return ""
	}
	return strings.ReplaceAll(h.Link, "{ticket}", key)
}

// NewHookEventID returns a fresh idempotency key for a delivery.
func NewHookEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return "evt_" + hex.EncodeToString(b[:])
}

// pushIn queues ev's webhook deliveries in tx and records each on the
// ticket. The webhook sender is woken once the change is durable.
func (e *Engine) pushIn(tx store.Tx, ev *Event, now time.Time) error {
	pushes := PlanHooks(ev)
	if len(pushes) == 0 {
		return nil
	}
	t := ev.Ticket
	for _, p := range pushes {
		item := &store.HookItem{
			EventID: NewHookEventID(), Project: ev.Project.Key, Ticket: t.Key, Hook: p.Hook.HookName(), Format: p.Hook.HookFormat(),
			Kind: p.Kind, Time: now, Mention: p.Mention, Assignment: p.Assignment,
			Vars: store.HookVars{ProjectName: ev.Project.Name, Subject: t.Subject, Status: t.Status, OldStatus: ev.OldStatus,
				Priority: t.Priority, Reporter: t.Reporter, Assignee: t.Assignee, Actor: strings.ToLower(ev.Actor), Link: HookLink(p.Hook, t.Key)},
			Created: now, NextAttempt: now,
		}
		if ev.Status != "" {
			item.Vars.Status = ev.Status
		}
		if err := tx.EnqueueHook(item); err != nil {
			return err
		}
		if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvWebhookQueued, Template: item.Hook,
			OutboxID: item.ID, Addresses: item.Mention}); err != nil {
			return err
		}
	}
	if e.HookQueued != nil {
		tx.AfterCommit(e.HookQueued)
	}
	return nil
}

// HookDelivered records on its ticket that the endpoint took a delivery,
// inside the transaction that takes it off the queue (the webhook
// sender's hook).
func (e *Engine) HookDelivered(tx store.Tx, item *store.HookItem) error {
	if item.Ticket == "" {
		return nil
	}
	return record(tx, &store.Event{Ticket: item.Ticket, Time: e.now(), Kind: store.EvWebhookDelivered, Template: item.Hook,
		OutboxID: item.ID, Attempt: item.Attempts + 1})
}

// HookFailed records on its ticket that a delivery was given up, inside
// the transaction that takes it off the queue. reason never holds the
// URL (the sender strips it).
func (e *Engine) HookFailed(tx store.Tx, item *store.HookItem, reason string) error {
	if item.Ticket == "" {
		return nil
	}
	return record(tx, &store.Event{Ticket: item.Ticket, Time: e.now(), Kind: store.EvWebhookFailed, Template: item.Hook,
		OutboxID: item.ID, Attempt: item.Attempts, Reason: reason})
}
