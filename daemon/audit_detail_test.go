package daemon

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// TestAttemptDetail: the audit detail of a send attempt names the
// template and the attempt, as people read it in `ticketgate trace`.
func TestAttemptDetail(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	a := newAuditWriter(nil, func() time.Time { return now }, slog.New(slog.DiscardHandler), func() { t.Error("job dropped") })
	it := &store.OutboxItem{MessageID: "tg-x@support.example.com", Project: "ACME", Ticket: "ACME-1", Recipient: "c@customer.example",
		Event: "customer/request_created", Attempts: 2, NextAttempt: now.Add(time.Minute)}
	for _, c := range []struct {
		result string
		err    error
		typ    store.AuditType
		detail string
	}{
		{"delivered", nil, store.AuditDelivered, "customer/request_created handed over (attempt 3)"},
		{"deferred", errors.New("421 busy"), store.AuditDeferred, "attempt 2 failed: 421 busy; next attempt 2026-12-04T10:01:00Z"},
		{"given up", errors.New("550 no"), store.AuditGivenUp, "given up after 2 attempt(s): 550 no"},
	} {
		a.attempt(it, c.result, c.err)
		j := <-a.jobs
		if len(j.events) != 1 {
			t.Fatalf("%s: %d events", c.result, len(j.events))
		}
		e := j.events[0]
		if e.Type != c.typ || e.Detail != c.detail || e.MessageID != it.MessageID || e.Recipient != it.Recipient || !e.Time.Equal(now) {
			t.Errorf("%s: got %+v, want type %s detail %q", c.result, e, c.typ, c.detail)
		}
	}
}
