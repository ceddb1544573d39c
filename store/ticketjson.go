package store

// UnmarshalTicket decodes a ticket record into t exactly as json.Unmarshal
// would, without reflection for the ticket's own fields (see rowReader):
// the search feed reads every ticket an event touched, the desk and the
// engine many more. t must be zero.
func UnmarshalTicket(b []byte, t *Ticket) error {
	return unmarshalRow(b, t, readTicket)
}

// readTicket is UnmarshalTicket's own reader; false when the record must
// go to encoding/json (t is then partly filled).
func readTicket(b []byte, t *Ticket) bool {
	r := newRowReader(b)
	r.object(func(key []byte) { r.ticketField(key, t) })
	r.end()
	return !r.bad
}

func (r *rowReader) ticketField(key []byte, t *Ticket) {
	switch string(key) {
	case "key":
		t.Key = r.str()
	case "project":
		t.Project = r.str()
	case "number":
		t.Number = r.uint(64)
	case "subject":
		t.Subject = r.str()
	case "status":
		t.Status = r.str()
	case "priority":
		t.Priority = r.str()
	case "reporter":
		t.Reporter = r.str()
	case "reporter_name":
		t.ReporterName = r.str()
	case "participants":
		r.value(&t.Participants)
	case "assignee":
		t.Assignee = r.str()
	case "language":
		t.Language = r.str()
	case "muted":
		t.Muted = r.strings()
	case "created":
		r.time(&t.Created)
	case "updated":
		r.time(&t.Updated)
	case "closed":
		r.time(&t.Closed)
	case "messages":
		t.Messages = r.int()
	case "merged_into":
		t.MergedInto = r.str()
	case "organization":
		t.Organization = r.str()
	case "resolved":
		r.time(&t.Resolved)
	case "reminded":
		r.time(&t.Reminded)
	case "follows":
		t.Follows = r.str()
	case "private":
		t.Private = r.boolean()
	case "first_response":
		r.value(&t.FirstResponse)
	case "resolution":
		r.value(&t.Resolution)
	case "snoozed":
		r.time(&t.Snoozed)
	case "wake":
		r.time(&t.Wake)
	case "reopens":
		t.Reopens = r.int()
	case "last_reopened":
		r.time(&t.LastReopened)
	case "visibility":
		t.Visibility = r.str()
	case "type":
		t.Type = r.str()
	case "encrypted":
		t.Encrypted = r.boolean()
	default:
		r.bad = true
	}
}
