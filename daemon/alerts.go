package daemon

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/oauth2"

	"github.com/ticketgate/ticketgate/alert"
	"github.com/ticketgate/ticketgate/mailout"
	"github.com/ticketgate/ticketgate/metrics"
	"github.com/ticketgate/ticketgate/policy"
	"github.com/ticketgate/ticketgate/store"
)

// Intake health alerts (issue 21; package alert decides, this file
// watches and sends).

// relayHealth remembers since when every send attempt has failed at the
// relay. A failure counts when the relay answered with a refusal, could
// not be reached or its OAuth2 token could not be had — not when a mail
// could not be composed. One refused recipient is that recipient's
// problem (a mistyped address): the relay counts as refusing every mail
// once a failure was not about a recipient (connect, TLS, AUTH, MAIL FROM,
// end of DATA) or at least two different recipients were refused, with no
// mail delivered since.
type relayHealth struct {
	mu        sync.Mutex
	failSince time.Time
	lastErr   string
	wide      bool
	rcpts     map[string]bool
}

func (r *relayHealth) attempt(result string, err error, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if result == mailout.Delivered {
		r.failSince, r.lastErr, r.wide, r.rcpts = time.Time{}, "", false, nil
		return
	}
	if err == nil || !relayFault(err) {
		return
	}
	if r.failSince.IsZero() {
		r.failSince = now
	}
	r.lastErr = err.Error()
	var re *mailout.RecipientErrors
	if !errors.As(err, &re) {
		r.wide = true
		return
	}
	if r.rcpts == nil {
		r.rcpts = map[string]bool{}
	}
	for _, f := range re.Refused {
		r.rcpts[strings.ToLower(f.Recipient)] = true
	}
}

// relayFault tells a failure at the relay (a refusal, no connection, no
// token for it) from one of ours.
func relayFault(err error) bool {
	var se *smtp.SMTPError
	var ne net.Error
	var re *oauth2.RetrieveError
	return errors.As(err, &se) || errors.As(err, &ne) || errors.As(err, &re)
}

// state says whether the relay refuses every mail now, since when, and
// its last error.
func (r *relayHealth) state() (failing bool, since time.Time, last string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	failing = !r.failSince.IsZero() && (r.wide || len(r.rcpts) >= 2)
	return failing, r.failSince, r.lastErr
}

// startAlerts builds the monitor and hooks the relay's attempts into it.
func (d *Daemon) startAlerts() {
	d.relay = &relayHealth{}
	m := metrics.NewAlerts(d.ops.metrics)
	prev := d.sender.OnAttempt
	d.sender.OnAttempt = func(it *store.OutboxItem, result string, err error) {
		if prev != nil {
			prev(it, result, err)
		}
		d.relay.attempt(result, err, d.now())
	}
	d.alerts = alert.New(alert.Options{
		After:      func() time.Duration { return d.Config().AlertAfter() },
		Recipients: func(p string) []string { return d.Config().AlertRecipients(p) },
		Send:       d.sendAlert,
		Now:        d.now,
		Log:        d.log.With("component", "alert"),
		OnSent: func(mail alert.Mail) {
			m.Sent(mail.Recovered)
		},
		Render: d.renderAlert,
	})
	d.ops.metrics.SetAlerts(func() []string {
		var out []string
		for _, a := range d.alerts.Active() {
			out = append(out, fmt.Sprintf("%s failing since %s: %s", a.Key, a.Since.UTC().Format(time.RFC3339), a.Detail))
		}
		return out
	})
	m.Active(func() []string {
		var keys []string
		for _, a := range d.alerts.Active() {
			keys = append(keys, a.Key)
		}
		return keys
	})
}

// renderAlert writes an alert or recovery mail from the templates
// internal/alert and internal/alert_recovered, in the language of the
// project concerned (a cause of the whole daemon: the first project's,
// whose address also sends it).
func (d *Daemon) renderAlert(n alert.Notice) (string, string, error) {
	cfg := d.Config()
	lang := ""
	if len(cfg.Projects) > 0 {
		lang = cfg.Projects[0].Language
	}
	if p := cfg.Project(n.Project); p != nil {
		lang = p.Language
	}
	name := "internal/alert"
	if n.Recovered {
		name = "internal/alert_recovered"
	}
	body, err := d.tmpl.Load().RenderText(lang, name, n)
	return alert.Subject(lang, n), body, err
}

// observe looks at every cause once. A cause that another one explains
// is not reported on its own — a mailbox that cannot log in because its
// OAuth2 refresh fails, an outbox that waits because the relay refuses
// every mail — unless it was failing already (its recovery would
// otherwise be announced while it still fails).
func (d *Daemon) observe() []alert.Observation {
	active := map[string]bool{}
	for _, a := range d.alerts.Active() {
		active[a.Key] = true
	}
	var obs []alert.Observation
	for _, mb := range d.Mailboxes() {
		if mb.OAuth2Error != "" {
			obs = append(obs, alert.Observation{Cause: alert.OAuth2Cause(mb.Project, mb.Mailbox), Failing: true, Detail: mb.OAuth2Error})
		}
		// Down after an error: not merely still connecting at start.
		c := alert.MailboxCause(mb.Project, mb.Mailbox)
		failing := !mb.Connected && !mb.LastErrorAt.IsZero() && (mb.OAuth2Error == "" || active[c.Key])
		obs = append(obs, alert.Observation{Cause: c, Failing: failing, Detail: mb.LastError})
	}
	relayFailing, since, last := d.relay.state()
	if stuck := d.Config().Metrics.OutboxStuckAfter; stuck > 0 {
		o := alert.Observation{Cause: alert.Cause{Key: alert.KeyOutbox}}
		it, err := oldestDue(d.store, d.now().Add(-stuck))
		switch {
		case err != nil:
			o.Failing, o.Detail = true, "the store cannot be read: "+err.Error()
		case it != nil && (!relayFailing || active[alert.KeyOutbox]):
			o.Failing = true
			o.Detail = fmt.Sprintf("mail %d to %s has been due since %s (longer than metrics.outbox_stuck_after, %s) and is not sent; attempts %d, last error: %s",
				it.ID, it.Recipient, it.NextAttempt.UTC().Format(time.RFC3339), stuck, it.Attempts, cmp.Or(it.LastError, "none"))
		}
		obs = append(obs, o)
	}
	obs = append(obs, alert.Observation{Cause: alert.Cause{Key: alert.KeyRelay}, Failing: relayFailing,
		Detail: fmt.Sprintf("every send attempt since %s failed; the last: %s", since.UTC().Format(time.RFC3339), last)})
	return obs
}

