package admin

import (
	"net/http"
	"strings"

	"github.com/ticketgate/ticketgate/store"
)

// SessionInfo is a desk session as the admin API lists it: never its
// secret, only the start of the store key's hash to tell them apart.
type SessionInfo struct {
	ID string `json:"id"`
	store.Session
}

// Revoked answers POST /api/sessions/revoke.
type Revoked struct {
	Revoked int `json:"revoked"`
}

// mayAgent reports whether the caller may see and end agent's desk
// sessions: their own, or anyone's for an operator.
func mayAgent(c Caller, agent string) bool {
	return c.Operator || strings.EqualFold(c.Agent, agent)
}

// listSessions lists the desk sessions the caller may see (?agent=
// narrows it to one agent).
func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	c := callerFrom(r.Context())
	agent := strings.ToLower(r.URL.Query().Get("agent"))
	out := []SessionInfo{}
	err := s.store.View(func(tx store.Tx) error {
		all, err := tx.Sessions(agent)
		for _, se := range all {
			if mayAgent(c, se.Agent) {
				out = append(out, SessionInfo{ID: se.Hash[:12], Session: *se})
			}
		}
		return err
	})
	if err != nil {
		s.storeError(w, err)
		return
	}
	for i := range out {
		out[i].Hash = ""
	}
	writeJSON(w, http.StatusOK, out)
}

// revokeSessions ends every desk session of ?agent= (an operator may give
// ?all=1 to end everyone's), on every node at once: they share the store.
func (s *Server) revokeSessions(w http.ResponseWriter, r *http.Request) {
	c := callerFrom(r.Context())
	agent := strings.ToLower(r.URL.Query().Get("agent"))
	all := r.URL.Query().Get("all") == "1"
	switch {
	case all && !c.Operator:
		writeError(w, http.StatusForbidden, "only an operator may end everyone's sessions")
		return
	case !all && agent == "":
		writeError(w, http.StatusBadRequest, "whose sessions? (agent=ADDRESS, or all=1 for an operator)")
		return
	case !all && !mayAgent(c, agent):
		writeError(w, http.StatusForbidden, c.Agent+" may end only their own sessions")
		return
	}
	n := 0
	err := s.store.Update(r.Context(), func(tx store.Tx) error {
		n = 0
		list, err := tx.Sessions(agent)
		if err != nil {
			return err
		}
		for _, se := range list {
			if err := tx.DeleteSession(se.Hash); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		s.storeError(w, err)
		return
	}
	s.log.Info("desk sessions revoked", "by", c.Agent, "agent", agent, "all", all, "count", n)
	writeJSON(w, http.StatusOK, Revoked{Revoked: n})
}
