// Package config holds ticketgate's typed configuration: the structs, their
// defaults, loading from YAML (via viper) with TICKETGATE_* environment
// overrides, validation that reports every problem with its key path, and the
// helpers the daemon uses to answer "which project owns this address?".
package config

import "time"

// Config is the whole daemon configuration. Paths are absolute once Load has
// returned: relative ones are resolved against the config file's folder.
type Config struct {
	// DataDir holds the bbolt file, content-addressed blobs, the sockets
	// (lmtp.sock, admin.sock) and the per-installation secret.
	DataDir  string   `mapstructure:"data_dir"`
	Log      Log      `mapstructure:"log"`
	Web      Web      `mapstructure:"web"`
	Inbound  Inbound  `mapstructure:"inbound"`
	Outbound Outbound `mapstructure:"outbound"`
	// TrustedAuthservIDs lists the authserv-ids whose Authentication-Results
	// headers are believed (on mail from a trusted path only).
	TrustedAuthservIDs []string `mapstructure:"trusted_authserv_ids"`
	// TrustFrom believes the From header without proof. Closed set-ups only.
	TrustFrom bool `mapstructure:"trust_from"`
	// TemplatesDir overrides the embedded mail templates per event and
	// language (<dir>/<lang>/<audience>/<event>.txt and .html).
	TemplatesDir string `mapstructure:"templates_dir"`
	Limits       Limits `mapstructure:"limits"`
	Admin        Admin  `mapstructure:"admin"`
	// TimeZone schedules retention ("Europe/Berlin"; default the system\'s).
	TimeZone string    `mapstructure:"timezone"`
	Projects []Project `mapstructure:"projects"`
	// Metrics is the operations listener (/metrics, /healthz, /readyz).
	Metrics Metrics `mapstructure:"metrics"`
	// Store selects the storage backend (bbolt or postgres).
	Store Store `mapstructure:"store"`
	// Alerts: intake health alerts (config/alerts.go, issue 21).
	Alerts Alerts `mapstructure:"alerts"`
	// Digests: the agents' daily queue by mail (config/digests.go, issue 21).
	Digests Digests `mapstructure:"digests"`

	// Path is the file the config was read from (not a YAML key).
	Path string `mapstructure:"-"`

	// idx answers the lookup helpers; built by Load and Finalize.
	idx *index
}

// Log configures log/slog output.
type Log struct {
	Level  string `mapstructure:"level"`  // debug | info | warn | error
	Format string `mapstructure:"format"` // text | json
	// AuditDays is how long the per-Message-ID audit stream (`ticketgate
	// trace`) keeps its events. Default 90.
	AuditDays int `mapstructure:"audit_days"`
}

// Web configures the HTTP listener that serves ticket links.
type Web struct {
	// Listen is "host:port" or "unix:/path"; empty means off.
	Listen string `mapstructure:"listen"`
	// BaseURL prefixes ticket links; Load strips a trailing slash.
	BaseURL string `mapstructure:"base_url"`
	// LinkTTL is how long a ticket link stays valid after the last mail that
	// carried it.
	LinkTTL time.Duration `mapstructure:"link_ttl"`
	// OIDC, when set, offers sign-in to the desk with an identity
	// provider (issue 22, oidc.go).
	OIDC *OIDC `mapstructure:"oidc"`
}

// Inbound configures the SMTP/LMTP listeners and inbound limits.
type Inbound struct {
	SMTP            Listener `mapstructure:"smtp"`
	LMTP            Listener `mapstructure:"lmtp"`
	MaxMessageBytes int64    `mapstructure:"max_message_bytes"`
	// MaxLineLength, when set, refuses for good (552 5.3.4) a message
	// with a longer line, kept for the agents like every refusal; 0
	// (default): only max_message_bytes limits.
	MaxLineLength int `mapstructure:"max_line_length"`
	MaxRecipients int `mapstructure:"max_recipients"`
	// Resource limits of each SMTP/LMTP listener (see config.example.yaml).
	MaxConnections      int           `mapstructure:"max_connections"`
	MaxConnectionsPerIP int           `mapstructure:"max_connections_per_ip"`
	MaxCommandLine      int           `mapstructure:"max_command_line"`
	IdleTimeout         time.Duration `mapstructure:"idle_timeout"`
	MaxConcurrentData   int           `mapstructure:"max_concurrent_data"`
	// FlowDelay is the longest a new message waits at MAIL while the
	// outbound sender lags more than FlowTarget behind its due mail
	// (like Postfix's in_flow_delay); 0 turns the pacing off.
	FlowDelay  time.Duration `mapstructure:"flow_delay"`
	FlowTarget time.Duration `mapstructure:"flow_target"`
	// MaxTextBytes caps the text (and HTML) of a message kept for the
	// pages, notifications and the store; the raw message is kept whole and
	// the page says the text was cut. It bounds memory per message.
	MaxTextBytes int `mapstructure:"max_text_bytes"`
	// TrustedRelays lists the IPs/CIDRs that may connect to the SMTP/LMTP
	// listeners. Default: loopback.
	TrustedRelays []string `mapstructure:"trusted_relays"`
	// AuthResultsFrom lists the IPs/CIDRs of TCP peers whose
	// Authentication-Results headers (of trusted_authserv_ids) are
	// believed. Default empty: every local user can reach a loopback
	// listener, so loopback alone proves nobody. Mail over the local
	// sockets (lmtp.sock, a unix: listener) and IMAP always counts.
	AuthResultsFrom []string `mapstructure:"auth_results_from"`
	// MaxCcParticipants caps how many Cc'd addresses of one message become
	// request participants.
	MaxCcParticipants int `mapstructure:"max_cc_participants"`
	// MaxParticipants caps the participants of one ticket (besides its
	// reporter), however they joined. Default 20.
	MaxParticipants int `mapstructure:"max_participants"`
}

