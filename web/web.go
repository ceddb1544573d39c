// Package web serves what customers open from their mail: the ticket page
// behind each per-recipient link (<base_url>/t/<token>), plus a health
// endpoint. Pages are server-rendered HTML without JavaScript, sent with a
// strict Content-Security-Policy, and never show internal notes or
// automatic mail recorded on a ticket.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/microcosm-cc/bluemonday"

	"github.com/ticketgate/ticketgate/store"
)

//go:embed templates/*.html
var templateFS embed.FS

// Options configures the handler.
type Options struct {
	// BaseURL is the public address links are built from. When it has a
	// path ("https://example.com/support"), requests are served both with
	// and without that prefix, so it works whether or not the reverse
	// proxy strips it.
	BaseURL string
	// Now is the clock that decides whether a link has expired; nil means
	// time.Now.
	Now func() time.Time
	// StatusName returns the customer-visible name of a project's status;
	// nil (or an empty result) means the page's language names it, falling
	// back to the status title-cased with "_" as a space.
	StatusName func(project, status string) string
	// VisibleStatus maps a status customers must not see (assigned,
	// in_progress …) to the one they are shown; nil shows every status.
	VisibleStatus func(project, status string) string
	// ProjectName returns a project's display name, which signs the
	// project's own messages; nil (or an empty result) shows the key.
	ProjectName func(key string) string
	// Secret signs the CSRF tokens of the page's forms (generated per
	// installation into data_dir). Without it the forms are not shown.
	Secret []byte
	// Reply posts a public comment as the link's recipient through the
	// same path as mail; nil hides the reply box.
	Reply func(ctx context.Context, tok *store.Token, text string) error
	// Close closes the request as the link's recipient; nil hides the
	// button.
	Close func(ctx context.Context, tok *store.Token) error
	// CanClose reports whether closing a request in status would change
	// it (the domain decides, by status category); nil never offers the
	// button.
	CanClose func(project, status string) bool
	// Mute stops mail about the ticket to the link's recipient; nil
	// answers the mute link with 404. The page only checks the link: the
	// domain (ticket.Engine) writes the change.
	Mute func(ctx context.Context, tok *store.Token) error
	// DescribeEvent puts a history event into words from its typed
	// fields (ticket.Describe); nil shows no history in the agent view.
	DescribeEvent func(e *store.Event) string
	// IsStaff reports whether addr is an agent or admin of project in the
	// configuration in force: an agent link stops working when its agent
	// leaves the project (at the reload that removes them). Nil refuses
	// every agent link.
	IsStaff func(project, addr string) bool
	// KeyPattern is a project's support_keys.pattern (issue 17; nil:
	// none): attachment downloads stream through package redact with it.
	KeyPattern func(project string) *regexp.Regexp
	// Desk, when set, serves the agents' desk under /desk/ (package
	// desk); an agent link opened by an agent signed in there leads to
	// the desk's page of the ticket.
	Desk Desk
	// Pages are the POSTs of the offer and rating pages (issue 18); the
	// pages show no form without them.
	Pages PageActions
}

// Desk is the agents' desk as the web listener needs it.
type Desk interface {
	http.Handler
	// SignedIn reports whether r carries a desk session of an agent of
	// project.
	SignedIn(r *http.Request, project string) bool
	// TicketPath is the desk's page of ticket key.
	TicketPath(key string) string
}

// ErrLinkRefused, wrapped in an error of Options.Close or Mute, says the
// domain found the link no longer good for the change (revoked or expired
// since the page checked it): the visitor gets the dead-link page.
var ErrLinkRefused = errors.New("web: link refused by the domain")

// strictCSP is every response's Content-Security-Policy; a page that
// shows a mail's embedded pictures adds only 'self' to img-src
// (pageImagesCSP).
const strictCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// setSecurityHeaders is applied to every response. The policy allows no
// script at all, inline styles only (the page's own <style> element), and
// images only from data: URLs, so even HTML that slipped past the sanitiser
// could neither run nor phone home. The pages hold a ticket's conversation:
// no cache keeps them and no referrer carries their token elsewhere.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", strictCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// server is the handler. Every route that acts on a ticket through a link
// resolves it with resolveLink, inside whatever transaction it runs (a later
// reply or close form: an Update), so all of them refuse the same links with
// the same 404. Such a form registers its own "POST /t/{token}/…" pattern;
// the /t/ fallback keeps answering 405 to everything else.
type server struct {
	store  store.DB
	opts   Options
	log    *slog.Logger
	prefix string
	mux    *http.ServeMux
	lang   *catalog
	policy *bluemonday.Policy
	pages  map[string]*template.Template
}

