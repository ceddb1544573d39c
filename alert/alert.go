// Package alert watches what the gateway depends on — each IMAP mailbox,
// the outbox, the relay — and tells people when one of them stays broken
// (issue 21): when a cause has been failing for longer than alerts.after,
// one alert mail goes to its recipients; when it works again, one
// "recovered" mail. A cause is announced at most once per MinGap, and a
// recovery only follows an alert that was sent.
//
// The Monitor decides and composes; it sends through Options.Send, which
// the daemon points straight at the relay (or the maildir), never at the
// outbox: a stuck outbox must not hold its own alert.
package alert

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Cause is one thing that can break.
type Cause struct {
	// Key names it for people and for the rate limit: "mailbox
	// ACME/INBOX", "outbox", "relay".
	Key string
	// Project is the project concerned; "" for the whole daemon.
	Project string
}

// Observation is a cause's state at one look.
type Observation struct {
	Cause
	Failing bool
	// Detail says what fails, in words for people (the last error).
	Detail string
}

// Mail is one alert or recovery notice.
type Mail struct {
	Cause     Cause
	Recovered bool
	To        []string
	Subject   string
	Body      string
}

// Active is a cause failing now; Alerted says whether its alert was sent.
type Active struct {
	Cause
	Since   time.Time
	Detail  string
	Alerted bool
}

// Options connect a Monitor.
type Options struct {
	// After is how long a cause must fail before it is announced.
	After func() time.Duration
	// Recipients are the addresses for a project ("" = the daemon).
	Recipients func(project string) []string
	// Send delivers one mail (directly, not through the outbox).
	Send func(ctx context.Context, m Mail) error
	Now  func() time.Time
	Log  *slog.Logger
	// MinGap is the least time between two alerts of one cause (default
	// one hour).
	MinGap time.Duration
	// OnSent, when set, is told of every mail sent (for metrics).
	OnSent func(m Mail)
	// Render, when set, writes a notice's subject and body (the daemon
	// renders the templates internal/alert and internal/alert_recovered
	// in the project's language); on an error, or when nil, the built-in
	// English text is sent.
	Render func(n Notice) (subject, body string, err error)
}

// Notice is what an alert or recovery mail says, for its template.
type Notice struct {
	Cause
	// Kind is the cause's kind: mailbox, oauth2_refresh, outbox or relay.
	Kind      string
	Recovered bool
	// Since is when the cause started failing, Now the time of the mail,
	// both RFC 3339 in UTC; For the time in between, rounded to seconds.
	Since, Now, For string
	// Detail is the last error, in the failing component's words.
	Detail string
}

// Kind names the kind of cause c is (its key without the name).
func (c Cause) Kind() string {
	switch {
	case strings.HasPrefix(c.Key, KeyMailbox):
		return strings.TrimSpace(KeyMailbox)
	case strings.HasPrefix(c.Key, KeyOAuth2):
		return strings.TrimSpace(KeyOAuth2)
	}
	return c.Key
}

// Subject is the subject of a notice in lang (en, de; others get en).
func Subject(lang string, n Notice) string {
	switch {
	case lang == "de" && n.Recovered:
		return "[ticketgate] wieder in Ordnung: " + n.Key
	case lang == "de":
		return "[ticketgate] ALARM: " + n.Key + " gestört"
	case n.Recovered:
		return "[ticketgate] recovered: " + n.Key
	}
	return "[ticketgate] ALERT: " + n.Key + " is failing"
}

type state struct {
	since     time.Time
	detail    string
	alerted   bool
	lastAlert time.Time
	cause     Cause
}

// Monitor tracks the causes. Observe is called by one goroutine; Active
// may be called from others.
type Monitor struct {
	opts   Options
	mu     sync.Mutex
	states map[string]*state
	// last holds the last alert time of causes that recovered, for the
	// rate limit.
	last   map[string]time.Time
	rounds int
}

// New returns a monitor.
func New(opts Options) *Monitor {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.MinGap <= 0 {
		opts.MinGap = time.Hour
	}
	return &Monitor{opts: opts, states: map[string]*state{}, last: map[string]time.Time{}}
}

