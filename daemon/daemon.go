// Package daemon wires ticketgate together: it opens the store, starts the
// SMTP/LMTP listeners (and the local LMTP socket `ticketgate deliver` talks
// to), the outbox sender and the web server, swaps in a new configuration on
// reload, and shuts everything down in two phases.
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ticketgate/ticketgate/alert"
	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/desk"
	"github.com/ticketgate/ticketgate/digest"
	"github.com/ticketgate/ticketgate/imapin"
	"github.com/ticketgate/ticketgate/ingest"
	"github.com/ticketgate/ticketgate/internal/cpushare"
	"github.com/ticketgate/ticketgate/internal/flow"
	"github.com/ticketgate/ticketgate/mailin"
	"github.com/ticketgate/ticketgate/mailout"
	"github.com/ticketgate/ticketgate/metrics"
	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/pgp"
	"github.com/ticketgate/ticketgate/retention"
	"github.com/ticketgate/ticketgate/search"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/templates"
	"github.com/ticketgate/ticketgate/ticket"
	"github.com/ticketgate/ticketgate/web"
	"github.com/ticketgate/ticketgate/webhook"
)

// SocketName is the local LMTP socket in data_dir that `deliver` uses.
const SocketName = "lmtp.sock"

// Daemon is a running ticketgate.
type Daemon struct {
	log          *slog.Logger
	shutdownOnce sync.Once
	cfg          atomic.Pointer[config.Config]
	// adminTokens are the TCP admin tokens (token → agent), re-read on
	// reload; nil without a TCP admin listener.
	adminTokens atomic.Pointer[map[string]string]
	version     string
	tmpl        atomic.Pointer[templates.Set]
	now         func() time.Time
	// changes is Options.Changes (nil: nobody watches).
	changes Notifier

	// pgpKeys finds the OpenPGP keys (issue 19).
	pgpKeys *pgp.Keys

	store  store.DB
	sender *mailout.Sender
	// flow paces the intake to the sender (nil: inbound.flow_delay 0).
	flow     *flow.Gate
	hooks    *webhook.Sender
	hookTLS  *tls.Config
	tport    mailout.Transport
	pipeline *ingest.Pipeline
	servers  []*listener
	web      *http.Server
	webLn    net.Listener

	stopSender context.CancelFunc
	bg         sync.WaitGroup
	admin      []*httpServer
	secret     []byte
	notifier   *notify.Notifier
	engine     *ticket.Engine
	ops        *ops // metrics, audit, health (metrics.go)
	// imap reads the projects' IMAP mailboxes (imap.go).
	imap *imapin.Manager
	// alerts watches mailboxes, outbox and relay (alerts.go, issue 21);
	// relay tracks the send attempts; testTransport: Options.Transport
	// was given, alerts use it too.
	alerts    *alert.Monitor
	timerWake chan struct{} // targets.go

	relay         *relayHealth
	testTransport bool
	// desk is the agents' desk under /desk/ (desk.go); search is this
	// node's full-text index of tickets it searches with.
	desk   *desk.Handler
	search *search.Index
}

type listener struct {
	name string
	srv  *mailin.Server
	ln   net.Listener
}

// Options are knobs for tests.
type Options struct {
	// Now replaces the clock.
	Now func() time.Time
	// Transport replaces the configured outbound transport.
	Transport mailout.Transport
	// SenderWorkers replaces outbound.workers.
	SenderWorkers int
	// Mailboxes replaces the IMAP mailbox states metrics and /readyz see.
	Mailboxes func() []metrics.Mailbox
	// Version is what the admin API's version call answers.
	Version string
	// HookWorkers replaces the webhook sender's pool size; HookTLS its
	// TLS configuration (tests trust their own server).
	HookWorkers int
	HookTLS     *tls.Config
	// HookAttempt, when set, is told every webhook delivery attempt's
	// recorded outcome (webhook.Sender.OnAttempt).
	HookAttempt func(item *store.HookItem, result string, err error)
	// Changes, when set, is notified after every change a supervisor or
	// a test may wait for: a store commit, a send attempt's outcome
	// recorded (metrics included), an IMAP mailbox's state, a look of the
	// alert monitor, the sender's heartbeat and health, the sender loop
	// ending. Notify must not block.
	Changes Notifier
	// DigestRan, when set, is told the outcome of every run of the
	// digest timer (issue 21): how many digests it queued.
	DigestRan func(queued int, err error)
	// SearchWorker, when set, is the command (program and arguments)
	// that runs the search index in a process of its own at a lower CPU
	// priority (search.OpenWorker): `ticketgate serve` sets it to its
	// own binary and "search-worker". Empty: the index is in this
	// process.
	SearchWorker []string
}

