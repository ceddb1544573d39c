// Package retention deletes the bulky, personal parts of tickets closed
// long enough — attachments and raw mail, per project — on a schedule, and
// records on each ticket what was deleted and when. Tickets and their text
// remain. Plan answers `ticketgate purge --dry-run`.
package retention

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// Item is one thing the next run deletes.
type Item struct {
	Ticket  string    `json:"ticket"`
	Message uint64    `json:"message"`
	What    string    `json:"what"` // raw or attachment
	Name    string    `json:"name,omitempty"`
	Size    int64     `json:"size"`
	Closed  time.Time `json:"closed"`
	blob    string
}

// Plan lists what a run at now would delete.
func Plan(tx store.Tx, cfg *config.Config, now time.Time) ([]Item, error) {
	var out []Item
	for i := range cfg.Projects {
		p := &cfg.Projects[i]
		r := p.Retention
		if r.ClosedDays <= 0 {
			continue
		}
		cutoff := now.Add(-time.Duration(r.ClosedDays) * 24 * time.Hour)
		raw, att := slices.Contains(r.Delete, "raw"), slices.Contains(r.Delete, "attachments")
		var ferr error
		err := tx.ForEachTicket(p.Key, func(t *store.Ticket) bool {
			if t.Closed.IsZero() || t.Closed.After(cutoff) {
				return true
			}
			msgs, err := tx.TicketMessages(t.Key)
			if err != nil {
				ferr = err
				return false
			}
			for _, m := range msgs {
				if raw && m.Raw != "" {
					out = append(out, Item{Ticket: t.Key, Message: m.ID, What: "raw", Size: m.RawSize, Closed: t.Closed, blob: m.Raw})
				}
				if att {
					for _, a := range m.Attach {
						if a.Blob != "" {
							out = append(out, Item{Ticket: t.Key, Message: m.ID, What: "attachment", Name: a.Filename, Size: a.Size, Closed: t.Closed, blob: a.Blob})
						}
					}
				}
			}
			return true
		})
		if err != nil {
			return nil, err
		}
		if ferr != nil {
			return nil, ferr
		}
	}
	return out, nil
}

// Report says what a run did.
type Report struct {
	Items        []Item `json:"items"`
	Tickets      int    `json:"tickets"`
	Bytes        int64  `json:"bytes"`
	FilesRemoved int    `json:"files_removed"`
}

// Run deletes what is due at now: the records stop referring to the
// blobs and each ticket gets an event saying what went, in one
// transaction; then the files no record refers to any more are removed, so
// the space comes back. (A blob shared with a ticket that is not due — the
// same attachment sent twice — stays.)
func Run(ctx context.Context, s store.DB, e *ticket.Engine, cfg *config.Config, now time.Time, actor string) (*Report, error) {
	rep := &Report{}
	err := s.Update(ctx, func(tx store.Tx) error {
		*rep = Report{}
		items, err := Plan(tx, cfg, now)
		if err != nil {
			return err
		}
		rep.Items = items
		byTicket := map[string][]ticket.FileRemoval{}
		var tickets []string
		for _, it := range items {
			if _, ok := byTicket[it.Ticket]; !ok {
				tickets = append(tickets, it.Ticket)
			}
			byTicket[it.Ticket] = append(byTicket[it.Ticket], ticket.FileRemoval{Message: it.Message, Raw: it.What == "raw", Blob: it.blob, Size: it.Size})
			rep.Bytes += it.Size
		}
		// The domain rewrites the messages and records what went.
		for _, key := range tickets {
			if err := e.RemoveFiles(tx, key, byTicket[key], actor, now); err != nil {
				return err
			}
		}
		rep.Tickets = len(tickets)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Blobs now unreferenced are old; files of ingestions in flight are
	// young and survive the grace period.
	n, err := s.SweepBlobs(time.Hour)
	rep.FilesRemoved = n
	return rep, err
}

// Job runs retention on every project's schedule.
type Job struct {
	store  store.DB
	engine *ticket.Engine
	cfg    func() *config.Config
	now    func() time.Time
	log    *slog.Logger
}

// NewJob returns a job.
func NewJob(s store.DB, e *ticket.Engine, cfg func() *config.Config, now func() time.Time, log *slog.Logger) *Job {
	return &Job{store: s, engine: e, cfg: cfg, now: now, log: log}
}

// next returns the earliest scheduled run after t across projects.
func next(cfg *config.Config, t time.Time) time.Time {
	var best time.Time
	t = t.In(cfg.Location())
	for i := range cfg.Projects {
		r := cfg.Projects[i].Retention
		if r.ClosedDays <= 0 {
			continue
		}
		sc, err := config.ParseSchedule(r.Schedule)
		if err != nil {
			continue
		}
		if n := sc.Next(t); best.IsZero() || n.Before(best) {
			best = n
		}
	}
	return best
}

// Run sleeps until the next scheduled run, runs, and repeats until ctx
// ends. The schedule is re-read after every run and every hour, so a
// reload takes effect.
func (j *Job) Run(ctx context.Context) {
	for {
		n := next(j.cfg(), j.now())
		wait := time.Hour
		if !n.IsZero() {
			wait = min(time.Until(n), time.Hour)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(wait, time.Second)):
		}
		if n.IsZero() || j.now().Before(n) {
			continue
		}
		rep, err := Run(ctx, j.store, j.engine, j.cfg(), j.now(), "retention")
		if err != nil {
			j.log.Error("retention run failed", "err", err)
			continue
		}
		j.log.Info("retention run", "tickets", rep.Tickets, "items", len(rep.Items), "bytes", rep.Bytes, "files_removed", rep.FilesRemoved)
	}
}
