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
	"github.com/ticketgate/ticketgate/internal/bufpool"
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
	// go-smtp sends "localhost" in the EHLO before STARTTLS and HelloName
	// after it (the pre-TLS name cannot be trusted anyway).
	HelloName string
	// TLSConfig nil means the system roots; an empty ServerName is filled
	// in from Host.
	TLSConfig *tls.Config
	// Timeout bounds connecting (TCP, TLS, greeting, EHLO, AUTH as a
	// whole), each command, writes of the message data, and the wait for
	// the reply after the final dot. 0: outbound.smtp.timeout's default.
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
	// bufs lends the buffers that stream messages into DATA.
	bufs bufpool.Pool
}

var _ Transport = (*SMTP)(nil)

// smtpConn is an open, greeted and authenticated relay connection.
type smtpConn struct {
	c *smtp.Client
	// raw is the TCP connection under any TLS: deadlines and the close on
	// cancellation act on it.
	raw net.Conn
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

	// Closing the socket is the only way to interrupt a blocked read or
	// write in go-smtp, which resets deadlines on every command.
	stop := context.AfterFunc(ctx, func() { sc.raw.Close() })
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
		stop = context.AfterFunc(ctx, func() { sc.raw.Close() })
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
	if err := sc.c.Quit(); err != nil {
		// A relay that already hung up cannot answer QUIT; nothing is lost.
		sc.c.Close()
	}
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
		stop := context.AfterFunc(ctx, func() { sc.raw.Close() })
		err := sc.c.Reset()
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
	s.cached.c.Close()
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
	// go-smtp's greeting and STARTTLS steps use their own 5-minute
	// deadlines, so enforce Timeout by closing the socket.
	stop := context.AfterFunc(dctx, func() { raw.Close() })
	var c *smtp.Client
	defer func() {
		fired := !stop()
		if err == nil && !fired {
			return
		}
		if c != nil {
			c.Close()
		} else {
			raw.Close()
		}
		if fired {
			// Whatever failed, it failed because the socket was closed
			// under it: report the timeout or cancellation.
			err = fault.Temporaryf("mailout: connecting to smtp relay %s took longer than %v or was cancelled: %w", s.addr, s.opts.Timeout, errors.Join(dctx.Err(), err))
		}
	}()

	switch s.opts.TLS {
	case TLSImplicit:
		tc := tls.Client(raw, s.tlsConfig)
		if err := tc.HandshakeContext(dctx); err != nil {
			return nil, fault.Temporaryf("mailout: TLS handshake with smtp relay %s: %w", s.addr, err)
		}
		c = smtp.NewClient(tc)
	case TLSStartTLS:
		// On failure NewClientStartTLS has closed raw already.
		c, err = smtp.NewClientStartTLS(raw, s.tlsConfig)
		if err != nil {
			return nil, s.classify("STARTTLS", err)
		}
	default:
		c = smtp.NewClient(raw)
	}
	c.CommandTimeout = s.opts.Timeout
	c.SubmissionTimeout = s.opts.Timeout

	// After STARTTLS this EHLO is also where the TLS handshake happens.
	if err := c.Hello(s.opts.HelloName); err != nil {
		return nil, s.classify("EHLO", err)
	}
	if s.opts.Username != "" {
		if err := s.auth(c, raw); err != nil {
			return nil, err
		}
	}
	s.log.Debug("smtp connection open", "tls", s.opts.TLS)
	return &smtpConn{c: c, raw: raw}, nil
}

func (s *SMTP) auth(c *smtp.Client, raw net.Conn) error {
	_, encrypted := c.TLSConnectionState()
	// check() vetted the configured host; this catches a name that
	// resolved somewhere other than loopback.
	if !encrypted && !isLoopbackAddr(raw.RemoteAddr()) {
		return fault.Permanentf("mailout: refusing to send the password for %q in the clear to %s (%s): use tls or starttls", s.opts.Username, s.addr, raw.RemoteAddr())
	}
	if s.opts.Token != nil {
		return s.authXOAUTH2(c)
	}
	if !c.SupportsAuth(sasl.Plain) {
		_, mechs := c.Extension("AUTH")
		return fault.Permanentf("mailout: smtp relay %s does not offer AUTH PLAIN (offers %q) but a username is configured", s.addr, mechs)
	}
	if err := c.Auth(sasl.NewPlainClient("", s.opts.Username, s.opts.Password)); err != nil {
		return s.classify("AUTH as "+strconv.Quote(s.opts.Username), err)
	}
	return nil
}

