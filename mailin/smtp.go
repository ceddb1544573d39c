// Package mailin brings mail in: the SMTP/LMTP listener that hands each
// message to a Receiver (the ingest pipeline) and answers only after it is
// stored, and the client side of the local LMTP socket used by `ticketgate
// deliver`. Reading the mail itself is package message's.
package mailin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/fault"
)

// Envelope is what the SMTP/LMTP dialogue (or another source) says about a
// message besides its bytes.
type Envelope struct {
	// Source is smtp, lmtp, pipe (the local deliver socket) or imap.
	Source string
	// RemoteIP is the connecting relay's address (nil for a unix socket).
	RemoteIP net.IP
	// Trusted is true when the message came over a local unix socket
	// (lmtp.sock, a unix: listener), from an IMAP account, or from a TCP
	// peer listed in inbound.auth_results_from: only then do
	// Authentication-Results headers from trusted authserv-ids count. Being
	// allowed to connect (trusted_relays) is not enough.
	Trusted bool
	// MailFrom is the envelope sender; "" for the null sender <>.
	MailFrom string
	// NullSender is true when MAIL FROM was <> (as opposed to unknown).
	NullSender bool
	Rcpts      []string
	// Quiet records the mail but sends nothing because of it (adopting an
	// existing mailbox with IMAP start: all-quiet).
	Quiet bool
	// Oversize is the size of a message the IMAP source found over
	// inbound.max_message_bytes and did not download: it hands over only
	// the header with a note, which is stored for the agents and refused.
	Oversize int64
}

// Receiver is what the listener hands mail to.
type Receiver interface {
	// CheckRecipient vets one RCPT TO address; an error is the SMTP reply
	// (use *smtp.SMTPError for a precise code).
	CheckRecipient(ctx context.Context, rcpt string) error
	// Receive stores the message read from r for every recipient and
	// returns one error per recipient (nil = stored durably). It must read
	// r to the end or fail.
	Receive(ctx context.Context, env *Envelope, r io.Reader) []error
}

// ServerOptions configures a listener.
type ServerOptions struct {
	LMTP   bool
	Domain string
	// MaxMessageBytes limits a message; nothing here limits its lines
	// (HTML mail with an inline data: image is one long line).
	MaxMessageBytes int64
	MaxRecipients   int
	Limits
	// Trusted decides whether a TCP peer may talk to us at all; unix
	// socket peers always may.
	Trusted func(ip net.IP) bool
	// AuthResults decides whether a TCP peer's Authentication-Results
	// headers count (Envelope.Trusted); nil: none do. Unix socket peers'
	// always count: the socket's file mode decides who may connect.
	AuthResults func(ip net.IP) bool
	// Source labels messages from this listener (smtp, lmtp, pipe).
	Source string
	// Sessions, when set, is incremented and decremented as sessions
	// open and close (for metrics).
	Sessions *atomic.Int64
	// Pace, when set, is called before a MAIL command is accepted; it may
	// hold the session a while so the intake keeps pace with the outbound
	// sender (package flow). It never refuses.
	Pace func(ctx context.Context)
	// OnSession, when set, is told of every session attempt: "accepted",
	// "untrusted" (refused relay) or "shutting_down" (for metrics).
	OnSession func(result string)
}

// Limits bound what one listener's peers can hold: connections, time,
// command lines and message transfers. Zero values mean no limit.
type Limits struct {
	// MaxConnections bounds the connections open at once on the listener;
	// MaxConnectionsPerIP those from one address. Over either, a new
	// connection is answered 421 and closed at accept.
	MaxConnections      int
	MaxConnectionsPerIP int
	// MaxCommandLine bounds a command line outside a message transfer;
	// longer → 500 5.5.2 and the connection is closed.
	MaxCommandLine int
	// IdleTimeout closes a session that has not moved a message along
	// (MAIL, RCPT, DATA, BDAT) for this long: NOOP, RSET and the like do
	// not count.
	IdleTimeout time.Duration
	// MaxConcurrentData bounds the message transfers in progress at once;
	// a further DATA waits up to DataSlotWait for a slot, then gets
	// 451 4.3.2.
	MaxConcurrentData int
	DataSlotWait      time.Duration
}

// Server is one SMTP or LMTP listener.
type Server struct {
	srv  *smtp.Server
	opts ServerOptions
	recv Receiver
	log  *slog.Logger
	// dataSlots holds one token per message transfer in progress (nil:
	// unbounded).
	dataSlots chan struct{}

	// ctx is cancelled when the server aborts what is still in flight.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	stopping bool
	inflight int                   // deliveries in progress
	conns    map[net.Conn]*session // every accepted connection; session once EHLO created one
	perIP    map[string]int        // open connections by remote address
}

