package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// EventKind names what happened in a ticket's history. Kinds are stored
// by name (String), so the numbering may change between versions; an
// unknown name is a decode error, never "some event".
type EventKind uint8

// Event kinds. The first group is also what notifications are planned
// from (ticket.Event); the rest is bookkeeping of the history.
const (
	evNone EventKind = iota // the zero value: never stored

	EvRequestCreated
	EvCustomerCommentAdded
	EvAgentCommentAdded
	EvInternalNoteAdded
	EvPublicCommentEdited
	EvAutomaticRecorded
	// EvCommands: a mail that held only commands (no comment).
	EvCommands
	EvParticipantAdded
	EvParticipantRemoved
	// EvParticipantConfirmed: an agent confirmed a participant who joined
	// by a customer's Cc.
	EvParticipantConfirmed
	// EvParticipantsRefused: Cc'd addresses not added, the ticket being
	// full (Count: inbound.max_participants).
	EvParticipantsRefused
	// EvParticipantsPending: Cc'd addresses waiting for an agent.
	EvParticipantsPending
	EvOrganizationAdded
	// EvUnshared: kept private (no longer shared with an organization).
	EvUnshared
	EvApprovalRequired
	// EvApprovalAnswered: an approver approved or declined.
	EvApprovalAnswered
	EvCustomerInvited
	EvStatusChanged
	// EvRequestResolved and EvRequestReopened are status changes as
	// notifications see them; the history records EvStatusChanged.
	EvRequestResolved
	EvRequestReopened
	EvAssigned
	EvPriorityChanged
	EvMerged
	EvSpam
	// EvFollowedUp: a customer wrote again after the reopen window; the
	// new ticket is Other.
	EvFollowedUp
	EvCommandsAnswered
	// EvRelayHeld: a customer's comment was not sent to other customers
	// (Addresses, Reason); EvRelaySkipped: not sent to customers unrelated
	// to its author (Addresses).
	EvRelayHeld
	EvRelaySkipped
	EvAutoCloseReminder
	EvAutoClosed
	EvMessageRefused
	EvMuted
	// EvQueued: a notification was queued (Recipient, Template, MessageID,
	// OutboxID).
	EvQueued
	// EvSuppressed and EvRateLimited: a notification was held back
	// (Recipient, Template, Reason).
	EvSuppressed
	EvRateLimited
	EvDelivered
	EvDeliveryFailed
	EvDeliveryDelayed
	EvOutboxRequeued
	EvOutboxDropped
	EvSuppressionCleared
	// EvRetention: files removed by retention (Count, Bytes).
	EvRetention

	// Issue 21: response targets and snoozing. EvTargetWarning and
	// EvTargetBreached: Target (first_response, resolution) and Due;
	// EvDueSet: Target, Due (#due); EvSnoozed: Due (the end, zero when
	// woken early); EvSnoozeEnded: the snooze ran out.
	EvTargetWarning
	EvTargetBreached
	EvDueSet
	EvSnoozed
	EvSnoozeEnded
	// Issue 17: who may open a ticket, and as what.
	// EvVisibilityChanged: Visibility is the new one (#publish, the
	// admin API).
	EvVisibilityChanged
	// EvRequesterChanged: Addresses holds the new requester (#requester).
	EvRequesterChanged
	// EvTypeChanged: OldType → NewType (#type).
	EvTypeChanged
	// EvDraftAccepted: the ticket was a draft (Other: its key) until its
	// sender sent a valid key or an agent accepted it (Reason says which).
	EvDraftAccepted
	// EvDraftMailed is the outbox kind of the mail telling a draft's
	// sender what is missing (drafts have no history of their own).
	EvDraftMailed
	// issue 18: offers to agents and customer ratings.
	// EvOffered: the ticket was offered to agents (Addresses, Count: the
	// round). EvOfferTaken: an agent took it (Assignee; Source "web" from
	// the offer page). EvOfferPassed: an agent passed (Actor).
	// EvOfferTimedOut: offered agents did not answer in time (Addresses).
	// EvOfferUnanswered: everyone passed or timed out; the admins are
	// told. EvRated: a customer rated the ticket (Actor, Score, Comment).
	// EvRatingLow: a rating below close_min_score left the ticket
	// resolved (notifications only; the history has EvRated).
	EvOffered
	EvOfferTaken
	EvOfferPassed
	EvOfferTimedOut
	EvOfferUnanswered
	EvRated
	EvRatingLow
	// Issue 19 (OpenPGP). EvPGPUndecryptable: an encrypted mail could not
	// be decrypted (Message, Reason); the sender is told. EvPGPKeyChanged:
	// a customer's verified key was replaced (Addresses, Reason: the old
	// and new fingerprints), noted on their tickets and told to them at
	// both keys.
	EvPGPUndecryptable
	EvPGPKeyChanged

	// Issue 18, push by webhook: a delivery was queued (Template: the
	// hook's name, OutboxID: the delivery, Addresses:
	// who it mentions), delivered (Attempt) or given up (Attempt, Reason).
	// Never the URL: it may be a secret.
	EvWebhookQueued
	EvWebhookDelivered
	EvWebhookFailed

	// issue 21 digests: EvDigest is the outbox kind of an agent's daily
	// digest (it belongs to no ticket, so no history records it).
	EvDigest

	// Issue 22, held mail on the desk: an agent published a held message
	// to the customers (Message; Reason: why it had been held) or
	// discarded it (Message, Reason): it then never reaches anybody.
	EvHeldPublished
	EvHeldDiscarded

	evEnd
)

