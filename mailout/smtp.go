package mailout

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/oauth2"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/internal/oauth2token"
)

// TLS modes of SMTPOptions.TLS.
const (
	TLSNone     = "none"
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
)

// SMTPOptions configures the SMTP relay transport.
type SMTPOptions struct {
	Host string
	// Port 0 and TLS "" take outbound.smtp.port and outbound.smtp.tls's
	// defaults from package config (the one place defaults live).
	Port int
	// TLS is none, starttls or tls (implicit TLS).
	TLS string
	// Username turns on AUTH PLAIN. Credentials are only ever sent over
	// TLS, or in the clear to a loopback relay.
	Username string
	Password string
	// Token, when set, logs in as Username with SASL XOAUTH2 and the
	// OAuth2 access token it gives, instead of AUTH PLAIN.
	Token oauth2.TokenSource
	// HelloName is the EHLO name; default: this machine's host name.
	// The EHLO before STARTTLS says "localhost" and the one after it
	// HelloName (the pre-TLS name cannot be trusted anyway), as go-smtp's
	// client did.
	HelloName string
	// TLSConfig nil means the system roots; an empty ServerName is filled
	// in from Host.
	TLSConfig *tls.Config
	// Timeout bounds connecting (TCP, TLS, greeting, EHLO, AUTH as a
	// whole), each write, the wait for the replies to each command or
	// pipelined batch of commands, and the wait for the reply after the
	// final dot. 0: outbound.smtp.timeout's default.
	Timeout time.Duration
}

// SMTP is a Transport that relays through one smarthost. It keeps one
// connection open between sends and reuses it, because the sender loop
// sends runs of messages and a TLS+AUTH handshake per message is wasteful.
// Sends are serialised on that connection.
type SMTP struct {
	opts      SMTPOptions // defaults filled in
	addr      string
	tlsConfig *tls.Config
	log       *slog.Logger
	// configErr is returned by every Send: the options can never work.
	configErr error

	mu     sync.Mutex
	cached *smtpConn // nil when no connection is open
}

var _ Transport = (*SMTP)(nil)

// smtpConn is an open, greeted and authenticated relay connection.
type smtpConn struct {
	c *smtpClient
	// clean: the last transaction ended with the relay accepting the
	// message, so the session is at the start of the next one (RFC 5321
	// 4.1.1.4) and needs no RSET; see connection.
	clean bool
}

// NewSMTP returns a relay transport. It does not connect; the first Send
// does. Options that can never work (unknown TLS mode, credentials over a
// plaintext connection to a remote host) make every Send fail permanently
// with the reason; SMTPOptionsFromConfig reports them at start-up instead.
func NewSMTP(opts SMTPOptions, log *slog.Logger) *SMTP {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts = opts.withDefaults()
	s := &SMTP{
		opts:      opts,
		addr:      net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)),
		log:       log.With("relay", net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port))),
		configErr: opts.check(),
	}
	if s.configErr != nil {
		s.configErr = fault.Permanent(s.configErr)
	}
	if opts.TLSConfig == nil {
		s.tlsConfig = &tls.Config{ServerName: opts.Host, MinVersion: tls.VersionTLS12}
	} else {
		s.tlsConfig = opts.TLSConfig.Clone()
		if s.tlsConfig.ServerName == "" {
			s.tlsConfig.ServerName = opts.Host
		}
	}
	return s
}

func (o SMTPOptions) withDefaults() SMTPOptions {
	def := config.Default().Outbound.SMTP
	if o.TLS == "" {
		o.TLS = def.TLS
	}
	if o.Port == 0 {
		o.Port = def.Port
	}
	if o.HelloName == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			o.HelloName = h
		} else {
			o.HelloName = "localhost"
		}
	}
	if o.Timeout <= 0 {
		o.Timeout = def.Timeout
	}
	return o
}

