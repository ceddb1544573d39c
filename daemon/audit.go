package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/ingest"
	"github.com/ticketgate/ticketgate/metrics"
	"github.com/ticketgate/ticketgate/msgid"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// auditQueue bounds the events waiting for the writer; beyond it events
// are only logged (and counted), never allowed to slow mail down.
const auditQueue = 4096

// auditWriter records mail events per Message-ID in the store and logs
// each at info with audit=true. It writes off the mail path: hooks hand it
// jobs, one goroutine commits them in batches (the store's group commit),
// so an SMTP 250 never waits for an audit fsync.
type auditWriter struct {
	st      store.DB
	now     func() time.Time
	log     *slog.Logger
	dropped func()
	// days returns log.audit_days (reloadable).
	days func() int

	jobs chan *auditJob
	done chan struct{}
}

// auditJob is what one hook call hands over: events as they are, and for
// an inbound mail stored on a ticket, the follow-up of what it caused.
type auditJob struct {
	events []*store.AuditEvent
	follow *followUp
}

// followUp names an inbound mail stored on Ticket and what it caused
// there (ticket.Result.Caused): the mail queued (to whom, under which
// Message-ID) and held back, or for a delivery report the failure it
// reports. The engine hands these events over from the transaction that
// wrote them, so nothing is read back.
type followUp struct {
	MessageID, Project, Ticket string
	Time                       time.Time
	Bounce                     bool
	Caused                     []*store.Event
}

func newAuditWriter(st store.DB, now func() time.Time, log *slog.Logger, dropped func()) *auditWriter {
	return &auditWriter{st: st, now: now, log: log, dropped: dropped, days: func() int { return 90 },
		jobs: make(chan *auditJob, auditQueue), done: make(chan struct{})}
}

// inbound turns an ingest outcome into audit events.
func (a *auditWriter) inbound(o ingest.Outcome) {
	now := a.now().UTC()
	base := store.AuditEvent{MessageID: o.MessageID, Time: now, Project: o.Project}
	ev := func(typ store.AuditType, f func(*store.AuditEvent)) *store.AuditEvent {
		e := base
		e.Type = typ
		if f != nil {
			f(&e)
		}
		return &e
	}
	job := &auditJob{}
	add := func(e *store.AuditEvent) { job.events = append(job.events, e) }
	add(ev(store.AuditReceived, func(e *store.AuditEvent) { e.Source, e.From = o.Source, o.From }))
	res := o.Result
	if res != nil && res.Ticket != "" {
		base.Ticket = res.Ticket
	}
	switch out := ingestOutcome(o); out {
	case metrics.OutcomeDuplicate:
		add(ev(store.AuditDuplicate, func(e *store.AuditEvent) { e.Detail = "already stored (same Message-ID and content): nothing changed" }))
		a.submit(job)
		return
	case metrics.OutcomeRejected, metrics.OutcomeTempfail:
		add(ev(store.AuditRejected, func(e *store.AuditEvent) {
			e.Detail = fmt.Sprintf("not stored: %v", o.Err)
			if fault.IsTemporary(o.Err) {
				e.Detail += " (temporary: the sender retries)"
			}
		}))
		a.submit(job)
		return
	}
	if res == nil {
		a.submit(job)
		return
	}
	if res.Draft != "" {
		// Issue 17: no ticket yet; the draft is named instead.
		add(ev(store.AuditThreaded, func(e *store.AuditEvent) {
			e.Ticket, e.Rule, e.Detail = res.Draft, "draft", "kept as draft "+res.Draft+" until its sender is entitled (open_to)"
		}))
	} else if res.Created {
		add(ev(store.AuditNewTicket, func(e *store.AuditEvent) { e.Rule = res.ThreadedBy }))
	} else {
		add(ev(store.AuditThreaded, func(e *store.AuditEvent) { e.Rule = res.ThreadedBy }))
	}
	if o.Loop != "" {
		add(ev(store.AuditLoop, func(e *store.AuditEvent) { e.Detail = "our own mail came back; recorded, nothing sent: " + o.Loop }))
	} else if o.Auto != "" {
		add(ev(store.AuditAutomatic, func(e *store.AuditEvent) { e.Detail = "no auto-reply or customer notification: " + o.Auto }))
	}
	if o.Err != nil {
		add(ev(store.AuditRefused, func(e *store.AuditEvent) { e.Detail = "stored for the agents, refused to the sender: " + o.Err.Error() }))
	}
	if res.Message != 0 {
		job.follow = &followUp{MessageID: msgid.Canonical(o.MessageID), Project: o.Project, Ticket: res.Ticket, Time: now,
			Bounce: res.ThreadedBy == ticket.ByBounce, Caused: res.Caused()}
	}
	a.submit(job)
}