// Observe takes the state of every cause now (a cause missing from obs
// works: a mailbox removed from the configuration) and sends what is due.
func (m *Monitor) Observe(ctx context.Context, obs []Observation) {
	now := m.opts.Now()
	after := m.opts.After()
	var toSend []Mail
	var sentAlert []string
	m.mu.Lock()
	failing := map[string]bool{}
	for _, o := range obs {
		if !o.Failing {
			continue
		}
		failing[o.Key] = true
		st := m.states[o.Key]
		if st == nil {
			st = &state{since: now, cause: o.Cause, lastAlert: m.last[o.Key]}
			m.states[o.Key] = st
		}
		st.detail = o.Detail
		if st.alerted || now.Sub(st.since) < after {
			continue
		}
		if !st.lastAlert.IsZero() && now.Sub(st.lastAlert) < m.opts.MinGap {
			continue // rate-limited: announced less than MinGap ago
		}
		toSend = append(toSend, m.compose(o.Cause, false, st.since, o.Detail, now))
		sentAlert = append(sentAlert, o.Key)
	}
	for key, st := range m.states {
		if failing[key] {
			continue
		}
		delete(m.states, key)
		if st.alerted {
			toSend = append(toSend, m.compose(st.cause, true, st.since, st.detail, now))
		}
	}
	m.rounds++
	m.mu.Unlock()

	for _, mail := range toSend {
		err := m.opts.Send(ctx, mail)
		lvl := slog.LevelError
		if mail.Recovered {
			lvl = slog.LevelWarn
		}
		m.opts.Log.Log(ctx, lvl, mail.Subject, "cause", mail.Cause.Key, "project", mail.Cause.Project, "to", strings.Join(mail.To, ","), "sent", err == nil, "err", err)
		if err != nil {
			continue // tried again at the next look
		}
		if m.opts.OnSent != nil {
			m.opts.OnSent(mail)
		}
		if mail.Recovered {
			continue // last keeps the alert's time for the rate limit
		}
		m.mu.Lock()
		if st := m.states[mail.Cause.Key]; st != nil && slices.Contains(sentAlert, mail.Cause.Key) {
			st.alerted, st.lastAlert = true, now
			m.last[mail.Cause.Key] = now
		}
		m.mu.Unlock()
	}
}

func (m *Monitor) compose(c Cause, recovered bool, since time.Time, detail string, now time.Time) Mail {
	mail := Mail{Cause: c, Recovered: recovered, To: m.opts.Recipients(c.Project)}
	if m.opts.Render != nil {
		n := Notice{Cause: c, Kind: c.Kind(), Recovered: recovered, Since: since.UTC().Format(time.RFC3339), Now: now.UTC().Format(time.RFC3339),
			For: now.Sub(since).Round(time.Second).String(), Detail: detail}
		subject, body, err := m.opts.Render(n)
		if err == nil {
			mail.Subject, mail.Body = subject, body
			return mail
		}
		m.opts.Log.Error("alert template failed; sending the built-in text", "cause", c.Key, "err", err)
	}
	var b strings.Builder
	if recovered {
		mail.Subject = fmt.Sprintf("[ticketgate] recovered: %s", c.Key)
		fmt.Fprintf(&b, "%s works again (it failed from %s to %s, %s).\n", c.Key,
			since.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), now.Sub(since).Round(time.Second))
		fmt.Fprintf(&b, "\nThe last error was: %s\n", detail)
	} else {
		mail.Subject = fmt.Sprintf("[ticketgate] ALERT: %s is failing", c.Key)
		fmt.Fprintf(&b, "%s has been failing since %s (%s).\n\n", c.Key, since.UTC().Format(time.RFC3339), now.Sub(since).Round(time.Second))
		fmt.Fprintf(&b, "Last error: %s\n\n", detail)
		b.WriteString(advice(c))
		b.WriteString("\nYou will get one more mail when it works again.\n")
	}
	if c.Project != "" {
		fmt.Fprintf(&b, "\nProject: %s\n", c.Project)
	}
	mail.Body = b.String()
	return mail
}

// advice says what usually fixes a cause.
func advice(c Cause) string {
	switch {
	case strings.HasPrefix(c.Key, KeyMailbox):
		return "No mail is read from this mailbox until it works. Check the IMAP password or OAuth2 grant (password_file, oauth2 token), and that the server is reachable.\n"
	case strings.HasPrefix(c.Key, KeyOAuth2):
		return "The OAuth2 token endpoint refuses to refresh the mailbox's access token, so no mail is read from it. The grant may have been revoked or have expired (a password change, an admin's consent withdrawn): sign in again and write a new refresh token to refresh_token_file, or check client_id, client_secret_file and token_url.\n"
	case c.Key == KeyOutbox:
		return "Mail to customers and agents is not leaving. See `ticketgate outbox` and /readyz.\n"
	case c.Key == KeyRelay:
		return "The relay refuses or cannot take mail. Check outbound.smtp (credentials, OAuth2 token, the relay's logs).\n"
	}
	return ""
}

// Cause keys.
const (
	KeyMailbox = "mailbox "
	// KeyOAuth2 is a mailbox whose OAuth2 access token cannot be
	// refreshed: its own cause, since the fix is a new grant, not a
	// password or the server.
	KeyOAuth2 = "oauth2_refresh "
	KeyOutbox = "outbox"
	KeyRelay  = "relay"
)

// MailboxCause is the cause of one project's mailbox.
func MailboxCause(project, mailbox string) Cause {
	return Cause{Key: KeyMailbox + project + "/" + mailbox, Project: project}
}

// OAuth2Cause is the OAuth2 token refresh of one project's mailbox.
func OAuth2Cause(project, mailbox string) Cause {
	return Cause{Key: KeyOAuth2 + project + "/" + mailbox, Project: project}
}

// Active lists the causes failing now, oldest first.
func (m *Monitor) Active() []Active {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Active, 0, len(m.states))
	for _, st := range m.states {
		out = append(out, Active{Cause: st.cause, Since: st.since, Detail: st.detail, Alerted: st.alerted})
	}
	slices.SortFunc(out, func(a, b Active) int { return a.Since.Compare(b.Since) })
	return out
}

// Rounds counts the looks taken (Observe calls): tests wait for a number
// of them instead of sleeping.
func (m *Monitor) Rounds() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rounds
}
