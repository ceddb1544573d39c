package store

import "encoding/json"

// UnmarshalOutboxItem decodes an outbox row (the JSON encoding/json's
// Marshal wrote) into it, exactly as json.Unmarshal would, but about ten
// times cheaper for the rows the store writes: the sender reads every row
// it sends, and reflection-driven decoding was a sixth of its CPU. Rows it
// does not expect field by field (see rowReader) go to json.Unmarshal.
// it must be zero.
func UnmarshalOutboxItem(b []byte, it *OutboxItem) error {
	return unmarshalRow(b, it, readOutboxItem)
}

// readOutboxItem is UnmarshalOutboxItem's own reader; false when the row
// must go to encoding/json (it is then partly filled).
func readOutboxItem(b []byte, it *OutboxItem) bool {
	r := newRowReader(b)
	r.object(func(key []byte) { r.outboxField(key, it) })
	r.end()
	if r.bad {
		return false
	}
	it.stored = r.s
	return true
}

func (r *rowReader) outboxField(key []byte, it *OutboxItem) {
	switch string(key) {
	case "id":
		it.ID = r.uint(64)
	case "project":
		it.Project = r.str()
	case "ticket":
		it.Ticket = r.str()
	case "kind":
		k, ok := r.rawString()
		if ok {
			if err := it.Kind.UnmarshalText(k); err != nil {
				r.bad = true
			}
		}
	case "event":
		it.Event = r.str()
	case "language":
		it.Language = r.str()
	case "internal":
		it.Internal = r.boolean()
	case "recipient":
		it.Recipient = r.str()
	case "recipient_name":
		it.RecipientName = r.str()
	case "mail_from":
		it.MailFrom = r.str()
	case "bounce":
		it.Bounce = r.str()
	case "message_id":
		it.MessageID = r.str()
	case "date":
		r.time(&it.Date)
	case "in_reply_to":
		it.InReplyTo = r.strings()
	case "references":
		it.References = r.strings()
	case "message":
		it.Message = r.uint(64)
	case "attachments":
		r.value(&it.Attach)
	case "header":
		r.object(func(key []byte) { r.outboxHeaderField(key, &it.Header) })
	case "vars":
		r.object(func(key []byte) { r.outboxVarsField(key, &it.Vars) })
	case "raw_blob":
		it.RawBlob = r.str()
	case "automatic":
		it.Automatic = r.boolean()
	case "created":
		r.time(&it.Created)
	case "next_attempt":
		r.time(&it.NextAttempt)
	case "attempts":
		it.Attempts = r.int()
	case "last_error":
		it.LastError = r.str()
	default:
		r.bad = true
	}
}

func (r *rowReader) outboxHeaderField(key []byte, h *OutboxHeader) {
	switch string(key) {
	case "from_name":
		h.FromName = r.str()
	case "from":
		h.From = r.str()
	case "reply_to":
		h.ReplyTo = r.str()
	case "reply_to_name":
		h.ReplyToName = r.str()
	case "subject":
		h.Subject = r.str()
	case "auto_submitted":
		h.AutoSubmitted = r.str()
	case "loop":
		h.Loop = r.str()
	case "unsubscribe":
		h.Unsubscribe = r.str()
	default:
		r.bad = true
	}
}

func (r *rowReader) outboxVarsField(key []byte, v *OutboxVars) {
	switch string(key) {
	case "project_key":
		v.ProjectKey = r.str()
	case "project_name":
		v.ProjectName = r.str()
	case "project_address":
		v.ProjectAddress = r.str()
	case "ticket_subject":
		v.TicketSubject = r.str()
	case "ticket_status":
		v.TicketStatus = r.str()
	case "reporter":
		v.Reporter = r.str()
	case "assignee":
		v.Assignee = r.str()
	case "link":
		v.Link = r.str()
	case "agent_link":
		v.AgentLink = r.str()
	case "marker":
		v.Marker = r.str()
	case "actor":
		v.Actor = r.str()
	case "added":
		v.Added = r.strings()
	case "recipients":
		v.Recipients = r.strings()
	case "status":
		v.Status = r.str()
	case "old_status":
		v.OldStatus = r.str()
	case "detail":
		v.Detail = r.str()
	case "reopened":
		v.Reopened = r.boolean()
	case "target":
		v.Target = r.str()
	case "due":
		v.Due = r.str()
	case "draft":
		v.Draft = r.str()
	case "offer_link":
		v.OfferLink = r.str()
	case "rating_link":
		v.RatingLink = r.str()
	case "rating_scale":
		v.RatingScale = r.int()
	case "comment":
		v.Comment = r.str()
	case "attach_key":
		v.AttachKey = r.boolean()
	case "digest":
		r.value(&v.Digest)
	default:
		r.bad = true
	}
}

