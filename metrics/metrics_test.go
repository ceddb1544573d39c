package metrics

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestReady: an empty outbox is ready; a mail queued two hours ago on the
// metrics' clock is stuck; a threshold of 0 means "never stuck"; a store
// that cannot be read is neither ready nor alive. (The daemon's tests read
// a real store through the same functions: TestReadyzOutboxStuck.)
func TestReady(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	set := Settings{OutboxStuckAfter: time.Hour}
	var q OutboxState
	var qErr error
	m := New(Options{
		Outbox:     func() (OutboxState, error) { return q, qErr },
		StoreBytes: func() (int64, bool) { return 4096, true },
		Now:        func() time.Time { return now },
		Settings:   func() Settings { return set },
	})
	if r := m.Ready(); !r.Ready {
		t.Fatalf("empty store not ready: %+v", r)
	}
	q = OutboxState{Depth: 1, Oldest: now.Add(-2 * time.Hour), OldestID: 7, OldestTo: "c@x.example"}
	r := m.Ready()
	if r.Ready || r.Outbox.Depth != 1 || r.Outbox.OldestTo != "c@x.example" {
		t.Errorf("2h old mail: %+v", r)
	}
	rec := httptest.NewRecorder()
	m.Handler(false).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "mail 7 to c@x.example has waited 2h0m0s (more than 1h0m0s)") {
		t.Errorf("/readyz: %d %s", rec.Code, rec.Body)
	}
	set.OutboxStuckAfter = 0
	if r := m.Ready(); !r.Ready {
		t.Errorf("stuck check off: %+v", r)
	}
	rec = httptest.NewRecorder()
	m.Handler(false).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{"ticketgate_outbox_oldest_age_seconds 7200\n", "ticketgate_outbox_depth 1\n", "ticketgate_store_size_bytes 4096\n", "ticketgate_store_up 1\n"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, rec.Body)
		}
	}
	// Reads work but commits fail (a full disk): not ready until the
	// probe's empty commit works again.
	var probeErr error
	m.opts.CommitProbe = func() error { return probeErr }
	probeErr = errors.New("no space left on device")
	if r := m.Ready(); r.Ready || !strings.Contains(r.Checks[0].Detail, "commits fail") {
		t.Errorf("failing commits ready: %+v", r)
	}
	probeErr = nil
	if r := m.Ready(); !r.Ready {
		t.Errorf("commits work again, not ready: %+v", r)
	}
	qErr = errors.New("database not open")
	if r := m.Ready(); r.Ready {
		t.Errorf("unreadable store ready: %+v", r)
	}
	if err := m.Alive(); err == nil {
		t.Error("unreadable store alive")
	}
	rec = httptest.NewRecorder()
	m.Handler(false).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "ticketgate_store_up 0\n") {
		t.Errorf("/metrics with the store down:\n%s", rec.Body)
	}
}

// TestIngestedCounts: every copy counts under its outcome; created and
// threaded count only for stored copies.
func TestIngestedCounts(t *testing.T) {
	m := New(Options{Outbox: func() (OutboxState, error) { return OutboxState{}, nil }})
	m.Ingested(Ingest{Source: "smtp", Project: "ACME", Outcome: OutcomeNewTicket, Stored: true, Created: true, ThreadedBy: "new"})
	m.Ingested(Ingest{Source: "smtp", Project: "ACME", Outcome: OutcomeReply, Stored: true, ThreadedBy: "references"})
	m.Ingested(Ingest{Source: "imap", Project: "ACME", Outcome: OutcomeDuplicate, Created: true, ThreadedBy: "new"})
	rec := httptest.NewRecorder()
	m.Handler(false).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`ticketgate_messages_received_total{outcome="new_ticket",project="ACME",source="smtp"} 1`,
		`ticketgate_messages_received_total{outcome="duplicate",project="ACME",source="imap"} 1`,
		`ticketgate_tickets_created_total{project="ACME"} 1`,
		`{project="ACME",rule="references"} 1`,
		`{project="ACME",rule="new"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, rec.Body)
		}
	}
}
