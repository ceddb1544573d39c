package metrics

import "github.com/prometheus/client_golang/prometheus"

// Targets counts response targets (issue 21): breaches announced, and
// targets reached in time or not.
type Targets struct {
	breaches *prometheus.CounterVec
	reached  *prometheus.CounterVec
}

// NewTargets registers the target counters on m's registry.
func NewTargets(m *Metrics) *Targets {
	t := &Targets{
		breaches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ticketgate_target_breaches_total",
			Help: "Response targets that ran out (the breach mail was queued), by project and target (first_response, resolution).",
		}, []string{"project", "target"}),
		reached: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ticketgate_targets_total",
			Help: "Response targets reached, by project, target and outcome (met: in time; missed: late).",
		}, []string{"project", "target", "outcome"}),
	}
	m.reg.MustRegister(t.breaches, t.reached)
	return t
}

// Breached counts one breach.
func (t *Targets) Breached(project, target string) { t.breaches.WithLabelValues(project, target).Inc() }

// Reached counts one target reached with outcome met or missed.
func (t *Targets) Reached(project, target, outcome string) {
	t.reached.WithLabelValues(project, target, outcome).Inc()
}
