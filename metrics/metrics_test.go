package metrics

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/ingest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

func TestOutcomeNames(t *testing.T) {
	for _, c := range []struct {
		o    ingest.Outcome
		want string
	}{
		{ingest.Outcome{Result: &ticket.Result{Ticket: "A-1", Created: true}}, "new_ticket"},
		{ingest.Outcome{Result: &ticket.Result{Ticket: "A-1"}}, "reply"},
		{ingest.Outcome{Result: &ticket.Result{Ticket: "A-1", Duplicate: true}}, "duplicate"},
		{ingest.Outcome{Result: &ticket.Result{Ticket: "A-1"}, Auto: "auto-submitted"}, "automatic"},
		{ingest.Outcome{Result: &ticket.Result{Ticket: "A-1"}, Loop: "own mail"}, "loop"},
		{ingest.Outcome{Result: &ticket.Result{Ticket: "A-1"}, Err: errors.New("too big")}, "refused"},
		{ingest.Outcome{Err: fault.Temporary(errors.New("disk"))}, "tempfail"},
		{ingest.Outcome{Err: errors.New("bad")}, "rejected"},
	} {
		if got := Outcome(c.o); got != c.want {
			t.Errorf("%+v: %q, want %q", c.o, got, c.want)
		}
	}
}

// TestReadyOnARealStore: an empty outbox is ready; a mail queued two
// hours ago on the metrics' clock is stuck; a lower threshold of 0 means
// "never stuck".
func TestReadyOnARealStore(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	set := Settings{OutboxStuckAfter: time.Hour}
	m := New(Options{Store: st, Now: func() time.Time { return now }, Settings: func() Settings { return set }})
	if r := m.Ready(); !r.Ready {
		t.Fatalf("empty store not ready: %+v", r)
	}
	err = st.Update(context.Background(), func(tx store.Tx) error {
		return tx.Enqueue(&store.OutboxItem{Recipient: "c@x.example", MessageID: "tg.a@x", Created: now.Add(-2 * time.Hour), NextAttempt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	r := m.Ready()
	if r.Ready || r.Outbox.Depth != 1 || r.Outbox.OldestTo != "c@x.example" {
		t.Errorf("2h old mail: %+v", r)
	}
	rec := httptest.NewRecorder()
	m.Handler(false).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "has waited 2h0m0s (more than 1h0m0s)") {
		t.Errorf("/readyz: %d %s", rec.Code, rec.Body)
	}
	set.OutboxStuckAfter = 0
	if r := m.Ready(); !r.Ready {
		t.Errorf("stuck check off: %+v", r)
	}
	rec = httptest.NewRecorder()
	m.Handler(false).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "ticketgate_outbox_oldest_age_seconds 7200\n") || !strings.Contains(rec.Body.String(), "ticketgate_outbox_depth 1\n") {
		t.Errorf("/metrics:\n%s", rec.Body)
	}
}