// NewHandler returns the HTTP handler for ticket links and /healthz.
func NewHandler(s store.DB, opts Options, log *slog.Logger) http.Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &server{
		store:  s,
		opts:   opts,
		log:    log,
		mux:    http.NewServeMux(),
		lang:   newCatalog(),
		policy: newPolicy(),
		pages:  map[string]*template.Template{},
	}
	if u, err := url.Parse(opts.BaseURL); err == nil {
		srv.prefix = strings.TrimRight(u.Path, "/")
	}
	for _, name := range []string{"ticket", "problem", "my", "offer", "rating"} {
		// The templates are part of the binary: failing to parse them is
		// a programming error that every test run would catch.
		srv.pages[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	srv.routes()
	return srv
}

func (s *server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	// GET also matches HEAD.
	s.mux.HandleFunc("GET /t/{token}", s.ticketPage)
	s.mux.HandleFunc("POST /t/{token}/mute", s.mute)
	s.mux.HandleFunc("POST /t/{token}/reply", s.reply)
	s.mux.HandleFunc("POST /t/{token}/close", s.closeTicket)
	s.mux.HandleFunc("GET /t/{token}/att/{msg}/{idx}", s.attachment)
	s.mux.HandleFunc("GET /t/{token}/img/{msg}/{idx}", s.image)
	s.mux.HandleFunc("GET /t/{token}/my", s.my)
	s.mux.HandleFunc("GET /t/{token}/my/{key}", s.myTicket)
	s.mux.HandleFunc("GET /a/{token}", s.agentView)
	s.mux.HandleFunc("GET /a/{token}/att/{msg}/{idx}", s.agentAttachment)
	if s.opts.Desk != nil {
		s.mux.Handle("/desk/", s.opts.Desk)
	}
	// issue 18: offer and rating pages; a GET only shows.
	s.mux.HandleFunc("GET /o/{token}", s.offerPage)
	s.mux.HandleFunc("POST /o/{token}/take", s.offerPost(func(p *PageActions) func(context.Context, string) error { return p.TakeOffer }))
	s.mux.HandleFunc("POST /o/{token}/pass", s.offerPost(func(p *PageActions) func(context.Context, string) error { return p.PassOffer }))
	s.mux.HandleFunc("GET /r/{token}", s.ratingPage)
	s.mux.HandleFunc("POST /r/{token}", s.ratePost)
	s.mux.HandleFunc("GET /a/{token}/img/{msg}/{idx}", s.agentImage)
	s.mux.HandleFunc("/t/", s.linkFallback)
	s.mux.HandleFunc("/", s.notFound)
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	if s.prefix != "" {
		if rest, ok := strings.CutPrefix(r.URL.Path, s.prefix); ok && strings.HasPrefix(rest, "/") {
			http.StripPrefix(s.prefix, s.mux).ServeHTTP(w, r)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
}

// linkFallback answers everything under /t/ that is not a ticket page:
// other methods (405, since nothing there accepts them yet) and malformed
// paths (404).
func (s *server) linkFallback(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		tx := s.lang.forRequest(r.Header.Get("Accept-Language"))
		s.problem(w, http.StatusMethodNotAllowed, tx, tx.MethodTitle, tx.MethodBody)
		return
	}
	s.notFound(w, r)
}

// notFound is the one page shown for every link that does not lead to a
// ticket. It speaks the browser's language, never the ticket's, and says
// nothing about why: whether a token once existed is not the visitor's
// business.
func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	tx := s.lang.forRequest(r.Header.Get("Accept-Language"))
	s.problem(w, http.StatusNotFound, tx, tx.NotFoundTitle, tx.NotFoundBody)
}

func (s *server) serverError(w http.ResponseWriter, r *http.Request, temporary bool) {
	tx := s.lang.forRequest(r.Header.Get("Accept-Language"))
	code := http.StatusInternalServerError
	if temporary {
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "60")
	}
	s.problem(w, code, tx, tx.ErrorTitle, tx.ErrorBody)
}

type problemView struct {
	T       *texts
	Title   string
	Heading string
	Body    string
}

func (s *server) problem(w http.ResponseWriter, code int, tx *texts, heading, body string) {
	s.render(w, code, "problem", &problemView{T: tx, Title: heading, Heading: heading, Body: body})
}

// render executes a page into a buffer first, so a template error becomes
// a clean 500 instead of half a page.
func (s *server) render(w http.ResponseWriter, code int, page string, data any) {
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.Error("render page", "page", page, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("internal error\n"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}
