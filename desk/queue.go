package desk

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// Views of the queue.
const (
	viewMine       = "mine"
	viewUnassigned = "unassigned"
	viewOpen       = "open"
	viewWaiting    = "waiting"
	viewClosed     = "closed"
	pageSize       = 50
	// recentlyClosed is how far back "recently closed" looks.
	recentlyClosed = 14 * 24 * time.Hour
)

// viewSnoozed lists the open tickets an agent snoozed (#snooze), with
// their wake time; the other open views leave them out until then (issue
// 21).
const viewSnoozed = "snoozed"

var views = []string{viewMine, viewUnassigned, viewOpen, viewWaiting, viewClosed, viewSnoozed}

type viewTab struct {
	Name, Label, URL string
	Count            int
	Current          bool
}

type rowView struct {
	Key, Subject, Project, Status, Priority, Assignee, Reporter, Org, Updated, Created, URL string
	// Snoozed is the wake time of a snoozed ticket ("" when awake).
	Snoozed string
	// Type and Due: the request type and the next due time (issue 22).
	Type string
	Due  *dueView
}

type queueView struct {
	T          *texts
	A          *agentCtx
	Title      string
	Tabs       []viewTab
	Rows       []rowView
	Q          url.Values
	Query      string
	Projects   []optionView
	Statuses   []optionView
	Priorities []optionView
	Assignees  []optionView
	Orgs       []optionView
	Types      []optionView // nil when no project of the agent has types
	Sorts      []optionView
	Page       int
	Pages      int
	Prev, Next string
	Total      int
	Admin      bool
	Notice     string
	Problem    string
}

// category is the status category of t in its project.
func category(p *config.Project, t *store.Ticket) string { return ticket.StatusCategory(p, t.Status) }

func inView(view, agent string, p *config.Project, t *store.Ticket, now time.Time) bool {
	if t.MergedInto != "" {
		return false
	}
	cat := category(p, t)
	open := cat != config.CatResolved && cat != config.CatClosed && cat != config.CatCancelled
	snoozed := t.Snoozed.After(now)
	switch view {
	case viewMine:
		return open && !snoozed && strings.EqualFold(t.Assignee, agent)
	case viewUnassigned:
		return open && !snoozed && t.Assignee == ""
	case viewOpen:
		return open && !snoozed
	case viewSnoozed:
		return open && snoozed
	case viewWaiting:
		return cat == config.CatPending
	case viewClosed:
		done := t.Closed
		if done.IsZero() {
			done = t.Resolved
		}
		return !open && !done.IsZero() && now.Sub(done) <= recentlyClosed
	}
	return false
}