// Notifier is told that something changed (Options.Changes).
type Notifier interface{ Notify() }

// Start opens the store and starts every listener and loop of cfg.
func Start(cfg *config.Config, log *slog.Logger, opts Options) (*Daemon, error) {
	d := &Daemon{log: log, now: opts.Now, version: opts.Version}
	if d.now == nil {
		d.now = time.Now
	}
	d.cfg.Store(cfg)
	d.tmpl.Store(templates.New(cfg.TemplatesDir))
	d.changes = opts.Changes
	var onCommit func()
	if opts.Changes != nil {
		onCommit = opts.Changes.Notify
	}
	st, err := openStore(cfg, log.With("component", "store"), onCommit)
	if err != nil {
		return nil, err
	}
	d.store = st
	ok := false
	defer func() {
		if !ok {
			// Nothing was sent or fetched yet: nothing to wait for.
			done, cancel := context.WithCancel(context.Background())
			cancel()
			d.closeAll(done)
		}
	}()

	workers := opts.SenderWorkers
	if workers <= 0 {
		workers = max(cfg.Outbound.Workers, 1)
	}
	d.tport = opts.Transport
	d.testTransport = opts.Transport != nil
	if d.tport == nil {
		if d.tport, err = newTransport(cfg, workers, log); err != nil {
			return nil, err
		}
	}
	r := cfg.Outbound.Retry
	d.sender = mailout.NewSender(st, d.tport, mailout.Retry{Initial: r.Initial, Max: r.Max, GiveUpAfter: r.GiveUpAfter}, workers, log.With("component", "mailout"))
	d.flow = flow.New(cfg.Inbound.FlowTarget, cfg.Inbound.FlowDelay)
	d.sender.Flow = d.flow
	n := notify.New(d.Config, d.tmpl.Load, d.now, log.With("component", "notify"))
	d.sender.Render = n
	d.notifier = n
	engine := ticket.NewEngine(st, d.Config, n, d.now, log.With("component", "ticket"))
	engine.Macros = n // issue 21: #macro
	d.engine = engine
	d.pipeline = ingest.New(st, d.Config, engine, log.With("component", "ingest"))
	d.pipeline.Queued = d.sender.Wake
	// OpenPGP (issue 19): decrypt and check inbound mail, learn keys,
	// seal outbound mail at send time, publish the keys (WKD).
	d.pgpKeys = pgp.NewKeys(d.Config, d.now)
	d.pipeline.PGP = pgp.NewInbound(st, d.pgpKeys, d.Config, log.With("component", "pgp"))
	d.sender.Sealer = pgp.NewSealer(d.pgpKeys, d.Config)
	d.sender.KeyPattern = d.keyPattern
	d.sender.OnGiveUp = engine.DeliveryFailed
	d.sender.OnDelivered = engine.Delivered
	engine.Queued = d.sender.Wake
	d.startHooks(engine, opts)
	if err := d.startOps(opts); err != nil {
		return nil, err
	}
	d.hookTargets()
	d.startAlerts()
	if opts.Changes != nil {
		d.sender.OnHealth = opts.Changes.Notify
		// Last, so the metrics and alerts already saw the attempt.
		prev := d.sender.OnAttempt
		d.sender.OnAttempt = func(it *store.OutboxItem, result string, err error) {
			if prev != nil {
				prev(it, result, err)
			}
			opts.Changes.Notify()
		}
	}

	if err := engine.SyncOrganizations(context.Background()); err != nil {
		return nil, fmt.Errorf("organizations from the configuration: %w", err)
	}
	if d.secret, err = d.loadSecret(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("installation secret: %w", err)
	}
	searchDir, searchLog := filepath.Join(cfg.DataDir, "search"), log.With("component", "search")
	if len(opts.SearchWorker) > 0 {
		d.search, err = search.OpenWorker(context.Background(), searchDir, st, searchLog, opts.SearchWorker)
	} else {
		d.search, err = search.Open(context.Background(), searchDir, st, searchLog)
	}
	if err != nil {
		return nil, err
	}
	if err := d.listen(cfg); err != nil {
		return nil, err
	}
	if err := d.startAdmin(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.stopSender = cancel
	d.bg.Add(3)
	go func() {
		defer d.bg.Done()
		d.sender.Run(ctx)
		d.changed()
	}()
	go func() {
		defer d.bg.Done()
		// The daemon's own CPU time, not the worker's: mail first.
		cpu := cpushare.New()
		d.search.Run(ctx, search.Pace{Every: 5 * time.Second, MaxWait: 30 * time.Second,
			Busy: func() bool { return cpu.Share() >= 0.25 }})
	}()
	d.runHooks(ctx)
	// The timers (auto-close, blob sweep, retention, offers) run on one node of
	// a shared store at a time.
	go func() {
		defer d.bg.Done()
		d.onOneNode(ctx, "timers", func(ctx context.Context) {
			var timers sync.WaitGroup
			timers.Add(4)
			go func() {
				defer timers.Done()
				d.sweepLoop(ctx)
			}()
			go func() {
				defer timers.Done()
				d.targetLoop(ctx) // issue 21
			}()
			go func() {
				defer timers.Done()
				d.offerLoop(ctx) // issue 18
			}()
			go func() {
				defer timers.Done()
				m := digest.New(st, d.Config, n, d.now, log.With("component", "digest"))
				m.Queued = d.sender.Wake
				d.digestLoop(ctx, m, opts.DigestRan) // issue 21
			}()
			retention.NewJob(st, engine, d.Config, d.now, log.With("component", "retention")).Run(ctx)
			timers.Wait()
		})
	}()
	for _, l := range d.servers {
		go func() {
			if err := l.srv.Serve(l.ln); err != nil {
				log.Error("listener stopped", "listener", l.name, "err", err)
			}
		}()
	}
	go func() {
		if err := d.web.Serve(d.webLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("web server stopped", "err", err)
		}
	}()
	d.publishFingerprint(cfg)
	d.startIMAP()
	// After startIMAP: the loop reads the mailboxes' states.
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		d.alertLoop(ctx) // issue 21
	}()
	d.serveOps()
	ok = true
	log.Info("ticketgate started", "data_dir", cfg.DataDir, "projects", len(cfg.Projects), "smtp", d.Addr("smtp"), "lmtp", d.Addr("lmtp"), "web", d.Addr("web"))
	return d, nil
}

