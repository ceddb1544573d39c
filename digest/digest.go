// Package digest makes the agents' daily queue mail (issue 21): each agent
// gets at most one mail a day across all their projects, at their own
// local time on their days, listing their open tickets and the unassigned
// ones of their projects by due time, what breached since their previous
// digest, and how many are snoozed. Nothing is sent when there is nothing
// to list.
//
// The digests are made from the indexes the store keeps for reports and
// timers (ticket_facts: status, assignee and the clocks' breaches of
// every ticket in a compact form) and the records of the open tickets
// only; no message is read. Each agent's mail is queued in the outbox in
// the transaction that marks their day done (store.DigestMark), so a
// restart or a crash never sends a day twice, and a daemon that was down
// at the digest time sends that day's digest when it starts again the
// same day (an older day is not sent late). The daemon runs Run on the
// node that holds the timers lock only.
package digest

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// MaxListed caps the tickets one digest lists; the rest are counted.
const MaxListed = 100

// firstLookBack is how far back the first digest of an agent looks for
// breaches (later ones look back to the previous digest).
const firstLookBack = 24 * time.Hour

// Queuer queues a digest mail (notify.Notifier).
type Queuer interface {
	QueueDigest(tx store.Tx, p *config.Project, agent, lang string, v *store.DigestVars) (uint64, error)
}

// Maker makes the digests that are due.
type Maker struct {
	store store.DB
	cfg   func() *config.Config
	queue Queuer
	now   func() time.Time
	log   *slog.Logger
	// Queued, when set, is called after digests were queued (the
	// sender's wake-up).
	Queued func()
}

// New returns a Maker. cfg is read at every run (a reload counts from
// the next one); now is the clock.
func New(st store.DB, cfg func() *config.Config, q Queuer, now func() time.Time, log *slog.Logger) *Maker {
	if now == nil {
		now = time.Now
	}
	return &Maker{store: st, cfg: cfg, queue: q, now: now, log: log}
}

// due is one agent whose digest for Day is due.
type due struct {
	agent string
	plan  config.DigestPlan
	day   string
	// since is when the previous digest was made: breaches after it are
	// listed.
	since time.Time
}

