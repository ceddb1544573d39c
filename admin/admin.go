// Package admin is the daemon's admin API: JSON over HTTP on the local
// unix socket data_dir/admin.sock (and optionally TCP with per-agent
// tokens), and the client the `ticketgate` CLI uses. bbolt allows one
// process, so everything a sysadmin or an agent does while the daemon runs
// goes through here; every change records the agent who made it.
package admin

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/retention"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// AsHeader repeats the agent the CLI was told to act as (--as). It proves
// nothing: the caller is who the socket's peer credentials or the TCP token
// say, and a request naming someone else is refused.
const AsHeader = "X-Ticketgate-As"

// Server serves the admin API.
type Server struct {
	store store.DB
	cfg   func() *config.Config
	now   func() time.Time
	log   *slog.Logger
	// Wake is called after a change that queued outbound mail.
	Wake func()
	// tokens returns the TCP tokens (token → agent) in force now; nil on
	// the unix socket.
	tokens  func() map[string]string
	engine  *ticket.Engine
	mux     *http.ServeMux
	scopes  map[string]scope
	version string
	// hookClient sends test pushes (webhooks.go).
	hookClient *http.Client
}

// Options configures a Server.
type Options struct {
	Now func() time.Time
	// Tokens, when set, requires "Authorization: Bearer <token>" and takes
	// the agent from it (the TCP listener). It is asked on every request,
	// so a reload that rotates or removes a token takes effect at once.
	// Without it the caller is the unix socket peer (see ConnContext).
	Tokens func() map[string]string
	// Version is what GET /api/version answers.
	Version string
	// Engine makes the changes (status, assign, comment …); every change
	// goes through the same domain path as mail.
	Engine *ticket.Engine
	// HookTLS is the TLS configuration of test pushes (tests trust their
	// own server); nil: the system's.
	HookTLS *tls.Config
}

// NewServer returns the API handler.
func NewServer(s store.DB, cfg func() *config.Config, opts Options, log *slog.Logger) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	srv := &Server{store: s, cfg: cfg, now: opts.Now, log: log, tokens: opts.Tokens, engine: opts.Engine,
		mux: http.NewServeMux(), scopes: map[string]scope{}, version: opts.Version, hookClient: newHookClient(opts.HookTLS)}
	srv.routes()
	srv.webhookRoutes()
	srv.opRoutes()
	srv.heldRoutes()
	srv.traceRoutes()
	srv.attachmentRoutes()
	srv.accessRoutes()
	srv.pgpRoutes()
	srv.digestRoutes() // issue 21
	return srv
}

// agentFrom returns the acting agent of a request ("" when unknown).
func agentFrom(ctx context.Context) string {
	return callerFrom(ctx).Agent
}

// ServeHTTP authenticates, checks the route's scope and dispatches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, ok := s.authorize(w, r)
	if !ok {
		return
	}
	s.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
}

// requireAgent answers 400 unless the request names its agent: every
// change records who made it.
func requireAgent(w http.ResponseWriter, r *http.Request) (string, bool) {
	a := agentFrom(r.Context())
	if a == "" {
		writeError(w, http.StatusForbidden, "this changes something: the caller must be an agent (admin.users on the socket, a token on TCP)")
		return "", false
	}
	return a, true
}

// APIError is the JSON body of every error response.
type APIError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, APIError{Error: msg})
}

// storeError maps a store error to a response.
func (s *Server) storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case fault.IsTemporary(err):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, err.Error())
	default:
		s.log.Error("admin request failed", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

func (s *Server) routes() {
	s.handle("GET /api/version", scopeAnyone, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"version": s.version})
	})
	s.handle("GET /api/tickets", scopeAgent, s.listTickets)
	s.handle("GET /api/tickets/{key}", scopeAgent, s.showTicket)
	s.handle("GET /api/outbox", scopeAgent, s.listOutbox)
	s.handle("POST /api/outbox/{id}/requeue", scopeAgent, s.requeue)
	s.handle("DELETE /api/outbox/{id}", scopeAgent, s.dropOutbox)
	s.handle("GET /api/suppressions", scopeAgent, s.listSuppressions)
	s.handle("GET /api/ratings", scopeAgent, s.listRatings) // issue 18
	s.handle("DELETE /api/suppressions/{addr}", scopeAgent, s.clearSuppression)
	s.handle("GET /api/report", scopeAgent, s.getReport) // issue 21
	s.handle("GET /api/sessions", scopeAgent, s.listSessions)
	s.handle("POST /api/sessions/revoke", scopeAgent, s.revokeSessions)
	s.handle("GET /api/backup", scopeOperator, s.backup)
	s.handle("GET /api/purge", scopeOperator, s.purgePlan)
	s.handle("POST /api/purge", scopeOperator, s.purgeRun)
	s.handle("/", scopeAnyone, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API call: "+r.Method+" "+r.URL.Path)
	})
}

