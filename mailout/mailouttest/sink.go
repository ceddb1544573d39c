// Package mailouttest runs an in-process SMTP server (go-smtp) on a loopback
// port that records every message it accepts, for tests of code that sends
// mail: the mailout transports and the daemon's end-to-end tests.
//
// A Sink can speak plain SMTP, STARTTLS or implicit TLS with a certificate
// made at run time (trust it through RootCAs), can demand AUTH PLAIN with
// fixed credentials, can answer chosen 4xx/5xx replies at MAIL, RCPT or DATA,
// counts TCP connections (to prove connection reuse) and can be restarted on
// the same address (to kill a client's cached connection).
//
//	sink := mailouttest.NewSink(t, mailouttest.Options{TLS: mailouttest.StartTLS})
//	// point the code under test at sink.Host(), sink.Port(), sink.RootCAs()
//	msgs, err := sink.WaitFor(1, 5*time.Second)
package mailouttest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLSMode is how the sink offers TLS.
type TLSMode int

const (
	// NoTLS serves plain SMTP and does not offer STARTTLS.
	NoTLS TLSMode = iota
	// StartTLS serves plain SMTP and offers STARTTLS.
	StartTLS
	// ImplicitTLS expects a TLS handshake as soon as a client connects
	// (port 465 style).
	ImplicitTLS
)

// String returns the mode as the config spells it (none, starttls, tls).
func (m TLSMode) String() string {
	switch m {
	case NoTLS:
		return "none"
	case StartTLS:
		return "starttls"
	case ImplicitTLS:
		return "tls"
	}
	return fmt.Sprintf("TLSMode(%d)", int(m))
}

// Options configures a Sink.
type Options struct {
	TLS TLSMode
	// Username, when set, makes the sink offer AUTH PLAIN and answer MAIL
	// with 530 until a client authenticated as Username with Password.
	// Over NoTLS the sink offers AUTH without TLS (it only listens on
	// loopback); with StartTLS it offers AUTH only after STARTTLS, as real
	// relays do.
	Username string
	Password string
	// MaxMessageBytes is advertised as SIZE; bigger messages get 552.
	// Zero means no limit.
	MaxMessageBytes int64
	// HeaderOnly keeps only the header block of each message in Data
	// (Size still counts the whole), for tests that send thousands of
	// large messages.
	HeaderOnly bool
}

// Message is one message the sink accepted (answered 250 after DATA).
type Message struct {
	// From is the MAIL FROM address ("" for the null sender).
	From string
	// To holds the accepted RCPT TO addresses in order.
	To []string
	// Data is the message exactly as received, dot-unstuffed (only its
	// header block with Options.HeaderOnly).
	Data []byte
	// Size is the length of the whole message as received.
	Size int
	// Hello is the name the client gave in its last EHLO/HELO.
	Hello string
	// User is the authenticated user name, "" without AUTH.
	User string
	// TLS reports whether the message travelled over TLS.
	TLS bool
	// Conn is the number of the TCP connection that carried the message,
	// counting from 1 in accept order across restarts.
	Conn int
}

// Stage is a point in the SMTP transaction where a reply can be injected.
type Stage int

const (
	// AtMail answers the MAIL FROM command.
	AtMail Stage = iota + 1
	// AtRcpt answers a RCPT TO command.
	AtRcpt
	// AtData answers the end of the message data (after the final dot).
	AtData
)

func (st Stage) String() string {
	switch st {
	case AtMail:
		return "MAIL"
	case AtRcpt:
		return "RCPT"
	case AtData:
		return "DATA"
	}
	return fmt.Sprintf("Stage(%d)", int(st))
}

// injected is a reply to give instead of success, remaining more times.
type injected struct {
	remaining int
	reply     *smtp.SMTPError
}

