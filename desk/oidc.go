package desk

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
)

// Sign-in with the team's OpenID Connect provider (web.oidc, issue 22):
// the authorization code flow with PKCE (S256). The browser that pressed
// the button carries a short-lived signed cookie holding a random seed;
// state, nonce and PKCE verifier are derived from it with the desk's
// secret, so the provider's answer is taken only in that browser and the
// verifier never leaves the server but to the token endpoint. The ID token
// is verified by go-oidc (signature against the provider's keys, issuer,
// audience, expiry) and then its nonce; only a verified email of a
// configured agent or admin gets the same session the mailed link gives.
// Every refusal answers the same page, so nothing tells whether an address
// is an agent's.
const (
	oidcCookie = "tg_desk_oidc"
	// oidcFlowTTL bounds the time from the button to the provider's
	// answer (a sign-in page left open for longer starts anew).
	oidcFlowTTL = 10 * time.Minute
	// oidcRetryAfter is how long a failed discovery is not retried: the
	// sign-in page keeps answering at once while the provider is down.
	oidcRetryAfter = 30 * time.Second
	// oidcTimeout bounds each request to the provider.
	oidcTimeout = 15 * time.Second
)

// oidcProvider is the provider of the config in force, discovered at the
// first sign-in that needs it rather than at start-up: a provider that is
// down must not keep the daemon (or the mail sign-in) from serving.
type oidcProvider struct {
	mu       sync.Mutex
	issuer   string
	provider *oidc.Provider
	failed   time.Time
	err      error
	client   *http.Client
}

// errOIDCDown says the provider could not be reached: a temporary error.
var errOIDCDown = errors.New("desk: OIDC provider unreachable")

// get returns the discovered provider of o's issuer, discovering it when
// it is not known yet (or the issuer changed at a reload). After a failure
// it answers the failure without asking the provider again for
// oidcRetryAfter.
func (op *oidcProvider) get(ctx context.Context, o *config.OIDC, now time.Time, log func(msg string, args ...any)) (*oidc.Provider, *http.Client, error) {
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.issuer != o.Issuer {
		op.issuer, op.provider, op.failed, op.err = o.Issuer, nil, time.Time{}, nil
	}
	if op.client == nil {
		op.client = &http.Client{Timeout: oidcTimeout}
	}
	if op.provider != nil {
		return op.provider, op.client, nil
	}
	if !op.failed.IsZero() && now.Sub(op.failed) < oidcRetryAfter {
		return nil, nil, op.err
	}
	// A browser that gives up waiting must not count as the provider
	// being down for everyone.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), oidcTimeout)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, op.client), o.Issuer)
	if err != nil {
		op.failed = now
		op.err = fault.Temporary(fmt.Errorf("%w: discovery at %s: %w", errOIDCDown, o.Issuer, err))
		log("desk: OIDC provider discovery failed; sign-in with it is offered again after the retry delay, mail sign-in works meanwhile",
			"issuer", o.Issuer, "retry_after", oidcRetryAfter, "err", err)
		return nil, nil, op.err
	}
	if !op.failed.IsZero() {
		log("desk: OIDC provider reachable again", "issuer", o.Issuer)
	}
	op.provider, op.failed, op.err = p, time.Time{}, nil
	return p, op.client, nil
}

// oidcTexts are the OIDC sign-in's strings, per language (kept here, not
// in lang.go, so the feature stays in one file).
type oidcTexts struct {
	Button, Refused, Down string
}

var oidcLang = map[string]*oidcTexts{
	"en": {
		Button:  "Sign in with %s",
		Refused: "This sign-in did not work. Sign in with your agent account, or ask for a sign-in link by mail.",
		Down:    "%s cannot be reached right now. Try again in a minute, or ask for a sign-in link by mail.",
	},
	"de": {
		Button:  "Anmelden mit %s",
		Refused: "Diese Anmeldung hat nicht funktioniert. Melden Sie sich mit Ihrem Agenten-Konto an oder fordern Sie einen Anmeldelink per Mail an.",
		Down:    "%s ist gerade nicht erreichbar. Versuchen Sie es in einer Minute erneut oder fordern Sie einen Anmeldelink per Mail an.",
	},
}

func oidcTextsFor(tx *texts) *oidcTexts {
	if t, ok := oidcLang[tx.Lang]; ok {
		return t
	}
	return oidcLang["en"]
}

