package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Webhooks are the webhook sender's metrics (issue 18), registered on a
// Metrics' registry by NewWebhooks.
type Webhooks struct {
	attempts *prometheus.CounterVec
}

// NewWebhooks registers the webhook metrics on m: attempts by result, and
// the queue's length and oldest age read by queue (count, age in seconds;
// an error leaves both out of the scrape).
func (m *Metrics) NewWebhooks(queue func() (int, float64, error)) *Webhooks {
	w := &Webhooks{attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ticketgate_webhook_attempts_total",
		Help: "Webhook delivery attempts by result: delivered, deferred (temporary failure, retried), failed (given up).",
	}, []string{"result"})}
	m.reg.MustRegister(w.attempts, &hookQueue{read: queue,
		items: prometheus.NewDesc("ticketgate_webhook_queue_items", "Webhook deliveries queued.", nil, nil),
		age:   prometheus.NewDesc("ticketgate_webhook_queue_oldest_age_seconds", "Age of the longest-queued webhook delivery (0 when none).", nil, nil)})
	return w
}

// Attempt records a delivery attempt's result (webhook.Sender.OnAttempt).
func (w *Webhooks) Attempt(result string) { w.attempts.WithLabelValues(result).Inc() }

type hookQueue struct {
	read       func() (int, float64, error)
	items, age *prometheus.Desc
}

func (q *hookQueue) Describe(ch chan<- *prometheus.Desc) { ch <- q.items; ch <- q.age }

func (q *hookQueue) Collect(ch chan<- prometheus.Metric) {
	n, age, err := q.read()
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(q.items, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(q.age, prometheus.GaugeValue, age)
}
