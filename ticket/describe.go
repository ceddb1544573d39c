package ticket

import (
	"fmt"
	"strings"

	"github.com/ticketgate/ticketgate/store"
)

// Describe puts a history event into words for people (the admin CLI's
// history, logs). It reads only the event's typed fields; nothing parses
// the result. Events stored before kinds were typed show their old text.
func Describe(e *store.Event) string {
	if e.Legacy != "" {
		return e.Legacy
	}
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	switch e.Kind {
	case store.EvStatusChanged:
		add("%s → %s", orDash(e.OldStatus), e.NewStatus)
	case store.EvPriorityChanged:
		add("%s → %s", orDash(e.OldPriority), e.NewPriority)
	case store.EvAssigned:
		add("assigned to %s", orNobody(e.Assignee))
	case store.EvOrganizationAdded:
		add("shared with %s", e.Organization)
	case store.EvUnshared:
		add("kept private")
	case store.EvApprovalAnswered:
		if e.Approved {
			add("approved")
		} else {
			add("declined")
		}
	case store.EvApprovalRequired:
		add("approval asked of %s", strings.Join(e.Addresses, ", "))
	case store.EvParticipantsPending:
		add("Cc'd by an unverified sender, waiting for an agent (#participant add): %s", strings.Join(e.Addresses, ", "))
	case store.EvParticipantConfirmed:
		add("%s confirmed: every customer's comment reaches them", strings.Join(e.Addresses, ", "))
	case store.EvParticipantsRefused:
		add("Cc'd but not added: the ticket has the most participants inbound.max_participants allows (%d): %s", e.Count, strings.Join(e.Addresses, ", "))
	case store.EvRelayHeld:
		add("not sent to %s: %s", strings.Join(e.Addresses, ", "), e.Reason)
	case store.EvHeldPublished:
		add("held message %d of %s published to the customers (it had been held: %s)", e.Message, strings.Join(e.Addresses, ", "), e.Reason)
	case store.EvHeldDiscarded:
		add("held message %d of %s discarded: it reaches nobody (it had been held: %s)", e.Message, strings.Join(e.Addresses, ", "), e.Reason)
	case store.EvRelaySkipped:
		add("not sent to %s: neither in the author's organization or mail domain nor added by an agent (#participant add confirms them)", strings.Join(e.Addresses, ", "))
	case store.EvSpam:
		add("marked as spam; %s blocked", strings.Join(e.Addresses, ", "))
	case store.EvMerged:
		if e.MergedInto == e.Ticket {
			add("%s merged into this ticket (%d messages)", e.Other, e.Count)
		} else {
			add("merged into %s", e.MergedInto)
		}
	case store.EvFollowedUp:
		add("the customer wrote again after the reopen window: continued in %s", e.Other)
	case store.EvAutoCloseReminder:
		add("customers reminded: closes by itself %d days after resolution", e.Days)
	case store.EvAutoClosed:
		add("closed %d days after resolution", e.Days)
	case store.EvCommandsAnswered:
		add("%s", strings.Join(e.Lines, " | "))
	case store.EvMuted:
		add("notifications muted by the recipient")
	case store.EvRetention:
		add("deleted %d file(s), %d bytes (attachments/raw mail of a ticket closed beyond the retention period)", e.Count, e.Bytes)
	case store.EvQueued:
		add("%s to %s (%s)", e.Template, e.Recipient, e.MessageID)
	case store.EvSuppressed, store.EvRateLimited:
		add("%s to %s not sent: %s", e.Template, e.Recipient, e.Reason)
	case store.EvDelivered:
		add("%s to %s (%s), attempt %d", e.Template, e.Recipient, e.MessageID, e.Attempt)
	case store.EvDeliveryFailed, store.EvDeliveryDelayed:
		add("%s to %s (%s): %s", orDash(e.Template), e.Recipient, e.MessageID, e.Reason)
	case store.EvOutboxRequeued, store.EvOutboxDropped:
		add("%s to %s (%s)", e.Template, e.Recipient, e.MessageID)
	case store.EvOffered:
		add("offered to %s (round %d)", strings.Join(e.Addresses, ", "), e.Count)
	case store.EvOfferTaken:
		add("taken by %s", e.Assignee)
	case store.EvOfferPassed:
		add("passed on")
	case store.EvOfferTimedOut:
		add("not taken in time by %s", strings.Join(e.Addresses, ", "))
	case store.EvOfferUnanswered:
		add("nobody took the offer (round %d); the admins were told", e.Count)
	case store.EvRated:
		add("rated %d", e.Score)
		if e.Comment != "" {
			add("%q", e.Comment)
		}
	case store.EvWebhookQueued:
		add("webhook %s, delivery %d", e.Template, e.OutboxID)
		if len(e.Addresses) > 0 {
			add("for %s", strings.Join(e.Addresses, ", "))
		}
	case store.EvWebhookDelivered:
		add("webhook %s, delivery %d, attempt %d", e.Template, e.OutboxID, e.Attempt)
	case store.EvWebhookFailed:
		add("webhook %s, delivery %d, given up after %d attempt(s): %s", e.Template, e.OutboxID, e.Attempt, e.Reason)
	case store.EvSuppressionCleared:
		add("%s may receive mail again", strings.Join(e.Addresses, ", "))
	case store.EvVisibilityChanged:
		add("visibility: %s", e.Visibility)
	case store.EvRequesterChanged:
		add("requester: %s", strings.Join(e.Addresses, ", "))
	case store.EvTypeChanged:
		add("type %s → %s", orDash(e.OldType), orDash(e.NewType))
	case store.EvDraftAccepted:
		add("was draft %s: %s", e.Other, e.Reason)
	default:
		if len(e.Addresses) > 0 {
			add("%s", strings.Join(e.Addresses, ", "))
		}
	}
	if e.Rule != "" {
		add("threaded by %s", e.Rule)
	}
	if e.Automatic != "" {
		add("automatic: %s", e.Automatic)
	}
	if e.Loop != "" {
		add("our own mail came back: %s", e.Loop)
	}
	if e.Held != "" {
		add("%s", e.Held)
	} else if e.Unverified {
		add("sender not verified")
	}
	if e.Kind != store.EvFollowedUp && e.Other != "" && e.Kind != store.EvMerged && e.Kind != store.EvDraftAccepted {
		add("continues %s (closed longer than %d days)", e.Other, e.Days)
	}
	if e.Source == "web" {
		add("on the ticket page")
	}
	return strings.Join(parts, "; ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
