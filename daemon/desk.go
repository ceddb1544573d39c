package daemon

import (
	"context"

	"github.com/ticketgate/ticketgate/desk"
	"github.com/ticketgate/ticketgate/search"
	"github.com/ticketgate/ticketgate/ticket"
)

// newDesk builds the agents' desk served under /desk/ of the web listener.
func (d *Daemon) newDesk(baseURL string) *desk.Handler {
	return desk.New(d.store, desk.Options{
		BaseURL:       baseURL,
		Config:        d.Config,
		Engine:        d.engine,
		Secret:        d.secret,
		MailSignIn:    d.notifier.QueueSignIn,
		Queued:        d.sender.Wake,
		Now:           d.now,
		DescribeEvent: ticket.Describe,
		Search:        d.searchTickets,
	}, d.log.With("component", "desk"))
}

// searchTickets asks this node's index (nil until it is open).
func (d *Daemon) searchTickets(ctx context.Context, q string, projects []string) ([]string, error) {
	if d.search == nil {
		return nil, search.ErrBuilding
	}
	return d.search.Search(ctx, q, projects)
}

// SearchReady is closed once this node's search index is built.
func (d *Daemon) SearchReady() <-chan struct{} { return d.search.Ready() }

// pruneDesk ends the desk sessions no longer in force (agents removed from
// the config lose theirs at the reload) and drops expired sign-in links.
func (d *Daemon) pruneDesk(ctx context.Context) {
	if d.desk == nil {
		return
	}
	n, err := d.desk.Prune(ctx)
	if err != nil {
		d.log.Warn("desk: pruning sessions failed", "err", err)
		return
	}
	if n > 0 {
		d.log.Info("desk: sessions and sign-in links pruned", "count", n)
	}
}