// oldestDue is the queued mail due longest, if it was due at or before
// before: the sender takes a due item at once, so one still due after
// metrics.outbox_stuck_after is stuck (a relay that hangs, a wedged loop).
// An item waiting for its next attempt after a refusal is not due.
func oldestDue(st store.DB, before time.Time) (*store.OutboxItem, error) {
	var it *store.OutboxItem
	err := st.View(func(tx store.Tx) error {
		due, _, err := tx.DueOutbox(before, 1)
		if err != nil {
			return err
		}
		if len(due) > 0 {
			it = due[0]
		}
		return nil
	})
	return it, err
}

// alertLoop looks at the causes a few times per alerts.after (at least
// every 30 s) until ctx ends.
func (d *Daemon) alertLoop(ctx context.Context) {
	for {
		d.alerts.Observe(ctx, d.observe())
		d.changed()
		every := min(max(d.Config().AlertAfter()/5, 100*time.Millisecond), 30*time.Second)
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// alertRetries are the waits between the attempts to hand an alert to the
// relay: short, since the alert is about now.
var alertRetries = []time.Duration{0, 2 * time.Second, 5 * time.Second}

// alertTimeout bounds each step of an alert's SMTP session.
const alertTimeout = 20 * time.Second

// sendAlert hands an alert straight to the relay — never to the outbox,
// which may be what is stuck — with a short retry of its own; when the
// relay is the cause, or keeps failing, to outbound.maildir.path if one
// is set.
func (d *Daemon) sendAlert(ctx context.Context, m alert.Mail) error {
	cfg := d.Config()
	if len(m.To) == 0 {
		// Nobody to mail (no admins, alerts.to or alerts_to): the error
		// log line and /readyz are all there is; trying again at every
		// look would only repeat the log line.
		d.log.Error("alert not mailed: no admins, alerts.to or alerts_to", "cause", m.Cause.Key)
		return nil
	}
	from := "ticketgate@localhost"
	if len(cfg.Projects) > 0 {
		from = cfg.Projects[0].Address
	}
	if p := cfg.Project(m.Cause.Project); p != nil {
		from = p.Address
	}
	raw := composeAlert(from, m, d.now())
	env := mailout.Envelope{To: m.To, MessageID: "alert"}
	var maildir mailout.Transport
	if path := cfg.Outbound.Maildir.Path; path != "" && cfg.Outbound.Transport == "smtp" {
		if md, err := mailout.NewMaildir(path); err == nil {
			maildir = md
			defer md.Close()
		}
	}
	if m.Cause.Key == alert.KeyRelay && !m.Recovered && maildir != nil {
		// The relay refuses every mail: it would refuse this one too.
		// (Its recovery goes through the relay, which works again.)
		return maildir.Send(ctx, env, bytes.NewReader(raw))
	}
	var err error
	for _, wait := range alertRetries {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		if err = d.alertTransport(ctx, env, raw); err == nil {
			return nil
		}
	}
	if maildir != nil {
		return maildir.Send(ctx, env, bytes.NewReader(raw))
	}
	return err
}

// alertTransport sends over a connection of its own (not the outbox's
// pool), or through the test transport.
func (d *Daemon) alertTransport(ctx context.Context, env mailout.Envelope, raw []byte) error {
	if d.testTransport {
		return d.tport.Send(ctx, env, bytes.NewReader(raw))
	}
	cfg := d.Config()
	var t mailout.Transport
	if cfg.Outbound.Transport == "smtp" {
		opts, err := mailout.SMTPOptionsFromConfig(cfg.Outbound.SMTP)
		if err != nil {
			return err
		}
		// A relay that hangs must not hold the alert about it for the
		// outbox's whole timeout (three tries, then the maildir).
		opts.Timeout = min(cmp.Or(opts.Timeout, alertTimeout), alertTimeout)
		t = mailout.NewSMTP(opts, d.log.With("component", "alert-smtp"))
	} else {
		md, err := mailout.NewMaildir(cfg.Outbound.Maildir.Path)
		if err != nil {
			return err
		}
		t = md
	}
	defer t.Close()
	return t.Send(ctx, env, bytes.NewReader(raw))
}

// composeAlert is the whole alert message: plain text, automatic, marked
// with our loop header so that it never comes back as a ticket.
func composeAlert(from string, m alert.Mail, now time.Time) []byte {
	var id [12]byte
	rand.Read(id[:])
	domain := from[strings.LastIndexByte(from, '@')+1:]
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(m.To, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <alert.%s@%s>\r\n", hex.EncodeToString(id[:]), domain)
	b.WriteString("Auto-Submitted: auto-generated\r\nX-Auto-Response-Suppress: All\r\n")
	fmt.Fprintf(&b, "%s: %s\r\n", policy.LoopHeader, from)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(m.Body, "\n", "\r\n"))
	return b.Bytes()
}