// oidcButton is the sign-in page's provider button.
type oidcButton struct {
	Label, Path string
}

// oidcButtonFor is the button when web.oidc is configured, else nil.
func (h *Handler) oidcButtonFor(tx *texts) *oidcButton {
	o := h.opts.Config().Web.OIDC
	if o == nil {
		return nil
	}
	return &oidcButton{Label: fmt.Sprintf(oidcTextsFor(tx).Button, o.DisplayName()), Path: h.path("oidc")}
}

// oidcConfig is the OAuth 2 client of o at provider p.
func oidcConfig(o *config.OIDC, p *oidc.Provider, secret string) *oauth2.Config {
	return &oauth2.Config{ClientID: o.ClientID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: o.RedirectURL,
		Scopes: []string{oidc.ScopeOpenID, "email"}}
}

// The flow's values, derived from the cookie's seed.
func (h *Handler) oidcState(seed string) string    { return h.mac("oidc-state", seed) }
func (h *Handler) oidcNonce(seed string) string    { return h.mac("oidc-nonce", seed) }
func (h *Handler) oidcVerifier(seed string) string { return h.mac("oidc-pkce", seed) }

// oidcStart sends the browser to the provider. It is a plain GET link,
// not a form: the page's CSP allows forms to post only to the desk, and a
// form's redirect to the provider would count as leaving it.
func (h *Handler) oidcStart(w http.ResponseWriter, r *http.Request) {
	tx := forRequest(r.Header.Get("Accept-Language"))
	o := h.opts.Config().Web.OIDC
	if o == nil {
		h.problem(w, http.StatusNotFound, tx, tx.NotFound, tx.NotFoundBody)
		return
	}
	now := h.opts.Now()
	p, _, err := h.oidc.get(r.Context(), o, now, h.log.Warn)
	if err != nil {
		h.oidcDown(w, tx, o)
		return
	}
	seed := newSecret()
	exp := strconv.FormatInt(now.Add(oidcFlowTTL).Unix(), 10)
	http.SetCookie(w, h.cookie(oidcCookie, seed+"."+exp+"."+h.mac("oidc-flow", seed, exp), int(oidcFlowTTL/time.Second)))
	u := oidcConfig(o, p, "").AuthCodeURL(h.oidcState(seed), oauth2.S256ChallengeOption(h.oidcVerifier(seed)), oidc.Nonce(h.oidcNonce(seed)))
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// oidcSeed reads this browser's flow cookie: its seed while it is good.
func (h *Handler) oidcSeed(r *http.Request, now time.Time) (string, bool) {
	c, err := r.Cookie(oidcCookie)
	if err != nil {
		return "", false
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 || !hmac.Equal([]byte(parts[2]), []byte(h.mac("oidc-flow", parts[0], parts[1]))) {
		return "", false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || !now.Before(time.Unix(exp, 0)) {
		return "", false
	}
	return parts[0], true
}

// oidcRefusal is why a provider's answer was not taken, for the log only:
// the browser sees the same page whatever it is.
type oidcRefusal struct {
	reason string
	email  string
}

// oidcCallback takes the provider's answer and opens a session.
func (h *Handler) oidcCallback(w http.ResponseWriter, r *http.Request) {
	tx := forRequest(r.Header.Get("Accept-Language"))
	o := h.opts.Config().Web.OIDC
	if o == nil {
		h.problem(w, http.StatusNotFound, tx, tx.NotFound, tx.NotFoundBody)
		return
	}
	// Whatever the answer, this flow is over: a second answer in this
	// browser finds no cookie.
	http.SetCookie(w, h.cookie(oidcCookie, "", -1))
	agent, refused, err := h.oidcIdentify(r, o)
	switch {
	case errors.Is(err, errOIDCDown):
		h.oidcDown(w, tx, o)
		return
	case err != nil:
		h.serverError(w, r, tx, err)
		return
	case refused != nil:
		h.log.Info("desk: OIDC sign-in refused", "reason", refused.reason, "email", refused.email)
		h.problem(w, http.StatusForbidden, tx, tx.SignIn, oidcTextsFor(tx).Refused)
		return
	}
	now := h.opts.Now().UTC()
	secret := newSecret()
	if err := h.store.Update(r.Context(), func(st store.Tx) error {
		return st.PutSession(&store.Session{Hash: hashOf(secret), Agent: agent, Created: now, LastSeen: now, Via: "oidc"})
	}); err != nil {
		h.serverError(w, r, tx, err)
		return
	}
	h.log.Info("desk: signed in", "agent", agent, "via", "oidc")
	http.SetCookie(w, h.cookie(sessionCookie, secret, int(SessionMaxAge/time.Second)))
	http.Redirect(w, r, h.path(""), http.StatusSeeOther)
}

// oidcIdentify checks the provider's answer against this browser's flow,
// redeems the code with the PKCE verifier and verifies the ID token. It
// returns the agent's address, or why the answer is refused, or an error
// (errOIDCDown when the provider could not be reached).
func (h *Handler) oidcIdentify(r *http.Request, o *config.OIDC) (string, *oidcRefusal, error) {
	now := h.opts.Now()
	seed, ok := h.oidcSeed(r, now)
	if !ok {
		return "", &oidcRefusal{reason: "no flow cookie, or an expired or forged one"}, nil
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return "", &oidcRefusal{reason: "the provider answered " + truncate(e, 64)}, nil
	}
	if !hmac.Equal([]byte(q.Get("state")), []byte(h.oidcState(seed))) {
		return "", &oidcRefusal{reason: "state does not match this browser's flow"}, nil
	}
	code := q.Get("code")
	if code == "" {
		return "", &oidcRefusal{reason: "no code"}, nil
	}
	p, client, err := h.oidc.get(r.Context(), o, now, h.log.Warn)
	if err != nil {
		return "", nil, err
	}
	secret, err := o.ClientSecret()
	if err != nil {
		return "", nil, fmt.Errorf("desk: web.oidc.client_secret_file: %w", err)
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(r.Context(), client), oidcTimeout)
	defer cancel()
	tok, err := oidcConfig(o, p, secret).Exchange(ctx, code, oauth2.VerifierOption(h.oidcVerifier(seed)))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return "", &oidcRefusal{reason: "the token endpoint refused the code: " + truncate(re.ErrorCode, 64)}, nil
		}
		h.log.Warn("desk: OIDC token endpoint unreachable", "issuer", o.Issuer, "err", err)
		return "", nil, fault.Temporary(fmt.Errorf("%w: token exchange: %w", errOIDCDown, err))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", &oidcRefusal{reason: "no ID token in the token response"}, nil
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.ClientID, Now: h.opts.Now}).Verify(ctx, raw)
	if err != nil {
		return "", &oidcRefusal{reason: "ID token not verified: " + err.Error()}, nil
	}
	if !hmac.Equal([]byte(idt.Nonce), []byte(h.oidcNonce(seed))) {
		return "", &oidcRefusal{reason: "ID token nonce does not match this browser's flow"}, nil
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
		AZP           string `json:"azp"`
	}
	if err := idt.Claims(&claims); err != nil {
		return "", &oidcRefusal{reason: "ID token claims: " + err.Error()}, nil
	}
	// A token for several audiences must have been issued to us (OIDC
	// Core 3.1.3.7, items 4 and 5).
	if len(idt.Audience) > 1 && claims.AZP != o.ClientID {
		return "", &oidcRefusal{reason: "ID token issued to another party (azp)"}, nil
	}
	// Some providers send the boolean as a string.
	if v := claims.EmailVerified; v != true && v != "true" {
		return "", &oidcRefusal{reason: "email not verified", email: claims.Email}, nil
	}
	a, err := mail.ParseAddress(claims.Email)
	if err != nil {
		return "", &oidcRefusal{reason: "no usable email in the ID token", email: claims.Email}, nil
	}
	addr := strings.ToLower(a.Address)
	if ps, _ := projectsOf(h.opts.Config(), addr); len(ps) == 0 {
		return "", &oidcRefusal{reason: "not an agent or admin of any project", email: addr}, nil
	}
	return addr, nil, nil
}

// oidcDown is the page while the provider cannot be reached.
func (h *Handler) oidcDown(w http.ResponseWriter, tx *texts, o *config.OIDC) {
	w.Header().Set("Retry-After", strconv.Itoa(int(oidcRetryAfter/time.Second)))
	h.problem(w, http.StatusServiceUnavailable, tx, tx.SignIn, fmt.Sprintf(oidcTextsFor(tx).Down, o.DisplayName()))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
