package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Flow counts how the intake was paced to the outbound sender (package
// flow): the seconds sessions were held at MAIL and how often.
type Flow struct {
	held    prometheus.Counter
	seconds prometheus.Counter
	holding prometheus.Gauge
}

// NewFlow registers the pacing counters and the sender's lag, read at
// scrape time from lag.
func (m *Metrics) NewFlow(lag func() time.Duration) *Flow {
	f := &Flow{
		held: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ticketgate_intake_paced_total",
			Help: "Inbound messages held at MAIL because the outbound sender lagged behind its due mail.",
		}),
		seconds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ticketgate_intake_paced_seconds_total",
			Help: "Seconds inbound messages were held at MAIL because the outbound sender lagged behind its due mail.",
		}),
	}
	f.holding = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ticketgate_intake_paced_now",
		Help: "Inbound messages being held at MAIL (or before an IMAP fetch) right now.",
	})
	m.reg.MustRegister(f.held, f.seconds, f.holding, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ticketgate_outbox_send_lag_seconds",
		Help: "How long after it became due the sender started its latest mail (0 when nothing is due).",
	}, func() float64 { return lag().Seconds() }))
	return f
}

// Holding records that a message starts being held.
func (f *Flow) Holding() {
	if f != nil {
		f.holding.Inc()
	}
}

// Paced records that a message held by Holding went on after d.
func (f *Flow) Paced(d time.Duration) {
	if f == nil {
		return
	}
	f.holding.Dec()
	f.held.Inc()
	f.seconds.Add(d.Seconds())
}
