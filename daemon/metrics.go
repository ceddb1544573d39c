package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/ingest"
	"github.com/ticketgate/ticketgate/metrics"
	"github.com/ticketgate/ticketgate/store"
)

// SenderStaleAfter is how long the outbox sender may show no sign of life
// (see mailout.Sender.Heartbeat) before Healthy reports it hung. It is
// above the SMTP transport's per-step timeout, so a slow relay alone does
// not count.
const SenderStaleAfter = 5 * time.Minute

// ops is the operations side of a daemon: metrics, the audit writer and
// the /metrics, /healthz, /readyz listener.
type ops struct {
	metrics  *metrics.Metrics
	audit    *auditWriter
	flow     *metrics.Flow
	sessions map[string]*atomic.Int64 // open sessions per listener
	srv      *http.Server
	ln       net.Listener
	served   chan struct{}
}

// startOps builds the metrics and the audit writer, hooks them into the
// pipeline, notifier and sender, and opens metrics.listen when set (so a
// taken port fails the start early). It runs before the mail listeners are
// created (they take session hooks); serveOps starts answering scrapes
// once they are.
func (d *Daemon) startOps(opts Options) error {
	cfg := d.Config()
	o := &ops{sessions: map[string]*atomic.Int64{}}
	d.ops = o
	mailboxes := opts.Mailboxes
	if mailboxes == nil {
		mailboxes = d.mailboxStates
	}
	var agrees func() error
	if _, shared := d.store.(store.NodeLocker); shared {
		agrees = d.configAgrees
	}
	o.metrics = metrics.New(metrics.Options{
		Outbox:      func() (metrics.OutboxState, error) { return outboxState(d.store) },
		StoreBytes:  func() (int64, bool) { return storeBytes(d.store) },
		CommitProbe: func() error { return commitProbe(d.store) },
		Now:         d.now,
		Settings: func() metrics.Settings {
			m := d.Config().Metrics
			return metrics.Settings{OutboxStuckAfter: m.OutboxStuckAfter, RequireMailboxes: m.ReadyzRequiresMailboxes}
		},
		Mailboxes: mailboxes,
		Sessions: func() map[string]int64 {
			out := make(map[string]int64, len(o.sessions))
			for name, n := range o.sessions {
				out[name] = n.Load()
			}
			return out
		},
		Alive:        d.Healthy,
		ConfigAgrees: agrees,
		Ratings:      func() ([]metrics.RatingSummary, error) { return ratingSummaries(d.store) },
	})
	o.audit = newAuditWriter(d.store, d.now, d.log.With("component", "audit"), o.metrics.AuditDropped)
	o.audit.days = func() int { return d.Config().Log.AuditDays }
	go o.audit.run()

	d.pipeline.Observe = func(out ingest.Outcome) {
		o.metrics.Ingested(ingestMetric(out))
		o.audit.inbound(out)
	}
	// The label is the held-back event's kind name.
	d.notifier.OnHeld = func(project string, k store.EventKind) { o.metrics.Held(project, k.String()) }
	d.sender.OnRepair = o.metrics.OutboxRepaired
	if d.flow != nil {
		o.flow = o.metrics.NewFlow(d.flow.Lag)
	}
	d.hookMetrics(o.metrics, opts.HookAttempt)
	d.sender.OnAttempt = func(it *store.OutboxItem, result string, err error) {
		o.metrics.SendAttempt(result)
		o.audit.attempt(it, result, err)
	}

	if cfg.Metrics.Listen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", cfg.Metrics.Listen)
	if err != nil {
		return fmt.Errorf("listen metrics on %s: %w", cfg.Metrics.Listen, err)
	}
	o.ln = ln
	o.srv = &http.Server{Handler: o.metrics.Handler(cfg.Metrics.Pprof), ReadHeaderTimeout: 10 * time.Second}
	return nil
}

// serveOps answers scrapes on metrics.listen. Start calls it after every
// listener took its session hook: a scrape reads the sessions map, which
// is not locked because nothing writes it once serving began (an early
// scrape would otherwise read it while the listeners fill it). A scrape
// that connected earlier waits in the listen backlog until then.
func (d *Daemon) serveOps() {
	o := d.ops
	if o == nil || o.srv == nil {
		return
	}
	o.served = make(chan struct{})
	ln := o.ln
	go func() {
		defer close(o.served)
		if err := o.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("metrics listener stopped", "err", err)
		}
	}()
}

// sessionHooks returns the session gauge and counter hook of a listener.
func (d *Daemon) sessionHooks(name string) (*atomic.Int64, func(string)) {
	if d.ops == nil {
		return nil, nil
	}
	n := &atomic.Int64{}
	d.ops.sessions[name] = n
	m := d.ops.metrics
	return n, func(result string) { m.Session(name, result) }
}