// MarshalOutboxItem encodes an outbox row as json.Marshal does, byte for
// byte, without reflection: every mail queued is encoded once (in the
// transaction that queues it) and again at every retry.
func MarshalOutboxItem(it *OutboxItem) ([]byte, error) {
	if b, ok := writeOutboxItem(it); ok {
		return b, nil
	}
	return json.Marshal(it) // its error
}

// writeOutboxItem is MarshalOutboxItem's own writer; false when a field
// cannot be encoded (encoding/json then says why).
func writeOutboxItem(it *OutboxItem) ([]byte, bool) {
	w := rowWriter{b: make([]byte, 0, outboxSizeHint(it))}
	w.open()
	w.field(`"id":`)
	w.uint(it.ID)
	w.field(`"project":`)
	w.str(it.Project)
	if it.Ticket != "" {
		w.field(`"ticket":`)
		w.str(it.Ticket)
	}
	if it.Kind != 0 {
		k, err := it.Kind.MarshalText()
		if err != nil {
			return nil, false
		}
		w.field(`"kind":`)
		w.str(string(k))
	}
	w.field(`"event":`)
	w.str(it.Event)
	if it.Language != "" {
		w.field(`"language":`)
		w.str(it.Language)
	}
	if it.Internal {
		w.field(`"internal":true`)
	}
	w.field(`"recipient":`)
	w.str(it.Recipient)
	if it.RecipientName != "" {
		w.field(`"recipient_name":`)
		w.str(it.RecipientName)
	}
	w.field(`"mail_from":`)
	w.str(it.MailFrom)
	if it.Bounce != "" {
		w.field(`"bounce":`)
		w.str(it.Bounce)
	}
	w.field(`"message_id":`)
	w.str(it.MessageID)
	if !it.Date.IsZero() {
		w.field(`"date":`)
		if !w.time(it.Date) {
			return nil, false
		}
	}
	if len(it.InReplyTo) > 0 {
		w.field(`"in_reply_to":`)
		w.strings(it.InReplyTo)
	}
	if len(it.References) > 0 {
		w.field(`"references":`)
		w.strings(it.References)
	}
	if it.Message != 0 {
		w.field(`"message":`)
		w.uint(it.Message)
	}
	if len(it.Attach) > 0 {
		w.field(`"attachments":`)
		if !w.value(it.Attach) {
			return nil, false
		}
	}
	if it.Header != (OutboxHeader{}) {
		w.field(`"header":`)
		w.outboxHeader(&it.Header)
	}
	if !it.Vars.zero() {
		w.field(`"vars":`)
		if !w.outboxVars(&it.Vars) {
			return nil, false
		}
	}
	if it.RawBlob != "" {
		w.field(`"raw_blob":`)
		w.str(it.RawBlob)
	}
	if it.Automatic {
		w.field(`"automatic":true`)
	}
	w.field(`"created":`)
	if !w.time(it.Created) {
		return nil, false
	}
	w.field(`"next_attempt":`)
	if !w.time(it.NextAttempt) {
		return nil, false
	}
	w.field(`"attempts":`)
	w.int(int64(it.Attempts))
	if it.LastError != "" {
		w.field(`"last_error":`)
		w.str(it.LastError)
	}
	w.close()
	return w.b, true
}