var eventKindNames = [evEnd]string{
	evNone:                 "",
	EvRequestCreated:       "request_created",
	EvCustomerCommentAdded: "customer_comment_added",
	EvAgentCommentAdded:    "agent_comment_added",
	EvInternalNoteAdded:    "internal_note_added",
	EvPublicCommentEdited:  "public_comment_edited",
	EvAutomaticRecorded:    "automatic_recorded",
	EvCommands:             "commands",
	EvParticipantAdded:     "participant_added",
	EvParticipantRemoved:   "participant_removed",
	EvParticipantConfirmed: "participant_confirmed",
	EvParticipantsRefused:  "participants_refused",
	EvParticipantsPending:  "participants_pending",
	EvOrganizationAdded:    "organization_added",
	EvUnshared:             "unshared",
	EvApprovalRequired:     "approval_required",
	EvApprovalAnswered:     "approval_answered",
	EvCustomerInvited:      "customer_invited",
	EvStatusChanged:        "status_changed",
	EvRequestResolved:      "request_resolved",
	EvRequestReopened:      "request_reopened",
	EvAssigned:             "assigned",
	EvPriorityChanged:      "priority_changed",
	EvMerged:               "merged",
	EvSpam:                 "spam",
	EvFollowedUp:           "followed_up",
	EvCommandsAnswered:     "commands_answered",
	EvRelayHeld:            "relay_held",
	EvRelaySkipped:         "relay_skipped",
	EvAutoCloseReminder:    "auto_close_reminder",
	EvAutoClosed:           "auto_closed",
	EvMessageRefused:       "message_refused",
	EvMuted:                "muted",
	EvQueued:               "queued",
	EvSuppressed:           "suppressed",
	EvRateLimited:          "rate_limited",
	EvDelivered:            "delivered",
	EvDeliveryFailed:       "delivery_failed",
	EvDeliveryDelayed:      "delivery_delayed",
	EvOutboxRequeued:       "outbox_requeued",
	EvOutboxDropped:        "outbox_dropped",
	EvSuppressionCleared:   "suppression_cleared",
	EvRetention:            "retention",
	// issue 21
	EvTargetWarning:  "target_warning",
	EvTargetBreached: "target_breached",
	EvDueSet:         "due_set",
	EvSnoozed:        "snoozed",
	EvSnoozeEnded:    "snooze_ended",
	// Issue 17.
	EvVisibilityChanged: "visibility_changed",
	EvRequesterChanged:  "requester_changed",
	EvTypeChanged:       "type_changed",
	EvDraftAccepted:     "draft_accepted",
	EvDraftMailed:       "draft_mailed",
	// issue 18
	EvOffered:         "offered",
	EvOfferTaken:      "offer_taken",
	EvOfferPassed:     "offer_passed",
	EvOfferTimedOut:   "offer_timed_out",
	EvOfferUnanswered: "offer_unanswered",
	EvRated:           "rated",
	EvRatingLow:       "rating_low",
	// Issue 19.
	EvPGPUndecryptable: "pgp_undecryptable",
	EvPGPKeyChanged:    "pgp_key_changed",
	// issue 18
	EvWebhookQueued:    "webhook_queued",
	EvWebhookDelivered: "webhook_delivered",
	EvWebhookFailed:    "webhook_failed",
	// issue 21 digests
	EvDigest: "digest",

	// issue 22
	EvHeldPublished: "held_published",
	EvHeldDiscarded: "held_discarded",
}

// EventKinds lists every kind, in declaration order.
func EventKinds() []EventKind {
	out := make([]EventKind, 0, evEnd-1)
	for k := evNone + 1; k < evEnd; k++ {
		out = append(out, k)
	}
	return out
}

