package store

import "encoding/json"

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
