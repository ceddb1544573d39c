// Package desk is the agents' desk on the web, under /desk/ of the web
// listener: sign-in by a one-time link mailed to a configured agent,
// sessions kept in the store (so every node sharing it agrees and
// `ticketgate sessions revoke` ends them everywhere), the queue, the whole
// ticket and every action on it. Pages are server-rendered html/template
// without script; every change is a POST carrying the session's CSRF token
// and goes through ticket.Engine, so it writes the same events and queues
// the same mail as the mail command or CLI verb it stands for. Everything
// is limited to the signed-in agent's projects: anything else answers 404,
// exactly like a ticket that does not exist.
package desk

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/microcosm-cc/bluemonday"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

//go:embed templates/*.html
var templateFS embed.FS

// Session and sign-in lifetimes (issue 22).
const (
	SignInTTL      = 15 * time.Minute
	SessionIdle    = 12 * time.Hour
	SessionMaxAge  = 7 * 24 * time.Hour
	touchEvery     = 5 * time.Minute
	sessionCookie  = "tg_desk"
	bindCookie     = "tg_desk_bind"
	signInWindow   = 15 * time.Minute
	perAddressMax  = 5
	perClientMax   = 20
	maxUploadBytes = 25 << 20
)

// SignInMailer queues, within tx, the mail carrying a sign-in link to
// agent from project p (notify.Notifier.QueueSignIn).
type SignInMailer func(tx store.Tx, p *config.Project, agent, lang, link string, expires time.Time) error

// Options wires the desk to the daemon.
type Options struct {
	// BaseURL is web.base_url: links are built from it and cookies are
	// Secure when it is https.
	BaseURL string
	Config  func() *config.Config
	Engine  *ticket.Engine
	// Secret signs the CSRF tokens (the installation's web secret).
	Secret []byte
	// MailSignIn queues the sign-in mail; Queued wakes the sender after
	// a commit that queued mail.
	MailSignIn SignInMailer
	Queued     func()
	Now        func() time.Time
	// DescribeEvent puts a history event into words (ticket.Describe).
	DescribeEvent func(*store.Event) string
	// Search finds the tickets of projects matching every word of q, best
	// first (package search); nil hides the search box.
	Search func(ctx context.Context, q string, projects []string) ([]string, error)
}

// Handler serves /desk/.
type Handler struct {
	store  store.DB
	opts   Options
	log    *slog.Logger
	prefix string
	secure bool
	mux    *http.ServeMux
	pages  map[string]*template.Template
	policy *bluemonday.Policy
	// oidc is the identity provider of web.oidc, found lazily (oidc.go).
	oidc oidcProvider
}

// New returns the desk's handler; mount it at "/desk/" of the web
// listener (with the base URL's path, if any, already stripped).
func New(s store.DB, opts Options, log *slog.Logger) *Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{store: s, opts: opts, log: log, mux: http.NewServeMux(), pages: map[string]*template.Template{}, policy: newPolicy()}
	if u, err := url.Parse(opts.BaseURL); err == nil {
		h.prefix = strings.TrimRight(u.Path, "/")
		h.secure = u.Scheme == "https"
	}
	funcs := template.FuncMap{"join": strings.Join, "desk": h.path, "args": func(v *ticketView, op, label string, opts []optionView) actArgs {
		return actArgs{V: v, Op: op, Label: label, Options: opts}
	}, "heldArgs": heldArgsOf}
	funcs["dashT"] = dashTextsFor // the dashboard's words (issue 22, dashboard.go)
	funcs["extras"] = h.extrasOf  // due times and snooze of a ticket page (due.go)
	for _, name := range []string{"problem", "signin", "sent", "confirm", "queue", "ticket", "dashboard"} {
		h.pages[name] = template.Must(template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/due.html", "templates/"+name+".html"))
	}
	h.routes()
	return h
}