// attempt records a send attempt on the outbound mail's Message-ID.
func (a *auditWriter) attempt(it *store.OutboxItem, result string, err error) {
	e := &store.AuditEvent{MessageID: it.MessageID, Time: a.now().UTC(), Project: it.Project, Ticket: it.Ticket, Recipient: it.Recipient}
	switch result {
	case "delivered":
		e.Type = store.AuditDelivered
		// Every mail sent comes here: a concatenation is cheaper than
		// Sprintf's reflection on two values.
		e.Detail = it.Event + " handed over (attempt " + strconv.Itoa(it.Attempts+1) + ")"
	case "deferred":
		e.Type = store.AuditDeferred
		e.Detail = fmt.Sprintf("attempt %d failed: %v; next attempt %s", it.Attempts, err, it.NextAttempt.UTC().Format(time.RFC3339))
	default:
		e.Type = store.AuditGivenUp
		e.Detail = fmt.Sprintf("given up after %d attempt(s): %v", it.Attempts, err)
	}
	a.submit(&auditJob{events: []*store.AuditEvent{e}})
}

func (a *auditWriter) submit(j *auditJob) {
	select {
	case a.jobs <- j:
	default:
		for _, e := range j.events {
			a.logEvent(e, false)
		}
		a.dropped()
	}
}

// close stops the writer after it wrote everything submitted before.
func (a *auditWriter) close() {
	close(a.jobs)
	<-a.done
}

func (a *auditWriter) run() {
	defer close(a.done)
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	a.prune()
	for {
		select {
		case j, ok := <-a.jobs:
			if !ok {
				return
			}
			batch := []*auditJob{j}
		fill:
			for len(batch) < 256 {
				select {
				case j, ok := <-a.jobs:
					if !ok {
						break fill
					}
					batch = append(batch, j)
				default:
					break fill
				}
			}
			a.write(batch)
		case <-prune.C:
			a.prune()
		}
	}
}

// write commits a batch in one transaction, then logs what it wrote.
func (a *auditWriter) write(batch []*auditJob) {
	var written []*store.AuditEvent
	err := a.st.Update(context.Background(), func(tx store.Tx) error {
		written = written[:0] // the store may run this more than once
		for _, j := range batch {
			evs := j.events
			if j.follow != nil {
				evs = append(evs[:len(evs):len(evs)], followEvents(j.follow)...)
			}
			for _, e := range evs {
				cp := *e
				if err := tx.AddAudit(&cp); err != nil {
					return err
				}
				written = append(written, &cp)
			}
		}
		return nil
	})
	if err != nil {
		a.log.Error("could not store audit events; they are only logged", "err", err)
		for _, j := range batch {
			for _, e := range j.events {
				a.logEvent(e, false)
			}
		}
		return
	}
	for _, e := range written {
		a.logEvent(e, true)
	}
}