// check reports options that can never work. The messages name the config
// keys because an operator reads them.
func (o SMTPOptions) check() error {
	var errs []error
	if o.Host == "" {
		errs = append(errs, errors.New("outbound.smtp.host: required"))
	}
	switch o.TLS {
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		errs = append(errs, fmt.Errorf("outbound.smtp.tls: %q is not none, starttls or tls", o.TLS))
	}
	if o.Port < 0 || o.Port > 65535 {
		errs = append(errs, fmt.Errorf("outbound.smtp.port: %d is out of range", o.Port))
	}
	if strings.ContainsAny(o.HelloName, " \r\n") {
		errs = append(errs, fmt.Errorf("outbound.smtp.hello_name: %q is not a host name", o.HelloName))
	}
	if o.Username != "" && o.TLS == TLSNone && o.Host != "" && !plaintextAuthAllowed(o.Host) {
		errs = append(errs, fmt.Errorf("outbound.smtp: refusing to send the password for %q in the clear to %s: set tls to starttls or tls (plaintext AUTH is only allowed to a loopback relay)", o.Username, o.Host))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("mailout: bad SMTP relay settings: %w", errors.Join(errs...))
}

// plaintextAuthAllowed reports whether credentials may cross an
// unencrypted connection to host: only when the connection never leaves
// the machine, so nobody can sniff them.
func plaintextAuthAllowed(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}

// Send relays msg to every recipient of env over the cached connection,
// opening a new one when there is none or the cached one no longer
// answers. When the relay refuses some recipients at RCPT, the message still
// goes to the others and Send returns a *RecipientErrors.
func (s *SMTP) Send(ctx context.Context, env Envelope, msg io.Reader) error {
	if s.configErr != nil {
		return s.configErr
	}
	if err := checkEnvelope(env); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return fault.Temporaryf("mailout: smtp send of %s not started: %w", env.MessageID, err)
	}

	sc, unproven, err := s.connection(ctx)
	if err != nil {
		return err
	}

	// Closing the socket interrupts a blocked read or write at once.
	stop := context.AfterFunc(ctx, sc.c.closeRaw)
	atMail, err := s.transact(sc, env, msg)
	interrupted := !stop()
	if unproven && atMail && !interrupted && !usable(err) {
		// The cached connection died while idle (the relay hung up or
		// said 421): nothing of the message was sent, so send it on a
		// new connection, as after a failed RSET.
		s.log.Debug("cached smtp connection is dead, reconnecting", "err", err)
		s.drop("")
		if sc, err = s.dial(ctx); err != nil {
			return err
		}
		s.cached = sc
		stop = context.AfterFunc(ctx, sc.c.closeRaw)
		_, err = s.transact(sc, env, msg)
		interrupted = !stop()
	}

	if interrupted {
		s.drop("send interrupted")
		if err != nil {
			return fault.Temporaryf("mailout: smtp send of %s to %s interrupted: %w", env.MessageID, s.addr, errors.Join(ctx.Err(), err))
		}
		// The 250 arrived before the cancellation: the relay has it.
		return nil
	}
	if err != nil && !usable(err) {
		s.drop(err.Error())
	} else if sc.c.broken {
		s.drop("connection broken after the transaction")
	}
	return err
}

// Close ends the cached connection with QUIT. A later Send opens a new one.
func (s *SMTP) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached == nil {
		return nil
	}
	sc := s.cached
	s.cached = nil
	// A relay that already hung up cannot answer QUIT; nothing is lost.
	_ = sc.c.quit()
	return nil
}

// connection returns the cached connection or dials a new one. A cached
// connection whose last transaction was accepted is returned as it is,
// unproven (the relay may have hung up since: Send then starts over on a
// new one when MAIL fails); any other first has an RSET prove it alive
// and leave no transaction state behind. An RSET per message was a round
// trip, a fifth of the sender's work per mail.
func (s *SMTP) connection(ctx context.Context) (sc *smtpConn, unproven bool, err error) {
	if sc := s.cached; sc != nil {
		if sc.clean {
			sc.clean = false
			return sc, true, nil
		}
		stop := context.AfterFunc(ctx, sc.c.closeRaw)
		err := sc.c.reset()
		if stop() && err == nil {
			s.log.Debug("reusing smtp connection")
			return sc, false, nil
		}
		// Relays drop idle clients (421 idle timeout, or just FIN), so a
		// dead cached connection is normal and not worth more than a retry
		// on a fresh one.
		s.log.Debug("cached smtp connection is dead, reconnecting", "err", err)
		s.drop("")
	}
	sc, err = s.dial(ctx)
	if err != nil {
		return nil, false, err
	}
	s.cached = sc
	return sc, false, nil
}

