package metrics

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness check's verdict.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// MailboxState is a mailbox as /readyz reports it.
type MailboxState struct {
	Project     string    `json:"project"`
	Mailbox     string    `json:"mailbox"`
	Connected   bool      `json:"connected"`
	Idling      bool      `json:"idling"`
	LastSync    time.Time `json:"last_sync,omitzero"`
	LastPoll    time.Time `json:"last_poll,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	OAuth2Error string    `json:"oauth2_error,omitempty"`
	Errors      uint64    `json:"errors"`
	Ingested    uint64    `json:"ingested"`
}

// Report is the body of /readyz.
type Report struct {
	Ready     bool           `json:"ready"`
	Checks    []Check        `json:"checks"`
	Outbox    OutboxState    `json:"outbox"`
	Mailboxes []MailboxState `json:"mailboxes"`
}

// OutboxState summarises the outbox.
type OutboxState struct {
	Depth int `json:"depth"`
	// Oldest is when the oldest queued mail was queued (zero if none).
	Oldest time.Time `json:"oldest,omitzero"`
	// OldestID and OldestTo name it.
	OldestID uint64 `json:"oldest_id,omitempty"`
	OldestTo string `json:"oldest_to,omitempty"`
}

// Ready runs every readiness check: a real read transaction on the store,
// the outbox's oldest mail younger than OutboxStuckAfter, and (when
// RequireMailboxes) every mailbox connected. Mailbox states are always
// reported.
func (m *Metrics) Ready() Report {
	set := m.opts.Settings()
	now := m.opts.Now()
	r := Report{Ready: true, Mailboxes: []MailboxState{}}
	fail := func(c Check) {
		r.Ready = false
		r.Checks = append(r.Checks, c)
	}
	q, err := m.opts.Outbox()
	r.Outbox = q
	if err == nil && m.opts.CommitProbe != nil {
		// The last commit may have failed: the probe tries an empty one,
		// so a disk that has room again makes us ready without waiting
		// for mail.
		if perr := m.opts.CommitProbe(); perr != nil {
			fail(Check{Name: "store", Detail: "commits fail (disk full? I/O error?): " + perr.Error()})
			err = perr
		}
	} else if err != nil {
		fail(Check{Name: "store", Detail: "read transaction failed: " + err.Error()})
	}
	if err == nil {
		r.Checks = append(r.Checks, Check{Name: "store", OK: true})
		c := Check{Name: "outbox", OK: true, Detail: fmt.Sprintf("%d queued", r.Outbox.Depth)}
		if !r.Outbox.Oldest.IsZero() {
			age := now.Sub(r.Outbox.Oldest).Truncate(time.Second)
			c.Detail += fmt.Sprintf(", oldest waiting %s", age)
			if set.OutboxStuckAfter > 0 && age > set.OutboxStuckAfter {
				c.OK = false
				c.Detail = fmt.Sprintf("stuck: mail %d to %s has waited %s (more than %s); %d queued",
					r.Outbox.OldestID, r.Outbox.OldestTo, age, set.OutboxStuckAfter, r.Outbox.Depth)
			}
		}
		if c.OK {
			r.Checks = append(r.Checks, c)
		} else {
			fail(c)
		}
	}
	if m.opts.ConfigAgrees != nil {
		if err := m.opts.ConfigAgrees(); err != nil {
			fail(Check{Name: "config", Detail: err.Error()})
		} else {
			r.Checks = append(r.Checks, Check{Name: "config", OK: true})
		}
	}
	if lines, ok := m.alertLines(); ok {
		c := Check{Name: "alerts", OK: len(lines) == 0, Detail: "none"}
		if len(lines) > 0 {
			c.Detail = strings.Join(lines, "; ")
		}
		r.Checks = append(r.Checks, c)
	}
	if mbs := m.mailboxes(); len(mbs) > 0 {
		var down []string
		for _, mb := range mbs {
			r.Mailboxes = append(r.Mailboxes, MailboxState(mb))
			if !mb.Connected {
				down = append(down, mb.Project+"/"+mb.Mailbox)
			}
		}
		c := Check{Name: "mailboxes", OK: true, Detail: fmt.Sprintf("%d connected of %d", len(r.Mailboxes)-len(down), len(r.Mailboxes))}
		if len(down) > 0 {
			c.Detail += "; not connected: " + strings.Join(down, ", ")
			if set.RequireMailboxes {
				c.OK = false
			}
		}
		if c.OK {
			r.Checks = append(r.Checks, c)
		} else {
			fail(c)
		}
	}
	return r
}

func (m *Metrics) mailboxes() []Mailbox {
	if m.opts.Mailboxes == nil {
		return nil
	}
	return m.opts.Mailboxes()
}

// Alive is the liveness check: the daemon's own (Options.Alive), or a
// store read.
func (m *Metrics) Alive() error {
	if m.opts.Alive != nil {
		return m.opts.Alive()
	}
	_, err := m.opts.Outbox()
	return err
}

// Handler serves /metrics, /healthz, /readyz and, when pprof is set,
// /debug/pprof/*.
func (m *Metrics) Handler(withPprof bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := m.Alive(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not alive: %v\n", err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		rep := m.Ready()
		code := http.StatusOK
		if !rep.Ready {
			code = http.StatusServiceUnavailable
		}
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Query().Get("format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			enc.Encode(rep)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		writeText(w, rep)
	})
	if withPprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

func writeText(w http.ResponseWriter, rep Report) {
	if rep.Ready {
		fmt.Fprintln(w, "ready")
	} else {
		fmt.Fprintln(w, "not ready")
	}
	for _, c := range rep.Checks {
		v := "ok"
		if !c.OK {
			v = "FAIL"
		}
		fmt.Fprintf(w, "%-10s %-4s %s\n", c.Name, v, c.Detail)
	}
	for _, mb := range rep.Mailboxes {
		state := "disconnected"
		switch {
		case mb.Connected && mb.Idling:
			state = "idling"
		case mb.Connected:
			state = "connected"
		}
		fmt.Fprintf(w, "mailbox %s/%s: %s", mb.Project, mb.Mailbox, state)
		if !mb.LastSync.IsZero() {
			fmt.Fprintf(w, ", last sync %s", mb.LastSync.UTC().Format(time.RFC3339))
		}
		if !mb.LastPoll.IsZero() {
			fmt.Fprintf(w, ", last poll %s", mb.LastPoll.UTC().Format(time.RFC3339))
		}
		if mb.LastError != "" {
			fmt.Fprintf(w, ", last error %q at %s", mb.LastError, mb.LastErrorAt.UTC().Format(time.RFC3339))
		}
		fmt.Fprintf(w, ", %d errors, %d ingested\n", mb.Errors, mb.Ingested)
	}
}
