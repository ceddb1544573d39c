package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func hookConfig(hooks string) string {
	return `
web: { base_url: "https://tickets.example.com" }
projects:
  - key: ACME
    address: acme@support.example.com
    agents: [alice@example.com]
    webhooks:
` + hooks
}

// TestWebhookConfig: the example loads (status rule in the
// notifications' form, files made absolute) and the planner's questions
// answer from it.
func TestWebhookConfig(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hook.secret"), []byte("s3cret\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "slack.url"), []byte("https://hooks.slack.com/services/T/B/X\n"), 0o600)
	path := filepath.Join(dir, "config.yaml")
	os.WriteFile(path, []byte(hookConfig(`
      - url: https://hooks.example.com/ticketgate
        format: json
        secret_file: hook.secret
        events: [request_created, assigned, status_changed]
        status_changed: {statuses: [open, closed]}
        to: [admins, agents, assignee]
      - url_file: slack.url
        format: slack
        events: [request_created]
        timeout: 5s
`)), 0o600)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	hooks := cfg.Project("ACME").Webhooks
	if len(hooks) != 2 {
		t.Fatalf("%d hooks", len(hooks))
	}
	j, s := &hooks[0], &hooks[1]
	if j.HookName() != "hooks.example.com" || j.HookFormat() != HookJSON || s.HookName() != "slack.url" || s.URLFile != filepath.Join(dir, "slack.url") {
		t.Errorf("hooks %+v %+v", j, s)
	}
	if !j.StatusApplies("Open") || j.StatusApplies("pending") || !s.StatusApplies("anything") {
		t.Error("status rule")
	}
	if sec, err := j.Secret(); err != nil || sec != "s3cret" {
		t.Errorf("secret %q %v", sec, err)
	}
	if u, err := s.Endpoint(); err != nil || u != "https://hooks.slack.com/services/T/B/X" {
		t.Errorf("endpoint %q %v", u, err)
	}
}

func TestWebhookValidation(t *testing.T) {
	for _, c := range []struct {
		name, hooks string
		want        []string
	}{
		{"plain http off loopback", `
      - url: http://hooks.example.com/x
        events: [assigned]
`, []string{"projects[0].webhooks[0].url: http is only allowed to a loopback host: use https"}},
		{"loopback http is fine, but not these", `
      - url: http://127.0.0.1:8080/x
        events: [assigned, no_such_event, webhook_delivered]
        to: [customers]
        status_changed: {statuses: [limbo]}
      - url: https://user:pw@hooks.example.com/
        format: slack
        secret_file: /x
        events: [assigned]
        link: "ftp://x"
        timeout: 2m
`, []string{
			`projects[0].webhooks[0].events[1]: unknown event "no_such_event"`,
			`projects[0].webhooks[0].events[2]: "webhook_delivered" is the webhook's own bookkeeping`,
			`projects[0].webhooks[0].status_changed.statuses[0]: "limbo" is not one of the project's statuses`,
			`projects[0].webhooks[0].to[0]: unknown audience "customers" (want agents, admins or assignee)`,
			"projects[0].webhooks[1].url: has credentials: put the URL into url_file",
			"projects[0].webhooks[1].secret_file: only the json format is signed",
			`projects[0].webhooks[1].link: must be an http(s) URL, got "ftp://x"`,
			"projects[0].webhooks[1].timeout: must be between 0",
		}},
		{"neither, both, same name, no events, odd format", `
      - format: teams
      - url: https://a.example/1
        url_file: /x
        events: [assigned]
      - url: https://a.example/1
        events: [assigned]
      - url: https://a.example/2
        events: [assigned]
`, []string{
			"projects[0].webhooks[0]: url or url_file is required",
			`projects[0].webhooks[0].format: must be json, slack or ntfy, got "teams"`,
			"projects[0].webhooks[0].events: required (or to: [assignee] for assignments only)",
			"projects[0].webhooks[1]: use either url or url_file, not both",
			`projects[0].webhooks[3].name: "a.example" is also the name of webhooks[2]: give each hook a name`,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := problems(t, hookConfig(c.hooks))
			for _, w := range c.want {
				found := false
				for _, g := range got {
					if strings.HasPrefix(g, w) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing %q in\n%s", w, strings.Join(got, "\n"))
				}
			}
		})
	}
}

// TestWebhookURLFileChecked: the URL a url_file holds is checked when the
// configuration is loaded, and the error does not repeat it.
func TestWebhookURLFileChecked(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "ntfy.url")
	os.WriteFile(f, []byte("http://ntfy.example.com/SECRETTOPIC\n"), 0o600)
	got := problems(t, hookConfig(`
      - url_file: `+f+`
        format: ntfy
        events: [assigned]
      - url: https://x.example
        secret_file: `+filepath.Join(dir, "missing")+`
        events: [assigned]
`))
	text := strings.Join(got, "\n")
	if !strings.Contains(text, "projects[0].webhooks[0].url_file: url_file "+f+": http is only allowed to a loopback host") ||
		!strings.Contains(text, "projects[0].webhooks[1].secret_file: read secret") {
		t.Errorf("problems:\n%s", text)
	}
	if strings.Contains(text, "SECRETTOPIC") {
		t.Errorf("the secret URL is in the error:\n%s", text)
	}
}

// TestWebhookSecretFilesWarned: a url_file or secret_file every user may
// read is warned about, like the other secret files.
func TestWebhookSecretFilesWarned(t *testing.T) {
	dir := t.TempDir()
	open, closed := filepath.Join(dir, "open.secret"), filepath.Join(dir, "closed.url")
	os.WriteFile(open, []byte("k"), 0o644)
	os.WriteFile(closed, []byte("https://ntfy.example/t"), 0o600)
	c := Default()
	c.Projects = []Project{{Key: "ACME", Webhooks: []Webhook{{URLFile: closed, SecretFile: open}}}}
	w := c.SecretFileWarnings()
	if len(w) != 1 || !strings.HasPrefix(w[0], "projects[0].webhooks[0].secret_file: "+open+" is readable by every user") {
		t.Errorf("warnings %q", w)
	}
}
