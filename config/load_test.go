package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// acme is the smallest valid configuration.
const acme = `
projects:
  - key: ACME
    address: acme@support.example.com
`

// writeConfig writes body as config.yaml in a fresh folder and returns its
// path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, body string) *Config {
	t.Helper()
	cfg, err := Load(writeConfig(t, body))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

// problems loads body and returns the error lines Load reports.
func problems(t *testing.T, body string) []string {
	t.Helper()
	cfg, err := Load(writeConfig(t, body))
	if err == nil {
		t.Fatalf("Load succeeded, want errors")
	}
	if cfg != nil {
		t.Errorf("Load returned a Config together with an error")
	}
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Load error is %T, want *Errors: %v", err, err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(errs.List) {
		t.Errorf("Error() has %d lines for %d problems", len(lines), len(errs.List))
	}
	return lines
}

// repoRoot walks up from the package folder to go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the package folder")
		}
		dir = parent
	}
}

func TestExampleConfigLoads(t *testing.T) {
	root := repoRoot(t)
	cfg, err := Load(filepath.Join(root, "config.example.yaml"))
	if err != nil {
		t.Fatalf("config.example.yaml: %v", err)
	}
	checks := []struct{ name, got, want string }{
		{"data_dir", cfg.DataDir, filepath.Join(root, "data")},
		{"maildir", cfg.Outbound.Maildir.Path, filepath.Join(root, "data", "outbox")},
		{"smtp listen", cfg.Inbound.SMTP.Listen, "127.0.0.1:2525"},
		{"lmtp listen", cfg.Inbound.LMTP.Listen, ""},
		{"transport", cfg.Outbound.Transport, "maildir"},
		{"web listen", cfg.Web.Listen, "127.0.0.1:8080"},
		{"path", cfg.Path, filepath.Join(root, "config.example.yaml")},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	p := cfg.Project("ACME")
	if p == nil {
		t.Fatal("project ACME missing")
	}
	if p.Address != "acme@support.example.com" || !p.IsAgent("alice@example.com") || !p.IsAdmin("carol@example.com") {
		t.Errorf("ACME = %+v", p)
	}
	for _, tg := range p.Notifications.toggles() {
		if !tg.toggle.Enabled {
			t.Errorf("example: %s is off", tg.key)
		}
	}
}

// TestExampleDocumentsEveryKey keeps the example a complete reference: every
// key of the struct must appear in it (set or commented out).
func TestExampleDocumentsEveryKey(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	var keys []string
	for _, l := range leaves(reflect.ValueOf(Default()).Elem(), "") {
		keys = append(keys, l.key)
	}
	keys = append(keys, "projects", "key", "name", "address", "agents", "admins",
		"language", "internal_address", "notifications", "customer", "internal")
	var n Notifications
	for _, tg := range n.toggles() {
		keys = append(keys, tg.key)
	}
	// Every project key, nested ones (statuses, organizations, imap …)
	// included; notifications are listed above.
	keys = append(keys, typeKeys(reflect.TypeFor[Project](), "projects[].")...)
	for _, k := range keys {
		last := k[strings.LastIndexByte(k, '.')+1:]
		if !strings.Contains(text, last+":") {
			t.Errorf("config.example.yaml does not mention %s", k)
		}
	}
}

func TestDefaults(t *testing.T) {
	cfg := mustLoad(t, acme)
	dir := filepath.Dir(cfg.Path)
	if cfg.DataDir != filepath.Join(dir, "data") {
		t.Errorf("data_dir = %q", cfg.DataDir)
	}
	if cfg.Outbound.Maildir.Path != filepath.Join(dir, "data", "outbox") {
		t.Errorf("maildir.path = %q", cfg.Outbound.Maildir.Path)
	}
	if cfg.Log != (Log{Level: "info", Format: "text", AuditDays: 90}) {
		t.Errorf("log = %+v", cfg.Log)
	}
	if cfg.Web != (Web{Listen: "127.0.0.1:8080", BaseURL: "http://127.0.0.1:8080", LinkTTL: 4320 * time.Hour}) {
		t.Errorf("web = %+v", cfg.Web)
	}
	in := cfg.Inbound
	if in.MaxMessageBytes != 26214400 || in.MaxLineLength != 0 || in.MaxRecipients != 100 ||
		in.MaxConnections != 200 || in.MaxConnectionsPerIP != 50 || in.MaxCommandLine != 4096 ||
		in.IdleTimeout != 5*time.Minute || in.MaxConcurrentData != 32 ||
		in.MaxCcParticipants != 10 || !slices.Equal(in.TrustedRelays, []string{"127.0.0.0/8", "::1/128"}) ||
		in.SMTP.Listen != "" || in.LMTP.Listen != "" {
		t.Errorf("inbound = %+v", in)
	}
	out := cfg.Outbound
	if out.Transport != "maildir" || out.SMTP.Port != 25 || out.SMTP.TLS != "none" || out.SMTP.Timeout != time.Minute {
		t.Errorf("outbound = %+v", out)
	}
	if out.Retry != (RetryOptions{Initial: 30 * time.Second, Max: time.Hour, GiveUpAfter: 120 * time.Hour}) {
		t.Errorf("retry = %+v", out.Retry)
	}
	p := cfg.Projects[0]
	if p.Name != "ACME" || p.Language != "en" || p.InternalAddress != "acme+internal@support.example.com" {
		t.Errorf("project defaults: name %q language %q internal %q", p.Name, p.Language, p.InternalAddress)
	}
	for _, tg := range p.Notifications.toggles() {
		if !tg.toggle.Enabled {
			t.Errorf("%s is off by default", tg.key)
		}
	}
}

// An explicit zero must survive: defaults fill only what is missing.
func TestExplicitZeroIsKept(t *testing.T) {
	cfg := mustLoad(t, acme+`
inbound:
  max_cc_participants: 0
  trusted_relays: []
web:
  listen: ""
`)
	if cfg.Inbound.MaxCcParticipants != 0 {
		t.Errorf("max_cc_participants = %d, want 0", cfg.Inbound.MaxCcParticipants)
	}
	if len(cfg.Inbound.TrustedRelays) != 0 {
		t.Errorf("trusted_relays = %q, want empty", cfg.Inbound.TrustedRelays)
	}
	if cfg.Web.Listen != "" {
		t.Errorf("web.listen = %q, want off", cfg.Web.Listen)
	}
}

func TestEnvOverrides(t *testing.T) {
	path := writeConfig(t, acme+`
data_dir: ./from-yaml
web:
  base_url: https://yaml.example.com
inbound:
  smtp:
    listen: 127.0.0.1:2525
`)
	dir := filepath.Dir(path)
	// Keys both in the file and absent from it: viper's AutomaticEnv would
	// miss the latter.
	t.Setenv("TICKETGATE_DATA_DIR", "from-env")
	t.Setenv("TICKETGATE_WEB_BASE_URL", "https://help.example.com/desk/")
	t.Setenv("TICKETGATE_INBOUND_SMTP_LISTEN", "127.0.0.1:2626")
	t.Setenv("TICKETGATE_INBOUND_LMTP_LISTEN", "unix:sock/lmtp")
	t.Setenv("TICKETGATE_OUTBOUND_TRANSPORT", "smtp")
	t.Setenv("TICKETGATE_OUTBOUND_SMTP_HOST", "relay.example.com")
	t.Setenv("TICKETGATE_OUTBOUND_SMTP_PORT", "587")
	t.Setenv("TICKETGATE_OUTBOUND_RETRY_MAX", "2h")
	t.Setenv("TICKETGATE_INBOUND_TRUSTED_RELAYS", "10.0.0.0/8, 192.0.2.7")
	t.Setenv("TICKETGATE_TRUST_FROM", "true")
	t.Setenv("TICKETGATE_PROJECTS", "ignored: projects come from the file only")

	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"data_dir", cfg.DataDir, filepath.Join(dir, "from-env")},
		{"maildir", cfg.Outbound.Maildir.Path, filepath.Join(dir, "from-env", "outbox")},
		{"base_url", cfg.Web.BaseURL, "https://help.example.com/desk"},
		{"smtp listen", cfg.Inbound.SMTP.Listen, "127.0.0.1:2626"},
		{"lmtp listen", cfg.Inbound.LMTP.Listen, "unix:" + filepath.Join(dir, "sock", "lmtp")},
		{"transport", cfg.Outbound.Transport, "smtp"},
		{"smtp host", cfg.Outbound.SMTP.Host, "relay.example.com"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if cfg.Outbound.SMTP.Port != 587 || cfg.Outbound.Retry.Max != 2*time.Hour || !cfg.TrustFrom {
		t.Errorf("port %d, retry.max %v, trust_from %v", cfg.Outbound.SMTP.Port, cfg.Outbound.Retry.Max, cfg.TrustFrom)
	}
	if !slices.Equal(cfg.Inbound.TrustedRelays, []string{"10.0.0.0/8", "192.0.2.7"}) {
		t.Errorf("trusted_relays = %q", cfg.Inbound.TrustedRelays)
	}
	if len(cfg.Projects) != 1 || cfg.Projects[0].Key != "ACME" {
		t.Errorf("projects = %+v", cfg.Projects)
	}
}

func TestEnvOverrideIsValidated(t *testing.T) {
	t.Setenv("TICKETGATE_OUTBOUND_TRANSPORT", "pigeon")
	t.Setenv("TICKETGATE_INBOUND_MAX_RECIPIENTS", "many")
	got := problems(t, acme)
	want := []string{
		"inbound.max_recipients: cannot parse value as 'int': strconv.ParseInt: invalid syntax",
		"outbound.transport: must be maildir or smtp",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRelativePaths(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "etc")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "smtp.pw"), []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	body := acme + `
data_dir: var/data
web:
  listen: unix:run/web.sock
inbound:
  smtp:
    listen: unix:run/smtp.sock
  lmtp:
    listen: unix:/run/ticketgate/lmtp.sock
outbound:
  transport: smtp
  maildir:
    path: ../spool/outbox
  smtp:
    host: relay.example.com
    tls: starttls
    username: ticketgate
    password_file: smtp.pw
`
	if err := os.WriteFile(filepath.Join(sub, "ticketgate.yaml"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	// Loading by a relative name from another folder must still resolve
	// against the file's folder.
	t.Chdir(dir)
	cfg, err := Load(filepath.Join("etc", "ticketgate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"path", cfg.Path, filepath.Join(sub, "ticketgate.yaml")},
		{"data_dir", cfg.DataDir, filepath.Join(sub, "var", "data")},
		{"maildir", cfg.Outbound.Maildir.Path, filepath.Join(dir, "spool", "outbox")},
		{"password_file", cfg.Outbound.SMTP.PasswordFile, filepath.Join(sub, "smtp.pw")},
		{"web listen", cfg.Web.Listen, "unix:" + filepath.Join(sub, "run", "web.sock")},
		{"smtp listen", cfg.Inbound.SMTP.Listen, "unix:" + filepath.Join(sub, "run", "smtp.sock")},
		{"lmtp listen", cfg.Inbound.LMTP.Listen, "unix:/run/ticketgate/lmtp.sock"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	network, addr := ListenNetwork(cfg.Inbound.SMTP.Listen)
	if network != "unix" || addr != filepath.Join(sub, "run", "smtp.sock") {
		t.Errorf("ListenNetwork = %q %q", network, addr)
	}
}

func TestPasswordFileMustBeReadable(t *testing.T) {
	path := writeConfig(t, acme+`
outbound:
  transport: smtp
  smtp:
    host: relay.example.com
    tls: starttls
    username: ticketgate
    password_file: missing.pw
`)
	_, err := Load(path)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Key != "outbound.smtp.password_file" {
		t.Fatalf("err = %v, want a password_file problem", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err does not wrap fs.ErrNotExist: %v", err)
	}
	wantPath := filepath.Join(filepath.Dir(path), "missing.pw")
	if !strings.Contains(err.Error(), wantPath) {
		t.Errorf("err = %q, want it to name %s", err, wantPath)
	}

	// With maildir transport the password file is unused and not checked.
	if _, err := Load(writeConfig(t, acme+`
outbound:
  smtp:
    password_file: missing.pw
`)); err != nil {
		t.Errorf("maildir transport with an unused password_file: %v", err)
	}
}

func TestUnknownKeys(t *testing.T) {
	got := problems(t, `
dat_dir: ./data
path: /etc/x
inbound:
  smtpp:
    listen: 127.0.0.1:25
  smtp:
    listn: 127.0.0.1:25
projects:
  - key: ACME
    address: acme@support.example.com
    Agent: [alice@example.com]
    notifications:
      customer:
        request_createdd: false
      internal:
        assigned: {to: [assignee], too: [agents]}
  - key: BETA
    adress: beta@support.example.com
`)
	want := []string{
		`unknown key "dat_dir"`,
		`unknown key "inbound.smtp.listn"`,
		`unknown key "inbound.smtpp"`,
		`unknown key "path"`,
		`unknown key "projects[0].agent"`,
		`unknown key "projects[0].notifications.customer.request_createdd"`,
		`unknown key "projects[0].notifications.internal.assigned.too"`,
		`unknown key "projects[1].adress"`,
		`projects[1].address: required`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestToggleDecoding(t *testing.T) {
	cfg := mustLoad(t, `
projects:
  - key: ACME
    address: acme@support.example.com
    notifications:
      customer:
        request_created: false
        public_comment_added: true
        customer_visible_status_changed:
          statuses: [Pending, resolved]
          to: [reporter]
      internal:
        status_changed: {statuses: [closed]}
        assigned: {enabled: false, to: [assignee]}
        request_created:
`)
	n := cfg.Projects[0].Notifications
	if n.Customer.RequestCreated.Enabled {
		t.Error("customer.request_created: false decoded as on")
	}
	if !n.Customer.PublicCommentAdded.Enabled {
		t.Error("customer.public_comment_added: true decoded as off")
	}
	rule := n.Customer.CustomerVisibleStatusChanged
	if !rule.Enabled || !slices.Equal(rule.Statuses, []string{"Pending", "resolved"}) || !slices.Equal(rule.To, []string{"reporter"}) {
		t.Errorf("rule = %+v, want enabled with statuses and to", rule)
	}
	if !n.Internal.StatusChanged.Enabled || len(n.Internal.StatusChanged.To) != 0 {
		t.Errorf("internal.status_changed = %+v", n.Internal.StatusChanged)
	}
	if n.Internal.Assigned.Enabled {
		t.Error("rule with enabled: false decoded as on")
	}
	if !n.Internal.RequestCreated.Enabled {
		t.Error("an empty (null) toggle must count as missing, i.e. on")
	}
	if !n.Customer.RequestResolved.Enabled || !n.Internal.DeliveryFailed.Enabled {
		t.Error("missing toggles must be on")
	}

	// What notify sees.
	if !rule.Applies("pending") || !rule.Applies("Resolved") || rule.Applies("open") || rule.Applies("") {
		t.Error("rule.Applies does not follow its statuses")
	}
	if !n.Customer.PublicCommentAdded.Applies("") || !n.Customer.PublicCommentAdded.Applies("open") {
		t.Error("a plain true toggle must apply to any status")
	}
	if n.Customer.RequestCreated.Applies("") || n.Internal.Assigned.Applies("") {
		t.Error("a disabled toggle applied")
	}
	if !rule.Audience(AudienceReporter) || rule.Audience(AudienceParticipants) {
		t.Error("rule.Audience does not follow its to list")
	}
	if !n.Customer.PublicCommentAdded.Audience(AudienceParticipants) {
		t.Error("a toggle without to must leave every audience in")
	}

	// Notifications absent altogether: everything on.
	for _, tg := range mustLoad(t, acme).Projects[0].Notifications.toggles() {
		if !tg.toggle.Enabled {
			t.Errorf("%s off without a notifications section", tg.key)
		}
	}
}

func TestLoadFileProblems(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"))
	var errs *Errors
	if !errors.As(err, &errs) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v (%T), want *Errors wrapping fs.ErrNotExist", err, err)
	}

	_, err = Load(writeConfig(t, "projects: [\n  key: ACME\n"))
	if !errors.As(err, &errs) || !strings.Contains(err.Error(), "yaml") {
		t.Errorf("broken YAML: err = %v, want a YAML parse problem", err)
	}

	// A file with a .conf name is still read as YAML.
	path := filepath.Join(t.TempDir(), "ticketgate.conf")
	if err := os.WriteFile(path, []byte(acme), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err := Load(path); err != nil || cfg.Project("ACME") == nil {
		t.Errorf("ticketgate.conf: %v", err)
	}
}

// typeKeys lists the YAML keys of struct type t, descending into nested
// structs, pointers to them and lists of them (not into notifications,
// whose toggles are listed by name).
func typeKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name := tagName(f)
		if name == "" || name == "notifications" {
			continue
		}
		out = append(out, prefix+name)
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]() {
			out = append(out, typeKeys(ft, prefix+name+".")...)
		}
	}
	return out
}

// TestYAMLErrorLine: a YAML syntax error is reported at the line that is
// wrong, not at the start of the block around it.
func TestYAMLErrorLine(t *testing.T) {
	cases := []struct {
		name, yaml string
		line       int
	}{
		{"mis-indented key in a project", "data_dir: ./data\nweb:\n  listen: 127.0.0.1:8080\n\nprojects:\n  - key: ACME\n    address: acme@support.example.com\n   agents: [a@b.example]\n", 8},
		{"unterminated quote", "data_dir: ./data\nweb:\n  listen: \"127.0.0.1:8080\n  base_url: http://x\n", 3},
		{"tab indentation", "data_dir: ./data\nweb:\n\tlisten: x\n", 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			os.WriteFile(path, []byte(c.yaml), 0o600)
			_, err := Load(path)
			if want := fmt.Sprintf("%s:%d: not valid YAML", path, c.line); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v, want %q", err, want)
			}
		})
	}
}

// TestStoreDriver: driver postgres needs a DSN file that exists and parses;
// an unknown driver and a silly pool size are refused.
func TestStoreDriver(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "pg.dsn")
	if err := os.WriteFile(good, []byte("host=/run/postgresql dbname=ticketgate user=tg password=s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.dsn")
	if err := os.WriteFile(bad, []byte("postgres://tg:s3cret@[::1/ticketgate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := acme
	cfg := mustLoad(t, base+"store:\n  driver: postgres\n  postgres:\n    dsn_file: "+good+"\n    max_conns: 5\n")
	if cfg.Store.Driver != StoreDriverPostgres || cfg.Store.Postgres.DSNFile != good || cfg.Store.Postgres.MaxConns != 5 {
		t.Errorf("store section: %+v", cfg.Store)
	}
	if cfg := mustLoad(t, base); cfg.Store.Driver != StoreDriverBolt || cfg.Store.Postgres.MaxConns != 20 {
		t.Errorf("store defaults: %+v", cfg.Store)
	}
	for body, want := range map[string]string{
		"store:\n  driver: mysql\n":    "store.driver",
		"store:\n  driver: postgres\n": "store.postgres.dsn_file: required",
		"store:\n  driver: postgres\n  postgres:\n    dsn_file: " + filepath.Join(dir, "none") + "\n": "store.postgres.dsn_file",
		"store:\n  driver: postgres\n  postgres:\n    dsn_file: " + bad + "\n":                        "does not parse",
		"store:\n  driver: postgres\n  postgres:\n    dsn_file: " + good + "\n    max_conns: 0\n":     "store.postgres.max_conns",
	} {
		lines := problems(t, base+body)
		if len(lines) != 1 || !strings.Contains(lines[0], want) {
			t.Errorf("%q: %v, want one problem about %s", body, lines, want)
		}
		if strings.Contains(strings.Join(lines, "\n"), "s3cret") {
			t.Errorf("%q: the DSN's password is in the message: %v", body, lines)
		}
	}
}