// drop closes the cached connection without QUIT: it is broken or in an
// unknown state.
func (s *SMTP) drop(reason string) {
	if s.cached == nil {
		return
	}
	if reason != "" {
		s.log.Debug("closing smtp connection", "reason", reason)
	}
	s.cached.c.close()
	s.cached = nil
}

// dial connects, greets, starts TLS and authenticates, all within one
// Timeout.
func (s *SMTP) dial(ctx context.Context) (_ *smtpConn, err error) {
	dctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()

	var d net.Dialer
	raw, err := d.DialContext(dctx, "tcp", s.addr)
	if err != nil {
		return nil, fault.Temporaryf("mailout: connect to smtp relay %s: %w", s.addr, err)
	}
	// The deadline makes a silent relay's greeting fail as a timeout; the
	// close on dctx also covers cancellation.
	if dl, ok := dctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	stop := context.AfterFunc(dctx, func() { raw.Close() })
	var c *smtpClient
	defer func() {
		fired := !stop()
		if err == nil && !fired {
			return
		}
		if c != nil {
			c.close()
		} else {
			raw.Close()
		}
		if fired {
			// Whatever failed, it failed because the socket was closed
			// under it: report the timeout or cancellation.
			err = fault.Temporaryf("mailout: connecting to smtp relay %s took longer than %v or was cancelled: %w", s.addr, s.opts.Timeout, errors.Join(dctx.Err(), err))
		}
	}()

	conn := raw
	if s.opts.TLS == TLSImplicit {
		tc := tls.Client(raw, s.tlsConfig)
		if err := tc.HandshakeContext(dctx); err != nil {
			return nil, fault.Temporaryf("mailout: TLS handshake with smtp relay %s: %w", s.addr, err)
		}
		conn = tc
	}
	c = newSMTPClient(raw, conn, s.opts.Timeout)
	if err := c.greet(); err != nil {
		return nil, s.classify("greeting", err)
	}
	if s.opts.TLS == TLSStartTLS {
		// The name said before TLS cannot be trusted anyway; this is what
		// go-smtp's client said there.
		if err := c.hello("localhost"); err != nil {
			return nil, s.classify("EHLO", err)
		}
		if handshake, err := c.startTLS(dctx, s.tlsConfig); err != nil {
			if handshake {
				return nil, fault.Temporaryf("mailout: TLS handshake with smtp relay %s after STARTTLS: %w", s.addr, err)
			}
			return nil, s.classify("STARTTLS", err)
		}
	}
	if err := c.hello(s.opts.HelloName); err != nil {
		return nil, s.classify("EHLO", err)
	}
	if s.opts.Username != "" {
		if err := s.auth(c); err != nil {
			return nil, err
		}
	}
	s.log.Debug("smtp connection open", "tls", s.opts.TLS, "pipelining", c.has("PIPELINING"))
	return &smtpConn{c: c}, nil
}

func (s *SMTP) auth(c *smtpClient) error {
	// check() vetted the configured host; this catches a name that
	// resolved somewhere other than loopback.
	if !c.isTLS && !isLoopbackAddr(c.raw.RemoteAddr()) {
		return fault.Permanentf("mailout: refusing to send the password for %q in the clear to %s (%s): use tls or starttls", s.opts.Username, s.addr, c.raw.RemoteAddr())
	}
	if s.opts.Token != nil {
		return s.authXOAUTH2(c)
	}
	if !c.supportsAuth(sasl.Plain) {
		return fault.Permanentf("mailout: smtp relay %s does not offer AUTH PLAIN (offers %q) but a username is configured", s.addr, c.ext["AUTH"])
	}
	if err := c.auth(sasl.NewPlainClient("", s.opts.Username, s.opts.Password)); err != nil {
		return s.classify("AUTH as "+strconv.Quote(s.opts.Username), err)
	}
	return nil
}

