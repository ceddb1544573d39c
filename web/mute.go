package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
)

// mute answers the List-Unsubscribe one-click POST (RFC 8058) that every
// customer mail carries: the link's recipient gets no more mail about the
// ticket except its resolution. It is a POST because mail scanners follow
// links with GET; the unguessable token in the path is the credential, so
// a mail client can post it without a form of ours.
func (s *server) mute(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	r.ParseForm()
	// Either the RFC 8058 one-click POST a mail client sends, or the
	// page's own form with its CSRF token.
	oneClick := r.PostFormValue("List-Unsubscribe") == "One-Click"
	if !oneClick && !s.csrfOK(r, token) {
		s.notFound(w, r)
		return
	}
	if s.opts.Mute == nil {
		s.notFound(w, r)
		return
	}
	var (
		key string
		tok *store.Token
	)
	err := s.store.View(func(tx store.Tx) error {
		var (
			t   *store.Ticket
			err error
		)
		tok, t, err = resolveLink(tx, token, s.opts.Now())
		if err != nil {
			return err
		}
		key = t.Key
		return nil
	})
	if err == nil {
		err = s.opts.Mute(r.Context(), tok)
	}
	var denied *deniedError
	switch {
	case errors.As(err, &denied), errors.Is(err, ErrLinkRefused):
		s.notFound(w, r)
		return
	case errors.Is(err, context.Canceled):
		return
	case err != nil:
		s.log.Error("mute: store", "err", err)
		s.serverError(w, r, fault.IsTemporary(err))
		return
	}
	s.log.Info("recipient muted ticket", "ticket", key)
	if !oneClick {
		http.Redirect(w, r, s.linkPath(token)+"?done=mute", http.StatusSeeOther)
		return
	}
	tx := s.lang.forRequest(r.Header.Get("Accept-Language"))
	s.problem(w, http.StatusOK, tx, tx.MutedTitle, tx.MutedBody)
}
