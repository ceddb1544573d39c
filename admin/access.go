package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// Issue 17: opening a request for a customer, and an internal ticket's
// visibility.

// NewTicketRequest is the JSON body of POST /api/tickets.
type NewTicketRequest struct {
	Project  string `json:"project"`
	From     string `json:"from"`
	Subject  string `json:"subject"`
	Text     string `json:"text"`
	Internal bool   `json:"internal,omitempty"`
}

// VisibilityRequest is the JSON body of POST /api/tickets/{key}/visibility.
type VisibilityRequest struct {
	Visibility string `json:"visibility"`
}

func (s *Server) accessRoutes() {
	s.handle("POST /api/tickets", scopeAgent, s.newTicket)
	s.handle("POST /api/tickets/{key}/visibility", scopeAgent, s.setVisibility)
}

// decodeChange checks what every change needs (an agent, the engine)
// and decodes the body into v.
func (s *Server) decodeChange(w http.ResponseWriter, r *http.Request, v any) (string, bool) {
	agent, ok := requireAgent(w, r)
	if !ok {
		return "", false
	}
	if s.engine == nil {
		writeError(w, http.StatusServiceUnavailable, "ticket changes are not available on this listener")
		return "", false
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		return "", false
	}
	return agent, true
}

// changeDone answers a change like op does.
func (s *Server) changeDone(w http.ResponseWriter, key, agent, done string, n int, err error) {
	switch {
	case errors.Is(err, ticket.ErrRefused):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case err != nil:
		s.storeError(w, err)
		return
	}
	if n > 0 && s.Wake != nil {
		s.Wake()
	}
	s.log.Info("admin change", "ticket", key, "agent", agent, "done", done, "queued", n)
	writeJSON(w, http.StatusOK, OpResult{Ticket: key, Done: done, Queued: n})
}

func (s *Server) newTicket(w http.ResponseWriter, r *http.Request) {
	var req NewTicketRequest
	agent, ok := s.decodeChange(w, r, &req)
	if !ok {
		return
	}
	if req.Project == "" {
		writeError(w, http.StatusBadRequest, "name the project")
		return
	}
	if !s.may(r.Context(), req.Project) {
		writeError(w, http.StatusForbidden, agent+" is not an agent of "+strings.ToUpper(req.Project))
		return
	}
	key, n, err := s.engine.Open(r.Context(), ticket.OpenRequest{Project: req.Project, From: req.From, Subject: req.Subject,
		Text: req.Text, Internal: req.Internal}, agent)
	done := "request opened for " + strings.ToLower(req.From)
	if req.Internal {
		done = "internal ticket opened for " + strings.ToLower(req.From)
	}
	s.changeDone(w, key, agent, done, n, err)
}

func (s *Server) setVisibility(w http.ResponseWriter, r *http.Request) {
	var req VisibilityRequest
	agent, ok := s.decodeChange(w, r, &req)
	if !ok {
		return
	}
	key := strings.ToUpper(r.PathValue("key"))
	if !s.mayTicket(r.Context(), key) {
		writeError(w, http.StatusNotFound, "ticket "+key+": not found")
		return
	}
	n, err := s.engine.SetVisibility(r.Context(), key, req.Visibility, agent)
	s.changeDone(w, key, agent, "visibility "+strings.ToLower(req.Visibility), n, err)
}
