package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/decide"
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
	s.draftRoutes()
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

// DraftSummary is one row of GET /api/drafts.
type DraftSummary struct {
	Key     string    `json:"key"`
	Sender  string    `json:"sender"`
	Subject string    `json:"subject"`
	Missing string    `json:"missing"`
	Mails   int       `json:"mails"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
}

// KeyCheckRequest is the body of POST /api/keys/check: the key travels
// in the body, never in a URL that logs keep.
type KeyCheckRequest struct {
	Project string `json:"project"`
	Key     string `json:"key"`
	Sender  string `json:"sender,omitempty"`
}

// KeyCheckResult is its answer.
type KeyCheckResult struct {
	Project string `json:"project"`
	// Key is the key redacted (all but its last 4 characters).
	Key   string `json:"key"`
	State string `json:"state"`
	Valid bool   `json:"valid"`
	// Bound is who the file binds the key to ("" = any sender);
	// Expires its expiry date (YYYY-MM-DD, "" = never).
	Bound   string `json:"bound,omitempty"`
	Expires string `json:"expires,omitempty"`
}

func (s *Server) draftRoutes() {
	s.handle("GET /api/drafts", scopeAgent, s.listDrafts)
	s.handle("POST /api/drafts/{key}/accept", scopeAgent, s.acceptDraft)
	s.handle("POST /api/keys/check", scopeAgent, s.checkKey)
}

func (s *Server) listDrafts(w http.ResponseWriter, r *http.Request) {
	project := strings.ToUpper(r.URL.Query().Get("project"))
	if project != "" && !s.may(r.Context(), project) {
		writeError(w, http.StatusForbidden, fmt.Sprintf("%s is not an agent of %s", agentFrom(r.Context()), project))
		return
	}
	out := []DraftSummary{}
	err := s.store.View(func(tx store.Tx) error {
		all, err := tx.Drafts(project)
		for _, d := range all {
			if s.may(r.Context(), d.Project) {
				out = append(out, DraftSummary{Key: d.Key, Sender: d.Sender, Subject: d.Subject, Missing: d.Missing, Mails: len(d.Mails),
					Created: d.Created, Expires: d.Expires})
			}
		}
		return err
	})
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) acceptDraft(w http.ResponseWriter, r *http.Request) {
	agent, ok := requireAgent(w, r)
	if !ok {
		return
	}
	if s.engine == nil {
		writeError(w, http.StatusServiceUnavailable, "ticket changes are not available on this listener")
		return
	}
	key := strings.ToUpper(r.PathValue("key"))
	p, _, ok := store.SplitDraftKey(key)
	if !ok || !s.may(r.Context(), p) {
		writeError(w, http.StatusNotFound, "draft "+key+": not found")
		return
	}
	tkey, n, err := s.engine.AcceptDraft(r.Context(), key, agent)
	s.changeDone(w, tkey, agent, "draft "+key+" accepted", n, err)
}

func (s *Server) checkKey(w http.ResponseWriter, r *http.Request) {
	var req KeyCheckRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		return
	}
	if s.engine == nil {
		writeError(w, http.StatusServiceUnavailable, "the key check is not available on this listener")
		return
	}
	project := strings.ToUpper(req.Project)
	if project == "" && len(s.cfg().Projects) == 1 {
		project = s.cfg().Projects[0].Key
	}
	if project == "" {
		writeError(w, http.StatusBadRequest, "name the project")
		return
	}
	if !s.may(r.Context(), project) {
		writeError(w, http.StatusForbidden, agentFrom(r.Context())+" is not an agent of "+project)
		return
	}
	st, entry, err := s.engine.CheckKey(project, strings.TrimSpace(req.Key), strings.ToLower(strings.TrimSpace(req.Sender)))
	if errors.Is(err, ticket.ErrRefused) {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		s.storeError(w, err)
		return
	}
	res := KeyCheckResult{Project: project, Key: decide.RedactKey(strings.TrimSpace(req.Key)), State: st.String(), Valid: st == decide.KeyValid}
	if entry != nil {
		res.Bound = entry.Bound
		if !entry.Expires.IsZero() {
			res.Expires = entry.Expires.AddDate(0, 0, -1).Format("2006-01-02")
		}
	}
	s.log.Info("support key checked", "project", project, "key", res.Key, "state", res.State, "agent", agentFrom(r.Context()))
	writeJSON(w, http.StatusOK, res)
}