// NewServer returns a listener that hands mail to recv.
func NewServer(opts ServerOptions, recv Receiver, log *slog.Logger) *Server {
	s := &Server{opts: opts, recv: recv, log: log, conns: map[net.Conn]*session{}, perIP: map[string]int{}}
	if opts.MaxConcurrentData > 0 {
		s.dataSlots = make(chan struct{}, opts.MaxConcurrentData)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.LMTP = opts.LMTP
	srv.Domain = opts.Domain
	srv.MaxMessageBytes = opts.MaxMessageBytes
	// go-smtp's own limit counts every line alike, message lines too, and
	// a long one ends in a temporary error the sender retries for days.
	// limitedConn applies a command line limit instead.
	srv.MaxLineLength = 0
	srv.MaxRecipients = opts.MaxRecipients
	srv.ReadTimeout = 5 * time.Minute
	srv.WriteTimeout = time.Minute
	srv.EnableSMTPUTF8 = true
	srv.EnableBINARYMIME = false
	srv.ErrorLog = slogErrorLog{log}
	s.srv = srv
	return s
}

type slogErrorLog struct{ log *slog.Logger }

func (l slogErrorLog) Printf(format string, v ...any) { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l slogErrorLog) Println(v ...any)               { l.log.Warn(fmt.Sprint(v...)) }

// Serve accepts connections on ln until Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error {
	err := s.srv.Serve(&trackingListener{Listener: ln, s: s})
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting, lets deliveries in progress finish until ctx
// ends, then aborts the rest: their senders get 421 and retry later. Idle
// connections (MTAs keep them open for reuse) are told 421 and closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	srvDone := make(chan struct{})
	go func() {
		// Closes the listeners, then waits for every connection to end.
		s.srv.Shutdown(context.Background())
		close(srvDone)
	}()
	var err error
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		s.mu.Lock()
		n := s.inflight
		s.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			err = ctx.Err()
			break wait
		}
	}
	s.cancel()
	// Aborted deliveries see the cancelled context and answer 421; give
	// them a moment to say so before their connections close.
	s.waitInflight(time.Second)
	s.closeConns()
	<-srvDone
	return err
}

// waitInflight waits, at most max, until no message is being received
// and every message received has been answered: a delivery's Data
// returns before go-smtp writes its reply.
func (s *Server) waitInflight(max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		n := s.inflight
		for c := range s.conns {
			if lc, ok := c.(*limitedConn); ok && lc.replyOwed() {
				n++
			}
		}
		s.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *Server) closeConns() {
	type victim struct {
		c    net.Conn
		idle bool
	}
	var vs []victim
	s.mu.Lock()
	for c, sess := range s.conns {
		// A connection that owes a reply is not idle: a 421 written now
		// would reach the client before the 250 of the mail it sent.
		owed := false
		if lc, ok := c.(*limitedConn); ok {
			owed = lc.replyOwed()
		}
		vs = append(vs, victim{c, (sess == nil || !sess.busy.Load()) && !owed})
	}
	s.mu.Unlock()
	for _, v := range vs {
		if v.idle {
			v.c.SetWriteDeadline(time.Now().Add(time.Second))
			io.WriteString(v.c, "421 4.3.2 Service shutting down, try again later\r\n")
		}
		v.c.Close()
	}
}

// trackingListener records every accepted connection (go-smtp creates a
// session only at EHLO, and shutdown must also reach connections that never
// got that far) and turns away, at accept, peers that may not talk to us and
// connections over the limits: an untrusted peer holds no file descriptor
// beyond the moment it takes to say so.
type trackingListener struct {
	net.Listener
	s *Server
}

func (l *trackingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tc := l.s.admit(c); tc != nil {
			return tc, nil
		}
	}
}

// admit wraps an accepted connection, or answers and closes it when it may
// not stay (and returns nil).
func (s *Server) admit(c net.Conn) net.Conn {
	ip := ""
	var result, reply string
	if tcp, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ip = tcp.IP.String()
		if s.opts.Trusted != nil && !s.opts.Trusted(tcp.IP) {
			result, reply = "untrusted", "554 5.7.1 This server only accepts mail from its configured relays"
		}
	}
	s.mu.Lock()
	switch {
	case reply != "":
	case s.opts.MaxConnections > 0 && len(s.conns) >= s.opts.MaxConnections:
		result, reply = "too_many", "421 4.7.0 Too many connections, try again later"
	case ip != "" && s.opts.MaxConnectionsPerIP > 0 && s.perIP[ip] >= s.opts.MaxConnectionsPerIP:
		result, reply = "too_many", "421 4.7.0 Too many connections from your address, try again later"
	}
	var tc *limitedConn
	if reply == "" {
		tc = &limitedConn{Conn: c, s: s, ip: ip, progress: time.Now()}
		s.conns[tc] = nil
		if ip != "" {
			s.perIP[ip]++
		}
	}
	s.mu.Unlock()
	if tc != nil {
		return tc
	}
	s.log.Warn("connection refused at accept", "remote", c.RemoteAddr().String(), "reason", result)
	if s.opts.OnSession != nil {
		s.opts.OnSession(result)
	}
	// A fresh socket's send buffer is empty: this write does not wait for
	// the peer, and the deadline makes sure of it.
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	io.WriteString(c, reply+"\r\n")
	c.Close()
	return nil
}

