package daemon

import (
	"errors"
	"testing"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/ingest"
	"github.com/ticketgate/ticketgate/metrics"
	"github.com/ticketgate/ticketgate/ticket"
)

// TestIngestOutcomes: the outcome label of every kind of pipeline outcome,
// and which of them count as stored (created/threaded).
func TestIngestOutcomes(t *testing.T) {
	for _, c := range []struct {
		o      ingest.Outcome
		want   metrics.Outcome
		stored bool
	}{
		{ingest.Outcome{Result: &ticket.Result{Ticket: "A-1", Created: true}}, metrics.OutcomeNewTicket, true},
		{ingest.Outcome{Result: &ticket.Result{Ticket: "A-1"}}, metrics.OutcomeReply, true},
		{ingest.Outcome{Result: &ticket.Result{Ticket: "A-1", Duplicate: true}}, metrics.OutcomeDuplicate, false},
		{ingest.Outcome{Result: &ticket.Result{Ticket: "A-1"}, Auto: "auto-submitted"}, metrics.OutcomeAutomatic, true},
		{ingest.Outcome{Result: &ticket.Result{Ticket: "A-1"}, Loop: "own mail"}, metrics.OutcomeLoop, true},
		{ingest.Outcome{Result: &ticket.Result{Ticket: "A-1"}, Err: errors.New("too big")}, metrics.OutcomeRefused, true},
		{ingest.Outcome{Err: fault.Temporary(errors.New("disk"))}, metrics.OutcomeTempfail, false},
		{ingest.Outcome{Err: errors.New("bad")}, metrics.OutcomeRejected, false},
	} {
		m := ingestMetric(c.o)
		if m.Outcome != c.want || m.Stored != c.stored {
			t.Errorf("%+v → %q stored %v, want %q stored %v", c.o, m.Outcome, m.Stored, c.want, c.stored)
		}
	}
}