func (a *auditWriter) logEvent(e *store.AuditEvent, stored bool) {
	if !a.log.Enabled(context.Background(), slog.LevelInfo) {
		return // building the line costs more than writing the event
	}
	attrs := []any{"audit", true, "event", e.Type, "msgid", msgid.Canonical(e.MessageID)}
	for _, kv := range [][2]string{{"project", e.Project}, {"ticket", e.Ticket}, {"source", e.Source}, {"from", e.From},
		{"rcpt", e.Recipient}, {"rule", e.Rule}, {"related", e.Related}, {"detail", e.Detail}} {
		if kv[1] != "" {
			attrs = append(attrs, kv[0], kv[1])
		}
	}
	if !stored {
		attrs = append(attrs, "stored", false)
	}
	a.log.Info("mail event", attrs...)
}

// prune drops audit events older than log.audit_days, a bounded number
// per transaction.
func (a *auditWriter) prune() {
	before := a.now().Add(-time.Duration(a.days()) * 24 * time.Hour)
	total := 0
	for {
		var n int
		err := a.st.Update(context.Background(), func(tx store.Tx) error {
			var err error
			n, err = tx.PruneAudit(before, 10000)
			return err
		})
		if err != nil {
			a.log.Warn("audit prune failed", "err", err)
			return
		}
		total += n
		if n < 10000 {
			break
		}
	}
	if total > 0 {
		a.log.Info("pruned old audit events", "removed", total, "before", before.UTC().Format(time.RFC3339))
	}
}

// followEvents turns what an inbound mail caused into its audit events
// and those of the mail it concerns: notifications queued (store.EvQueued:
// recipient, template, outbound Message-ID) and held back
// (EvSuppressed/EvRateLimited: recipient, template, reason); for a
// delivery report, the failure of the mail it reports on. Everything comes
// from the events' typed fields.
//
// The inbound mail's own events come first, then those of the mail it
// queued: each stream keeps its order, and the store keeps the inbound
// mail's events, written one after the other, in one record.
func followEvents(f *followUp) []*store.AuditEvent {
	if f.Bounce {
		return bounceEvents(f)
	}
	var own, sent []*store.AuditEvent
	for _, e := range f.Caused {
		switch e.Kind {
		case store.EvQueued:
			own = append(own, &store.AuditEvent{MessageID: f.MessageID, Time: f.Time, Type: store.AuditQueued, Project: f.Project, Ticket: f.Ticket, Recipient: e.Recipient, Detail: e.Template, Related: e.MessageID})
			sent = append(sent, &store.AuditEvent{MessageID: e.MessageID, Time: f.Time, Type: store.AuditQueued, Project: f.Project, Ticket: f.Ticket, Recipient: e.Recipient, Detail: e.Template, Related: f.MessageID})
		case store.EvSuppressed, store.EvRateLimited:
			own = append(own, &store.AuditEvent{MessageID: f.MessageID, Time: f.Time, Type: store.AuditHeld, Project: f.Project, Ticket: f.Ticket,
				Recipient: e.Recipient, Detail: e.Template + " not sent: " + e.Reason})
		}
	}
	return append(own, sent...)
}

// bounceEvents links a delivery report to the mail it reports on: the
// delivery failure it caused names the failed mail (MessageID, Recipient).
// A delay notice fails nothing and links nothing.
func bounceEvents(f *followUp) []*store.AuditEvent {
	for _, e := range f.Caused {
		if e.Kind != store.EvDeliveryFailed || e.MessageID == "" {
			continue
		}
		return []*store.AuditEvent{
			{MessageID: f.MessageID, Time: f.Time, Type: store.AuditBounced, Project: f.Project, Ticket: f.Ticket, Recipient: e.Recipient, Detail: "report on our mail: " + e.Reason, Related: e.MessageID},
			{MessageID: e.MessageID, Time: f.Time, Type: store.AuditBounced, Project: f.Project, Ticket: f.Ticket, Recipient: e.Recipient, Detail: e.Reason, Related: f.MessageID},
		}
	}
	return nil
}
