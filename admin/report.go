package admin

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/ticketgate/ticketgate/report"
)

// getReport answers GET /api/report?project=P&since=30d (issue 21): the
// figures of package report over the caller's projects.
func (s *Server) getReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	project := strings.ToUpper(q.Get("project"))
	if project != "" && !s.may(r.Context(), project) {
		writeError(w, http.StatusForbidden, fmt.Sprintf("%s is not an agent of %s", agentFrom(r.Context()), project))
		return
	}
	since := q.Get("since")
	if since == "" {
		since = "30d"
	}
	now := s.now()
	cfg := s.cfg()
	from, err := report.ParseSince(since, now, cfg.Location())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// The desk's dashboard shows the same figures (issue 22): the per-day
	// series and the open tickets now.
	rep, err := report.Compute(s.store, report.Query{Project: project, Since: from, May: func(p string) bool { return s.may(r.Context(), p) },
		Daily: true, Loc: cfg.Location(), Open: report.OpenIn(cfg)}, now)
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
