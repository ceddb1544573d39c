package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// Webhook formats.
const (
	// HookJSON is ticketgate's own versioned JSON body, signed
	// (docs/webhooks.md).
	HookJSON = "json"
	// HookSlack is a Slack incoming webhook body (text and blocks), which
	// Mattermost and Rocket.Chat incoming webhooks take too.
	HookSlack = "slack"
	// HookNtfy is an ntfy publish: the body is the message, the title,
	// tags, priority and click link go in headers.
	HookNtfy = "ntfy"
)

// Bounds of a webhook delivery.
const (
	// DefaultHookTimeout bounds one request, connection included.
	DefaultHookTimeout = 10 * time.Second
	// MaxHookTimeout is the most hooks[].timeout may say.
	MaxHookTimeout = time.Minute
)

// Webhook pushes a project's events to an HTTP endpoint (issue 18).
type Webhook struct {
	// Name identifies the hook in the queue, the history and logs.
	// Default: the URL's host, or for url_file the file's name; names are
	// unique per project. Queued deliveries find their hook by name, so
	// renaming a hook gives up what was queued for it.
	Name string `mapstructure:"name"`
	// URL is the endpoint: https, or http to a loopback host.
	URL string `mapstructure:"url"`
	// URLFile holds the URL instead, for endpoints whose URL is the
	// secret (Slack, ntfy topics): it is read at send time and never
	// logged or shown.
	URLFile string `mapstructure:"url_file"`
	// Format is json (default), slack or ntfy.
	Format string `mapstructure:"format"`
	// SecretFile holds the HMAC key of the json format's signature.
	SecretFile string `mapstructure:"secret_file"`
	// Events names the event kinds pushed (store.EventKind names:
	// request_created, assigned, status_changed, …).
	Events []string `mapstructure:"events"`
	// StatusChanged limits status_changed to entering these statuses
	// (empty = any); with statuses named, a ticket created in one of
	// them is pushed as a status change too.
	StatusChanged HookStatusRule `mapstructure:"status_changed"`
	// To names the audiences a push is for (agents, admins, assignee):
	// their addresses are in the body (slack and ntfy mention them). A
	// hook whose to includes assignee always pushes an assignment to the
	// new assignee, whatever its events say.
	To []string `mapstructure:"to"`
	// Link, when set, is the ticket's link in the push: "{ticket}" is
	// replaced by the ticket's key (e.g. https://desk.example.com/t/{ticket}).
	Link string `mapstructure:"link"`
	// Timeout bounds one request (default 10s, at most 1m).
	Timeout time.Duration `mapstructure:"timeout"`
}

// HookStatusRule is a hook's status_changed rule, in the form of the
// notifications' rules: {statuses: [...]}.
type HookStatusRule struct {
	Statuses []string `mapstructure:"statuses"`
}

// HookName is the hook's name (see Name).
func (w *Webhook) HookName() string {
	if w.Name != "" {
		return w.Name
	}
	if w.URLFile != "" {
		return filepath.Base(w.URLFile)
	}
	if u, err := url.Parse(w.URL); err == nil && u.Host != "" {
		return u.Host
	}
	return w.URL
}

// HookFormat is the hook's format, json when unset.
func (w *Webhook) HookFormat() string {
	if w.Format == "" {
		return HookJSON
	}
	return w.Format
}

// Wants reports whether the hook pushes events of kind k (by its events
// list; assignment and status rules are the planner's).
func (w *Webhook) Wants(k store.EventKind) bool {
	return slices.Contains(w.Events, k.String())
}

// StatusApplies reports whether entering status is pushed as a status
// change.
func (w *Webhook) StatusApplies(status string) bool {
	if len(w.StatusChanged.Statuses) == 0 {
		return true
	}
	for _, s := range w.StatusChanged.Statuses {
		if strings.EqualFold(s, status) {
			return true
		}
	}
	return false
}

// Endpoint returns the URL to send to: url, or what url_file holds
// (read now, so a rotated URL takes effect at once), checked like url.
// Its errors never contain the URL.
func (w *Webhook) Endpoint() (string, error) {
	if w.URLFile == "" {
		return w.URL, nil
	}
	u, err := SecretFromFile(w.URLFile)
	if err != nil {
		return "", err
	}
	u = strings.TrimSpace(u)
	if err := CheckHookURL(u); err != nil {
		return "", fmt.Errorf("url_file %s: %w", w.URLFile, err)
	}
	return u, nil
}

// Secret returns the signing key from secret_file ("" without one).
func (w *Webhook) Secret() (string, error) {
	if w.SecretFile == "" {
		return "", nil
	}
	return SecretFromFile(w.SecretFile)
}

