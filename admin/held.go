package admin

import (
	"net/http"
	"strconv"

	"github.com/ticketgate/ticketgate/ticket"
)

// heldRoutes publish or discard a ticket's held mail (issue 22), as
// "#held publish|discard N" does by mail and the desk's buttons do.
func (s *Server) heldRoutes() {
	s.handle("POST /api/tickets/{key}/held/{msg}/{action}", scopeAgent, s.op(func(r *http.Request, key, agent string, _ *OpRequest) (int, string, error) {
		id, err := strconv.ParseUint(r.PathValue("msg"), 10, 64)
		if err != nil {
			return 0, "", &ticket.RefusedError{Reason: "the message number must be a number"}
		}
		switch r.PathValue("action") {
		case "publish":
			n, err := s.engine.PublishHeld(r.Context(), key, id, agent)
			return n, "held message " + r.PathValue("msg") + " published", err
		case "discard":
			n, err := s.engine.DiscardHeld(r.Context(), key, id, agent)
			return n, "held message " + r.PathValue("msg") + " discarded", err
		}
		return 0, "", &ticket.RefusedError{Reason: "publish or discard, not " + strconv.Quote(r.PathValue("action"))}
	}))
}