// Listener is an address to listen on: "host:port" or "unix:/path". Empty
// means the listener is off.
type Listener struct {
	Listen string `mapstructure:"listen"`
}

// Outbound configures how notifications leave the box.
type Outbound struct {
	Transport string `mapstructure:"transport"` // maildir | smtp
	// Workers is how many messages are sent at once (and, for smtp, how
	// many connections to the relay are kept).
	Workers int          `mapstructure:"workers"`
	Maildir MaildirOut   `mapstructure:"maildir"`
	SMTP    SMTPOut      `mapstructure:"smtp"`
	Retry   RetryOptions `mapstructure:"retry"`
}

// MaildirOut writes every outbound message into a maildir.
type MaildirOut struct {
	Path string `mapstructure:"path"`
}

// SMTPOut relays outbound mail through a smarthost.
type SMTPOut struct {
	Host         string `mapstructure:"host"`
	Port         int    `mapstructure:"port"`
	TLS          string `mapstructure:"tls"` // none | starttls | tls
	Username     string `mapstructure:"username"`
	PasswordFile string `mapstructure:"password_file"`
	// OAuth2 logs in with SASL XOAUTH2 instead of a password (Microsoft
	// 365, Google); the same section as an IMAP mailbox's.
	OAuth2 *OAuth2 `mapstructure:"oauth2"`
	// HelloName is the name sent in EHLO; default: the host name.
	HelloName string `mapstructure:"hello_name"`
	// InsecureSkipVerify disables certificate checks (test relays only).
	InsecureSkipVerify bool          `mapstructure:"insecure_skip_verify"`
	Timeout            time.Duration `mapstructure:"timeout"`
}

// RetryOptions shapes the outbox's exponential backoff.
type RetryOptions struct {
	Initial time.Duration `mapstructure:"initial"`
	Max     time.Duration `mapstructure:"max"`
	// GiveUpAfter is the age after which a message that still fails
	// temporarily is given up and the failure recorded on its ticket.
	GiveUpAfter time.Duration `mapstructure:"give_up_after"`
}