func (h *Handler) routes() {
	h.mux.HandleFunc("GET /desk/signin", h.signInForm)
	h.mux.HandleFunc("POST /desk/signin", h.signInRequest)
	h.mux.HandleFunc("GET /desk/signin/{token}", h.signInConfirmForm)
	h.mux.HandleFunc("POST /desk/signin/{token}", h.signInConfirm)
	h.mux.HandleFunc("GET /desk/oidc", h.oidcStart)
	h.mux.HandleFunc("GET "+config.OIDCCallbackPath, h.oidcCallback)
	h.mux.HandleFunc("POST /desk/signout", h.agent(h.signOut))
	h.mux.HandleFunc("GET /desk/{$}", h.agent(h.queue))
	h.mux.HandleFunc("GET /desk/dashboard", h.agent(h.dashboard))
	h.mux.HandleFunc("POST /desk/bulk", h.agent(h.bulk))
	h.mux.HandleFunc("GET /desk/t/{key}", h.agent(h.ticketPage))
	h.mux.HandleFunc("GET /desk/t/{key}/att/{msg}/{idx}", h.agent(h.attachment))
	h.mux.HandleFunc("GET /desk/t/{key}/raw/{msg}", h.agent(h.raw))
	h.mux.HandleFunc("POST /desk/t/{key}/reply", h.agent(h.reply))
	h.mux.HandleFunc("POST /desk/t/{key}/do", h.agent(h.do))
	h.mux.HandleFunc("/desk/", h.agent(h.notFound))
}

// ServeHTTP sets the desk's security headers and serves the request. The
// policy allows no script at all, styles only inline, images only as
// data: URLs, forms only to ourselves, and frames only the sanitised
// srcdoc frames of mail (which inherit this policy: nothing in them can
// load or run either).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

// path is a desk path under the base URL.
func (h *Handler) path(p string) string { return h.prefix + "/desk/" + strings.TrimPrefix(p, "/") }

// hashOf is the store key of a browser-held secret.
func hashOf(secret string) string {
	s := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(s[:])
}

func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (h *Handler) mac(parts ...string) string {
	m := hmac.New(sha256.New, h.opts.Secret)
	m.Write([]byte("desk\x00" + strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// cookie makes one of the desk's cookies. The session's goes to the whole
// site, so that an agent link (/a/…) can send a signed-in agent to the
// desk; the sign-in binding stays under /desk/.
func (h *Handler) cookie(name, value string, maxAge int) *http.Cookie {
	path := h.prefix + "/desk/"
	if name == sessionCookie {
		path = h.prefix + "/"
	}
	return &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode}
}

// agentCtx is who is signed in, for one request.
type agentCtx struct {
	Agent   string
	Session string // the session's hash
	CSRF    string
	T       *texts
	// Projects are the agent's projects in the config in force.
	Projects []*config.Project
	Admin    map[string]bool
}

func (a *agentCtx) project(key string) *config.Project {
	for _, p := range a.Projects {
		if p.Key == key {
			return p
		}
	}
	return nil
}

// projectsOf lists the projects addr is an agent or admin of.
func projectsOf(cfg *config.Config, addr string) ([]*config.Project, map[string]bool) {
	var out []*config.Project
	admin := map[string]bool{}
	for i := range cfg.Projects {
		p := &cfg.Projects[i]
		if p.IsStaff(addr) {
			out = append(out, p)
			admin[p.Key] = p.IsAdmin(addr)
		}
	}
	return out, admin
}

// Session reads the request's session: the agent and their projects, or
// nil when there is none in force (no cookie, unknown, revoked, idle or
// too old, or the agent is no longer staff of any project). It refreshes
// the session's last use at most every few minutes.
func (h *Handler) Session(r *http.Request) *agentCtx {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	hash := hashOf(c.Value)
	var se *store.Session
	if err := h.store.View(func(tx store.Tx) error {
		var err error
		se, err = tx.Session(hash)
		return err
	}); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			h.log.Error("desk: read session", "err", err)
		}
		return nil
	}
	now := h.opts.Now()
	if !h.keep(se, now) {
		return nil
	}
	projects, admin := projectsOf(h.opts.Config(), se.Agent)
	if now.Sub(se.LastSeen) > touchEvery {
		err := h.store.Update(r.Context(), func(tx store.Tx) error {
			cur, err := tx.Session(hash)
			if err != nil {
				return err
			}
			cur.LastSeen = now
			return tx.PutSession(cur)
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			h.log.Warn("desk: refresh session", "err", err)
		}
	}
	return &agentCtx{Agent: se.Agent, Session: hash, CSRF: h.mac("csrf", hash), T: forRequest(r.Header.Get("Accept-Language")), Projects: projects, Admin: admin}
}

// keep says whether a session is still in force at now in the config in
// force: the daemon prunes the others at each reload.
func (h *Handler) keep(se *store.Session, now time.Time) bool {
	if now.Sub(se.LastSeen) >= SessionIdle || now.Sub(se.Created) >= SessionMaxAge {
		return false
	}
	ps, _ := projectsOf(h.opts.Config(), se.Agent)
	return len(ps) > 0
}

// Prune removes expired sign-in links and every session no longer in
// force (idle, too old, or of an agent removed from the config): the
// daemon calls it at each reload and hourly.
func (h *Handler) Prune(ctx context.Context) (int, error) {
	n := 0
	now := h.opts.Now()
	err := h.store.Update(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.PruneDesk(now, func(se *store.Session) bool { return h.keep(se, now) })
		return err
	})
	return n, err
}