// Config returns the configuration in force.
func (d *Daemon) Config() *config.Config { return d.cfg.Load() }

// Store returns the open store (for tests and in-process tools).
func (d *Daemon) Store() store.DB { return d.store }

// Addr returns the bound address of a listener: smtp, lmtp (the configured
// LMTP listener), socket (the local deliver socket), web, admin or
// admin-tcp; "" when off.
func (d *Daemon) Addr(name string) string {
	if name == "metrics" {
		return d.opsAddr()
	}
	if name == "web" && d.webLn != nil {
		return d.webLn.Addr().String()
	}
	for _, a := range d.admin {
		if a.name == name {
			return a.ln.Addr().String()
		}
	}
	for _, l := range d.servers {
		if l.name == name {
			return l.ln.Addr().String()
		}
	}
	return ""
}

// newTransport builds the configured transport; for SMTP one connection
// per sender worker.
func newTransport(cfg *config.Config, workers int, log *slog.Logger) (mailout.Transport, error) {
	switch cfg.Outbound.Transport {
	case "smtp":
		opts, err := mailout.SMTPOptionsFromConfig(cfg.Outbound.SMTP)
		if err != nil {
			return nil, err
		}
		l := log.With("component", "smtp-out")
		return mailout.NewPool(workers, func() mailout.Transport { return mailout.NewSMTP(opts, l) }), nil
	default:
		return mailout.NewMaildir(cfg.Outbound.Maildir.Path)
	}
}

// Listen opens "host:port" or "unix:/path" (a stale socket file is
// replaced; the socket is made group-writable for the MTA and agents).
func Listen(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, err
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s is in use by a running process", path)
		}
		os.Remove(path)
		ln, err := net.Listen("unix", path)
		if err != nil {
			return nil, err
		}
		if err := os.Chmod(path, 0o660); err != nil {
			ln.Close()
			return nil, err
		}
		return ln, nil
	}
	return net.Listen("tcp", addr)
}

