package admin

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/ticketgate/ticketgate/internal/download"
	"github.com/ticketgate/ticketgate/redact"
	"github.com/ticketgate/ticketgate/store"
)

// attachmentRoutes registers the attachment download: like showTicket,
// for the caller's projects only.
func (s *Server) attachmentRoutes() {
	s.handle("GET /api/tickets/{key}/attachments/{n}", scopeAgent, s.attachment)
}

// TicketAttachment is attachment n (from 1) of a ticket: its attachments
// counted over the messages in order, internal notes' included. `ticketgate
// show` prints the same numbers.
func TicketAttachment(msgs []*store.Message, n int) (store.Attachment, bool) {
	if n < 1 {
		return store.Attachment{}, false
	}
	for _, m := range msgs {
		if n <= len(m.Attach) {
			return m.Attach[n-1], true
		}
		n -= len(m.Attach)
	}
	return store.Attachment{}, false
}

// attachment streams one attachment as a download (never rendered: the
// bytes are the sender's). A file deleted by retention is 410 Gone.
func (s *Server) attachment(w http.ResponseWriter, r *http.Request) {
	key := strings.ToUpper(r.PathValue("key"))
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "attachment number: "+err.Error())
		return
	}
	var a store.Attachment
	var found bool
	project := ""
	err = s.store.View(func(tx store.Tx) error {
		// Another project's ticket is answered like a missing one.
		if !s.mayTicket(r.Context(), key) {
			return fmt.Errorf("ticket %s: %w", key, store.ErrNotFound)
		}
		t, err := tx.Ticket(key)
		if err != nil {
			return err
		}
		if !s.may(r.Context(), t.Project) {
			return fmt.Errorf("ticket %s: %w", key, store.ErrNotFound)
		}
		msgs, err := tx.TicketMessages(t.Key)
		if err != nil {
			return err
		}
		a, found = TicketAttachment(msgs, n)
		project = t.Project
		return nil
	})
	if err != nil {
		s.storeError(w, err)
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s has no attachment %d", key, n))
		return
	}
	if a.Blob == "" {
		writeError(w, http.StatusGone, fmt.Sprintf("attachment %d of %s (%s) was deleted by retention", n, key, a.Filename))
		return
	}
	f, err := s.store.OpenBlob(a.Blob)
	if err != nil {
		s.storeError(w, err)
		return
	}
	defer f.Close()
	var re *regexp.Regexp
	if p := s.cfg().Project(project); p != nil {
		re = p.KeyPattern()
	}
	if re != nil && redact.TextLike(a.ContentType, a.Filename) {
		download.Headers(w.Header(), a.Filename, -1) // support keys are secrets (issue 17): redacted on the way
	} else {
		download.Headers(w.Header(), a.Filename, f.Size())
	}
	w.WriteHeader(http.StatusOK)
	if err := redact.Attachment(w, f, re, a.ContentType, a.Filename); err != nil {
		s.log.Warn("attachment download cut short", "ticket", key, "n", n, "err", err)
	}
}

// Attachment streams attachment n of ticket key into w and returns its
// file name as sent (the caller must not trust it as a path).
func (c *Client) Attachment(ctx context.Context, key string, n int, w io.Writer) (string, error) {
	resp, err := c.do(ctx, http.MethodGet, "/api/tickets/"+url.PathEscape(strings.ToUpper(key))+"/attachments/"+strconv.Itoa(n), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	name := ""
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		name = params["filename"]
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return name, fmt.Errorf("attachment %d of %s: %w", n, key, err)
	}
	return name, nil
}
