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
}

// OpResult says what an acting call did.
type OpResult struct {
	Ticket string `json:"ticket,omitempty"`
	Done   string `json:"done"`
	Queued int    `json:"queued"`
}

func (s *Server) opRoutes() {
	s.mux.HandleFunc("POST /api/tickets/{key}/status", s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.SetStatus(r.Context(), key, req.Status, agent)
		return n, "status set to " + req.Status, err
	}))
	s.mux.HandleFunc("POST /api/tickets/{key}/assign", s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.Assign(r.Context(), key, req.Agent, agent)
		return n, "assigned to " + req.Agent, err
	}))
	s.mux.HandleFunc("POST /api/tickets/{key}/comment", s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.Comment(r.Context(), key, agent, req.Text, req.Internal)
		what := "public reply added"
		if req.Internal {
			what = "internal note added"
		}
		return n, what, err
	}))
	s.mux.HandleFunc("POST /api/tickets/{key}/participants", s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.AddParticipant(r.Context(), key, req.Address, agent)
		return n, "participant " + req.Address + " added", err
	}))
	s.mux.HandleFunc("DELETE /api/tickets/{key}/participants/{addr}", s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.RemoveParticipant(r.Context(), key, r.PathValue("addr"), agent)
		return n, "participant " + r.PathValue("addr") + " removed", err
	}))
	s.mux.HandleFunc("POST /api/tickets/{key}/invite", s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.Invite(r.Context(), key, req.Address, agent)
		return n, req.Address + " invited", err
	}))
	s.mux.HandleFunc("POST /api/tickets/{key}/merge", s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.Merge(r.Context(), key, req.Into, agent)
		return n, "merged into " + strings.ToUpper(req.Into), err
	}))
	s.mux.HandleFunc("POST /api/tickets/{key}/spam", s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.MarkSpam(r.Context(), key, agent)
		return n, "marked as spam, reporter blocked", err
	}))
	s.mux.HandleFunc("POST /api/tickets/{key}/organization", s.op(func(r *http.Request, key, agent string, req *OpRequest) (int, string, error) {
		n, err := s.engine.Share(r.Context(), key, req.Name, agent)
		return n, "shared with " + req.Name, err
	}))
	s.mux.HandleFunc("PUT /api/orgs/{project}/{name}", s.op(func(r *http.Request, _, agent string, req *OpRequest) (int, string, error) {
		return 0, "organization " + r.PathValue("name") + " saved", s.engine.PutOrganization(r.Context(), r.PathValue("project"), r.PathValue("name"), req.Domains, req.Members, agent)
	}))
	s.mux.HandleFunc("DELETE /api/orgs/{project}/{name}", s.op(func(r *http.Request, _, agent string, req *OpRequest) (int, string, error) {
		return 0, "organization " + r.PathValue("name") + " deleted", s.engine.DeleteOrganization(r.Context(), r.PathValue("project"), r.PathValue("name"), agent)
	}))
	s.mux.HandleFunc("GET /api/orgs", func(w http.ResponseWriter, r *http.Request) {
		var out []*store.Organization
		err := s.store.View(func(tx store.Tx) error {
			var err error
			out, err = tx.Organizations(strings.ToUpper(r.URL.Query().Get("project")))
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
	s.mux.HandleFunc("POST /api/blocks", s.op(func(r *http.Request, _, agent string, req *OpRequest) (int, string, error) {
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