func (d *Daemon) listen(cfg *config.Config) error {
	in := cfg.Inbound
	base := mailin.ServerOptions{
		Domain:          hostname(),
		MaxMessageBytes: in.MaxMessageBytes,
		MaxRecipients:   in.MaxRecipients,
		Limits: mailin.Limits{
			MaxConnections:      in.MaxConnections,
			MaxConnectionsPerIP: in.MaxConnectionsPerIP,
			MaxCommandLine:      in.MaxCommandLine,
			IdleTimeout:         in.IdleTimeout,
			MaxConcurrentData:   in.MaxConcurrentData,
		},
		Trusted: func(ip net.IP) bool {
			return d.Config().TrustedRelay(ip)
		},
		AuthResults: func(ip net.IP) bool {
			return d.Config().AuthResultsFrom(ip)
		},
	}
	add := func(name, addr string, lmtp bool, source string) error {
		ln, err := Listen(addr)
		if err != nil {
			return fmt.Errorf("listen %s on %s: %w", name, addr, err)
		}
		o := base
		o.LMTP, o.Source = lmtp, source
		o.Sessions, o.OnSession = d.sessionHooks(name)
		if d.flow != nil {
			o.Pace = d.pace
		}
		d.servers = append(d.servers, &listener{name: name, ln: ln, srv: mailin.NewServer(o, d.pipeline, d.log.With("listener", name))})
		return nil
	}
	if in.SMTP.Listen != "" {
		if err := add("smtp", in.SMTP.Listen, false, "smtp"); err != nil {
			return err
		}
	}
	if in.LMTP.Listen != "" {
		if err := add("lmtp", in.LMTP.Listen, true, "lmtp"); err != nil {
			return err
		}
	}
	if err := add("socket", "unix:"+filepath.Join(cfg.DataDir, SocketName), true, "pipe"); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Web.Listen)
	if err != nil {
		return fmt.Errorf("listen web on %s: %w", cfg.Web.Listen, err)
	}
	d.webLn = ln
	d.desk = d.newDesk(cfg.Web.BaseURL)
	d.web = &http.Server{
		Handler: pgp.NewWKD(d.store, d.pgpKeys, d.Config, web.NewHandler(d.store, web.Options{
			BaseURL: cfg.Web.BaseURL,
			Now:     d.now,
			ProjectName: func(key string) string {
				if p := d.Config().Project(key); p != nil {
					return p.Name
				}
				return key
			},
			VisibleStatus: func(project, status string) string {
				if p := d.Config().Project(project); p != nil {
					return p.VisibleStatus(status)
				}
				return status
			},
			Secret: d.secret,
			Reply:  d.webReply,
			Close: func(ctx context.Context, tok *store.Token) error {
				_, err := d.engine.CustomerClose(ctx, tok.Token)
				return linkRefused(err)
			},
			CanClose: func(project, status string) bool {
				p := d.Config().Project(project)
				return p != nil && ticket.CustomerMayClose(p, status)
			},
			Mute: func(ctx context.Context, tok *store.Token) error {
				return linkRefused(d.engine.Mute(ctx, tok.Token))
			},
			DescribeEvent: ticket.Describe,
			IsStaff: func(project, addr string) bool {
				p := d.Config().Project(project)
				return p != nil && p.IsStaff(addr)
			},
			KeyPattern: d.keyPattern,
			Desk:       d.desk,
			Pages:      d.pageActions(),
		}, d.log.With("component", "web"))),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	return nil
}

// linkRefused marks the domain's refusal of a customer's change (the link
// went bad since the page checked it) for the web handler's dead-link page.
func linkRefused(err error) error {
	if errors.Is(err, ticket.ErrRefused) || errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %w", web.ErrLinkRefused, err)
	}
	return err
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

// Reload swaps in a new configuration. Listener addresses and data_dir
// only change on restart; everything read per message (projects, toggles,
// templates, limits) takes effect for the next message.
func (d *Daemon) Reload(cfg *config.Config) {
	old := d.Config()
	if cfg.DataDir != old.DataDir || cfg.Inbound.SMTP.Listen != old.Inbound.SMTP.Listen ||
		cfg.Inbound.LMTP.Listen != old.Inbound.LMTP.Listen || cfg.Web.Listen != old.Web.Listen ||
		cfg.Metrics.Listen != old.Metrics.Listen || cfg.Metrics.Pprof != old.Metrics.Pprof {
		d.log.Warn("reload: data_dir and listen addresses change only on restart")
	}
	d.cfg.Store(cfg)
	d.reloadTokens(cfg)
	d.tmpl.Store(templates.New(cfg.TemplatesDir))
	d.reloadIMAP()
	if err := d.engine.SyncOrganizations(context.Background()); err != nil {
		d.log.Error("reload: could not apply the configured organizations", "err", err)
	}
	d.publishFingerprint(cfg)
	d.pruneDesk(context.Background())
	d.log.Info("configuration reloaded", "projects", len(cfg.Projects))
}