// TicketSummary is one row of a ticket list.
type TicketSummary struct {
	Key      string `json:"key"`
	Subject  string `json:"subject"`
	Status   string `json:"status"`
	Reporter string `json:"reporter"`
	Assignee string `json:"assignee,omitempty"`
	// Type and Visibility (issue 17): the request type, and "internal"
	// for a ticket customers do not see.
	Type       string    `json:"type,omitempty"`
	Visibility string    `json:"visibility,omitempty"`
	Messages   int       `json:"messages"`
	Updated    time.Time `json:"updated"`
}

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	project := strings.ToUpper(q.Get("project"))
	status := strings.ToLower(q.Get("status"))
	customer := strings.ToLower(q.Get("customer"))
	text := strings.ToLower(q.Get("q"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 {
		limit = 200
	}
	if project != "" && !s.may(r.Context(), project) {
		writeError(w, http.StatusForbidden, fmt.Sprintf("%s is not an agent of %s", agentFrom(r.Context()), project))
		return
	}
	var out []TicketSummary
	err := s.store.View(func(tx store.Tx) error {
		var ferr error
		err := tx.ForEachTicket(project, func(t *store.Ticket) bool {
			if !s.may(r.Context(), t.Project) {
				return true
			}
			if status != "" && t.Status != status {
				return true
			}
			if customer != "" && !involves(t, customer) {
				return true
			}
			if text != "" && !strings.Contains(strings.ToLower(t.Subject), text) {
				// Search the conversation too; slower, so only when
				// the subject did not match.
				msgs, err := tx.TicketMessages(t.Key)
				if err != nil {
					ferr = err
					return false
				}
				hit := false
				for _, m := range msgs {
					if strings.Contains(strings.ToLower(m.Text), text) {
						hit = true
						break
					}
				}
				if !hit {
					return true
				}
			}
			out = append(out, TicketSummary{Key: t.Key, Subject: t.Subject, Status: t.Status, Reporter: t.Reporter, Assignee: t.Assignee,
				Type: t.Type, Visibility: t.Visibility, Messages: t.Messages, Updated: t.Updated})
			return len(out) < limit
		})
		if err != nil {
			return err
		}
		return ferr
	})
	if err != nil {
		s.storeError(w, err)
		return
	}
	if out == nil {
		out = []TicketSummary{}
	}
	writeJSON(w, http.StatusOK, out)
}

func involves(t *store.Ticket, addr string) bool {
	if strings.Contains(t.Reporter, addr) {
		return true
	}
	for _, p := range t.Participants {
		if strings.Contains(p.Address, addr) {
			return true
		}
	}
	return false
}

// TicketDetail is a ticket with its messages (without raw bodies) and
// history.
type TicketDetail struct {
	Ticket   *store.Ticket    `json:"ticket"`
	Messages []*store.Message `json:"messages"`
	Events   []*store.Event   `json:"events"`
	// Offer is who the ticket was offered to (issue 18); nil when never.
	Offer *store.Offer `json:"offer,omitempty"`
	// Webhooks are the ticket's webhook deliveries still queued.
	Webhooks []HookEntry `json:"webhooks,omitempty"`
}

func (s *Server) showTicket(w http.ResponseWriter, r *http.Request) {
	var d TicketDetail
	key := strings.ToUpper(r.PathValue("key"))
	err := s.store.View(func(tx store.Tx) error {
		var err error
		// Another project's ticket is answered like a missing one: its
		// existence is none of the caller's business either.
		if !s.mayTicket(r.Context(), key) {
			return fmt.Errorf("ticket %s: %w", key, store.ErrNotFound)
		}
		if d.Ticket, err = tx.Ticket(key); err != nil {
			return err
		}
		if !s.may(r.Context(), d.Ticket.Project) {
			return fmt.Errorf("ticket %s: %w", key, store.ErrNotFound)
		}
		if d.Messages, err = tx.TicketMessages(d.Ticket.Key); err != nil {
			return err
		}
		if d.Events, err = tx.Events(d.Ticket.Key); err != nil {
			return err
		}
		if d.Offer, err = tx.Offer(d.Ticket.Key); errors.Is(err, store.ErrNotFound) {
			d.Offer, err = nil, nil
		}
		if err != nil {
			return err
		}
		d.Webhooks, err = ticketHooks(tx, d.Ticket.Key)
		return err
	})
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, &d)
}

// OutboxEntry is a queued message without its bytes.
type OutboxEntry struct {
	ID          uint64    `json:"id"`
	Ticket      string    `json:"ticket"`
	Event       string    `json:"event"`
	Recipient   string    `json:"recipient"`
	MessageID   string    `json:"message_id"`
	Created     time.Time `json:"created"`
	NextAttempt time.Time `json:"next_attempt"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error,omitempty"`
}

