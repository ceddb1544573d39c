package daemon

import (
	"context"
	"time"

	"github.com/ticketgate/ticketgate/metrics"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
	"github.com/ticketgate/ticketgate/webhook"
)

// startHooks creates the webhook sender (issue 18): its own small worker
// pool beside the mail sender, with the outbox's retry limits; the engine
// wakes it after a commit that queued deliveries, and records what became
// of each on its ticket.
func (d *Daemon) startHooks(engine *ticket.Engine, opts Options) {
	r := d.Config().Outbound.Retry
	d.hookTLS = opts.HookTLS
	d.hooks = webhook.NewSender(d.store, d.Config, webhook.Options{
		Retry:   webhook.Retry{Initial: r.Initial, Max: r.Max, GiveUpAfter: r.GiveUpAfter},
		Workers: opts.HookWorkers, TLS: opts.HookTLS, Now: d.now,
	}, d.log.With("component", "webhook"))
	d.hooks.OnDelivered = engine.HookDelivered
	d.hooks.OnGiveUp = engine.HookFailed
	engine.HookQueued = d.hooks.Wake
}

// runHooks sends webhook deliveries until ctx ends.
func (d *Daemon) runHooks(ctx context.Context) {
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		d.hooks.Run(ctx)
	}()
}

// Hooks returns the webhook sender (for tests).
func (d *Daemon) Hooks() *webhook.Sender { return d.hooks }

// hookMetrics feeds the webhook sender's attempts and queue into the
// metrics (called by startOps).
func (d *Daemon) hookMetrics(m *metrics.Metrics, test func(*store.HookItem, string, error)) {
	w := m.NewWebhooks(func() (n int, age float64, err error) {
		var oldest time.Time
		err = d.store.View(func(tx store.Tx) (err error) {
			n, oldest, err = tx.HookStats()
			return err
		})
		if n > 0 && !oldest.IsZero() {
			age = d.now().Sub(oldest).Seconds()
		}
		return n, age, err
	})
	d.hooks.OnAttempt = func(it *store.HookItem, result string, err error) {
		w.Attempt(result)
		if test != nil {
			test(it, result, err)
		}
	}
}
