package daemon

import (
	"context"
	"time"

	"github.com/ticketgate/ticketgate/imapin"
)

// startIMAP starts reading the projects' IMAP mailboxes (one goroutine
// each) into the shared pipeline.
func (d *Daemon) startIMAP() {
	d.imap = imapin.NewManager(d.store, d.pipeline, imapin.Options{Logger: d.log.With("component", "imap"), OnStatus: d.changed, Pace: d.imapPace()})
	d.imap.Apply(d.Config())
}

// reloadIMAP starts new mailboxes, stops removed ones and restarts those
// whose settings changed; the others keep their connection.
func (d *Daemon) reloadIMAP() {
	if d.imap != nil {
		d.imap.Apply(d.Config())
	}
}

// stopIMAP ends IDLE and logs out of every mailbox, closing connections
// that do not finish within 10 s or before ctx ends. A message being
// stored is finished first, unless ctx ends.
func (d *Daemon) stopIMAP(ctx context.Context) {
	if d.imap == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.imap.Stop(ctx); err != nil {
		d.log.Warn("imap shutdown", "err", err)
	}
}

// Mailboxes reports the state of every IMAP mailbox, ordered by project.
func (d *Daemon) Mailboxes() []imapin.Status {
	if d.imap == nil {
		return nil
	}
	return d.imap.Status()
}

// imapPace is the fetchers' pacing (nil when inbound.flow_delay is 0).
func (d *Daemon) imapPace() func(context.Context) {
	if d.flow == nil {
		return nil
	}
	return d.pace
}
