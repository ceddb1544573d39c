package store

import (
	"encoding/json"
	"time"
)

// The records a new request writes several times over (its tokens, its
// events) are encoded by hand, as writeOutboxItem does the outbox's:
// encoding/json's reflection, its copy of every time.Time's MarshalJSON
// output and its compaction of it cost a fifth of the store's CPU per
// request. The bytes are encoding/json's own (rowwrite_test.go fills every
// field, by reflection, and compares), so nothing stored changes.

// marshalRow encodes v as json.Marshal does.
func marshalRow(v any) ([]byte, error) {
	switch r := v.(type) {
	case *Token:
		if b, ok := writeToken(r); ok {
			return b, nil
		}
	case *Event:
		if b, ok := writeEvent(r); ok {
			return b, nil
		}
	case *Ticket:
		if b, ok := writeTicket(r); ok {
			return b, nil
		}
	case *Message:
		if b, ok := writeMessage(r); ok {
			return b, nil
		}
	}
	return json.Marshal(v)
}

func writeToken(t *Token) ([]byte, bool) {
	w := rowWriter{b: make([]byte, 0, 176+len(t.Token)+len(t.Kind)+len(t.Project)+len(t.Ticket)+len(t.Recipient)+len(t.MessageID)+len(t.Event))}
	w.open()
	w.field(`"token":`)
	w.str(t.Token)
	w.field(`"kind":`)
	w.str(t.Kind)
	w.field(`"project":`)
	w.str(t.Project)
	w.field(`"ticket":`)
	w.str(t.Ticket)
	w.field(`"recipient":`)
	w.str(t.Recipient)
	w.field(`"created":`)
	if !w.time(t.Created) {
		return nil, false
	}
	if !t.Expires.IsZero() {
		w.field(`"expires":`)
		if !w.time(t.Expires) {
			return nil, false
		}
	}
	if t.Revoked {
		w.field(`"revoked":true`)
	}
	if t.Proof {
		w.field(`"proof":true`)
	}
	w.optStr(`"message_id":`, t.MessageID)
	w.optStr(`"event":`, t.Event)
	w.close()
	return w.b, true
}

func writeEvent(e *Event) ([]byte, bool) {
	if e.Kind == evNone || e.Kind >= evEnd {
		return nil, false // MarshalText refuses it
	}
	w := rowWriter{b: make([]byte, 0, 160+len(e.Ticket)+len(e.MessageID)+len(e.Recipient)+len(e.Template)+len(e.Reason)+len(e.Actor))}
	w.open()
	w.field(`"seq":`)
	w.uint(e.Seq)
	w.field(`"ticket":`)
	w.str(e.Ticket)
	w.field(`"time":`)
	if !w.time(e.Time) {
		return nil, false
	}
	w.field(`"kind":`)
	w.str(e.Kind.String())
	w.optStr(`"actor":`, e.Actor)
	w.optStr(`"source":`, e.Source)
	w.optUint(`"message":`, e.Message)
	w.optStr(`"message_id":`, e.MessageID)
	w.optStr(`"recipient":`, e.Recipient)
	w.optUint(`"outbox_id":`, e.OutboxID)
	w.optStr(`"template":`, e.Template)
	w.optInt(`"attempt":`, int64(e.Attempt))
	w.optStr(`"reason":`, e.Reason)
	w.optStr(`"rule":`, e.Rule)
	w.optStr(`"automatic":`, e.Automatic)
	w.optStr(`"loop":`, e.Loop)
	w.optStr(`"held":`, e.Held)
	if e.Unverified {
		w.field(`"unverified":true`)
	}
	w.optStr(`"old_status":`, e.OldStatus)
	w.optStr(`"new_status":`, e.NewStatus)
	w.optStr(`"old_priority":`, e.OldPriority)
	w.optStr(`"new_priority":`, e.NewPriority)
	w.optStr(`"assignee":`, e.Assignee)
	w.optStrings(`"addresses":`, e.Addresses)
	w.optStr(`"organization":`, e.Organization)
	w.optStr(`"other":`, e.Other)
	w.optStr(`"merged_into":`, e.MergedInto)
	if e.Approved {
		w.field(`"approved":true`)
	}
	w.optInt(`"days":`, int64(e.Days))
	w.optInt(`"count":`, int64(e.Count))
	w.optInt(`"bytes":`, e.Bytes)
	w.optStrings(`"lines":`, e.Lines)
	w.optStr(`"target":`, e.Target)
	if !e.Due.IsZero() {
		w.field(`"due":`)
		if !w.time(e.Due) {
			return nil, false
		}
	}
	w.optStr(`"visibility":`, e.Visibility)
	w.optStr(`"old_type":`, e.OldType)
	w.optStr(`"new_type":`, e.NewType)
	w.optInt(`"score":`, int64(e.Score))
	w.optStr(`"comment":`, e.Comment)
	w.optStr(`"legacy":`, e.Legacy)
	w.close()
	return w.b, true
}