func (s *Server) listOutbox(w http.ResponseWriter, r *http.Request) {
	out := []OutboxEntry{}
	err := s.store.View(func(tx store.Tx) error {
		items, err := tx.ListOutbox(10000)
		for _, it := range items {
			if !s.may(r.Context(), it.Project) {
				continue
			}
			out = append(out, OutboxEntry{ID: it.ID, Ticket: it.Ticket, Event: it.Event, Recipient: it.Recipient, MessageID: it.MessageID,
				Created: it.Created, NextAttempt: it.NextAttempt, Attempts: it.Attempts, LastError: it.LastError})
		}
		return err
	})
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) outboxChange(w http.ResponseWriter, r *http.Request, drop bool) {
	agent, ok := requireAgent(w, r)
	if !ok {
		return
	}
	if s.engine == nil {
		writeError(w, http.StatusServiceUnavailable, "changes are not available on this listener")
		return
	}
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "outbox id must be a number")
		return
	}
	now := s.now().UTC()
	var item *store.OutboxItem
	err = s.store.Update(r.Context(), func(tx store.Tx) error {
		var err error
		// Another project's item is answered like a missing one.
		if item, err = tx.OutboxItem(id); err != nil {
			return fmt.Errorf("outbox item %d: %w", id, err)
		}
		if !s.may(r.Context(), item.Project) {
			return fmt.Errorf("outbox item %d: %w", id, store.ErrNotFound)
		}
		if drop {
			item, err = tx.Dequeue(id)
		} else {
			item, err = tx.Reschedule(id, func(it *store.OutboxItem) { it.NextAttempt = now })
		}
		if err != nil {
			return fmt.Errorf("outbox item %d: %w", id, err)
		}
		// The domain records it on the ticket.
		return s.engine.OutboxChanged(tx, item, drop, agent)
	})
	if err != nil {
		s.storeError(w, err)
		return
	}
	if !drop && s.Wake != nil {
		s.Wake()
	}
	s.log.Info("outbox item changed", "id", id, "drop", drop, "agent", agent, "ticket", item.Ticket)
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "dropped": drop})
}

func (s *Server) requeue(w http.ResponseWriter, r *http.Request)    { s.outboxChange(w, r, false) }
func (s *Server) dropOutbox(w http.ResponseWriter, r *http.Request) { s.outboxChange(w, r, true) }

func (s *Server) listSuppressions(w http.ResponseWriter, r *http.Request) {
	var out []*store.Suppression
	err := s.store.View(func(tx store.Tx) error {
		all, err := tx.Suppressions()
		for _, sup := range all {
			if s.mayTicket(r.Context(), sup.Ticket) {
				out = append(out, sup)
			}
		}
		return err
	})
	if err != nil {
		s.storeError(w, err)
		return
	}
	if out == nil {
		out = []*store.Suppression{}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) clearSuppression(w http.ResponseWriter, r *http.Request) {
	agent, ok := requireAgent(w, r)
	if !ok {
		return
	}
	if s.engine == nil {
		writeError(w, http.StatusServiceUnavailable, "changes are not available on this listener")
		return
	}
	addr := strings.ToLower(r.PathValue("addr"))
	err := s.store.Update(r.Context(), func(tx store.Tx) error {
		sup, err := tx.Suppressed(addr, time.Time{})
		if err != nil {
			return err
		}
		if sup == nil || !s.mayTicket(r.Context(), sup.Ticket) {
			return fmt.Errorf("no suppression for %s: %w", addr, store.ErrNotFound)
		}
		if err := tx.ClearSuppression(addr); err != nil {
			return err
		}
		return s.engine.SuppressionCleared(tx, sup, agent)
	})
	if err != nil {
		s.storeError(w, err)
		return
	}
	s.log.Info("suppression cleared", "addr", addr, "agent", agent)
	writeJSON(w, http.StatusOK, map[string]string{"cleared": addr})
}

// BackupStatusTrailer is sent after the archive: "ok", or the error. The
// status line went out before the archive did, so only a trailer can say
// whether it is complete.
const BackupStatusTrailer = "X-Backup-Status"

func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Trailer", BackupStatusTrailer)
	err := s.store.Backup(w)
	if err != nil {
		s.log.Error("backup failed", "err", err)
		w.Header().Set(BackupStatusTrailer, "error: "+err.Error())
		return
	}
	s.log.Info("backup written", "agent", agentFrom(r.Context()))
	w.Header().Set(BackupStatusTrailer, "ok")
}

func (s *Server) purgePlan(w http.ResponseWriter, r *http.Request) {
	var items []retention.Item
	err := s.store.View(func(tx store.Tx) error {
		var err error
		items, err = retention.Plan(tx, s.cfg(), s.now())
		return err
	})
	if err != nil {
		s.storeError(w, err)
		return
	}
	if items == nil {
		items = []retention.Item{}
	}
	writeJSON(w, http.StatusOK, items)
}

func (s *Server) purgeRun(w http.ResponseWriter, r *http.Request) {
	agent, ok := requireAgent(w, r)
	if !ok {
		return
	}
	rep, err := retention.Run(r.Context(), s.store, s.engine, s.cfg(), s.now(), agent)
	if err != nil {
		s.storeError(w, err)
		return
	}
	s.log.Info("retention run by hand", "agent", agent, "tickets", rep.Tickets, "bytes", rep.Bytes)
	writeJSON(w, http.StatusOK, rep)
}