// String returns the kind's stored name ("request_created").
func (k EventKind) String() string {
	if k < evEnd {
		return eventKindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// ErrUnknownEventKind is returned (wrapped) for a kind name this version
// does not know.
var ErrUnknownEventKind = errors.New("store: unknown event kind")

// ParseEventKind returns the kind named s.
func ParseEventKind(s string) (EventKind, error) {
	for k := evNone + 1; k < evEnd; k++ {
		if eventKindNames[k] == s {
			return k, nil
		}
	}
	return evNone, fmt.Errorf("%w %q", ErrUnknownEventKind, s)
}

// MarshalText stores a kind by name; the zero kind is refused.
func (k EventKind) MarshalText() ([]byte, error) {
	if k == evNone || k >= evEnd {
		return nil, fmt.Errorf("store: event without a valid kind (%d)", uint8(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText reads a kind name; an unknown one is an error.
func (k *EventKind) UnmarshalText(b []byte) error {
	v, err := ParseEventKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Event is one entry of a ticket's history. What happened is Kind; the
// fields say to whom, by whom and with what, so the audit trail, trace,
// the admin history and metrics read them instead of parsing a sentence.
// Fields a kind does not use stay empty.
type Event struct {
	Seq    uint64    `json:"seq"`
	Ticket string    `json:"ticket"`
	Time   time.Time `json:"time"`
	Kind   EventKind `json:"kind"`
	// Actor is the address of whoever caused it ("ticketgate" for the
	// daemon itself, "retention" …).
	Actor string `json:"actor,omitempty"`
	// Source is where a person's change came from when it was not mail
	// or the admin API: "web" (the ticket page).
	Source string `json:"source,omitempty"`
	// Message is the stored message the event is about (or that caused
	// it: a bounce's delivery failure names the bounce).
	Message uint64 `json:"message,omitempty"`
	// MessageID is the canonical Message-ID of the outbound mail the
	// event is about (queued, delivered, delivery failed …).
	MessageID string `json:"message_id,omitempty"`
	// Recipient is the one address a mail event concerns.
	Recipient string `json:"recipient,omitempty"`
	// OutboxID is the outbox item of a mail event.
	OutboxID uint64 `json:"outbox_id,omitempty"`
	// Template names the notification (customer/request_created).
	Template string `json:"template,omitempty"`
	// Attempt counts delivery attempts (delivered: the one that worked).
	Attempt int `json:"attempt,omitempty"`
	// Reason is why, in words for people: a held message, a refusal, a
	// delivery failure, an automatic mail. Shown, never parsed.
	Reason string `json:"reason,omitempty"`
	// Rule is the threading rule of a message event.
	Rule string `json:"rule,omitempty"`
	// Automatic and Loop say why a recorded mail answers nobody.
	Automatic string `json:"automatic,omitempty"`
	Loop      string `json:"loop,omitempty"`
	// Held says why a mail was kept from the customers.
	Held string `json:"held,omitempty"`
	// Unverified: the sender could not be proven.
	Unverified bool `json:"unverified,omitempty"`
	// OldStatus and NewStatus of a status change.
	OldStatus string `json:"old_status,omitempty"`
	NewStatus string `json:"new_status,omitempty"`
	// OldPriority and NewPriority of a priority change.
	OldPriority string `json:"old_priority,omitempty"`
	NewPriority string `json:"new_priority,omitempty"`
	// Assignee of an assignment ("" for nobody).
	Assignee string `json:"assignee,omitempty"`
	// Addresses lists the people concerned: participants added, invited,
	// pending or removed, approvers asked, the address suppressed or muted.
	Addresses []string `json:"addresses,omitempty"`
	// Organization a request was shared with.
	Organization string `json:"organization,omitempty"`
	// Other names the other ticket: merged from, continued in,
	// continues.
	Other string `json:"other,omitempty"`
	// MergedInto is the ticket a merge went into (on both tickets' event).
	MergedInto string `json:"merged_into,omitempty"`
	// Approved is an approver's answer (approval_answered).
	Approved bool `json:"approved,omitempty"`
	// Days is a period in days (auto-close, suppression).
	Days int `json:"days,omitempty"`
	// Count and Bytes: files removed by retention, messages merged.
	Count int   `json:"count,omitempty"`
	Bytes int64 `json:"bytes,omitempty"`
	// Lines are the answers to commands, one per command.
	Lines []string `json:"lines,omitempty"`
	// Target names a response target (first_response, resolution) and
	// Due an instant (a target's due time, the end of a snooze): issue 21.
	Target string    `json:"target,omitempty"`
	Due    time.Time `json:"due,omitzero"`
	// Visibility is a ticket's new visibility (visibility_changed).
	Visibility string `json:"visibility,omitempty"`
	// OldType and NewType of a request type change (type_changed).
	OldType string `json:"old_type,omitempty"`
	NewType string `json:"new_type,omitempty"`
	// Score and Comment of a customer's rating (issue 18).
	Score   int    `json:"score,omitempty"`
	Comment string `json:"comment,omitempty"`
	// Legacy is the text of an event stored before events were typed
	// (schema < 3 wrote "type" and "detail"): shown as it is, never parsed.
	Legacy string `json:"legacy,omitempty"`
}

// UnmarshalJSON reads an event, including those written before events
// were typed: their "type" name maps to a Kind (the names are the same)
// and their "detail" sentence is kept as Legacy. A record with no known
// kind is an error.
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event
	var rec struct {
		plain
		Kind   *string `json:"kind"`
		Type   string  `json:"type"`
		Detail string  `json:"detail"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return err
	}
	name := rec.Type
	if rec.Kind != nil {
		name = *rec.Kind
	}
	k, err := ParseEventKind(name)
	if err != nil {
		return err
	}
	*e = Event(rec.plain)
	e.Kind = k
	if rec.Kind == nil && rec.Detail != "" {
		e.Legacy = rec.Detail
	}
	return nil
}