// writeTicket writes the ticket's own fields by hand and its nested
// records (participants, clocks) with encoding/json.
func writeTicket(t *Ticket) ([]byte, bool) {
	w := rowWriter{b: make([]byte, 0, 320+len(t.Subject)+len(t.Reporter)+len(t.ReporterName)+96*len(t.Participants))}
	w.open()
	w.field(`"key":`)
	w.str(t.Key)
	w.field(`"project":`)
	w.str(t.Project)
	w.field(`"number":`)
	w.uint(t.Number)
	w.field(`"subject":`)
	w.str(t.Subject)
	w.field(`"status":`)
	w.str(t.Status)
	w.optStr(`"priority":`, t.Priority)
	w.field(`"reporter":`)
	w.str(t.Reporter)
	w.optStr(`"reporter_name":`, t.ReporterName)
	if len(t.Participants) > 0 {
		w.field(`"participants":`)
		if !w.value(t.Participants) {
			return nil, false
		}
	}
	w.optStr(`"assignee":`, t.Assignee)
	w.optStr(`"language":`, t.Language)
	w.optStrings(`"muted":`, t.Muted)
	w.field(`"created":`)
	if !w.time(t.Created) {
		return nil, false
	}
	w.field(`"updated":`)
	if !w.time(t.Updated) {
		return nil, false
	}
	if !w.optTime(`"closed":`, t.Closed) {
		return nil, false
	}
	w.field(`"messages":`)
	w.int(int64(t.Messages))
	w.optStr(`"merged_into":`, t.MergedInto)
	w.optStr(`"organization":`, t.Organization)
	if !w.optTime(`"resolved":`, t.Resolved) || !w.optTime(`"reminded":`, t.Reminded) {
		return nil, false
	}
	w.optStr(`"follows":`, t.Follows)
	if t.Private {
		w.field(`"private":true`)
	}
	if t.FirstResponse != nil {
		w.field(`"first_response":`)
		if !w.clock(t.FirstResponse) {
			return nil, false
		}
	}
	if t.Resolution != nil {
		w.field(`"resolution":`)
		if !w.clock(t.Resolution) {
			return nil, false
		}
	}
	if !w.optTime(`"snoozed":`, t.Snoozed) || !w.optTime(`"wake":`, t.Wake) {
		return nil, false
	}
	w.optInt(`"reopens":`, int64(t.Reopens))
	if !w.optTime(`"last_reopened":`, t.LastReopened) {
		return nil, false
	}
	w.optStr(`"visibility":`, t.Visibility)
	w.optStr(`"type":`, t.Type)
	if t.Encrypted {
		w.field(`"encrypted":true`)
	}
	w.close()
	return w.b, true
}