// SignedIn reports whether the request carries a session of an agent of
// project: the /a/ links send such an agent to the desk's page.
func (h *Handler) SignedIn(r *http.Request, project string) bool {
	a := h.Session(r)
	return a != nil && a.project(project) != nil
}

// TicketPath is the desk's page of a ticket.
func (h *Handler) TicketPath(key string) string { return h.path("t/" + url.PathEscape(key)) }

// agent wraps a handler that needs a session: without one, every desk URL
// sends the browser to the sign-in page; a POST must carry the session's
// CSRF token.
func (h *Handler) agent(fn func(http.ResponseWriter, *http.Request, *agentCtx)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a := h.Session(r)
		if a == nil {
			http.Redirect(w, r, h.path("signin"), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
				r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes+1<<20)
				if err := r.ParseMultipartForm(1 << 20); err != nil {
					h.problem(w, http.StatusRequestEntityTooLarge, a.T, a.T.ErrorTitle, err.Error())
					return
				}
			} else {
				r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
				if err := r.ParseForm(); err != nil {
					h.problem(w, http.StatusRequestEntityTooLarge, a.T, a.T.ErrorTitle, err.Error())
					return
				}
			}
			if !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(a.CSRF)) {
				h.log.Warn("desk: POST without a valid CSRF token", "agent", a.Agent, "path", r.URL.Path)
				h.problem(w, http.StatusForbidden, a.T, a.T.ErrorTitle, a.T.FormExpired)
				return
			}
		}
		fn(w, r, a)
	}
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request, a *agentCtx) {
	if err := h.store.Update(r.Context(), func(tx store.Tx) error { return tx.DeleteSession(a.Session) }); err != nil {
		h.serverError(w, r, a.T, err)
		return
	}
	http.SetCookie(w, h.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, h.path("signin"), http.StatusSeeOther)
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, a *agentCtx) {
	h.problem(w, http.StatusNotFound, a.T, a.T.NotFound, a.T.NotFoundBody)
}

type problemView struct {
	T              *texts
	A              *agentCtx
	Title, Heading string
	Body           string
}

func (h *Handler) problem(w http.ResponseWriter, code int, tx *texts, heading, body string) {
	h.render(w, code, "problem", &problemView{T: tx, Title: heading, Heading: heading, Body: body})
}

func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, tx *texts, err error) {
	h.log.Error("desk: request failed", "path", r.URL.Path, "err", err)
	code := http.StatusInternalServerError
	if fault.IsTemporary(err) {
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "60")
	}
	h.problem(w, code, tx, tx.ErrorTitle, tx.ErrorBody)
}

// render executes a page into a buffer first, so a template error is a
// clean 500, not half a page.
func (h *Handler) render(w http.ResponseWriter, code int, page string, data any) {
	var buf bytes.Buffer
	if err := h.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		h.log.Error("desk: render page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// clientOf is the client's address for the per-client rate limit.
func clientOf(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// visible reports whether a is an agent of t's project.
func (a *agentCtx) visible(t *store.Ticket) bool { return t != nil && a.project(t.Project) != nil }

// isAdmin reports whether a is an admin of project.
func (a *agentCtx) isAdmin(project string) bool { return a.Admin[project] }

// actArgs are the values of one change form of the ticket page.
type actArgs struct {
	V         *ticketView
	Op, Label string
	Options   []optionView
}
