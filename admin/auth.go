package admin

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ticketgate/ticketgate/config"
)

// Caller is who is asking, as the transport proved it: on admin.sock the
// Unix user the kernel reports for the peer (SO_PEERCRED) mapped through
// admin.users; on TCP the agent whose token was presented. What a request
// claims about itself (--as) is never trusted.
type Caller struct {
	// Agent is the address the caller acts as; "" when the caller is
	// nobody we know.
	Agent string
	// Operator may run backup and purge and sees every project
	// (admin.operators).
	Operator bool
	// Via says how the caller was identified, for errors and logs.
	Via string
}

// scope is what a route requires of its caller. A route registered without
// one is refused to everybody: a new call must decide who may use it.
type scope int

const (
	// scopeAnyone: no identity needed (the version).
	scopeAnyone scope = iota + 1
	// scopeAgent: a known caller; the handler checks that every ticket,
	// outbox item, suppression or organization it touches belongs to one
	// of the caller's projects (may/mayTicket).
	scopeAgent
	// scopeOperator: only an operator (backup, purge).
	scopeOperator
)

// handle registers a route with its scope.
func (s *Server) handle(pattern string, sc scope, h http.HandlerFunc) {
	s.scopes[pattern] = sc
	s.mux.HandleFunc(pattern, h)
}

type callerKey struct{}

func callerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

type peerKey struct{}

// peer is the kernel's word on who opened a unix socket connection.
type peer struct {
	uid uint32
	pid int32
}

// ConnContext records the peer credentials of a unix socket connection (set
// it as the http.Server's ConnContext on admin.sock). A connection whose
// credentials cannot be read identifies nobody.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return ctx
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return ctx
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || cerr != nil || cred == nil {
		return ctx
	}
	return context.WithValue(ctx, peerKey{}, peer{uid: cred.Uid, pid: cred.Pid})
}

// identify works out the caller of r. ok is false when r presented a bad
// token (the answer has been written).
func (s *Server) identify(w http.ResponseWriter, r *http.Request) (Caller, bool) {
	cfg := s.cfg()
	if s.tokens != nil {
		tok, hasTok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		agent := ""
		// Compare against every token so the time taken says nothing
		// about which one nearly matched.
		for t, a := range s.tokens() {
			if hasTok && subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
				agent = a
			}
		}
		if agent == "" {
			writeError(w, http.StatusUnauthorized, "a valid agent token is required (Authorization: Bearer …)")
			return Caller{}, false
		}
		return Caller{Agent: agent, Operator: cfg.Admin.IsOperator(agent), Via: "token of " + agent}, true
	}
	p, ok := r.Context().Value(peerKey{}).(peer)
	if !ok {
		return Caller{Via: "a connection without peer credentials"}, true
	}
	uid := strconv.FormatUint(uint64(p.uid), 10)
	name := uid
	if u, err := user.LookupId(uid); err == nil {
		name = u.Username
	}
	via := fmt.Sprintf("Unix user %s (uid %s)", name, uid)
	for u, addr := range cfg.Admin.Users {
		if strings.EqualFold(u, name) || u == uid {
			addr = strings.ToLower(strings.TrimSpace(addr))
			return Caller{Agent: addr, Operator: cfg.Admin.IsOperator(addr), Via: via}, true
		}
	}
	return Caller{Via: via}, true
}

// authorize identifies the caller and checks the route's scope; it writes
// the refusal and returns false when the request may not go on.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) (Caller, bool) {
	c, ok := s.identify(w, r)
	if !ok {
		return c, false
	}
	if as := strings.ToLower(strings.TrimSpace(r.Header.Get(AsHeader))); as != "" && as != c.Agent {
		if c.Agent == "" {
			writeError(w, http.StatusForbidden, fmt.Sprintf("%s is not mapped to an agent (admin.users); --as %s is not accepted", c.Via, as))
		} else {
			writeError(w, http.StatusForbidden, fmt.Sprintf("%s acts as %s; --as %s is not accepted", c.Via, c.Agent, as))
		}
		return c, false
	}
	_, pattern := s.mux.Handler(r)
	sc := s.scopes[pattern]
	if pattern == "" {
		// No route matched: the mux answers 404 or 405 itself.
		sc = scopeAnyone
	}
	switch sc {
	case scopeAnyone:
		return c, true
	case scopeAgent, scopeOperator:
	default:
		writeError(w, http.StatusForbidden, "this call has no authorization rule")
		return c, false
	}
	if c.Agent == "" {
		writeError(w, http.StatusForbidden, fmt.Sprintf("%s is not mapped to an agent (admin.users): only the version is available", c.Via))
		return c, false
	}
	if !c.Operator && !s.cfg().IsStaffAnywhere(c.Agent) {
		writeError(w, http.StatusForbidden, fmt.Sprintf("%s is no project's agent or admin", c.Agent))
		return c, false
	}
	if sc == scopeOperator && !c.Operator {
		writeError(w, http.StatusForbidden, fmt.Sprintf("only an operator (admin.operators) may do this; %s is not one", c.Agent))
		return c, false
	}
	return c, true
}

// may reports whether the caller of ctx may see and change project's
// tickets: an operator everywhere, an agent or admin in their projects.
func (s *Server) may(ctx context.Context, project string) bool {
	return mayProject(s.cfg(), callerFrom(ctx), project)
}

func mayProject(cfg *config.Config, c Caller, project string) bool {
	if c.Operator {
		return true
	}
	if c.Agent == "" || project == "" {
		return false
	}
	p := cfg.Project(project)
	return p != nil && p.IsStaff(c.Agent)
}

// mayTicket is may for the project of a ticket key (ACME-12 → ACME).
func (s *Server) mayTicket(ctx context.Context, key string) bool {
	i := strings.LastIndexByte(key, '-')
	if i <= 0 {
		return callerFrom(ctx).Operator
	}
	return s.may(ctx, key[:i])
}