// Sink is a running SMTP server that records messages. All methods are
// safe for concurrent use.
type Sink struct {
	opts    Options
	addr    string
	tlsConf *tls.Config // nil for NoTLS
	roots   *x509.CertPool

	// life serialises Restart and Close.
	life   sync.Mutex
	server *smtp.Server
	// ln is closed by us as well as by server.Close, because a Close that
	// comes before Serve registered the listener would otherwise leave
	// Serve blocked in Accept.
	ln        net.Listener
	serveDone chan struct{}
	closed    bool

	mu       sync.Mutex
	messages []Message
	// changed is closed and replaced whenever a message is recorded or a
	// transaction held, so
	// WaitFor can sleep without polling.
	changed chan struct{}
	conns   int
	// transcript is the raw protocol in both directions, all connections.
	transcript bytes.Buffer
	fail       map[Stage]*injected
	reject     map[string]*smtp.SMTPError
	// held maps a held recipient to the channel Release closes; released
	// is closed when the sink stops, so no session stays blocked.
	held     map[string]chan struct{}
	released chan struct{}
	waiting  int
}

// NewSink starts a sink on 127.0.0.1 with a free port. It fails tb if the
// sink cannot start and closes the sink when the test ends.
func NewSink(tb testing.TB, opts Options) *Sink {
	tb.Helper()
	s, err := Start(opts)
	if err != nil {
		tb.Fatalf("mailouttest: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// Start starts a sink on 127.0.0.1 with a free port. The caller must Close
// it. Tests usually want NewSink.
func Start(opts Options) (*Sink, error) {
	s := &Sink{
		opts:     opts,
		changed:  make(chan struct{}),
		fail:     make(map[Stage]*injected),
		reject:   make(map[string]*smtp.SMTPError),
		held:     make(map[string]chan struct{}),
		released: make(chan struct{}),
	}
	if opts.TLS != NoTLS {
		cert, pool, err := selfSigned()
		if err != nil {
			return nil, err
		}
		s.tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.roots = pool
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	return s, nil
}

// serve starts a fresh go-smtp server on ln; a closed smtp.Server cannot be
// reused, so Restart comes through here too.
func (s *Sink) serve(ln net.Listener) {
	var l net.Listener = &countingListener{Listener: ln, sink: s}
	if s.opts.TLS == ImplicitTLS {
		l = tls.NewListener(l, s.tlsConf)
	}
	srv := smtp.NewServer(&backend{sink: s})
	srv.Domain = "sink.localhost"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = s.opts.MaxMessageBytes
	srv.EnableSMTPUTF8 = true
	srv.AllowInsecureAuth = s.opts.TLS == NoTLS
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.Debug = transcriptWriter{s}
	if s.opts.TLS == StartTLS {
		srv.TLSConfig = s.tlsConf
	}
	done := make(chan struct{})
	s.server = srv
	s.ln = ln
	s.serveDone = done
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
}

// Addr is the host:port the sink listens on.
func (s *Sink) Addr() string { return s.addr }

// Host is the IP the sink listens on (127.0.0.1).
func (s *Sink) Host() string {
	host, _, _ := net.SplitHostPort(s.addr)
	return host
}

// Port is the TCP port the sink listens on.
func (s *Sink) Port() int {
	tcp, err := net.ResolveTCPAddr("tcp", s.addr)
	if err != nil {
		return 0
	}
	return tcp.Port
}

// RootCAs holds the sink's self-signed certificate, for a client's
// tls.Config.RootCAs. It is nil for NoTLS.
func (s *Sink) RootCAs() *x509.CertPool { return s.roots }

// Messages returns a copy of the messages accepted so far, in order.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneMessages(s.messages)
}

// WaitFor waits until at least n messages were accepted and returns all of
// them, or returns what arrived so far and an error after timeout.
func (s *Sink) WaitFor(n int, timeout time.Duration) ([]Message, error) {
	msgs, err := s.WaitUntil(func(m []Message) bool { return len(m) >= n }, timeout)
	if err != nil {
		return msgs, fmt.Errorf("mailouttest: %d of %d messages after %v", len(msgs), n, timeout)
	}
	return msgs, nil
}

// WaitUntil waits until cond holds for the messages received so far,
// looking again at every new message, and returns them; after timeout it
// returns what it has with an error. cond must not change the messages it
// is shown.
func (s *Sink) WaitUntil(cond func([]Message) bool, timeout time.Duration) ([]Message, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		msgs, changed := s.snapshot()
		if cond(msgs) {
			return cloneMessages(msgs), nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return s.Messages(), fmt.Errorf("mailouttest: condition not met after %v", timeout)
		}
	}
}

// Connections is the number of TCP connections accepted so far, across
// restarts.
func (s *Sink) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Transcript returns the SMTP conversation so far, both directions and all
// connections interleaved as they happened (message data and AUTH
// exchanges included), for asserting on commands such as EHLO, RSET or QUIT.
func (s *Sink) Transcript() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transcript.String()
}

// WaitMessage waits until an accepted message matches and returns it, or
// returns an error after timeout.
func (s *Sink) WaitMessage(match func(Message) bool, timeout time.Duration) (Message, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		msgs, changed := s.snapshot()
		for _, m := range msgs {
			if match(m) {
				return cloneMessages([]Message{m})[0], nil
			}
		}
		select {
		case <-changed:
		case <-timer.C:
			return Message{}, fmt.Errorf("mailouttest: no matching message among %d after %v", len(msgs), timeout)
		}
	}
}

