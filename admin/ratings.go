package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// Ratings (issue 18): GET /api/ratings?project=P&since=RFC3339 sums up
// the customers' ratings of the caller's projects.

// RatingSummary is one project's ratings summed up.
type RatingSummary = ticket.RatingSummary

func (s *Server) listRatings(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	project := strings.ToUpper(q.Get("project"))
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("since: %v", err))
			return
		}
		since = t
	}
	if project != "" && !s.may(r.Context(), project) {
		writeError(w, http.StatusForbidden, fmt.Sprintf("%s is not an agent of %s", agentFrom(r.Context()), project))
		return
	}
	var mine []*store.Rating
	err := s.store.View(func(tx store.Tx) error {
		list, err := tx.Ratings(project, since)
		for _, rt := range list {
			if s.may(r.Context(), rt.Project) {
				mine = append(mine, rt)
			}
		}
		return err
	})
	if err != nil {
		s.storeError(w, err)
		return
	}
	out := ticket.SummarizeRatings(mine)
	if out == nil {
		out = []ticket.RatingSummary{}
	}
	writeJSON(w, http.StatusOK, out)
}

// Ratings sums up the ratings of project ("" = every project the caller
// may see) updated since (zero = all).
func (c *Client) Ratings(ctx context.Context, project string, since time.Time) ([]ticket.RatingSummary, error) {
	q := url.Values{}
	if project != "" {
		q.Set("project", project)
	}
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339))
	}
	var out []ticket.RatingSummary
	return out, c.Call(ctx, http.MethodGet, "/api/ratings?"+q.Encode(), nil, &out)
}