// stopOps closes the metrics listener and drains the audit writer; it runs
// after the sender stopped and before the store closes.
func (d *Daemon) stopOps() {
	o := d.ops
	if o == nil {
		return
	}
	if o.srv != nil {
		o.srv.Close()
		if o.served != nil {
			<-o.served
		} else {
			o.ln.Close() // never served: Close does not know it
		}
	}
	o.audit.close()
}

func (d *Daemon) opsAddr() string {
	if d.ops == nil || d.ops.ln == nil {
		return ""
	}
	return d.ops.ln.Addr().String()
}

// Metrics returns the daemon's metrics (nil before Start).
func (d *Daemon) Metrics() *metrics.Metrics {
	if d.ops == nil {
		return nil
	}
	return d.ops.metrics
}

// Healthy is the daemon's own liveness check, for the systemd watchdog and
// /healthz: a read transaction on the store succeeds and the outbox
// sender's loop is running and shows a sign of life (woken here, so an idle
// loop answers at once). It does not depend on SMTP sessions.
func (d *Daemon) Healthy() error {
	if err := d.store.View(func(tx store.Tx) error {
		tx.Meta("schema")
		return nil
	}); err != nil {
		return fmt.Errorf("store read: %w", err)
	}
	beat := d.sender.Heartbeat()
	if beat.IsZero() {
		return fault.Permanentf("the outbox sender is not running")
	}
	if err := d.sender.Health(); err != nil {
		// The loop runs but cannot serve its due mail (a relay that is
		// down is not this: its failures are attempts).
		return fault.Permanentf("the outbox sender cannot serve its queue: %w", err)
	}
	d.sender.Wake() // an idle loop beats on the next check
	if age := time.Since(beat); age > SenderStaleAfter {
		return fault.Permanentf("the outbox sender has shown no sign of life for %s", age.Truncate(time.Second))
	}
	return nil
}

// mailboxStates reports the IMAP mailboxes (imapin.Status) to the
// metrics and /readyz.
func (d *Daemon) mailboxStates() []metrics.Mailbox {
	st := d.Mailboxes()
	out := make([]metrics.Mailbox, len(st))
	for i, s := range st {
		out[i] = metrics.Mailbox(s)
	}
	return out
}

// outboxState reads what readiness and the gauges need from the outbox, in
// one read transaction (package metrics imports no store).
func outboxState(st store.DB) (metrics.OutboxState, error) {
	var q metrics.OutboxState
	err := st.View(func(tx store.Tx) error {
		q.Depth, q.Oldest = tx.OutboxStats()
		if it := tx.OldestOutboxItem(); it != nil {
			q.OldestID, q.OldestTo = it.ID, it.Recipient
		}
		return nil
	})
	return q, err
}

// storeBytes is the size of the database file.
func storeBytes(st store.DB) (int64, bool) {
	fi, err := os.Stat(filepath.Join(st.Dir(), "ticketgate.db"))
	if err != nil {
		return 0, false
	}
	return fi.Size(), true
}

// ingestOutcome names what happened to one project copy of an inbound
// message.
func ingestOutcome(o ingest.Outcome) metrics.Outcome {
	switch {
	case o.Err != nil && o.Result != nil && o.Result.Ticket != "":
		return metrics.OutcomeRefused // stored for the agents, refused to the sender
	case o.Err != nil && fault.IsTemporary(o.Err):
		return metrics.OutcomeTempfail
	case o.Err != nil:
		return metrics.OutcomeRejected
	case o.Result == nil:
		return metrics.OutcomeRejected
	case o.Result.Duplicate:
		return metrics.OutcomeDuplicate
	case o.Loop != "":
		return metrics.OutcomeLoop
	case o.Auto != "":
		return metrics.OutcomeAutomatic
	case o.Result.Created:
		return metrics.OutcomeNewTicket
	default:
		return metrics.OutcomeReply
	}
}

// ingestMetric is one pipeline outcome as the metrics count it.
func ingestMetric(o ingest.Outcome) metrics.Ingest {
	out := ingestOutcome(o)
	m := metrics.Ingest{Source: o.Source, Project: o.Project, Outcome: out, Elapsed: o.Elapsed}
	if (o.Err == nil || out == metrics.OutcomeRefused) && o.Result != nil && !o.Result.Duplicate {
		m.Stored, m.Created, m.ThreadedBy = true, o.Result.Created, o.Result.ThreadedBy
	}
	return m
}

// commitProbe: when the store's last commit failed, an empty commit (2 s at
// most) tells whether commits work again.
func commitProbe(st store.DB) error {
	if st.CommitFailing() == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return st.Update(ctx, func(store.Tx) error { return nil })
}
