package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// OpRequest is the JSON body of the acting calls.
type OpRequest struct {
	Name     string   `json:"name,omitempty"`
	Domains  []string `json:"domains,omitempty"`
	Members  []string `json:"members,omitempty"`
	Status   string   `json:"status,omitempty"`
	Agent    string   `json:"agent,omitempty"`
	Text     string   `json:"text,omitempty"`
	Internal bool     `json:"internal,omitempty"`
	Address  string   `json:"address,omitempty"`
	Into     string   `json:"into,omitempty"`
	Project  string   `json:"project,omitempty"`
	// When is a due time or the end of a snooze as an agent writes it
	// ("+20h", "2026-12-24 15:00"): issue 21.
	When string `json:"when,omitempty"`
}

// OpResult says what an acting call did.
type OpResult struct {
	Ticket string `json:"ticket,omitempty"`
	Done   string `json:"done"`
	Queued int    `json:"queued"`
}

func (s *Server) opRoutes() {
	s.handle("POST /api/tickets/{key}/status", scopeAgent, s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.SetStatus(r.Context(), key, req.Status, agent)
		return n, "status set to " + req.Status, err
	}))
	s.handle("POST /api/tickets/{key}/assign", scopeAgent, s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.Assign(r.Context(), key, req.Agent, agent)
		switch {
		case strings.EqualFold(req.Agent, "me"):
			return n, "assigned to " + agent, err
		case req.Agent == "":
			return n, "unassigned", err
		}
		return n, "assigned to " + req.Agent, err
	}))
	// Issue 21: due times and snoozes, as #due and #snooze do by mail.
	s.handle("POST /api/tickets/{key}/due", scopeAgent, s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.SetDue(r.Context(), key, req.When, agent)
		return n, "due " + req.When, err
	}))
	s.handle("POST /api/tickets/{key}/snooze", scopeAgent, s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.Snooze(r.Context(), key, req.When, agent)
		if strings.EqualFold(req.When, "off") {
			return n, "awake", err
		}
		return n, "snoozed until " + req.When, err
	}))
	s.handle("POST /api/tickets/{key}/comment", scopeAgent, s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.Comment(r.Context(), key, agent, req.Text, req.Internal)
		what := "public reply added"
		if req.Internal {
			what = "internal note added"
		}
		return n, what, err
	}))
	s.handle("POST /api/tickets/{key}/participants", scopeAgent, s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.AddParticipant(r.Context(), key, req.Address, agent)
		return n, "participant " + req.Address + " added", err
	}))
	s.handle("DELETE /api/tickets/{key}/participants/{addr}", scopeAgent, s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.RemoveParticipant(r.Context(), key, r.PathValue("addr"), agent)
		return n, "participant " + r.PathValue("addr") + " removed", err
	}))
	s.handle("POST /api/tickets/{key}/invite", scopeAgent, s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.Invite(r.Context(), key, req.Address, agent)
		return n, req.Address + " invited", err
	}))
	s.handle("POST /api/tickets/{key}/merge", scopeAgent, s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.Merge(r.Context(), key, req.Into, agent)
		return n, "merged into " + strings.ToUpper(req.Into), err
	}))
	s.handle("POST /api/tickets/{key}/spam", scopeAgent, s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.MarkSpam(r.Context(), key, agent)
		return n, "marked as spam, reporter blocked", err
	}))
	s.handle("POST /api/tickets/{key}/organization", scopeAgent, s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.Share(r.Context(), key, req.Name, agent)
		return n, "shared with " + req.Name, err
	}))
	s.handle("PUT /api/orgs/{project}/{name}", scopeAgent, s.op(func(r *http.Request, _, agent string, req *OpRequest) (int, string, error) {
		return 0, "organization " + r.PathValue("name") + " saved", s.engine.PutOrganization(r.Context(), r.PathValue("project"), r.PathValue("name"), req.Domains, req.Members, agent)
	}))
	s.handle("DELETE /api/orgs/{project}/{name}", scopeAgent, s.op(func(r *http.Request, _, agent string, req *OpRequest) (int, string, error) {
		return 0, "organization " + r.PathValue("name") + " deleted", s.engine.DeleteOrganization(r.Context(), r.PathValue("project"), r.PathValue("name"), agent)
	}))
	s.handle("GET /api/orgs", scopeAgent, func(w http.ResponseWriter, r *http.Request) {
		var out []*store.Organization
		err := s.store.View(func(tx store.Tx) error {
			var err error
			all, err := tx.Organizations(strings.ToUpper(r.URL.Query().Get("project")))
			for _, o := range all {
				if s.may(r.Context(), o.Project) {
					out = append(out, o)
				}
			}
			return err
		})
		if err != nil {
			s.storeError(w, err)
			return
		}
		if out == nil {
			out = []*store.Organization{}
		}
		writeJSON(w, http.StatusOK, out)
	})
	s.handle("POST /api/blocks", scopeAgent, s.op(func(r *http.Request, _, agent string, req *OpRequest) (int, string, error) {
		return 0, req.Address + " blocked in " + strings.ToUpper(req.Project), s.engine.BlockSender(r.Context(), req.Project, req.Address, agent)
	}))
}

// op wraps an acting call: it needs an agent, decodes the body, maps the
// domain's refusals to 400/403 and wakes the sender when mail was queued.
func (s *Server) op(fn func(r *http.Request, key, agent string, req *OpRequest) (int, string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		agent, ok := requireAgent(w, r)
		if !ok {
			return
		}
		if s.engine == nil {
			writeError(w, http.StatusServiceUnavailable, "ticket changes are not available on this listener")
			return
		}
		var req OpRequest
		if r.ContentLength != 0 {
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
				writeError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
				return
			}
		}
		key := strings.ToUpper(r.PathValue("key"))
		// Every ticket and project the call names must be one of the
		// caller's: the ticket acted on, a merge target, the project of
		// an organization or a block.
		if key != "" && !s.mayTicket(r.Context(), key) {
			writeError(w, http.StatusNotFound, "ticket "+key+": not found")
			return
		}
		if req.Into != "" && !s.mayTicket(r.Context(), strings.ToUpper(req.Into)) {
			writeError(w, http.StatusNotFound, "ticket "+strings.ToUpper(req.Into)+": not found")
			return
		}
		for _, p := range []string{r.PathValue("project"), req.Project} {
			if p != "" && !s.may(r.Context(), p) {
				writeError(w, http.StatusForbidden, agent+" is not an agent of "+strings.ToUpper(p))
				return
			}
		}
		if key == "" && r.PathValue("project") == "" && req.Project == "" && !callerFrom(r.Context()).Operator {
			writeError(w, http.StatusBadRequest, "name the project")
			return
		}
		n, done, err := fn(r, key, agent, &req)
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
}
