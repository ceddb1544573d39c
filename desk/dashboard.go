package desk

import (
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/report"
)

// The dashboard (issue 22): the figures of `ticketgate report` over the
// last 30 days, drawn. They come from report.Compute with the query the
// admin API gives it for `ticketgate report --since 30d`, limited to the
// signed-in agent's projects, so the page and the command cannot
// disagree.

// dashboardPeriod is the period the dashboard covers, as `ticketgate
// report --since` spells it.
const dashboardPeriod = "30d"

// dashTexts are the dashboard's words and the ticket page's additions
// (issue 22), in one language.
type dashTexts struct {
	Dashboard, Period, AllProjects, OpenNow, NewTickets, Resolved, Reopened            string
	OpenByStatus, OpenByAssignee, PerDay, FirstResponse, Resolution, Median, P90       string
	Target, TargetNormal, Met, Missed, Ratings, Average, Score, Count, Day, NoOpen     string
	NoTimes, ShowTable, Show, Hours, Breached, Paused, Reached, Late, Snoozed, TypeCol string
	DueCol, NoDue, Good, Bad, RatingsGiven                                             string
}

var dashEnglish = &dashTexts{
	Dashboard: "Dashboard", Period: "Last 30 days", AllProjects: "all my projects", OpenNow: "Open now", NewTickets: "New",
	Resolved: "Resolved", Reopened: "Reopened", OpenByStatus: "Open tickets by status", OpenByAssignee: "Open tickets by assignee",
	PerDay: "New and resolved per day", FirstResponse: "First response time", Resolution: "Resolution time",
	Median: "median", P90: "90th percentile", Target: "target", TargetNormal: "target (normal priority)",
	Met: "targets met", Missed: "targets missed", Ratings: "Ratings", Average: "average", Score: "score", Count: "tickets",
	Day: "Day", NoOpen: "No open tickets.", NoTimes: "None in the period.", ShowTable: "The figures as a table", Show: "Show",
	Hours: "business hours", Breached: "overdue", Paused: "paused while waiting for the customer", Reached: "reached",
	Late: "late", Snoozed: "Snoozed until", TypeCol: "Type", DueCol: "Due", NoDue: "–", Good: "good", Bad: "bad", RatingsGiven: "ratings",
}

var dashGerman = &dashTexts{
	Dashboard: "Übersicht", Period: "Letzte 30 Tage", AllProjects: "alle meine Projekte", OpenNow: "Jetzt offen", NewTickets: "Neu",
	Resolved: "Gelöst", Reopened: "Wieder geöffnet", OpenByStatus: "Offene Tickets nach Status", OpenByAssignee: "Offene Tickets nach Zuständigen",
	PerDay: "Neu und gelöst pro Tag", FirstResponse: "Zeit bis zur ersten Antwort", Resolution: "Zeit bis zur Lösung",
	Median: "Median", P90: "90. Perzentil", Target: "Ziel", TargetNormal: "Ziel (normale Priorität)",
	Met: "Ziele erreicht", Missed: "Ziele verfehlt", Ratings: "Bewertungen", Average: "Durchschnitt", Score: "Note", Count: "Tickets",
	Day: "Tag", NoOpen: "Keine offenen Tickets.", NoTimes: "Keine im Zeitraum.", ShowTable: "Die Zahlen als Tabelle", Show: "Anzeigen",
	Hours: "Geschäftszeit", Breached: "überfällig", Paused: "angehalten, solange der Kunde gefragt ist", Reached: "erreicht",
	Late: "verspätet", Snoozed: "Zurückgestellt bis", TypeCol: "Typ", DueCol: "Fällig", NoDue: "–", Good: "gut", Bad: "schlecht", RatingsGiven: "Bewertungen",
}

// dashTextsFor is the dashboard's language matching the desk's.
func dashTextsFor(tx *texts) *dashTexts {
	if tx != nil && tx.Lang == "de" {
		return dashGerman
	}
	return dashEnglish
}

// figureRow is one line of a chart's table: what the chart draws, as
// numbers. Fig names the figure for tests and machines (data-fig), Raw
// is its exact value (a count, or seconds).
type figureRow struct {
	Label, Value string
	Fig, Raw     string
}

// chartView is one chart with its heading and table.
type chartView struct {
	ID      string
	Heading string
	SVG     template.HTML
	Rows    []figureRow
	Note    string
	Empty   string
}

type statView struct {
	Label, Value, Fig string
}

type dashboardView struct {
	T        *texts
	D        *dashTexts
	A        *agentCtx
	Title    string
	Projects []optionView
	Scope    string
	Since    string
	Until    string
	Stats    []statView
	Charts   []chartView
	DayRows  []report.Day
	Problem  string
}