// Project is one support address and its ticket key.
type Project struct {
	Key     string   `mapstructure:"key"`
	Name    string   `mapstructure:"name"`
	Address string   `mapstructure:"address"`
	Agents  []string `mapstructure:"agents"`
	Admins  []string `mapstructure:"admins"`
	// Language is the default language of customer mail (en, de, …).
	Language string `mapstructure:"language"`
	// InternalAddress receives internal notes; default <local>+internal@<domain>.
	InternalAddress string `mapstructure:"internal_address"`
	// IntakeLists names mailing lists (their List-Id) that feed the
	// support address: their posts are people's mail, not automatic.
	IntakeLists []string `mapstructure:"intake_lists"`
	// AlwaysMailTo lists addresses exempt from the automatic-mail rate
	// limits (a monitoring inbox, a partner's ticket system).
	AlwaysMailTo []string `mapstructure:"always_mail_to"`
	// Statuses is the project's status list (default: DefaultStatuses).
	Statuses []StatusDef `mapstructure:"statuses"`
	// ReopenDays: a customer's reply to a ticket closed longer ago opens a
	// new ticket linking the old one (default 90).
	ReopenDays *int `mapstructure:"reopen_days"`
	// AutoCloseDays closes resolved tickets after so many days (default 7;
	// 0 = never); AutoCloseReminderDays reminds the customers that many
	// days after resolution (0 = no reminder).
	AutoCloseDays         *int `mapstructure:"auto_close_days"`
	AutoCloseReminderDays int  `mapstructure:"auto_close_reminder_days"`
	// FormSenders are contact forms and no-reply relays: the reporter of
	// their mail is its Reply-To.
	FormSenders []string `mapstructure:"form_senders"`
	// PrivateByDefault keeps new requests from being shared with the
	// reporter's organization unless an agent shares them.
	PrivateByDefault bool `mapstructure:"private_by_default"`
	// IMAP reads the project's mailbox at a mail provider (optional).
	IMAP *IMAP `mapstructure:"imap"`
	// Organizations declared here (besides those managed by the admin API).
	Organizations []OrgDef  `mapstructure:"organizations"`
	Retention     Retention `mapstructure:"retention"`
	// BusinessHours and Targets: response targets in business time
	// (config/targets.go, issue 21).
	BusinessHours *BusinessHours `mapstructure:"business_hours"`
	Targets       *Targets       `mapstructure:"targets"`
	// AlertsTo receives this project's intake alerts besides alerts.to.
	AlertsTo      []string      `mapstructure:"alerts_to"`
	Notifications Notifications `mapstructure:"notifications"`
	// RequestTypes are the kinds of request (issue 17, config/access.go).
	RequestTypes []RequestType `mapstructure:"request_types"`
	// Who may open a ticket (issue 17, config/openaccess.go).
	OpenTo         string      `mapstructure:"open_to"`
	KnownCustomers []string    `mapstructure:"known_customers"`
	SupportKeys    SupportKeys `mapstructure:"support_keys"`
	Drafts         Drafts      `mapstructure:"drafts"`
	access         *accessState
	// Offers and Ratings: issue 18 (config/offers.go).
	Offers  Offers  `mapstructure:"offers"`
	Ratings Ratings `mapstructure:"ratings"`
	// PGP is the project's OpenPGP set-up (nil: none).
	PGP *PGP `mapstructure:"pgp"`
	// Webhooks push the project's events over HTTP (issue 18, webhooks.go).
	Webhooks []Webhook `mapstructure:"webhooks"`

	// agents and admins hold the lower-cased staff addresses; built by Load
	// and Finalize.
	agents, admins map[string]bool
}

// Notifications switches each event per audience.
type Notifications struct {
	Customer CustomerToggles `mapstructure:"customer"`
	Internal InternalToggles `mapstructure:"internal"`
}

// Toggle is one event switch: in YAML either a bool or a rule
// {statuses: [...], to: [...]}; a rule means "on".
type Toggle struct {
	Enabled bool `mapstructure:"enabled"`
	// Statuses limits a status event to entering these statuses (empty = any).
	Statuses []string `mapstructure:"statuses"`
	// To names the audiences of a rule: reporter, participants, customers,
	// agents, admins, assignee.
	To []string `mapstructure:"to"`
	// Types limits a rule to tickets of these request types (empty = any).
	Types []string `mapstructure:"types"`
}

// CustomerToggles are the customer-facing events.
type CustomerToggles struct {
	CustomerInvited              Toggle `mapstructure:"customer_invited"`
	RequestCreated               Toggle `mapstructure:"request_created"`
	PublicCommentAdded           Toggle `mapstructure:"public_comment_added"`
	PublicCommentEdited          Toggle `mapstructure:"public_comment_edited"`
	RequestResolved              Toggle `mapstructure:"request_resolved"`
	RequestReopened              Toggle `mapstructure:"request_reopened"`
	ParticipantAdded             Toggle `mapstructure:"participant_added"`
	OrganizationAdded            Toggle `mapstructure:"organization_added"`
	ApprovalRequired             Toggle `mapstructure:"approval_required"`
	CustomerVisibleStatusChanged Toggle `mapstructure:"customer_visible_status_changed"`
}

// InternalToggles are the agent-facing events.
type InternalToggles struct {
	RequestCreated       Toggle `mapstructure:"request_created"`
	CustomerCommentAdded Toggle `mapstructure:"customer_comment_added"`
	InternalNoteAdded    Toggle `mapstructure:"internal_note_added"`
	AgentCommentAdded    Toggle `mapstructure:"agent_comment_added"`
	Assigned             Toggle `mapstructure:"assigned"`
	StatusChanged        Toggle `mapstructure:"status_changed"`
	RequestResolved      Toggle `mapstructure:"request_resolved"`
	RequestReopened      Toggle `mapstructure:"request_reopened"`
	ParticipantAdded     Toggle `mapstructure:"participant_added"`
	DeliveryFailed       Toggle `mapstructure:"delivery_failed"`
	// Issue 21: a response target about to run out, run out, and a
	// snoozed ticket waking up.
	TargetWarning  Toggle `mapstructure:"target_warning"`
	TargetBreached Toggle `mapstructure:"target_breached"`
	SnoozeEnded    Toggle `mapstructure:"snooze_ended"`
	// RatingReceived: a customer rated a ticket (to the assignee; issue 18).
	RatingReceived Toggle `mapstructure:"rating_received"`
}
