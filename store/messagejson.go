package store

// UnmarshalMessage decodes a message record into m exactly as
// json.Unmarshal would, without reflection (see rowReader): the sender
// reads the causing message of every mail it renders. m must be zero.
func UnmarshalMessage(b []byte, m *Message) error {
	return unmarshalRow(b, m, readMessage)
}

// readMessage is UnmarshalMessage's own reader; false when the record
// must go to encoding/json (m is then partly filled).
func readMessage(b []byte, m *Message) bool {
	r := newRowReader(b)
	r.object(func(key []byte) { r.messageField(key, m) })
	r.end()
	return !r.bad
}

func (r *rowReader) messageField(key []byte, m *Message) {
	switch string(key) {
	case "id":
		m.ID = r.uint(64)
	case "ticket":
		m.Ticket = r.str()
	case "project":
		m.Project = r.str()
	case "direction":
		m.Direction = r.str()
	case "kind":
		m.Kind = r.str()
	case "internal":
		m.Internal = r.boolean()
	case "held":
		m.Held = r.str()
	case "discarded":
		m.Discarded = r.boolean()
	case "source":
		m.Source = r.str()
	case "mail_from":
		m.MailFrom = r.str()
	case "from":
		m.From = r.str()
	case "from_name":
		m.FromName = r.str()
	case "to":
		m.To = r.strings()
	case "cc":
		m.Cc = r.strings()
	case "subject":
		m.Subject = r.str()
	case "message_id":
		m.MessageID = r.str()
	case "in_reply_to":
		m.InReplyTo = r.strings()
	case "references":
		m.References = r.strings()
	case "date":
		r.time(&m.Date)
	case "received":
		r.time(&m.Received)
	case "text":
		m.Text = r.str()
	case "html":
		m.HTML = r.str()
	case "attachments":
		r.value(&m.Attach)
	case "text_cut":
		m.TextCut = r.boolean()
	case "raw":
		m.Raw = r.str()
	case "raw_size":
		m.RawSize = int64(r.uint(63))
	case "threaded_by":
		m.ThreadedBy = r.str()
	case "auto":
		m.Auto = r.str()
	case "problems":
		m.Problems = r.strings()
	case "unverified":
		m.Unverified = r.boolean()
	case "encrypted":
		m.Encrypted = r.boolean()
	case "signature":
		m.Signature = Signature(r.str())
	case "from_fallback":
		m.FromFallback = r.str()
	case "forwarded_by":
		m.ForwardedBy = r.str()
	default:
		r.bad = true
	}
}