// autoClose closes resolved tickets whose time has come and sends the
// reminders before that.
func (d *Daemon) autoClose(ctx context.Context) {
	closed, reminded, err := d.engine.AutoClose(ctx)
	if err != nil {
		d.log.Warn("auto-close failed", "err", err)
	}
	if closed > 0 || reminded > 0 {
		d.log.Info("auto-close", "closed", closed, "reminded", reminded)
	}
}

// expireDrafts removes the drafts whose drafts.expire_days have passed
// (silently: nobody is told).
func (d *Daemon) expireDrafts(ctx context.Context) {
	if _, err := d.engine.ExpireDrafts(ctx); err != nil {
		d.log.Warn("draft expiry failed", "err", err)
	}
}

func (d *Daemon) sweepLoop(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.hourly(ctx)
		}
	}
}

// hourly is the sweep loop's work: auto-close, draft expiry, the desk's
// sessions, the orphaned blobs and the rate counters no limit reads any
// more (by the daemon's clock, which wrote them).
func (d *Daemon) hourly(ctx context.Context) {
	d.autoClose(ctx)
	d.expireDrafts(ctx) // issue 17
	d.pruneDesk(ctx)
	// An hour's grace keeps blobs of ingestions still in flight.
	if n, err := d.store.SweepBlobs(time.Hour); err != nil {
		d.log.Warn("blob sweep failed", "err", err)
	} else if n > 0 {
		d.log.Info("swept orphaned blobs", "removed", n)
	}
	if n, err := d.store.PruneRates(d.now()); err != nil {
		d.log.Warn("rate counter prune failed", "err", err)
	} else if n > 0 {
		d.log.Info("pruned expired rate counters", "removed", n)
	}
}

// Shutdown stops accepting mail, gives deliveries in progress until ctx
// ends (their senders then get 421), stops the sender and closes the store.
func (d *Daemon) Shutdown(ctx context.Context) error {
	// A second call (a test's cleanup after the test stopped it, a signal
	// during a stop) waits for the first and does nothing more: closing
	// the listeners, the audit writer and the store twice would panic.
	d.shutdownOnce.Do(func() { d.shutdown(ctx) })
	return nil
}

func (d *Daemon) shutdown(ctx context.Context) {
	var wg sync.WaitGroup
	for _, l := range d.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.srv.Shutdown(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if d.web != nil {
			d.web.Shutdown(ctx)
		}
	}()
	for _, a := range d.admin {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.srv.Shutdown(ctx)
		}()
	}
	wg.Wait()
	d.closeAll(ctx)
	d.log.Info("ticketgate stopped")
}

// closeAll stops everything. IMAP sessions and outbound sends in flight
// get until ctx ends (systemd's stop timeout must not pass while a relay
// or an IMAP server does not answer); then their connections are closed
// under them and the work is redone after the restart.
func (d *Daemon) closeAll(ctx context.Context) {
	d.stopIMAP(ctx)
	for _, l := range d.servers {
		l.srv.Close()
		l.ln.Close() // in case Serve never ran
	}
	if d.web != nil {
		d.web.Close()
	} else if d.webLn != nil {
		d.webLn.Close()
	}
	for _, a := range d.admin {
		a.srv.Close()
		a.ln.Close()
	}
	if d.stopSender != nil {
		d.stopSender()
	}
	bgDone := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			if d.sender != nil {
				d.sender.Abort()
			}
			if d.hooks != nil {
				d.hooks.Abort()
			}
		case <-bgDone:
		}
	}()
	d.bg.Wait()
	close(bgDone)
	if d.search != nil {
		if err := d.search.Close(); err != nil {
			d.log.Warn("closing the search index", "err", err)
		}
	}
	d.stopOps()
	if d.tport != nil {
		d.tport.Close()
	}
	if d.store != nil {
		d.store.Close()
	}
}

// keyPattern is project's support_keys.pattern in the config in force
// (nil: none), for the paths that stream stored mail through package
// redact (issue 17).
func (d *Daemon) keyPattern(project string) *regexp.Regexp {
	if p := d.Config().Project(project); p != nil {
		return p.KeyPattern()
	}
	return nil
}

// pace holds a new inbound message while the sender lags (package flow).
func (d *Daemon) pace(ctx context.Context) {
	if !d.flow.Lagging() {
		return
	}
	var m *metrics.Flow
	if d.ops != nil {
		m = d.ops.flow
	}
	m.Holding()
	d.changed()
	m.Paced(d.flow.Wait(ctx))
	d.changed()
}
