package admin

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ticketgate/ticketgate/msgid"
	"github.com/ticketgate/ticketgate/store"
)

// Trace answers "what happened to this mail?" for one Message-ID.
type Trace struct {
	MessageID string              `json:"message_id"`
	Events    []*store.AuditEvent `json:"events"`
	// Sent lists the mail queued because of this one (an inbound id), each
	// with its own events.
	Sent []TraceMail `json:"sent,omitempty"`
	// Cause is the inbound mail that caused this one (an outbound id).
	Cause *TraceMail `json:"cause,omitempty"`
	// Related lists other linked mail: the delivery report about an
	// outbound mail, or the mail a report is about.
	Related []TraceMail `json:"related,omitempty"`
}

// TraceMail is one related mail and its events.
type TraceMail struct {
	MessageID string              `json:"message_id"`
	Events    []*store.AuditEvent `json:"events"`
}

func (s *Server) traceRoutes() {
	s.handle("GET /api/trace", scopeAgent, s.trace)
}

func (s *Server) trace(w http.ResponseWriter, r *http.Request) {
	id := msgid.Canonical(r.URL.Query().Get("id"))
	if id == "" {
		writeError(w, http.StatusBadRequest, "name a Message-ID: ?id=<message-id>")
		return
	}
	t := Trace{MessageID: id, Events: []*store.AuditEvent{}}
	err := s.store.View(func(tx store.Tx) error {
		var err error
		if t.Events, err = tx.Audit(id); err != nil {
			return err
		}
		seen := map[string]bool{id: true}
		for _, e := range t.Events {
			if e.Related == "" || seen[e.Related] {
				continue
			}
			seen[e.Related] = true
			rel, err := tx.Audit(e.Related)
			if err != nil {
				return err
			}
			m := TraceMail{MessageID: e.Related, Events: rel}
			switch {
			case e.Type != store.AuditQueued:
				t.Related = append(t.Related, m)
			case inbound(t.Events):
				t.Sent = append(t.Sent, m)
			case t.Cause == nil:
				t.Cause = &m
			}
		}
		return nil
	})
	if err != nil {
		s.storeError(w, err)
		return
	}
	if !s.mayTrace(r.Context(), &t) {
		t.Events = nil
	}
	if len(t.Events) == 0 {
		writeError(w, http.StatusNotFound, "nothing is known about <"+id+"> (the audit stream keeps log.audit_days days)")
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// inbound: an inbound mail's stream starts with "received".
func inbound(ev []*store.AuditEvent) bool {
	return len(ev) > 0 && ev[0].Type == store.AuditReceived
}

// Trace fetches the audit trail of one Message-ID (a *StatusError with
// Code 404 when nothing is known about it).
func (c *Client) Trace(ctx context.Context, messageID string) (*Trace, error) {
	var t Trace
	err := c.Call(ctx, http.MethodGet, "/api/trace?id="+url.QueryEscape(messageID), nil, &t)
	return &t, err
}

// mayTrace keeps what the caller may see of t: events of their projects,
// and events that name no project (received, before routing) only when the
// mail also concerns one of their projects. It reports whether anything is
// left.
func (s *Server) mayTrace(ctx context.Context, t *Trace) bool {
	mine := false
	visit := func(ev []*store.AuditEvent) {
		for _, e := range ev {
			if e.Project != "" && s.may(ctx, e.Project) {
				mine = true
			}
		}
	}
	visit(t.Events)
	for _, m := range t.Sent {
		visit(m.Events)
	}
	for _, m := range t.Related {
		visit(m.Events)
	}
	if t.Cause != nil {
		visit(t.Cause.Events)
	}
	if !mine {
		return false
	}
	keep := func(ev []*store.AuditEvent) []*store.AuditEvent {
		out := []*store.AuditEvent{}
		for _, e := range ev {
			if e.Project == "" || s.may(ctx, e.Project) {
				out = append(out, e)
			}
		}
		return out
	}
	keepMails := func(ms []TraceMail) []TraceMail {
		var out []TraceMail
		for _, m := range ms {
			if m.Events = keep(m.Events); len(m.Events) > 0 {
				out = append(out, m)
			}
		}
		return out
	}
	t.Events = keep(t.Events)
	t.Sent = keepMails(t.Sent)
	t.Related = keepMails(t.Related)
	if t.Cause != nil {
		if t.Cause.Events = keep(t.Cause.Events); len(t.Cause.Events) == 0 {
			t.Cause = nil
		}
	}
	return true
}