// Run makes every digest that is due at now and returns when the next
// one falls due (zero: none is scheduled). It returns how many mails it
// queued.
func (m *Maker) Run(ctx context.Context) (int, time.Time, error) {
	cfg := m.cfg()
	now := m.now().UTC()
	var list []due
	var next time.Time
	if err := m.store.View(func(tx store.Tx) error {
		var err error
		list, next, err = schedule(tx, cfg, now)
		return err
	}); err != nil {
		return 0, time.Time{}, fmt.Errorf("digest: schedule: %w", err)
	}
	if len(list) == 0 {
		return 0, next, nil
	}
	var made map[string]*store.DigestVars
	if err := m.store.View(func(tx store.Tx) error {
		var err error
		made, err = build(tx, cfg, now, list)
		return err
	}); err != nil {
		return 0, time.Time{}, fmt.Errorf("digest: build: %w", err)
	}
	queued := 0
	for _, d := range list {
		if err := ctx.Err(); err != nil {
			return queued, time.Time{}, err
		}
		sent, err := m.commit(ctx, cfg, now, d, made[d.agent])
		if err != nil {
			return queued, time.Time{}, fmt.Errorf("digest: %s: %w", d.agent, err)
		}
		if sent {
			queued++
		}
		// The day is done: the next one is the agent's next day.
		if n := nextAfterDay(d.plan, now); !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	if queued > 0 && m.Queued != nil {
		m.Queued()
	}
	return queued, next, nil
}

// commit queues d's digest v (none when it is empty) and marks the day,
// in one transaction that first checks the day was not done meanwhile.
func (m *Maker) commit(ctx context.Context, cfg *config.Config, now time.Time, d due, v *store.DigestVars) (bool, error) {
	sent := false
	err := m.store.Update(ctx, func(tx store.Tx) error {
		sent = false
		mark, err := tx.DigestMark(d.agent)
		if err != nil {
			return err
		}
		if mark != nil && mark.Day >= d.day {
			return nil // done already (another run, or a node before us)
		}
		newMark := &store.DigestMark{Agent: d.agent, Day: d.day, At: now}
		if v != nil && (len(v.Tickets) > 0 || len(v.Breached) > 0) {
			p := fromProject(cfg, d.agent)
			if p == nil {
				return nil
			}
			// The notifier writes the links into the items: give it a
			// copy, so that a second run of this function starts clean.
			c := *v
			c.Tickets = slices.Clone(v.Tickets)
			c.Breached = slices.Clone(v.Breached)
			id, err := m.queue.QueueDigest(tx, p, d.agent, p.Language, &c)
			if err != nil {
				return err
			}
			newMark.OutboxID, sent = id, true
			agent, day, n := d.agent, d.day, len(v.Tickets)
			tx.AfterCommit(func() {
				m.log.Info("digest queued", "agent", agent, "day", day, "tickets", n, "outbox_id", id)
			})
		}
		return tx.PutDigestMark(newMark)
	})
	return sent, err
}

// fromProject is the project whose address a digest comes from: the
// first one (in configuration order) the agent is staff of.
func fromProject(cfg *config.Config, agent string) *config.Project {
	for i := range cfg.Projects {
		if cfg.Projects[i].IsStaff(agent) {
			return &cfg.Projects[i]
		}
	}
	return nil
}

// schedule finds the agents whose digest is due at now and the earliest
// time another one falls due.
func schedule(tx store.Tx, cfg *config.Config, now time.Time) ([]due, time.Time, error) {
	var out []due
	var next time.Time
	soonest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, a := range cfg.DigestAgents() {
		pref, err := tx.DigestPref(a)
		if err != nil {
			return nil, time.Time{}, err
		}
		plan := ticket.DigestPlanOf(cfg, a, pref)
		if !plan.On {
			continue
		}
		at, day, ok := today(plan, now)
		if !ok || now.Before(at) {
			if ok {
				soonest(at)
			} else {
				soonest(nextAfterDay(plan, now))
			}
			continue
		}
		mark, err := tx.DigestMark(a)
		if err != nil {
			return nil, time.Time{}, err
		}
		if mark != nil && mark.Day >= day {
			soonest(nextAfterDay(plan, now))
			continue
		}
		since := now.Add(-firstLookBack)
		if mark != nil && mark.At.After(since) {
			since = mark.At
		}
		out = append(out, due{agent: a, plan: plan, day: day, since: since})
	}
	return out, next, nil
}

// today is the digest time of the agent's local day of now, and the day
// ("2026-12-03"); false when the day is not one of theirs.
func today(plan config.DigestPlan, now time.Time) (time.Time, string, bool) {
	local := now.In(plan.Loc)
	if !plan.Days[local.Weekday()] {
		return time.Time{}, "", false
	}
	y, mo, d := local.Date()
	return time.Date(y, mo, d, plan.At/60, plan.At%60, 0, 0, plan.Loc), local.Format(time.DateOnly), true
}

// nextAfterDay is the digest time of the agent's first day after the
// local day of now (zero when no day of the week is theirs).
func nextAfterDay(plan config.DigestPlan, now time.Time) time.Time {
	local := now.In(plan.Loc)
	y, mo, d := local.Date()
	for i := 1; i <= 7; i++ {
		day := time.Date(y, mo, d+i, 12, 0, 0, 0, plan.Loc)
		if plan.Days[day.Weekday()] {
			return time.Date(day.Year(), day.Month(), day.Day(), plan.At/60, plan.At%60, 0, 0, plan.Loc)
		}
	}
	return time.Time{}
}

// candidate is a ticket some digest may list, with what every digest
// that lists it needs.
type candidate struct {
	facts *store.TicketFacts
	t     *store.Ticket // read for the candidates only
	open  bool
	// snoozed: hidden from the lists until then; due: the earliest due
	// time of its running targets (zero: none).
	snoozed bool
	due     time.Time
}

// build makes the digest of every agent in list at now, from one
// snapshot: the facts index names the open tickets and the breaches; only
// the records of the open tickets that some agent's digest may list are
// read. An agent's digest holds their open tickets and the unassigned
// ones of the projects they are an agent or admin of.
func build(tx store.Tx, cfg *config.Config, now time.Time, list []due) (map[string]*store.DigestVars, error) {
	// Who may be listed: the agents due, by project.
	staffOf := map[string][]string{} // project → due agents who are its staff
	earliest := now
	for _, d := range list {
		for i := range cfg.Projects {
			p := &cfg.Projects[i]
			if p.IsStaff(d.agent) {
				staffOf[p.Key] = append(staffOf[p.Key], d.agent)
			}
		}
		if d.since.Before(earliest) {
			earliest = d.since
		}
	}
	var cands []*candidate
	err := tx.FactsSince("", time.Time{}, func(f *store.TicketFacts) bool {
		agents := staffOf[f.Project]
		if len(agents) == 0 || f.MergedInto != "" {
			return true
		}
		p := cfg.Project(f.Project)
		if p == nil {
			return true
		}
		cat := ticket.StatusCategory(p, f.Status)
		open := cat != config.CatResolved && cat != config.CatClosed && cat != config.CatCancelled
		if !open && !breachedAfter(f, earliest) {
			return true
		}
		if f.Assignee != "" && !containsFold(agents, f.Assignee) {
			return true // someone else's, who is not due now
		}
		cands = append(cands, &candidate{facts: f, open: open})
		return true
	})
	if err != nil {
		return nil, err
	}
	for _, c := range cands {
		t, err := tx.Ticket(c.facts.Key)
		if err != nil {
			return nil, fmt.Errorf("ticket %s: %w", c.facts.Key, err)
		}
		c.t, c.snoozed, c.due = t, t.Snoozed.After(now), dueOf(t)
	}
	// Each agent's candidates: their projects' unassigned ones and their
	// own.
	byProject := map[string][]*candidate{}
	for _, c := range cands {
		byProject[c.t.Project] = append(byProject[c.t.Project], c)
	}
	out := make(map[string]*store.DigestVars, len(list))
	for _, d := range list {
		var mine []*candidate
		for project, agents := range staffOf {
			if !containsFold(agents, d.agent) {
				continue
			}
			for _, c := range byProject[project] {
				if c.t.Assignee == "" || strings.EqualFold(c.t.Assignee, d.agent) {
					mine = append(mine, c)
				}
			}
		}
		out[d.agent] = digestOf(now, d, mine)
	}
	return out, nil
}

// digestOf makes d's digest of its candidates (theirs and unassigned).
func digestOf(now time.Time, d due, cands []*candidate) *store.DigestVars {
	v := &store.DigestVars{Day: d.day, Zone: d.plan.Loc.String()}
	itemOf := func(t *store.Ticket) store.DigestItem {
		return store.DigestItem{Key: t.Key, Project: t.Project, Subject: t.Subject, Status: t.Status, Priority: t.Priority,
			Assignee: strings.ToLower(t.Assignee), Internal: t.Internal()}
	}
	var open []*candidate
	for _, c := range cands {
		for _, b := range breaches(c.t, d.since, now) {
			bi := itemOf(c.t)
			bi.Target, bi.Due = b.target, dueText(b.due, d.plan.Loc)
			v.Breached = append(v.Breached, bi)
		}
		switch {
		case !c.open:
		case c.snoozed:
			v.Snoozed++
		default:
			if c.t.Assignee == "" {
				v.Unassigned++
			} else {
				v.Mine++
			}
			open = append(open, c)
		}
	}
	slices.SortFunc(open, func(a, b *candidate) int {
		switch {
		case a.due.IsZero() != b.due.IsZero():
			if a.due.IsZero() {
				return 1
			}
			return -1
		case !a.due.Equal(b.due):
			return a.due.Compare(b.due)
		case !a.t.Created.Equal(b.t.Created):
			return a.t.Created.Compare(b.t.Created)
		}
		return cmp.Compare(a.t.Key, b.t.Key)
	})
	if len(open) > MaxListed {
		v.More = len(open) - MaxListed
		open = open[:MaxListed]
	}
	for _, c := range open {
		item := itemOf(c.t)
		if !c.due.IsZero() {
			item.Due, item.Overdue = dueText(c.due, d.plan.Loc), !c.due.After(now)
		}
		item.Age = Age(now.Sub(c.t.Created))
		v.Tickets = append(v.Tickets, item)
	}
	slices.SortFunc(v.Breached, func(a, b store.DigestItem) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Target, b.Target))
	})
	return v
}