// WaitTranscript waits until the SMTP conversation contains substr (a
// command the client sends after the server already answered the last
// message, such as QUIT, reaches the transcript only when the sink reads
// it) and returns the transcript, or an error after timeout.
func (s *Sink) WaitTranscript(substr string, timeout time.Duration) (string, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		tr := s.transcript.String()
		changed := s.changed
		s.mu.Unlock()
		if strings.Contains(tr, substr) {
			return tr, nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return tr, fmt.Errorf("mailouttest: %q not in the transcript after %v", substr, timeout)
		}
	}
}

// FailNext makes the sink answer reply instead of success the next n times
// a transaction reaches stage: n MAIL commands, n RCPT commands (each
// recipient counts) or n message transfers (the data is read to the end
// first, then refused and not recorded). It replaces an earlier FailNext
// for the same stage; n = 0 cancels it.
func (s *Sink) FailNext(stage Stage, n int, reply *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		delete(s.fail, stage)
		return
	}
	s.fail[stage] = &injected{remaining: n, reply: reply}
}

// RejectRecipient makes every RCPT TO for addr (compared case-insensitively)
// get reply until the sink is closed; a nil reply lifts the rejection.
func (s *Sink) RejectRecipient(addr string, reply *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(addr)
	if reply == nil {
		delete(s.reject, key)
		return
	}
	s.reject[key] = reply
}

// Hold makes every transaction with addr among its recipients wait after
// the final dot, without an answer, until Release(addr) or Close: a relay
// that hangs on some mail while it answers other connections at once.
func (s *Sink) Hold(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(addr)
	if s.held[key] == nil {
		s.held[key] = make(chan struct{})
	}
}

// Release lets the transactions held for addr go on (and be accepted);
// later ones are no longer held.
func (s *Sink) Release(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(addr)
	if ch := s.held[key]; ch != nil {
		close(ch)
		delete(s.held, key)
	}
}

// Held counts the transactions waiting in Hold now.
func (s *Sink) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting
}

// WaitHeld waits until n transactions are held (Hold) at once.
func (s *Sink) WaitHeld(n int, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		waiting, changed := s.waiting, s.changed
		s.mu.Unlock()
		if waiting >= n {
			return nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return fmt.Errorf("mailouttest: %d of %d transactions held after %v", waiting, n, timeout)
		}
	}
}

// hold blocks while one of to is held.
func (s *Sink) hold(to []string) {
	for _, addr := range to {
		s.mu.Lock()
		ch := s.held[strings.ToLower(addr)]
		if ch != nil {
			s.waiting++
			close(s.changed)
			s.changed = make(chan struct{})
		}
		s.mu.Unlock()
		if ch == nil {
			continue
		}
		select {
		case <-ch:
		case <-s.released:
		}
		s.mu.Lock()
		s.waiting--
		s.mu.Unlock()
	}
}

// Restart closes the server, dropping every open connection the way a
// relay restart would, and listens again on the same address. Recorded
// messages, counters and injected replies are kept.
func (s *Sink) Restart() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return errors.New("mailouttest: restart after Close")
	}
	s.stop()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.closed = true
		return fmt.Errorf("mailouttest: listen again on %s: %w", s.addr, err)
	}
	s.serve(ln)
	return nil
}

