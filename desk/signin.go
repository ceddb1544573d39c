package desk

import (
	"errors"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

type signInView struct {
	T     *texts
	A     *agentCtx
	Title string
	CSRF  string
	// Action is where the form posts.
	Action  string
	Message string
	// OIDC is the identity provider's button when web.oidc is set.
	OIDC *oidcButton
}

// bind returns the browser's binding secret, setting a new one when the
// browser has none: a sign-in link works only in the browser that asked
// for it.
func (h *Handler) bind(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(bindCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	v := newSecret()
	http.SetCookie(w, h.cookie(bindCookie, v, 0))
	return v
}

func (h *Handler) signInForm(w http.ResponseWriter, r *http.Request) {
	tx := forRequest(r.Header.Get("Accept-Language"))
	b := h.bind(w, r)
	h.render(w, http.StatusOK, "signin", &signInView{T: tx, Title: tx.SignIn + " – " + tx.Desk, CSRF: h.mac("signin", hashOf(b)), Action: h.path("signin"), OIDC: h.oidcButtonFor(tx)})
}

// signInRequest mails a sign-in link when the address is a configured
// agent or admin. Whatever the address, the answer is the same page and
// takes the same path through the store (the rate counters), so it
// reveals nothing about who is an agent.
func (h *Handler) signInRequest(w http.ResponseWriter, r *http.Request) {
	tx := forRequest(r.Header.Get("Accept-Language"))
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.problem(w, http.StatusRequestEntityTooLarge, tx, tx.ErrorTitle, tx.FormExpired)
		return
	}
	c, err := r.Cookie(bindCookie)
	if err != nil || len(c.Value) < 32 || r.PostFormValue("csrf") != h.mac("signin", hashOf(c.Value)) {
		h.problem(w, http.StatusForbidden, tx, tx.ErrorTitle, tx.FormExpired)
		return
	}
	browser := hashOf(c.Value)
	addr := ""
	if a, err := mail.ParseAddress(strings.TrimSpace(r.PostFormValue("address"))); err == nil {
		addr = strings.ToLower(a.Address)
	}
	now := h.opts.Now()
	cfg := h.opts.Config()
	projects, _ := projectsOf(cfg, addr)
	client := clientOf(r)
	secret := newSecret()
	link := strings.TrimRight(h.opts.BaseURL, "/") + "/desk/signin/" + secret
	var limited, mailed bool
	err = h.store.Update(r.Context(), func(st store.Tx) error {
		limited, mailed = false, false
		nc, err := st.RateCount("desk-signin-client:"+client, signInWindow, now)
		if err != nil {
			return err
		}
		if nc >= perClientMax {
			limited = true
			return nil
		}
		if err := st.RateAdd("desk-signin-client:"+client, signInWindow, now); err != nil {
			return err
		}
		na, err := st.RateCount("desk-signin-addr:"+addr, signInWindow, now)
		if err != nil {
			return err
		}
		if err := st.RateAdd("desk-signin-addr:"+addr, signInWindow, now); err != nil {
			return err
		}
		if addr == "" || len(projects) == 0 || na >= perAddressMax {
			// Over the per-address limit the answer stays the same: a
			// different one would tell that the address is an agent's.
			return nil
		}
		exp := now.Add(SignInTTL)
		if err := st.PutSignIn(&store.SignIn{Hash: hashOf(secret), Agent: addr, Browser: browser, Created: now.UTC(), Expires: exp.UTC()}); err != nil {
			return err
		}
		if err := h.opts.MailSignIn(st, projects[0], addr, tx.Lang, link, exp); err != nil {
			return err
		}
		mailed = true
		return nil
	})
	if err != nil {
		h.serverError(w, r, tx, err)
		return
	}
	if limited {
		h.log.Warn("desk: sign-in requests over the per-client limit", "client", client)
		h.problem(w, http.StatusTooManyRequests, tx, tx.SignIn, tx.TooMany)
		return
	}
	if mailed {
		h.log.Info("desk: sign-in link mailed", "agent", addr)
		if h.opts.Queued != nil {
			h.opts.Queued()
		}
	}
	h.render(w, http.StatusOK, "sent", &signInView{T: tx, Title: tx.SignIn + " – " + tx.Desk, Message: tx.LinkSent})
}

// signInConfirmForm shows a button, not a session: a mail scanner that
// follows the link must not use it up.
func (h *Handler) signInConfirmForm(w http.ResponseWriter, r *http.Request) {
	tx := forRequest(r.Header.Get("Accept-Language"))
	tok := r.PathValue("token")
	h.render(w, http.StatusOK, "confirm", &signInView{T: tx, Title: tx.SignIn + " – " + tx.Desk, CSRF: h.mac("confirm", hashOf(tok)), Action: h.path("signin/" + tok)})
}

var errLinkBad = errors.New("desk: sign-in link used, expired or from another browser")

// signInConfirm takes the link (once), checks that this browser asked for
// it and that it has not expired, and opens a session.
func (h *Handler) signInConfirm(w http.ResponseWriter, r *http.Request) {
	tx := forRequest(r.Header.Get("Accept-Language"))
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	tok := r.PathValue("token")
	if err := r.ParseForm(); err != nil || r.PostFormValue("csrf") != h.mac("confirm", hashOf(tok)) {
		h.problem(w, http.StatusForbidden, tx, tx.ErrorTitle, tx.FormExpired)
		return
	}
	browser := ""
	if c, err := r.Cookie(bindCookie); err == nil {
		browser = hashOf(c.Value)
	}
	now := h.opts.Now().UTC()
	secret := newSecret()
	var agent string
	expired := false
	err := h.store.Update(r.Context(), func(st store.Tx) error {
		agent, expired = "", false
		si, err := st.TakeSignIn(hashOf(tok))
		if errors.Is(err, store.ErrNotFound) {
			return errLinkBad
		}
		if err != nil {
			return err
		}
		if browser == "" || si.Browser != browser {
			// Rolled back: the link stays good for the browser that asked.
			return errLinkBad
		}
		if !now.Before(si.Expires) {
			expired = true // commit: the taken link is gone
			return nil
		}
		ps, _ := projectsOf(h.opts.Config(), si.Agent)
		if len(ps) == 0 {
			return nil
		}
		agent = si.Agent
		return st.PutSession(&store.Session{Hash: hashOf(secret), Agent: si.Agent, Created: now, LastSeen: now, Via: "mail"})
	})
	if errors.Is(err, errLinkBad) || expired || (err == nil && agent == "") {
		h.log.Info("desk: sign-in link refused", "expired", expired)
		h.problem(w, http.StatusNotFound, tx, tx.SignIn, tx.LinkBad)
		return
	}
	if err != nil {
		h.serverError(w, r, tx, err)
		return
	}
	h.log.Info("desk: signed in", "agent", agent, "via", "mail")
	http.SetCookie(w, h.cookie(sessionCookie, secret, int(SessionMaxAge/time.Second)))
	http.SetCookie(w, h.cookie(bindCookie, "", -1))
	http.Redirect(w, r, h.path(""), http.StatusSeeOther)
}