func (w *rowWriter) outboxHeader(h *OutboxHeader) {
	w.open()
	if h.FromName != "" {
		w.field(`"from_name":`)
		w.str(h.FromName)
	}
	w.field(`"from":`)
	w.str(h.From)
	for _, f := range [...]struct {
		key, v string
	}{{`"reply_to":`, h.ReplyTo}, {`"reply_to_name":`, h.ReplyToName}} {
		if f.v != "" {
			w.field(f.key)
			w.str(f.v)
		}
	}
	w.field(`"subject":`)
	w.str(h.Subject)
	for _, f := range [...]struct {
		key, v string
	}{{`"auto_submitted":`, h.AutoSubmitted}, {`"loop":`, h.Loop}, {`"unsubscribe":`, h.Unsubscribe}} {
		if f.v != "" {
			w.field(f.key)
			w.str(f.v)
		}
	}
	w.close()
}

// zero is encoding/json's omitzero test for the struct (it has no IsZero
// method): every field its zero value (nil slices, not empty ones).
func (v *OutboxVars) zero() bool {
	return v.ProjectKey == "" && v.ProjectName == "" && v.ProjectAddress == "" && v.TicketSubject == "" && v.TicketStatus == "" &&
		v.Reporter == "" && v.Assignee == "" && v.Link == "" && v.AgentLink == "" && v.Marker == "" && v.Actor == "" &&
		v.Added == nil && v.Recipients == nil && v.Status == "" && v.OldStatus == "" && v.Detail == "" && !v.Reopened &&
		v.Target == "" && v.Due == "" && v.Draft == "" && v.OfferLink == "" && v.RatingLink == "" && v.RatingScale == 0 &&
		v.Comment == "" && !v.AttachKey && v.Digest == nil
}

func (w *rowWriter) outboxVars(v *OutboxVars) bool {
	w.open()
	strs := func(fields ...string) {
		for i := 0; i < len(fields); i += 2 {
			if fields[i+1] != "" {
				w.field(fields[i])
				w.str(fields[i+1])
			}
		}
	}
	strs(`"project_key":`, v.ProjectKey, `"project_name":`, v.ProjectName, `"project_address":`, v.ProjectAddress,
		`"ticket_subject":`, v.TicketSubject, `"ticket_status":`, v.TicketStatus, `"reporter":`, v.Reporter,
		`"assignee":`, v.Assignee, `"link":`, v.Link, `"agent_link":`, v.AgentLink, `"marker":`, v.Marker, `"actor":`, v.Actor)
	if len(v.Added) > 0 {
		w.field(`"added":`)
		w.strings(v.Added)
	}
	if len(v.Recipients) > 0 {
		w.field(`"recipients":`)
		w.strings(v.Recipients)
	}
	strs(`"status":`, v.Status, `"old_status":`, v.OldStatus, `"detail":`, v.Detail)
	if v.Reopened {
		w.field(`"reopened":true`)
	}
	strs(`"target":`, v.Target, `"due":`, v.Due, `"draft":`, v.Draft, `"offer_link":`, v.OfferLink, `"rating_link":`, v.RatingLink)
	if v.RatingScale != 0 {
		w.field(`"rating_scale":`)
		w.int(int64(v.RatingScale))
	}
	strs(`"comment":`, v.Comment)
	if v.AttachKey {
		w.field(`"attach_key":true`)
	}
	if v.Digest != nil {
		w.field(`"digest":`)
		if !w.value(v.Digest) {
			return false
		}
	}
	w.close()
	return true
}

// outboxSizeHint guesses the length of it as JSON (the keys, times and
// the usual strings), so the buffer is allocated once and not much larger.
func outboxSizeHint(it *OutboxItem) int {
	n := 896
	for _, s := range [...]string{it.Project, it.Ticket, it.Event, it.Recipient, it.RecipientName, it.MailFrom, it.Bounce, it.MessageID,
		it.Header.FromName, it.Header.From, it.Header.ReplyTo, it.Header.ReplyToName, it.Header.Subject, it.Header.Loop, it.Header.Unsubscribe,
		it.Vars.ProjectName, it.Vars.ProjectAddress, it.Vars.TicketSubject, it.Vars.Reporter, it.Vars.Link, it.Vars.AgentLink,
		it.Vars.Marker, it.Vars.Actor, it.Vars.Detail, it.LastError} {
		n += len(s)
	}
	for _, s := range it.InReplyTo {
		n += len(s) + 3
	}
	for _, s := range it.References {
		n += len(s) + 3
	}
	return n
}