// Close stops the server and drops its connections; afterwards connecting
// to Addr is refused. Calling it again does nothing.
func (s *Sink) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.released)
	s.stop()
	return nil
}

// stop closes the listener and every connection and waits for Serve to
// return.
func (s *Sink) stop() {
	_ = s.server.Close()
	_ = s.ln.Close()
	<-s.serveDone
}

// take consumes one injected reply for stage, if any is left.
func (s *Sink) take(stage Stage) *smtp.SMTPError {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fail[stage]
	if f == nil {
		return nil
	}
	f.remaining--
	if f.remaining <= 0 {
		delete(s.fail, stage)
	}
	return f.reply
}

func (s *Sink) rejection(addr string) *smtp.SMTPError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reject[strings.ToLower(addr)]
}

func (s *Sink) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

// snapshot returns the messages so far without copying them (they are
// only ever appended, and a recorded one is never changed: the slice is
// capped, so a later append cannot write into it) and the channel closed
// at the next one. A waiter looks at every new message, so copying them
// all each time made a wait for n messages cost n² copies under the lock
// the SMTP sessions need.
func (s *Sink) snapshot() ([]Message, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messages[:len(s.messages):len(s.messages)], s.changed
}

func cloneMessages(in []Message) []Message {
	out := make([]Message, len(in))
	for i, m := range in {
		m.To = slices.Clone(m.To)
		m.Data = slices.Clone(m.Data)
		out[i] = m
	}
	return out
}

type transcriptWriter struct{ sink *Sink }

func (w transcriptWriter) Write(p []byte) (int, error) {
	w.sink.mu.Lock()
	defer w.sink.mu.Unlock()
	n, err := w.sink.transcript.Write(p)
	close(w.sink.changed)
	w.sink.changed = make(chan struct{})
	return n, err
}

// countingListener numbers accepted connections so that messages can say
// which connection carried them.
type countingListener struct {
	net.Listener
	sink *Sink
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.sink.mu.Lock()
	l.sink.conns++
	id := l.sink.conns
	l.sink.mu.Unlock()
	return &numberedConn{Conn: c, id: id}, nil
}

type numberedConn struct {
	net.Conn
	id int
}

// connID finds the connection number under any TLS layers.
func connID(c net.Conn) int {
	for {
		switch v := c.(type) {
		case *numberedConn:
			return v.id
		case *tls.Conn:
			c = v.NetConn()
		default:
			return 0
		}
	}
}

type backend struct{ sink *Sink }

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{sink: b.sink, conn: c}, nil
}

// session is one client's SMTP session; go-smtp makes a new one after
// STARTTLS, which also forgets AUTH, as RFC 3207 requires.
type session struct {
	sink *Sink
	conn *smtp.Conn

	user string
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string {
	if s.sink.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.sink.opts.Username == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			return smtp.ErrAuthFailed
		}
		if username != s.sink.opts.Username || password != s.sink.opts.Password {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.sink.opts.Username != "" && s.user == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	if reply := s.sink.take(AtMail); reply != nil {
		return reply
	}
	s.from = from
	s.to = nil
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if reply := s.sink.rejection(to); reply != nil {
		return reply
	}
	if reply := s.sink.take(AtRcpt); reply != nil {
		return reply
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		// go-smtp's size limit error carries its own 552 reply.
		return err
	}
	s.sink.hold(s.to)
	if reply := s.sink.take(AtData); reply != nil {
		return reply
	}
	_, isTLS := s.conn.TLSConnectionState()
	size := len(data)
	if s.sink.opts.HeaderOnly {
		if i := bytes.Index(data, []byte("\r\n\r\n")); i >= 0 {
			data = slices.Clone(data[:i+4])
		}
	}
	s.sink.record(Message{
		From:  s.from,
		To:    slices.Clone(s.to),
		Data:  data,
		Size:  size,
		Hello: s.conn.Hostname(),
		User:  s.user,
		TLS:   isTLS,
		Conn:  connID(s.conn.Conn()),
	})
	return nil
}

// Reset ends the transaction but keeps the authentication, as RSET and
// EHLO do on real servers.
func (s *session) Reset() {
	s.from = ""
	s.to = nil
}

func (s *session) Logout() error { return nil }