// authXOAUTH2 logs in with an OAuth2 access token (Microsoft 365, Google).
// A token that cannot be had is a temporary failure: the provider or the
// network may be down.
func (s *SMTP) authXOAUTH2(c *smtpClient) error {
	if !c.supportsAuth("XOAUTH2") {
		return fault.Permanentf("mailout: smtp relay %s does not offer AUTH XOAUTH2 (offers %q) but oauth2 is configured", s.addr, c.ext["AUTH"])
	}
	tok, err := s.opts.Token.Token()
	if err != nil {
		return fault.Temporary(fmt.Errorf("mailout: oauth2 token for %s: %w", s.addr, err))
	}
	if err := c.auth(&oauth2token.XOAUTH2{User: s.opts.Username, Token: tok.AccessToken}); err != nil {
		return s.classify("AUTH XOAUTH2 as "+strconv.Quote(s.opts.Username), err)
	}
	return nil
}

func isLoopbackAddr(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// maxPipelinedRcpts is the most recipients one pipelined batch holds;
// larger envelopes go one command at a time.
const maxPipelinedRcpts = 100

// transact runs one MAIL/RCPT/DATA transaction on an open connection;
// atMail reports a failure of MAIL (nothing of the message was sent).
func (s *SMTP) transact(sc *smtpConn, env Envelope, msg io.Reader) (atMail bool, err error) {
	atMail, err = s.transact1(sc, env, msg)
	sc.clean = err == nil
	return atMail, err
}

// transact1 runs the transaction. When the relay offers PIPELINING (RFC
// 2920) MAIL, every RCPT and DATA leave in one write and their replies are
// read in order; otherwise each command waits for its reply. Either way
// the outcome is the same: the message goes to the recipients the relay
// accepted, each refusal is classified, and a refused MAIL stops all.
func (s *SMTP) transact1(sc *smtpConn, env Envelope, msg io.Reader) (bool, error) {
	c := sc.c

	utf8 := !isASCII(env.From) || !allASCII(env.To)
	if utf8 && !c.has("SMTPUTF8") {
		return false, fault.Permanentf("mailout: smtp relay %s does not support SMTPUTF8, needed for the envelope of %s (%s → %s)", s.addr, env.MessageID, env.From, strings.Join(env.To, ", "))
	}
	// A batch of RCPTs is bounded: the relay's replies must fit in our
	// socket's receive buffer while we still write, or both sides block
	// (the deadlock RFC 2920 warns of); a mail here has one recipient.
	pipelining := c.has("PIPELINING") && len(env.To) <= maxPipelinedRcpts
	c.mail(env.From, utf8)
	if pipelining {
		for _, rcpt := range env.To {
			c.rcpt(rcpt)
		}
		c.command("DATA")
	}
	err := c.flush()
	if err == nil {
		err = c.expect(250)
	}
	if err != nil {
		if pipelining && !c.broken {
			// The RCPTs and DATA went out too: read their replies, so the
			// connection stays in step.
			c.skipReplies(len(env.To))
		}
		return true, s.classify("MAIL FROM:<"+env.From+">", err)
	}

	var refused []RecipientError
	// accepted lists the recipients the relay took, once one was refused
	// (until then they are env.To's first ones).
	var accepted []string
	for i, rcpt := range env.To {
		if !pipelining {
			c.rcpt(rcpt)
			err = c.flush()
		}
		if err == nil {
			err = c.expect(25)
		}
		if err == nil {
			if refused != nil {
				accepted = append(accepted, rcpt)
			}
			continue
		}
		cerr := s.classify("RCPT TO:<"+rcpt+">", err)
		if !usable(err) {
			// The connection is gone; nobody got anything.
			return false, cerr
		}
		if refused == nil {
			accepted = append([]string(nil), env.To[:i]...)
		}
		refused = append(refused, RecipientError{Recipient: rcpt, Err: cerr})
		err = nil
	}
	if refused == nil {
		accepted = env.To
	}
	if len(refused) == len(env.To) {
		if pipelining {
			c.abortData()
		}
		// Leave no half transaction behind; the next Send's RSET would
		// do the same, but a failing RSET here tells us the state early.
		if !c.broken {
			if err := c.reset(); err != nil {
				s.drop("RSET after refused recipients: " + err.Error())
			}
		}
		return false, &RecipientErrors{Refused: refused}
	}

	resp, err := s.data(sc, msg, pipelining)
	if err != nil {
		if len(refused) == 0 {
			return false, err
		}
		// Every recipient failed, some at RCPT and the rest at DATA.
		for _, rcpt := range accepted {
			refused = append(refused, RecipientError{Recipient: rcpt, Err: err})
		}
		return false, &RecipientErrors{Refused: refused}
	}
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("smtp relay accepted message", "message_id", env.MessageID, "to", accepted, "reply", resp)
	}
	if len(refused) > 0 {
		return false, &RecipientErrors{Accepted: accepted, Refused: refused}
	}
	return false, nil
}

