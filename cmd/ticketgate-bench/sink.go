package main

import (
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/internal/lowprio"
	"github.com/ticketgate/ticketgate/message"
	"github.com/ticketgate/ticketgate/msgid"
	"github.com/ticketgate/ticketgate/store"
)

// Outbound is one message the daemon handed to the sink.
type Outbound struct {
	At        time.Time
	MailFrom  string
	Rcpts     []string
	MessageID string
	InReplyTo string
	Subject   string
	// Bytes is the size of the body after the header; Done when the
	// last of it arrived (At is when the header did).
	Bytes int64
	Done  time.Time
}

// Sink is the SMTP relay the daemon sends its outbound mail to (its
// outbound.smtp points here). Every message is parsed for its headers and
// passed to the tracker, which matches auto-replies to the inbound mail
// that caused them.
type Sink struct {
	srv *smtp.Server
	ln  net.Listener

	mu      sync.Mutex
	handler func(*Outbound)
	// watch sees every message too, whoever else handles it (a fanout
	// run counts its large copies while a load run tracks the rest).
	watch func(*Outbound)
	count int
	first time.Time
	last  time.Time
}

// StartSink listens on addr ("127.0.0.1:0" for any port).
func StartSink(addr string) (*Sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	s := &Sink{ln: ln}
	srv := smtp.NewServer(sinkBackend{s})
	srv.Domain = "sink.bench"
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = 64 << 20
	srv.MaxRecipients = 1000
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	s.srv = srv
	go srv.Serve(ln)
	return s, nil
}

// Addr is the host:port the sink listens on.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Host and Port split Addr for a daemon config.
func (s *Sink) Host() string { return s.ln.Addr().(*net.TCPAddr).IP.String() }

// Port is the sink's TCP port.
func (s *Sink) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Close stops the sink.
func (s *Sink) Close() error { return s.srv.Close() }

func (s *Sink) setWatch(w func(*Outbound)) {
	s.mu.Lock()
	s.watch = w
	s.mu.Unlock()
}

func (s *Sink) setHandler(h func(*Outbound)) {
	s.mu.Lock()
	s.handler = h
	s.mu.Unlock()
}

// stats returns how many messages arrived and the first and last arrival.
func (s *Sink) stats() (int, time.Time, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count, s.first, s.last
}

func (s *Sink) reset() {
	s.mu.Lock()
	s.count, s.first, s.last = 0, time.Time{}, time.Time{}
	s.mu.Unlock()
}

func (s *Sink) deliver(o *Outbound) {
	s.mu.Lock()
	s.count++
	if s.first.IsZero() {
		s.first = o.At
	}
	s.last = o.At
	h, w := s.handler, s.watch
	s.mu.Unlock()
	if h != nil {
		h(o)
	}
	if w != nil {
		w(o)
	}
}

type sinkBackend struct{ s *Sink }

func (b sinkBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &sinkSession{s: b.s}, nil
}

type sinkSession struct {
	s    *Sink
	from string
	to   []string
	buf  []byte // discard's, kept for the session's next mail
}

func (ss *sinkSession) AuthMechanisms() []string { return nil }

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from, ss.to = from, nil
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	h, err := message.ReadHeader(r)
	at := time.Now()
	o := &Outbound{At: at, MailFrom: ss.from, Rcpts: ss.to}
	if err == nil {
		o.MessageID = msgid.Canonical(h.Get("Message-ID"))
		o.InReplyTo = msgid.Canonical(h.Get("In-Reply-To"))
		o.Subject = message.DecodeWords(h.Get("Subject"))
	}
	if ss.buf == nil {
		ss.buf = make([]byte, 64<<10)
	}
	o.Bytes = discard(r, ss.buf)
	o.Done = time.Now()
	ss.s.deliver(o)
	return nil
}

func (ss *sinkSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *sinkSession) Logout() error { return nil }

// largeMail is where the tool goes on at lower priority, reading (the
// sink) or writing (sendPrepared) a mail: where the daemon does too.
const largeMail = store.LargeBlobMin

// discard reads r to its end and returns how many bytes it read, a
// buffer at a time, letting the tool's other goroutines run between
// reads, and past largeMail bytes on a thread of lower priority (as the
// daemon spools a large message). go-smtp's DATA reader goes a byte at a
// time: a 20 MB copy took one of the two CPUs for about 80 ms, which a
// relay on another machine would not take from the daemon, and the
// clients' and the sink's timestamps of the small requests meanwhile
// waited up to the Go scheduler's 10 ms time slice at each step (the
// fanout measured the tool itself).
func discard(r io.Reader, buf []byte) int64 {
	n, _ := lowprio.CopyPast(largeMail, yielder{}, r, func(w io.Writer, r io.Reader) (int64, error) {
		return io.CopyBuffer(w, r, buf)
	})
	return n
}

// yielder discards what is written to it and lets other goroutines run.
type yielder struct{}

func (yielder) Write(p []byte) (int, error) {
	runtime.Gosched()
	return len(p), nil
}