func (h *Handler) queue(w http.ResponseWriter, r *http.Request, a *agentCtx) {
	q := r.URL.Query()
	view := q.Get("view")
	if !slices.Contains(views, view) {
		view = viewOpen
	}
	now := h.opts.Now()
	counts := map[string]int{}
	var rows []*store.Ticket
	f := filterOf(q)
	consider := func(p *config.Project, t *store.Ticket) {
		if !f.match(t) {
			return
		}
		for _, v := range views {
			if inView(v, a.Agent, p, t, now) {
				counts[v]++
				if v == view {
					rows = append(rows, t)
				}
			}
		}
	}
	var err error
	if text := strings.TrimSpace(q.Get("q")); text != "" && h.opts.Search != nil {
		// Full-text search: the index names the tickets (only of the
		// agent's projects), the store has the last word on each.
		var keys []string
		var projects []string
		for _, p := range a.Projects {
			projects = append(projects, p.Key)
		}
		if keys, err = h.opts.Search(r.Context(), text, projects); err != nil {
			h.log.Warn("desk: search failed", "err", err)
			h.renderQueue(w, r, a, q, view, counts, nil, http.StatusServiceUnavailable, a.T.ErrorBody)
			return
		}
		err = h.store.View(func(tx store.Tx) error {
			for _, k := range keys {
				t, err := tx.Ticket(k)
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				if p := a.project(t.Project); p != nil {
					consider(p, t)
				}
			}
			return nil
		})
	} else {
		err = h.store.View(func(tx store.Tx) error {
			for _, p := range a.Projects {
				if err := tx.ForEachTicket(p.Key, func(t *store.Ticket) bool { consider(p, t); return true }); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		h.serverError(w, r, a.T, err)
		return
	}
	h.renderQueue(w, r, a, q, view, counts, rows, http.StatusOK, "")
}

// filter is the queue's filters: empty fields match everything.
type filter struct {
	project, status, priority, assignee, org, typ string
}

func filterOf(q url.Values) filter {
	return filter{project: q.Get("project"), status: q.Get("status"), priority: q.Get("priority"), assignee: strings.ToLower(q.Get("assignee")), org: q.Get("org"), typ: q.Get("type")}
}

func (f filter) match(t *store.Ticket) bool {
	switch {
	case f.project != "" && t.Project != f.project,
		f.status != "" && t.Status != f.status,
		f.priority != "" && t.Priority != f.priority,
		f.org != "" && t.Organization != f.org,
		f.typ != "" && !strings.EqualFold(t.Type, f.typ):
		return false
	case f.assignee == "nobody":
		return t.Assignee == ""
	case f.assignee != "" && !strings.EqualFold(t.Assignee, f.assignee):
		return false
	}
	return true
}

func sortRows(rows []*store.Ticket, by string) {
	slices.SortStableFunc(rows, func(x, y *store.Ticket) int {
		switch by {
		case "age":
			return x.Created.Compare(y.Created)
		case "due":
			// The earliest due time first (issue 21's targets); tickets
			// with nothing due after them, the oldest waiting first.
			dx, dy := dueAt(x), dueAt(y)
			switch {
			case !dx.IsZero() && !dy.IsZero() && !dx.Equal(dy):
				return dx.Compare(dy)
			case dx.IsZero() != dy.IsZero():
				if dx.IsZero() {
					return 1
				}
				return -1
			}
			return x.Updated.Compare(y.Updated)
		default:
			return y.Updated.Compare(x.Updated)
		}
	})
}

func (h *Handler) renderQueue(w http.ResponseWriter, r *http.Request, a *agentCtx, q url.Values, view string, counts map[string]int, rows []*store.Ticket, code int, problem string) {
	tx := a.T
	sortRows(rows, q.Get("sort"))
	page, _ := strconv.Atoi(q.Get("page"))
	pages := (len(rows) + pageSize - 1) / pageSize
	page = max(1, min(page, pages))
	v := &queueView{T: tx, A: a, Title: tx.Queue + " – " + tx.Desk, Q: q, Query: q.Get("q"), Page: page, Pages: pages, Total: len(rows), Problem: problem}
	if r.URL.Query().Get("done") != "" {
		v.Notice = tx.Done
	}
	labels := map[string]string{viewMine: tx.Mine, viewUnassigned: tx.Unassigned, viewOpen: tx.Open, viewWaiting: tx.Waiting, viewClosed: tx.Closed, viewSnoozed: tx.Snoozed}
	for _, name := range views {
		u := cloneValues(q)
		u.Set("view", name)
		u.Del("page")
		v.Tabs = append(v.Tabs, viewTab{Name: name, Label: labels[name], URL: h.path("") + "?" + u.Encode(), Count: counts[name], Current: name == view})
	}
	if page < pages {
		u := cloneValues(q)
		u.Set("page", strconv.Itoa(page+1))
		v.Next = h.path("") + "?" + u.Encode()
	}
	if page > 1 {
		u := cloneValues(q)
		u.Set("page", strconv.Itoa(page-1))
		v.Prev = h.path("") + "?" + u.Encode()
	}
	start := (page - 1) * pageSize
	now := h.opts.Now()
	for _, t := range rows[min(start, len(rows)):min(start+pageSize, len(rows))] {
		row := rowView{Key: t.Key, Subject: t.Subject, Project: t.Project, Status: t.Status, Priority: t.Priority,
			Assignee: t.Assignee, Reporter: t.Reporter, Org: t.Organization, Updated: tx.Date(t.Updated), Created: tx.Date(t.Created), URL: h.TicketPath(t.Key),
			Type: t.Type, Due: nextDue(tx, t, now)}
		if t.Snoozed.After(now) {
			row.Snoozed = tx.Date(t.Snoozed)
		}
		v.Rows = append(v.Rows, row)
	}
	opt := func(list []string, cur string) []optionView {
		out := []optionView{{Value: "", Label: tx.Any, Selected: cur == ""}}
		for _, s := range list {
			out = append(out, optionView{Value: s, Label: s, Selected: s == cur})
		}
		return out
	}
	var projects, statuses, staff []string
	for _, p := range a.Projects {
		projects = append(projects, p.Key)
		if a.isAdmin(p.Key) {
			v.Admin = true
		}
		for _, s := range ticket.Statuses(p) {
			if !slices.Contains(statuses, s) {
				statuses = append(statuses, s)
			}
		}
		for _, s := range staffOf(p) {
			if !slices.Contains(staff, s) {
				staff = append(staff, s)
			}
		}
	}
	v.Projects = opt(projects, q.Get("project"))
	v.Statuses = opt(statuses, q.Get("status"))
	v.Priorities = opt(ticket.Priorities(), q.Get("priority"))
	v.Assignees = opt(append([]string{"nobody"}, staff...), q.Get("assignee"))
	var orgs []string
	_ = h.store.View(func(st store.Tx) error {
		for _, p := range a.Projects {
			os, err := st.Organizations(p.Key)
			if err != nil {
				return err
			}
			for _, o := range os {
				orgs = append(orgs, o.Name)
			}
		}
		return nil
	})
	v.Orgs = opt(orgs, q.Get("org"))
	var types []string
	for _, p := range a.Projects {
		for _, n := range p.TypeNames() {
			if !slices.Contains(types, n) {
				types = append(types, n)
			}
		}
	}
	if len(types) > 0 || q.Get("type") != "" {
		v.Types = opt(types, q.Get("type"))
	}
	v.Sorts = []optionView{{Value: "activity", Label: tx.Activity, Selected: q.Get("sort") == "" || q.Get("sort") == "activity"},
		{Value: "age", Label: tx.Age, Selected: q.Get("sort") == "age"}, {Value: "due", Label: tx.Due, Selected: q.Get("sort") == "due"}}
	h.render(w, code, "queue", v)
}

func cloneValues(q url.Values) url.Values {
	u := url.Values{}
	for k, v := range q {
		u[k] = append([]string(nil), v...)
	}
	return u
}

// bulk applies one action to every selected ticket, each through the same
// domain operation as on the ticket's page; tickets the agent may not see
// are refused like unknown ones.
func (h *Handler) bulk(w http.ResponseWriter, r *http.Request, a *agentCtx) {
	keys := r.PostForm["key"]
	op, arg := r.PostFormValue("op"), r.PostFormValue("arg")
	var problems []string
	if op == "merge" {
		// Merge every selected ticket into the one named.
		for _, k := range keys {
			if strings.EqualFold(k, arg) {
				continue
			}
			t, err := h.visibleKey(a, k)
			if err == nil {
				err = h.act(r, a, t, "merge", arg)
			}
			if err != nil {
				problems = append(problems, k+": "+reason(err))
			}
		}
	} else {
		for _, k := range keys {
			t, err := h.visibleKey(a, k)
			if err == nil {
				err = h.act(r, a, t, op, arg)
			}
			if err != nil {
				problems = append(problems, k+": "+reason(err))
			}
		}
	}
	if h.opts.Queued != nil {
		h.opts.Queued()
	}
	back := r.PostFormValue("back")
	if !strings.HasPrefix(back, "?") {
		back = ""
	}
	if len(problems) > 0 {
		h.problem(w, http.StatusUnprocessableEntity, a.T, a.T.Refused, strings.Join(problems, "\n"))
		return
	}
	sep := "?"
	if back != "" {
		sep = "&"
	}
	http.Redirect(w, r, h.path("")+back+sep+"done=1", http.StatusSeeOther)
}

// reason is what an agent is told about a failed action.
func reason(err error) string {
	var ref *ticket.RefusedError
	switch {
	case errors.As(err, &ref):
		return ref.Reason
	case errors.Is(err, store.ErrNotFound):
		return "not found"
	}
	return "failed, try again"
}
