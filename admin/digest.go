package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/ticket"
)

// The agents' daily digest (issue 21): an agent shows or sets their own
// digest schedule, as #digest does by mail; an operator anyone's.

// DigestRequest is the body of POST /api/digest: the words of a #digest
// line ("off", "on", "at 07:30 [ZONE]").
type DigestRequest struct {
	Agent string   `json:"agent,omitempty"`
	Args  []string `json:"args"`
}

// DigestInfo answers both calls: the schedule in force, in words.
type DigestInfo struct {
	Agent    string `json:"agent"`
	Schedule string `json:"schedule"`
}

func (s *Server) digestRoutes() {
	s.handle("GET /api/digest", scopeAgent, s.getDigest)
	s.handle("POST /api/digest", scopeAgent, s.setDigest)
}

// digestAgent is whose digest a call is about: the caller's unless named
// (someone else's only for an operator).
func digestAgent(w http.ResponseWriter, r *http.Request, named string) (string, bool) {
	c := callerFrom(r.Context())
	agent := strings.ToLower(strings.TrimSpace(named))
	if agent == "" {
		agent = strings.ToLower(c.Agent)
	}
	if agent == "" {
		writeError(w, http.StatusBadRequest, "whose digest? (--agent ADDRESS)")
		return "", false
	}
	if !mayAgent(c, agent) {
		writeError(w, http.StatusForbidden, c.Agent+" may see and change only their own digest")
		return "", false
	}
	return agent, true
}

func (s *Server) getDigest(w http.ResponseWriter, r *http.Request) {
	agent, ok := digestAgent(w, r, r.URL.Query().Get("agent"))
	if !ok {
		return
	}
	if s.engine == nil {
		writeError(w, http.StatusServiceUnavailable, "digests are not available on this listener")
		return
	}
	said, err := s.engine.Digest(agent)
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, DigestInfo{Agent: agent, Schedule: said})
}

func (s *Server) setDigest(w http.ResponseWriter, r *http.Request) {
	if _, ok := requireAgent(w, r); !ok {
		return
	}
	var req DigestRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		return
	}
	agent, ok := digestAgent(w, r, req.Agent)
	if !ok {
		return
	}
	if s.engine == nil {
		writeError(w, http.StatusServiceUnavailable, "digests are not available on this listener")
		return
	}
	change, err := decide.DigestCommand(req.Args)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	said, err := s.engine.SetDigest(r.Context(), agent, change)
	switch {
	case errors.Is(err, ticket.ErrRefused):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		s.storeError(w, err)
		return
	}
	s.log.Info("admin change", "agent", callerFrom(r.Context()).Agent, "digest_of", agent, "done", said)
	writeJSON(w, http.StatusOK, DigestInfo{Agent: agent, Schedule: said})
}