// data sends DATA (already sent when pipelined), streams msg and returns
// the relay's reply text.
func (s *SMTP) data(sc *smtpConn, msg io.Reader, pipelined bool) (string, error) {
	c := sc.c
	var err error
	if !pipelined {
		c.command("DATA")
		err = c.flush()
	}
	if err == nil {
		err = c.expect(354)
	}
	if err != nil {
		return "", s.classify("DATA", err)
	}
	if readErr, err := c.writeBody(msg); err != nil {
		// The dot was never sent: the connection is mid-DATA and useless.
		s.drop("message write failed")
		if readErr != nil {
			return "", fault.Temporaryf("mailout: reading the message for %s: %w", s.addr, readErr)
		}
		return "", fault.Temporaryf("mailout: writing the message to smtp relay %s: %w", s.addr, err)
	}
	if err := c.expect(250); err != nil {
		return "", s.classify("end of DATA", err)
	}
	if !s.log.Enabled(context.Background(), slog.LevelDebug) {
		return "", nil
	}
	return string(c.text), nil
}

// classify wraps err from an SMTP step: 4xx replies are temporary, 5xx
// permanent, and everything that is not a reply (network, TLS, timeouts)
// temporary. The *smtp.SMTPError stays reachable with errors.As.
func (s *SMTP) classify(step string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		wrapped := fmt.Errorf("mailout: smtp relay %s refused %s: %w", s.addr, step, err)
		if se.Code >= 500 && se.Code < 600 {
			return fault.Permanent(wrapped)
		}
		return fault.Temporary(wrapped)
	}
	return fault.Temporaryf("mailout: smtp relay %s: %s failed: %w", s.addr, step, err)
}

// usable reports whether the connection is still in a known state after
// err: an SMTP reply other than 421 (which announces the close) leaves it
// usable; anything else (I/O errors, our own refusals mid-handshake) not.
func usable(err error) bool {
	var re *RecipientErrors
	if errors.As(err, &re) {
		for _, r := range re.Refused {
			if !usable(r.Err) {
				return false
			}
		}
		return true
	}
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code != 421
}

// RecipientErrors is returned by SMTP.Send when the relay refused some or
// all recipients. The message went to Accepted; each entry of Refused did
// not get it.
type RecipientErrors struct {
	// Accepted lists the recipients the relay took the message for; empty
	// when every recipient was refused (DATA was then never sent).
	Accepted []string
	// Refused lists the recipients that did not get the message, in
	// envelope order for RCPT refusals.
	Refused []RecipientError
}

// RecipientError is one refused recipient. Err is classified like every
// Send error and wraps the relay's *smtp.SMTPError.
type RecipientError struct {
	Recipient string
	Err       error
}

func (e *RecipientErrors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mailout: %d of %d recipients refused", len(e.Refused), len(e.Refused)+len(e.Accepted))
	for _, r := range e.Refused {
		fmt.Fprintf(&b, "; <%s>: %v", r.Recipient, r.Err)
	}
	return b.String()
}

// Unwrap exposes every per-recipient error to errors.Is and errors.As.
func (e *RecipientErrors) Unwrap() []error {
	errs := make([]error, len(e.Refused))
	for i, r := range e.Refused {
		errs[i] = r.Err
	}
	return errs
}

// Temporary reports whether any refused recipient may succeed later, so
// that fault.IsTemporary keeps the message queued rather than losing it.
// A caller that retries should send only to TemporaryRecipients, or the
// Accepted ones get the message twice.
func (e *RecipientErrors) Temporary() bool {
	return len(e.TemporaryRecipients()) > 0
}

// TemporaryRecipients lists the refused recipients worth retrying.
func (e *RecipientErrors) TemporaryRecipients() []string {
	var out []string
	for _, r := range e.Refused {
		if fault.IsTemporary(r.Err) {
			out = append(out, r.Recipient)
		}
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func allASCII(ss []string) bool {
	for _, s := range ss {
		if !isASCII(s) {
			return false
		}
	}
	return true
}