// authXOAUTH2 logs in with an OAuth2 access token (Microsoft 365, Google).
// A token that cannot be had is a temporary failure: the provider or the
// network may be down.
func (s *SMTP) authXOAUTH2(c *smtp.Client) error {
	if !c.SupportsAuth("XOAUTH2") {
		_, mechs := c.Extension("AUTH")
		return fault.Permanentf("mailout: smtp relay %s does not offer AUTH XOAUTH2 (offers %q) but oauth2 is configured", s.addr, mechs)
	}
	tok, err := s.opts.Token.Token()
	if err != nil {
		return fault.Temporary(fmt.Errorf("mailout: oauth2 token for %s: %w", s.addr, err))
	}
	if err := c.Auth(&oauth2token.XOAUTH2{User: s.opts.Username, Token: tok.AccessToken}); err != nil {
		return s.classify("AUTH XOAUTH2 as "+strconv.Quote(s.opts.Username), err)
	}
	return nil
}

func isLoopbackAddr(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// transact runs one MAIL/RCPT/DATA transaction on an open connection;
// atMail reports a failure of MAIL (nothing of the message was sent).
func (s *SMTP) transact(sc *smtpConn, env Envelope, msg io.Reader) (atMail bool, err error) {
	atMail, err = s.transact1(sc, env, msg)
	sc.clean = err == nil
	return atMail, err
}

func (s *SMTP) transact1(sc *smtpConn, env Envelope, msg io.Reader) (bool, error) {
	c := sc.c

	var mailOpts *smtp.MailOptions
	if !isASCII(env.From) || !allASCII(env.To) {
		if ok, _ := c.Extension("SMTPUTF8"); !ok {
			return false, fault.Permanentf("mailout: smtp relay %s does not support SMTPUTF8, needed for the envelope of %s (%s → %s)", s.addr, env.MessageID, env.From, strings.Join(env.To, ", "))
		}
		mailOpts = &smtp.MailOptions{UTF8: true}
	}
	if err := c.Mail(env.From, mailOpts); err != nil {
		return true, s.classify("MAIL FROM:<"+env.From+">", err)
	}

	var accepted []string
	var refused []RecipientError
	for _, rcpt := range env.To {
		err := c.Rcpt(rcpt, nil)
		if err == nil {
			accepted = append(accepted, rcpt)
			continue
		}
		cerr := s.classify("RCPT TO:<"+rcpt+">", err)
		if !usable(err) {
			// The connection is gone; nobody got anything.
			return false, cerr
		}
		refused = append(refused, RecipientError{Recipient: rcpt, Err: cerr})
	}
	if len(accepted) == 0 {
		// Leave no half transaction behind; the next Send's RSET would
		// do the same, but a failing RSET here tells us the state early.
		if err := c.Reset(); err != nil {
			s.drop("RSET after refused recipients: " + err.Error())
		}
		return false, &RecipientErrors{Refused: refused}
	}

	resp, err := s.data(sc, msg)
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

// data sends DATA, streams msg and returns the relay's reply text.
func (s *SMTP) data(sc *smtpConn, msg io.Reader) (string, error) {
	w, err := sc.c.Data()
	if err != nil {
		return "", s.classify("DATA", err)
	}
	src := &readErrReader{r: msg}
	// go-smtp sets no deadline while the body is written; without one a
	// relay that stops reading would hang the sender loop forever.
	dst := &deadlineWriter{w: w, conn: sc.raw, timeout: s.opts.Timeout}
	if _, err := s.bufs.Copy(dst, src); err != nil {
		// The dot was never sent: the connection is mid-DATA and useless.
		s.drop("message write failed")
		if src.err != nil {
			return "", fault.Temporaryf("mailout: reading the message for %s: %w", s.addr, src.err)
		}
		return "", fault.Temporaryf("mailout: writing the message to smtp relay %s: %w", s.addr, err)
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", s.classify("end of DATA", err)
	}
	return resp.StatusText, nil
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

// readErrReader remembers a read error so a failed copy can say whether
// the message source or the relay broke.
type readErrReader struct {
	r   io.Reader
	err error
}

func (r *readErrReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// deadlineWriter extends the write deadline before each write, so a large
// message may take long overall as long as the relay keeps reading.
type deadlineWriter struct {
	w       io.Writer
	conn    net.Conn
	timeout time.Duration
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	if err := d.conn.SetWriteDeadline(time.Now().Add(d.timeout)); err != nil {
		return 0, err
	}
	return d.w.Write(p)
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