// dashboardQuery is the report query of the dashboard for agent a at now,
// project "" meaning all their projects: the query the admin API runs for
// `ticketgate report --since 30d` by the same agent.
func dashboardQuery(cfg *config.Config, a *agentCtx, project string, now time.Time) (report.Query, error) {
	since, err := report.ParseSince(dashboardPeriod, now, cfg.Location())
	if err != nil {
		return report.Query{}, err
	}
	return report.Query{Project: project, Since: since, May: func(p string) bool { return a.project(p) != nil },
		Daily: true, Loc: cfg.Location(), Open: report.OpenIn(cfg)}, nil
}

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request, a *agentCtx) {
	project := strings.ToUpper(r.URL.Query().Get("project"))
	if project != "" && a.project(project) == nil {
		// Another project's figures: the same answer as for one that
		// does not exist.
		h.notFound(w, r, a)
		return
	}
	cfg := h.opts.Config()
	now := h.opts.Now()
	q, err := dashboardQuery(cfg, a, project, now)
	if err != nil {
		h.serverError(w, r, a.T, err)
		return
	}
	rep, err := report.Compute(h.store, q, now)
	if err != nil {
		h.serverError(w, r, a.T, err)
		return
	}
	v, err := h.dashboardView(a, cfg, project, rep)
	if err != nil {
		h.serverError(w, r, a.T, err)
		return
	}
	h.render(w, http.StatusOK, "dashboard", v)
}

