// Package metrics is ticketgate's operations surface: Prometheus metrics on
// a registry of its own (never the global one), /healthz (the daemon is
// alive) and /readyz (it can do its job: the store answers, the outbox
// drains, mailboxes are connected), and optionally Go's profiler.
//
// Counters are fed by hooks the daemon wires (ingest outcomes, held mail,
// send attempts, SMTP sessions); gauges that describe state (outbox depth
// and age, store size, IMAP mailboxes, open sessions) are read at scrape
// time, so they are never stale and cost nothing between scrapes.
//
// It is a leaf: it imports no package of the gateway. The daemon hands it
// plain values (Ingest, OutboxState) and functions that read the store.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Mailbox is the state of one IMAP mailbox the daemon fetches from.
type Mailbox struct {
	Project, Mailbox string
	Connected        bool
	Idling           bool
	LastSync         time.Time
	LastPoll         time.Time
	LastError        string
	LastErrorAt      time.Time
	OAuth2Error      string
	Errors           uint64
	Ingested         uint64
}

// Settings are the reloadable knobs read on every readiness check.
type Settings struct {
	// OutboxStuckAfter fails readiness when the oldest queued mail has
	// waited longer (0: never).
	OutboxStuckAfter time.Duration
	// RequireMailboxes fails readiness while a mailbox is not connected.
	RequireMailboxes bool
}

// Options connect the metrics to the running daemon. Only Outbox is
// required.
type Options struct {
	// Outbox reads the outbox's state in one read transaction of the
	// store; an error means the store could not be read.
	Outbox func() (OutboxState, error)
	// StoreBytes returns the size of the database file (ok false:
	// unknown); may be nil.
	StoreBytes func() (n int64, ok bool)
	// CommitProbe, when the store's last commit failed, tries an empty
	// commit and returns its error (nil: commits work); may be nil.
	CommitProbe func() error
	// Now is the clock for ages (default time.Now).
	Now func() time.Time
	// Settings returns the current settings (default: stuck after 1h).
	Settings func() Settings
	// Mailboxes returns every IMAP mailbox's state; may be nil.
	Mailboxes func() []Mailbox
	// Sessions returns the open SMTP/LMTP sessions per listener; may be nil.
	Sessions func() map[string]int64
	// Alive is the daemon's own liveness check (store read, sender loop)
	// used by /healthz; may be nil (then Outbox must read).
	Alive func() error
	// ConfigAgrees, when set, fails /readyz with its error: on a store
	// several nodes share, this node's projects differ from the ones
	// another node loaded.
	ConfigAgrees func() error
	// Ratings reads the customers' ratings summed up (issue 18); may be
	// nil.
	Ratings func() ([]RatingSummary, error)
}

// Metrics holds the registry and the counters the hooks feed.
type Metrics struct {
	opts Options
	reg  *prometheus.Registry

	received       *prometheus.CounterVec
	created        *prometheus.CounterVec
	threaded       *prometheus.CounterVec
	held           *prometheus.CounterVec
	sends          *prometheus.CounterVec
	sessions       *prometheus.CounterVec
	ingestLatency  *prometheus.HistogramVec
	auditDropped   prometheus.Counter
	outboxRepaired prometheus.Counter

	// alerts lists the failing causes for /readyz (issue 21, alerts.go).
	alertsMu sync.Mutex
	alerts   func() []string
}