// writeMessage writes the message's own fields by hand and its
// attachments with encoding/json.
func writeMessage(m *Message) ([]byte, bool) {
	w := rowWriter{b: make([]byte, 0, 384+len(m.Subject)+len(m.MessageID)+len(m.Text)*11/10+len(m.HTML)*11/10)}
	w.open()
	w.field(`"id":`)
	w.uint(m.ID)
	w.field(`"ticket":`)
	w.str(m.Ticket)
	w.field(`"project":`)
	w.str(m.Project)
	w.field(`"direction":`)
	w.str(m.Direction)
	w.field(`"kind":`)
	w.str(m.Kind)
	if m.Internal {
		w.field(`"internal":true`)
	}
	w.optStr(`"held":`, m.Held)
	if m.Discarded {
		w.field(`"discarded":true`)
	}
	w.optStr(`"source":`, m.Source)
	w.optStr(`"mail_from":`, m.MailFrom)
	w.field(`"from":`)
	w.str(m.From)
	w.optStr(`"from_name":`, m.FromName)
	w.optStrings(`"to":`, m.To)
	w.optStrings(`"cc":`, m.Cc)
	w.field(`"subject":`)
	w.str(m.Subject)
	w.optStr(`"message_id":`, m.MessageID)
	w.optStrings(`"in_reply_to":`, m.InReplyTo)
	w.optStrings(`"references":`, m.References)
	if !w.optTime(`"date":`, m.Date) {
		return nil, false
	}
	w.field(`"received":`)
	if !w.time(m.Received) {
		return nil, false
	}
	w.field(`"text":`)
	w.str(m.Text)
	w.optStr(`"html":`, m.HTML)
	if len(m.Attach) > 0 {
		w.field(`"attachments":`)
		if !w.value(m.Attach) {
			return nil, false
		}
	}
	if m.TextCut {
		w.field(`"text_cut":true`)
	}
	w.optStr(`"raw":`, m.Raw)
	w.optInt(`"raw_size":`, m.RawSize)
	w.optStr(`"threaded_by":`, m.ThreadedBy)
	w.optStr(`"auto":`, m.Auto)
	w.optStrings(`"problems":`, m.Problems)
	if m.Unverified {
		w.field(`"unverified":true`)
	}
	if m.Encrypted {
		w.field(`"encrypted":true`)
	}
	w.optStr(`"signature":`, string(m.Signature))
	w.optStr(`"from_fallback":`, m.FromFallback)
	w.optStr(`"forwarded_by":`, m.ForwardedBy)
	w.close()
	return w.b, true
}

// clock writes a ticket's response clock (every new ticket has two).
func (w *rowWriter) clock(c *Clock) bool {
	w.open()
	w.optInt(`"budget":`, int64(c.Budget))
	w.optInt(`"used":`, int64(c.Used))
	if !w.optTime(`"since":`, c.Since) || !w.optTime(`"warn":`, c.Warn) || !w.optTime(`"due":`, c.Due) ||
		!w.optTime(`"warned":`, c.Warned) || !w.optTime(`"breached":`, c.Breached) || !w.optTime(`"done":`, c.Done) {
		return false
	}
	w.optInt(`"took":`, int64(c.Took))
	if c.Manual {
		w.field(`"manual":true`)
	}
	w.close()
	return true
}

// optTime writes an omitzero time field; false when t cannot be written.
func (w *rowWriter) optTime(key string, t time.Time) bool {
	if t.IsZero() {
		return true
	}
	w.field(key)
	return w.time(t)
}

// optStr writes an omitempty string field.
func (w *rowWriter) optStr(key, s string) {
	if s != "" {
		w.field(key)
		w.str(s)
	}
}

// optUint writes an omitempty unsigned field.
func (w *rowWriter) optUint(key string, n uint64) {
	if n != 0 {
		w.field(key)
		w.uint(n)
	}
}

// optInt writes an omitempty signed field.
func (w *rowWriter) optInt(key string, n int64) {
	if n != 0 {
		w.field(key)
		w.int(n)
	}
}

// optStrings writes an omitempty []string field (nil and empty alike are
// left out).
func (w *rowWriter) optStrings(key string, ss []string) {
	if len(ss) > 0 {
		w.field(key)
		w.strings(ss)
	}
}