func (h *Handler) dashboardView(a *agentCtx, cfg *config.Config, project string, rep *report.Report) (*dashboardView, error) {
	tx, d := a.T, dashTextsFor(a.T)
	v := &dashboardView{T: tx, D: d, A: a, Title: d.Dashboard + " – " + tx.Desk, Since: tx.Date(rep.Since), Until: tx.Date(rep.Until)}
	v.Projects = append(v.Projects, optionView{Value: "", Label: d.AllProjects, Selected: project == ""})
	for _, p := range a.Projects {
		v.Projects = append(v.Projects, optionView{Value: p.Key, Label: p.Key, Selected: p.Key == project})
	}
	v.Scope = d.AllProjects
	if project != "" {
		v.Scope = project
	}
	open := 0
	if rep.Backlog != nil {
		open = rep.Backlog.Open
	}
	v.Stats = []statView{
		{d.OpenNow, strconv.Itoa(open), "open"}, {d.NewTickets, strconv.Itoa(rep.New), "new"},
		{d.Resolved, strconv.Itoa(rep.Resolved), "resolved"}, {d.Reopened, strconv.Itoa(rep.Reopened), "reopened"},
	}
	var charts []chartView
	add := func(c chartView, svg interface{ SVG() (template.HTML, error) }) error {
		if c.Empty == "" {
			s, err := svg.SVG()
			if err != nil {
				return err
			}
			c.SVG = s
		}
		charts = append(charts, c)
		return nil
	}

	// Open tickets by status and by assignee.
	counts := func(id, heading, fig string, list []report.Count, name func(string) string) error {
		c := chartView{ID: id, Heading: heading}
		bc := &BarChart{ID: id, Title: heading}
		for _, n := range list {
			bc.Bars = append(bc.Bars, Bar{Label: name(n.Name), Value: float64(n.Count)})
			c.Rows = append(c.Rows, figureRow{Label: name(n.Name), Value: strconv.Itoa(n.Count), Fig: fig + ":" + n.Name, Raw: strconv.Itoa(n.Count)})
		}
		if len(list) == 0 {
			c.Empty = d.NoOpen
		}
		return add(c, bc)
	}
	var byStatus, byAssignee []report.Count
	if rep.Backlog != nil {
		byStatus, byAssignee = rep.Backlog.ByStatus, rep.Backlog.ByAssignee
	}
	if err := counts("status", d.OpenByStatus, "status", byStatus, func(s string) string { return s }); err != nil {
		return nil, err
	}
	if err := counts("assignee", d.OpenByAssignee, "assignee", byAssignee, func(s string) string {
		if s == "" {
			return tx.Unassigned
		}
		return s
	}); err != nil {
		return nil, err
	}

	// New and resolved per day.
	dc := &DayChart{ID: "days", Title: d.PerDay}
	news, resolved := Series{Name: d.NewTickets}, Series{Name: d.Resolved}
	for _, day := range rep.Days {
		dc.Days = append(dc.Days, shortDay(tx, day.Date))
		news.Values = append(news.Values, float64(day.New))
		resolved.Values = append(resolved.Values, float64(day.Resolved))
	}
	dc.Series = []Series{news, resolved}
	v.DayRows = rep.Days
	if err := add(chartView{ID: "days", Heading: d.PerDay}, dc); err != nil {
		return nil, err
	}

	// Response times against the targets: the normal priority's target
	// is drawn when the dashboard shows one project that has targets.
	var targets *config.Targets
	if project != "" {
		targets = a.project(project).Targets
	} else if len(a.Projects) == 1 {
		targets = a.Projects[0].Targets
	}
	firstTarget, resolutionTarget := targets.For("normal")
	times := func(id, heading string, du report.Durations, o report.Outcomes, target time.Duration) error {
		c := chartView{ID: id, Heading: heading}
		bc := &BarChart{ID: id, Title: heading}
		if du.Count == 0 {
			c.Empty = d.NoTimes
		}
		for _, x := range []struct {
			label, fig string
			v          time.Duration
		}{{d.Median, "median", du.Median}, {d.P90, "p90", du.P90}} {
			bc.Bars = append(bc.Bars, Bar{Label: x.label, Value: x.v.Hours(), Text: duration(x.v)})
			c.Rows = append(c.Rows, figureRow{Label: x.label, Value: duration(x.v), Fig: id + ":" + x.fig, Raw: strconv.FormatInt(int64(x.v.Seconds()), 10)})
		}
		c.Rows = append(c.Rows, figureRow{Label: d.Count, Value: strconv.Itoa(du.Count), Fig: id + ":count", Raw: strconv.Itoa(du.Count)})
		if target > 0 {
			bc.Target, bc.TargetText = target.Hours(), d.TargetNormal+" "+duration(target)
			c.Rows = append(c.Rows, figureRow{Label: d.TargetNormal, Value: duration(target), Fig: id + ":target", Raw: strconv.FormatInt(int64(target.Seconds()), 10)})
		}
		if o.Met+o.Missed > 0 || target > 0 {
			c.Rows = append(c.Rows, figureRow{Label: d.Met, Value: strconv.Itoa(o.Met), Fig: id + ":met", Raw: strconv.Itoa(o.Met)},
				figureRow{Label: d.Missed, Value: strconv.Itoa(o.Missed), Fig: id + ":missed", Raw: strconv.Itoa(o.Missed)})
			if o.Met+o.Missed > 0 {
				c.Note = fmt.Sprintf("%s %d · %s %d (%d %%)", d.Met, o.Met, d.Missed, o.Missed, o.Met*100/(o.Met+o.Missed))
			}
		}
		return add(c, bc)
	}
	if err := times("first", d.FirstResponse+" ("+d.Hours+")", rep.FirstResponse, rep.FirstResponseTarget, firstTarget); err != nil {
		return nil, err
	}
	if err := times("resolution", d.Resolution+" ("+d.Hours+")", rep.Resolution, rep.ResolutionTarget, resolutionTarget); err != nil {
		return nil, err
	}

	// Ratings, when there are any: the distribution per scale.
	if rep.Ratings != nil {
		for _, s := range rep.Ratings.Scales {
			id := "ratings-" + strconv.Itoa(s.Points)
			c := chartView{ID: id, Heading: fmt.Sprintf("%s (1–%d)", d.Ratings, s.Points)}
			bc := &BarChart{ID: id, Title: c.Heading}
			for i := s.Points; i >= 1; i-- {
				label := fmt.Sprintf("%s %d", d.Score, i)
				if s.Points == 2 {
					label = []string{d.Bad, d.Good}[i-1]
				}
				bc.Bars = append(bc.Bars, Bar{Label: label, Value: float64(s.Counts[i-1])})
				c.Rows = append(c.Rows, figureRow{Label: label, Value: strconv.Itoa(s.Counts[i-1]), Fig: fmt.Sprintf("%s:%d", id, i), Raw: strconv.Itoa(s.Counts[i-1])})
			}
			avg := strconv.FormatFloat(s.Average, 'f', 2, 64)
			c.Rows = append(c.Rows, figureRow{Label: d.Average, Value: avg, Fig: id + ":average", Raw: avg})
			c.Note = fmt.Sprintf("%s %s · %d %s", d.Average, avg, s.Count, d.RatingsGiven)
			if err := add(c, bc); err != nil {
				return nil, err
			}
		}
	}
	v.Charts = charts
	return v, nil
}

// shortDay is "3 Dec" (or "3. Dez.") of a report day.
func shortDay(tx *texts, date string) string {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	if tx.Lang == "de" {
		return fmt.Sprintf("%d. %s", t.Day(), tx.months[t.Month()-1])
	}
	return fmt.Sprintf("%d %s", t.Day(), tx.months[t.Month()-1])
}

// duration is a business time for people: 45m, 4h05m, 3d 2h (days of 24
// hours).
func duration(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case h < 48:
		return fmt.Sprintf("%dh%02dm", h, m)
	default:
		return fmt.Sprintf("%dd %dh", h/24, h%24)
	}
}