// CheckHookURL accepts https URLs, and http ones to a loopback host.
// Its error never repeats the URL, which may be a secret.
func CheckHookURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("not a URL")
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("the URL has no host")
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
	case u.Scheme == "http":
		return fmt.Errorf("http is only allowed to a loopback host: use https")
	default:
		return fmt.Errorf("the URL's scheme must be https (http only for loopback)")
	}
	if u.Fragment != "" {
		return fmt.Errorf("the URL must not have a fragment")
	}
	return nil
}

// hookAudiences are the audiences a hook's to may name: pushes go to
// staff, never customers.
var hookAudiences = []string{AudienceAgents, AudienceAdmins, AudienceAssignee}

// validateWebhooks checks a project's webhooks without I/O.
func validateWebhooks(pre string, p *Project) []error {
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, fieldErr(key, format, args...)) }
	names := map[string]int{}
	for i := range p.Webhooks {
		w := &p.Webhooks[i]
		key := fmt.Sprintf("%s.webhooks[%d]", pre, i)
		switch {
		case w.URL == "" && w.URLFile == "":
			add(key, "url or url_file is required")
		case w.URL != "" && w.URLFile != "":
			add(key, "use either url or url_file, not both")
		case w.URL != "":
			if err := CheckHookURL(w.URL); err != nil {
				add(key+".url", "%v", err)
			} else if u, _ := url.Parse(w.URL); u.User != nil {
				add(key+".url", "has credentials: put the URL into url_file (a secret is never in the config file)")
			}
		}
		switch w.HookFormat() {
		case HookJSON:
		case HookSlack, HookNtfy:
			if w.SecretFile != "" {
				add(key+".secret_file", "only the json format is signed")
			}
		default:
			add(key+".format", "must be json, slack or ntfy, got %q", w.Format)
		}
		name := w.HookName()
		if j, dup := names[name]; dup {
			add(key+".name", "%q is also the name of webhooks[%d]: give each hook a name", name, j)
		} else {
			names[name] = i
		}
		if strings.ContainsAny(name, "\r\n") {
			add(key+".name", "must be one line")
		}
		if len(w.Events) == 0 && !slices.Contains(w.To, AudienceAssignee) {
			add(key+".events", "required (or to: [assignee] for assignments only)")
		}
		for j, ev := range w.Events {
			k, err := store.ParseEventKind(ev)
			switch {
			case err != nil:
				add(fmt.Sprintf("%s.events[%d]", key, j), "unknown event %q", ev)
			case k == store.EvWebhookQueued || k == store.EvWebhookDelivered || k == store.EvWebhookFailed:
				add(fmt.Sprintf("%s.events[%d]", key, j), "%q is the webhook's own bookkeeping", ev)
			}
		}
		for j, s := range w.StatusChanged.Statuses {
			if _, ok := p.Status(s); !ok {
				add(fmt.Sprintf("%s.status_changed.statuses[%d]", key, j), "%q is not one of the project's statuses", s)
			}
		}
		for j, a := range w.To {
			if !slices.Contains(hookAudiences, a) {
				add(fmt.Sprintf("%s.to[%d]", key, j), "unknown audience %q (want agents, admins or assignee)", a)
			}
		}
		if w.Link != "" {
			if u, err := url.Parse(strings.ReplaceAll(w.Link, "{ticket}", "X-1")); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				add(key+".link", "must be an http(s) URL, got %q", w.Link)
			}
		}
		if w.Timeout < 0 || w.Timeout > MaxHookTimeout {
			add(key+".timeout", "must be between 0 (default %s) and %s", DefaultHookTimeout, MaxHookTimeout)
		}
	}
	return errs
}

// checkWebhookFiles reads the webhooks' url_file and secret_file (I/O,
// which Validate must not do); an error never repeats a URL read.
func (c *Config) checkWebhookFiles() []error {
	var out []error
	for i := range c.Projects {
		for j := range c.Projects[i].Webhooks {
			w := &c.Projects[i].Webhooks[j]
			key := fmt.Sprintf("projects[%d].webhooks[%d]", i, j)
			if w.URLFile != "" {
				if _, err := w.Endpoint(); err != nil {
					out = append(out, &FieldError{Key: key + ".url_file", Msg: err.Error(), Err: err})
				}
			}
			if w.SecretFile != "" {
				if _, err := w.Secret(); err != nil {
					out = append(out, &FieldError{Key: key + ".secret_file", Msg: err.Error(), Err: err})
				}
			}
		}
	}
	return out
}

// resolveWebhookPaths makes the webhooks' files absolute.
func (c *Config) resolveWebhookPaths(abs func(string) string) {
	for i := range c.Projects {
		for j := range c.Projects[i].Webhooks {
			w := &c.Projects[i].Webhooks[j]
			w.URLFile = abs(w.URLFile)
			w.SecretFile = abs(w.SecretFile)
		}
	}
}