// breach is one target a ticket missed.
type breach struct {
	target string
	due    time.Time
}

// breaches are t's targets announced as missed after since (and not
// after now).
func breaches(t *store.Ticket, since, now time.Time) []breach {
	var out []breach
	for _, c := range []struct {
		name  string
		clock *store.Clock
	}{{ticket.TargetFirstResponse, t.FirstResponse}, {ticket.TargetResolution, t.Resolution}} {
		cl := c.clock
		if cl != nil && cl.Breached.After(since) && !cl.Breached.After(now) {
			at := cl.Due
			if at.IsZero() {
				at = cl.Breached
			}
			out = append(out, breach{target: c.name, due: at})
		}
	}
	return out
}

func breachedAfter(f *store.TicketFacts, since time.Time) bool {
	for _, c := range []*store.Clock{f.FirstResponse, f.Resolution} {
		if c != nil && c.Breached.After(since) {
			return true
		}
	}
	return false
}

// dueOf is t's due time: the earliest due instant of its running
// target clocks (zero: none).
func dueOf(t *store.Ticket) time.Time {
	var at time.Time
	for _, c := range []*store.Clock{t.FirstResponse, t.Resolution} {
		if c == nil || !c.Done.IsZero() || c.Due.IsZero() {
			continue
		}
		if at.IsZero() || c.Due.Before(at) {
			at = c.Due
		}
	}
	return at
}

func dueText(at time.Time, loc *time.Location) string {
	if at.IsZero() {
		return ""
	}
	return at.In(loc).Format("2006-01-02 15:04 MST")
}

// Age is a duration as a digest shows a ticket's age: "45m", "5h",
// "3d 4h".
func Age(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", max(int(d/time.Minute), 0))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	days := int(d / (24 * time.Hour))
	if h := int(d % (24 * time.Hour) / time.Hour); h > 0 {
		return fmt.Sprintf("%dd %dh", days, h)
	}
	return fmt.Sprintf("%dd", days)
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}