// Close stops at once, dropping connections.
func (s *Server) Close() error {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	s.cancel()
	s.closeConns()
	err := s.srv.Close()
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	sess := &session{s: s, env: Envelope{Source: s.opts.Source}}
	// Fails closed: only a unix socket peer or a listed TCP peer may
	// bring Authentication-Results that prove a sender.
	_, sess.env.Trusted = c.Conn().RemoteAddr().(*net.UnixAddr)
	if tcp, ok := c.Conn().RemoteAddr().(*net.TCPAddr); ok {
		sess.env.Trusted = s.opts.AuthResults != nil && s.opts.AuthResults(tcp.IP)
		sess.env.RemoteIP = tcp.IP
	}
	// Who may connect at all was decided at accept (admit).
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		if s.opts.OnSession != nil {
			s.opts.OnSession("shutting_down")
		}
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Service shutting down, try again later"}
	}
	if _, tracked := s.conns[c.Conn()]; tracked {
		s.conns[c.Conn()] = sess
	}
	s.mu.Unlock()
	if s.opts.Sessions != nil {
		s.opts.Sessions.Add(1)
	}
	if s.opts.OnSession != nil {
		s.opts.OnSession("accepted")
	}
	return sess, nil
}

type session struct {
	s    *Server
	env  Envelope
	busy atomic.Bool // inside DATA: a reply will follow, don't write 421
}

func (ss *session) Reset() {
	ss.env = Envelope{Source: ss.env.Source, RemoteIP: ss.env.RemoteIP, Trusted: ss.env.Trusted}
}

func (ss *session) Logout() error {
	if ss.s.opts.Sessions != nil {
		ss.s.opts.Sessions.Add(-1)
	}
	return nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Pace != nil {
		ss.s.opts.Pace(ss.s.ctx)
	}
	ss.env.MailFrom = from
	ss.env.NullSender = from == ""
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.s.recv.CheckRecipient(ss.s.ctx, to); err != nil {
		return err
	}
	ss.env.Rcpts = append(ss.env.Rcpts, to)
	return nil
}

// Data answers for all recipients at once (SMTP): 250 only when every
// recipient's copy is durable; any temporary failure makes the whole
// message retried, and the copies already stored are then recognised as
// duplicates.
func (ss *session) Data(r io.Reader) error {
	errs := ss.receive(r)
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// LMTPData answers per recipient.
func (ss *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	errs := ss.receive(r)
	for i, rcpt := range ss.env.Rcpts {
		status.SetStatus(rcpt, errs[i])
	}
	return nil
}

func (ss *session) receive(r io.Reader) []error {
	ss.s.mu.Lock()
	if ss.s.stopping && ss.s.ctx.Err() != nil {
		ss.s.mu.Unlock()
		io.Copy(io.Discard, r)
		errs := make([]error, len(ss.env.Rcpts))
		for i := range errs {
			errs[i] = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Shutting down, try again later"}
		}
		return errs
	}
	ss.s.inflight++
	ss.busy.Store(true)
	ss.s.mu.Unlock()
	defer func() {
		ss.busy.Store(false)
		ss.s.mu.Lock()
		ss.s.inflight--
		ss.s.mu.Unlock()
	}()
	if release, ok := ss.s.dataSlot(); ok {
		defer release()
	} else {
		errs := make([]error, len(ss.env.Rcpts))
		for i := range errs {
			errs[i] = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Too many messages in transfer, try again later"}
		}
		return errs
	}
	env := ss.env
	errs := ss.s.recv.Receive(ss.s.ctx, &env, r)
	if len(errs) != len(env.Rcpts) {
		// A receiver bug must not turn into lost mail: make them retry.
		errs = make([]error, len(env.Rcpts))
		for i := range errs {
			errs[i] = fault.Temporaryf("receiver returned no verdict")
		}
	}
	for i, err := range errs {
		errs[i] = ss.reply(err)
	}
	return errs
}

// dataSlot waits for a free message transfer slot (up to DataSlotWait,
// while the sender's bytes wait in its socket, not in our memory).
func (s *Server) dataSlot() (release func(), ok bool) {
	if s.dataSlots == nil {
		return func() {}, true
	}
	wait := s.opts.DataSlotWait
	if wait <= 0 {
		wait = 30 * time.Second
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s.dataSlots <- struct{}{}:
		return func() { <-s.dataSlots }, true
	case <-t.C:
		s.log.Warn("message transfer refused: every transfer slot is busy", "max", cap(s.dataSlots))
		return nil, false
	case <-s.ctx.Done():
		return nil, false
	}
}

// reply maps an internal error to an SMTP reply. A plain error from Data
// would become go-smtp's permanent 554: storage problems must be 451 so the
// sending MTA retries, and an abort at shutdown is 421.
func (ss *session) reply(err error) error {
	if err == nil {
		return nil
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se
	}
	if errors.Is(err, smtp.ErrDataTooLarge) {
		return smtp.ErrDataTooLarge
	}
	if ss.s.ctx.Err() != nil {
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Shutting down, try again later"}
	}
	if fault.IsTemporary(err) {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary storage problem, try again later"}
	}
	// Even a permanent internal failure gets 451: the raw message is kept
	// by the receiver when it can be, and a retry loses nothing, whereas a
	// 5xx would bounce a customer's mail for our own fault.
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Could not process the message, try again later"}
}
