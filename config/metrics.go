package config

import (
	"net"
	"time"
)

// Metrics configures the operations HTTP listener: Prometheus metrics on
// /metrics, /healthz (alive) and /readyz (able to do its job), and
// optionally Go's profiler under /debug/pprof/.
type Metrics struct {
	// Listen is "host:port"; empty (the default) switches the listener off.
	Listen string `mapstructure:"listen"`
	// Pprof serves /debug/pprof/* on the same listener. Default false.
	Pprof bool `mapstructure:"pprof"`
	// ReadyzRequiresMailboxes makes /readyz fail while an IMAP mailbox is
	// not connected. Default false: mailbox state is only reported.
	ReadyzRequiresMailboxes bool `mapstructure:"readyz_requires_mailboxes"`
	// OutboxStuckAfter fails /readyz when the oldest queued outbound mail
	// has waited longer than this. Default 1h.
	OutboxStuckAfter time.Duration `mapstructure:"outbox_stuck_after"`
}

// DefaultOutboxStuckAfter is metrics.outbox_stuck_after's default.
const DefaultOutboxStuckAfter = time.Hour

func defaultMetrics() Metrics {
	return Metrics{OutboxStuckAfter: DefaultOutboxStuckAfter}
}

func (m *Metrics) validate() []error {
	var errs []error
	if m.Listen != "" {
		if _, _, err := net.SplitHostPort(m.Listen); err != nil {
			errs = append(errs, fieldErr("metrics.listen", "want host:port, got %q", m.Listen))
		}
	}
	if m.OutboxStuckAfter <= 0 {
		errs = append(errs, fieldErr("metrics.outbox_stuck_after", "must be positive"))
	}
	return errs
}
