package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// RatingSummary is one project's customer ratings on one scale (issue
// 18), as the daemon reads them from the store at scrape time.
type RatingSummary struct {
	Project string
	Scale   int
	Average float64
	// Scores counts the ratings per score: Scores[s-1] for score s.
	Scores []int
}

// ratingCollector reads the ratings at scrape time.
type ratingCollector struct {
	m              *Metrics
	count, average *prometheus.Desc
}

func newRatingCollector(m *Metrics) *ratingCollector {
	return &ratingCollector{
		m:       m,
		count:   prometheus.NewDesc("ticketgate_ratings", "Customer ratings held, by project, scale (5 or 2) and score: one per ticket and customer, the latest.", []string{"project", "scale", "score"}, nil),
		average: prometheus.NewDesc("ticketgate_rating_average", "Average customer rating, by project and scale.", []string{"project", "scale"}, nil),
	}
}

func (c *ratingCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.count
	ch <- c.average
}

func (c *ratingCollector) Collect(ch chan<- prometheus.Metric) {
	if c.m.opts.Ratings == nil {
		return
	}
	list, err := c.m.opts.Ratings()
	if err != nil {
		return // ticketgate_store_up says the store could not be read
	}
	for _, r := range list {
		scale := strconv.Itoa(r.Scale)
		for i, n := range r.Scores {
			ch <- prometheus.MustNewConstMetric(c.count, prometheus.GaugeValue, float64(n), r.Project, scale, strconv.Itoa(i+1))
		}
		ch <- prometheus.MustNewConstMetric(c.average, prometheus.GaugeValue, r.Average, r.Project, scale)
	}
}
