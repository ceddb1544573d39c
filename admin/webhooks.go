package admin

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
	"github.com/ticketgate/ticketgate/webhook"
)

// HookEntry is a queued webhook delivery as the API shows it: by the
// hook's name, never its URL (which may be a secret).
type HookEntry struct {
	ID          uint64    `json:"id"`
	Project     string    `json:"project"`
	Ticket      string    `json:"ticket,omitempty"`
	Hook        string    `json:"hook"`
	Format      string    `json:"format"`
	Event       string    `json:"event"`
	EventID     string    `json:"event_id"`
	Mention     []string  `json:"mention,omitempty"`
	Created     time.Time `json:"created"`
	NextAttempt time.Time `json:"next_attempt"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error,omitempty"`
}

func hookEntry(it *store.HookItem) HookEntry {
	return HookEntry{ID: it.ID, Project: it.Project, Ticket: it.Ticket, Hook: it.Hook, Format: it.Format, Event: it.Kind.String(),
		EventID: it.EventID, Mention: it.Mention, Created: it.Created, NextAttempt: it.NextAttempt, Attempts: it.Attempts, LastError: it.LastError}
}

// maxHookList bounds a listing of the webhook queue.
const maxHookList = 10000

// ticketHooks lists the deliveries still queued for ticket key.
func ticketHooks(tx store.Tx, key string) ([]HookEntry, error) {
	items, err := tx.ListHooks(maxHookList)
	var out []HookEntry
	for _, it := range items {
		if it.Ticket == key {
			out = append(out, hookEntry(it))
		}
	}
	return out, err
}

// HookTestRequest asks for a test push.
type HookTestRequest struct {
	Project string `json:"project"`
	// Hook names one hook; empty: every hook of the project.
	Hook string `json:"hook,omitempty"`
}

// HookTestResult is what one hook's endpoint made of a test push.
type HookTestResult struct {
	Hook    string `json:"hook"`
	Format  string `json:"format"`
	EventID string `json:"event_id"`
	OK      bool   `json:"ok"`
	// Error says why not (never the URL nor the response body).
	Error string `json:"error,omitempty"`
}

func (s *Server) webhookRoutes() {
	s.handle("GET /api/webhooks", scopeAgent, s.listHooks)
	s.handle("POST /api/webhooks/test", scopeAgent, s.testHooks)
}

func (s *Server) listHooks(w http.ResponseWriter, r *http.Request) {
	out := []HookEntry{}
	project := r.URL.Query().Get("project")
	err := s.store.View(func(tx store.Tx) error {
		items, err := tx.ListHooks(maxHookList)
		for _, it := range items {
			if !s.may(r.Context(), it.Project) || (project != "" && it.Project != project) {
				continue
			}
			out = append(out, hookEntry(it))
		}
		return err
	})
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// testHooks sends a test push through the project's hooks at once (not
// through the queue: the caller wants the answer now) and reports each
// endpoint's answer.
func (s *Server) testHooks(w http.ResponseWriter, r *http.Request) {
	if _, ok := requireAgent(w, r); !ok {
		return
	}
	var req HookTestRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body must be {\"project\": \"KEY\", \"hook\": \"NAME\"}")
		return
	}
	p := s.cfg().Project(req.Project)
	if p == nil || !s.may(r.Context(), p.Key) {
		writeError(w, http.StatusNotFound, "no project "+req.Project)
		return
	}
	var hooks []*config.Webhook
	for i := range p.Webhooks {
		if req.Hook == "" || p.Webhooks[i].HookName() == req.Hook {
			hooks = append(hooks, &p.Webhooks[i])
		}
	}
	if len(hooks) == 0 {
		writeError(w, http.StatusNotFound, "project "+p.Key+" has no such webhook")
		return
	}
	now := s.now().UTC()
	out := make([]HookTestResult, len(hooks))
	for i, h := range hooks {
		it := &store.HookItem{EventID: ticket.NewHookEventID(), Project: p.Key, Hook: h.HookName(), Format: h.HookFormat(),
			Kind: store.EvRequestCreated, Time: now, Vars: store.HookVars{ProjectName: p.Name, Actor: agentFrom(r.Context())}}
		err := webhook.Send(r.Context(), s.hookClient, h, it, true, now)
		out[i] = HookTestResult{Hook: it.Hook, Format: it.Format, EventID: it.EventID, OK: err == nil}
		if err != nil {
			out[i].Error = err.Error()
		}
		s.log.Info("webhook test push", "project", p.Key, "hook", it.Hook, "ok", err == nil, "err", err)
	}
	writeJSON(w, http.StatusOK, out)
}

// HookTest asks the daemon to send a test push.
func (c *Client) HookTest(ctx context.Context, project, hook string) ([]HookTestResult, error) {
	var out []HookTestResult
	err := c.Call(ctx, http.MethodPost, "/api/webhooks/test", &HookTestRequest{Project: project, Hook: hook}, &out)
	return out, err
}

func newHookClient(tlsConfig *tls.Config) *http.Client { return webhook.NewClient(tlsConfig) }
