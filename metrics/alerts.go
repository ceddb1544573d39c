package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Alerts exposes the intake health alerts (issue 21): which causes fail
// now, and the alert and recovery mails sent.
type Alerts struct {
	reg  *prometheus.Registry
	sent *prometheus.CounterVec
}

// NewAlerts registers the alert metrics on m's registry.
func NewAlerts(m *Metrics) *Alerts {
	a := &Alerts{reg: m.reg, sent: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ticketgate_alert_mails_total",
		Help: "Intake health alert mails sent, by kind (alert, recovered).",
	}, []string{"kind"})}
	m.reg.MustRegister(a.sent)
	return a
}

// Sent counts one alert mail.
func (a *Alerts) Sent(recovered bool) {
	kind := "alert"
	if recovered {
		kind = "recovered"
	}
	a.sent.WithLabelValues(kind).Inc()
}

// Active registers ticketgate_alerts_active{cause}: 1 for each cause that
// fails now (announced or not yet), read from active at each scrape.
func (a *Alerts) Active(active func() []string) {
	a.register(prometheus.NewDesc("ticketgate_alerts_active", "Causes failing now (a mailbox, the outbox, the relay): 1 each.", []string{"cause"}, nil), active)
}

type activeCollector struct {
	desc   *prometheus.Desc
	active func() []string
}

func (c activeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c activeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, k := range c.active() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 1, k)
	}
}

func (a *Alerts) register(desc *prometheus.Desc, active func() []string) {
	a.reg.MustRegister(activeCollector{desc: desc, active: active})
}

// SetAlerts makes /readyz show the failing causes (alerts, one line each)
// as a check of their own; they do not make the daemon unready: the
// mailbox and outbox checks decide that, as before.
func (m *Metrics) SetAlerts(active func() []string) {
	m.alertsMu.Lock()
	m.alerts = active
	m.alertsMu.Unlock()
}

func (m *Metrics) alertLines() ([]string, bool) {
	m.alertsMu.Lock()
	f := m.alerts
	m.alertsMu.Unlock()
	if f == nil {
		return nil, false
	}
	return f(), true
}