// New builds the metrics on a fresh registry (with Go runtime and process
// collectors).
func New(opts Options) *Metrics {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Settings == nil {
		opts.Settings = func() Settings { return Settings{OutboxStuckAfter: time.Hour} }
	}
	m := &Metrics{opts: opts, reg: prometheus.NewRegistry()}
	m.received = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ticketgate_messages_received_total",
		Help: "Inbound messages per addressed project copy, by source (smtp, lmtp, pipe, imap), project and outcome (new_ticket, reply, duplicate, automatic, loop, refused, rejected, tempfail).",
	}, []string{"source", "project", "outcome"})
	m.created = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ticketgate_tickets_created_total",
		Help: "Tickets opened by inbound mail, by project.",
	}, []string{"project"})
	m.threaded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ticketgate_threading_decisions_total",
		Help: "Where stored inbound mail went, by project and rule (new, reply-token, references, subject-token, …).",
	}, []string{"project", "rule"})
	m.held = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ticketgate_mail_suppressed_total",
		Help: "Outbound mail held back, by project and reason (suppressed, rate_limited).",
	}, []string{"project", "reason"})
	m.sends = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ticketgate_send_attempts_total",
		Help: "Outbound send attempts by result: delivered, deferred (temporary failure, retried), failed (given up).",
	}, []string{"result"})
	m.sessions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ticketgate_smtp_sessions_total",
		Help: "SMTP/LMTP sessions by listener (smtp, lmtp, socket) and result (accepted, untrusted, too_many, shutting_down).",
	}, []string{"listener", "result"})
	m.ingestLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ticketgate_ingest_duration_seconds",
		Help:    "Time from the start of a message's ingestion (spool, parse, classify) until its project copy is durable, by source.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"source"})
	m.auditDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ticketgate_audit_dropped_total",
		Help: "Audit events not stored because the audit writer was behind (they were still logged).",
	})
	m.outboxRepaired = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ticketgate_outbox_index_repaired_total",
		Help: "Outbox due-index entries repaired (an entry without its row, a row without its entry), at start-up or when a scan met one.",
	})
	m.reg.MustRegister(m.received, m.created, m.threaded, m.held, m.sends, m.sessions, m.ingestLatency, m.auditDropped, m.outboxRepaired,
		newStateCollector(m), newRatingCollector(m),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry (for tests and extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Outcome is what happened to one project copy of an inbound message: the
// outcome label of ticketgate_messages_received_total.
type Outcome string

// The outcomes.
const (
	OutcomeNewTicket = Outcome("new_ticket")
	OutcomeReply     = Outcome("reply")
	OutcomeDuplicate = Outcome("duplicate")
	OutcomeAutomatic = Outcome("automatic")
	OutcomeLoop      = Outcome("loop")
	OutcomeRefused   = Outcome("refused") // stored for the agents, refused to the sender
	OutcomeRejected  = Outcome("rejected")
	OutcomeTempfail  = Outcome("tempfail")
)

// Ingest is one project copy of an inbound message as the metrics count
// it (the daemon builds it from ingest.Outcome).
type Ingest struct {
	Source, Project string
	Outcome         Outcome
	Elapsed         time.Duration
	// Stored: a ticket was changed (not a duplicate, not rejected);
	// Created and ThreadedBy then count.
	Stored     bool
	Created    bool
	ThreadedBy string
}

// Ingested records one project copy's outcome (ingest.Pipeline.Observe).
func (m *Metrics) Ingested(o Ingest) {
	m.received.WithLabelValues(o.Source, o.Project, string(o.Outcome)).Inc()
	m.ingestLatency.WithLabelValues(o.Source).Observe(o.Elapsed.Seconds())
	if !o.Stored {
		return
	}
	if o.Created {
		m.created.WithLabelValues(o.Project).Inc()
	}
	if o.ThreadedBy != "" {
		m.threaded.WithLabelValues(o.Project, o.ThreadedBy).Inc()
	}
}

// Held records mail held back (notify.Notifier.OnHeld).
func (m *Metrics) Held(project, reason string) {
	m.held.WithLabelValues(project, reason).Inc()
}

// SendAttempt records a send attempt's result (mailout.Sender.OnAttempt).
func (m *Metrics) SendAttempt(result string) {
	m.sends.WithLabelValues(result).Inc()
}

// Session records an SMTP/LMTP session (mailin.ServerOptions.OnSession).
func (m *Metrics) Session(listener, result string) {
	m.sessions.WithLabelValues(listener, result).Inc()
}

// OutboxRepaired counts repaired outbox index entries
// (mailout.Sender.OnRepair).
func (m *Metrics) OutboxRepaired(n int) { m.outboxRepaired.Add(float64(n)) }

// AuditDropped counts an audit event the writer could not keep up with.
func (m *Metrics) AuditDropped() { m.auditDropped.Inc() }

// stateCollector reads the gauges at scrape time.
type stateCollector struct {
	m *Metrics

	outboxDepth, outboxAge, storeBytes, storeUp, open       *prometheus.Desc
	mbConnected, mbIdling, mbLastSync, mbErrors, mbIngested *prometheus.Desc
}

func newStateCollector(m *Metrics) *stateCollector {
	mb := []string{"project", "mailbox"}
	return &stateCollector{
		m:           m,
		outboxDepth: prometheus.NewDesc("ticketgate_outbox_depth", "Outbound mails queued (waiting or being retried).", nil, nil),
		outboxAge:   prometheus.NewDesc("ticketgate_outbox_oldest_age_seconds", "Age of the oldest queued outbound mail (0 when the outbox is empty).", nil, nil),
		storeBytes:  prometheus.NewDesc("ticketgate_store_size_bytes", "Size of the database file (ticketgate.db).", nil, nil),
		storeUp:     prometheus.NewDesc("ticketgate_store_up", "1 when a read transaction on the store succeeded during this scrape.", nil, nil),
		open:        prometheus.NewDesc("ticketgate_smtp_sessions_open", "SMTP/LMTP sessions open now, by listener.", []string{"listener"}, nil),
		mbConnected: prometheus.NewDesc("ticketgate_imap_connected", "1 when the IMAP mailbox is connected.", mb, nil),
		mbIdling:    prometheus.NewDesc("ticketgate_imap_idling", "1 when the IMAP mailbox is in IDLE.", mb, nil),
		mbLastSync:  prometheus.NewDesc("ticketgate_imap_last_sync_timestamp_seconds", "Unix time of the mailbox's last successful sync (0: never).", mb, nil),
		mbErrors:    prometheus.NewDesc("ticketgate_imap_errors_total", "Errors on the mailbox since start.", mb, nil),
		mbIngested:  prometheus.NewDesc("ticketgate_imap_ingested_total", "Messages ingested from the mailbox since start.", mb, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.outboxDepth, c.outboxAge, c.storeBytes, c.storeUp, c.open,
		c.mbConnected, c.mbIdling, c.mbLastSync, c.mbErrors, c.mbIngested} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	q, err := m.opts.Outbox()
	depth, oldest := q.Depth, q.Oldest
	up := 0.0
	if err == nil {
		up = 1
		age := 0.0
		if !oldest.IsZero() {
			age = max(m.opts.Now().Sub(oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(c.outboxDepth, prometheus.GaugeValue, float64(depth))
		ch <- prometheus.MustNewConstMetric(c.outboxAge, prometheus.GaugeValue, age)
	}
	ch <- prometheus.MustNewConstMetric(c.storeUp, prometheus.GaugeValue, up)
	if m.opts.StoreBytes != nil {
		if n, ok := m.opts.StoreBytes(); ok {
			ch <- prometheus.MustNewConstMetric(c.storeBytes, prometheus.GaugeValue, float64(n))
		}
	}
	if m.opts.Sessions != nil {
		for name, n := range m.opts.Sessions() {
			ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(n), name)
		}
	}
	if m.opts.Mailboxes != nil {
		for _, mb := range m.opts.Mailboxes() {
			sync := 0.0
			if !mb.LastSync.IsZero() {
				sync = float64(mb.LastSync.UnixNano()) / 1e9
			}
			ch <- prometheus.MustNewConstMetric(c.mbConnected, prometheus.GaugeValue, b2f(mb.Connected), mb.Project, mb.Mailbox)
			ch <- prometheus.MustNewConstMetric(c.mbIdling, prometheus.GaugeValue, b2f(mb.Idling), mb.Project, mb.Mailbox)
			ch <- prometheus.MustNewConstMetric(c.mbLastSync, prometheus.GaugeValue, sync, mb.Project, mb.Mailbox)
			ch <- prometheus.MustNewConstMetric(c.mbErrors, prometheus.CounterValue, float64(mb.Errors), mb.Project, mb.Mailbox)
			ch <- prometheus.MustNewConstMetric(c.mbIngested, prometheus.CounterValue, float64(mb.Ingested), mb.Project, mb.Mailbox)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
