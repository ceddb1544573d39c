package mailout

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// fakeRelay is a line-based SMTP server on a loopback port for the cases
// go-smtp's server cannot play: a relay without PIPELINING, replies
// chosen per command (multi-line ones, 421 anywhere, a DATA accepted
// although no recipient was), a connection closed in the middle of a
// pipelined batch, data after the STARTTLS reply.
//
// It checks the client's side of RFC 2920 strictly: without PIPELINING a
// command that arrives before the reply to the one before it is an error
// of the test; with PIPELINING the replies to MAIL and RCPT are held back
// until DATA arrives, so a client that waited for each reply would never
// get one.
type fakeRelay struct {
	t  *testing.T
	ln net.Listener
	// ext are the EHLO keywords; extTLS replaces them after STARTTLS when
	// set.
	ext, extTLS []string
	// greeting is the first reply; default "220 fake.test ESMTP".
	greeting string
	// reply, when set, may answer a command line (without CRLF; "." for
	// the end of the data) instead of the default: a whole reply with its
	// CRLFs, or "CLOSE" to hang up without one. "" keeps the default.
	reply func(conn int, line string) string
	cert  *tls.Certificate
	// sequential: although PIPELINING is offered, the client is expected
	// to wait for each reply (and replies come at once).
	sequential bool

	mu    sync.Mutex
	conns int
	// lines are the client's command lines (data excluded), in order.
	lines []fakeLine
	msgs  []fakeMessage
	open  map[net.Conn]bool
	wg    sync.WaitGroup
}

type fakeLine struct {
	conn int
	line string
}

// fakeMessage is a message the fake relay accepted.
type fakeMessage struct {
	conn int
	from string
	to   []string
	// wire is the data as the client sent it, dot-stuffed, final dot
	// included; data is it unstuffed, without the final dot.
	wire, data []byte
	tls        bool
}

func newFakeRelay(t *testing.T, ext ...string) *fakeRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRelay{t: t, ln: ln, ext: ext, open: map[net.Conn]bool{}}
	t.Cleanup(f.close)
	return f
}

// withTLS makes the relay offer STARTTLS with a fresh certificate, and
// returns the pool that trusts it.
func (f *fakeRelay) withTLS(t *testing.T) *x509.CertPool {
	cert, pool, err := mailouttest.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	f.cert = &cert
	f.ext = append(f.ext, "STARTTLS")
	return pool
}

func (f *fakeRelay) close() {
	f.ln.Close()
	f.mu.Lock()
	for c := range f.open {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *fakeRelay) port() int { return f.ln.Addr().(*net.TCPAddr).Port }

// transport starts serving (the relay's settings are fixed from now on)
// and returns an SMTP transport for it.
func (f *fakeRelay) transport(t *testing.T, edit func(*SMTPOptions)) *SMTP {
	f.wg.Go(f.accept)
	opts := SMTPOptions{Host: "127.0.0.1", Port: f.port(), TLS: TLSNone, HelloName: "gateway.test", Timeout: 5 * time.Second}
	if edit != nil {
		edit(&opts)
	}
	s := NewSMTP(opts, testLogger(t))
	t.Cleanup(func() { s.Close() })
	return s
}

func (f *fakeRelay) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns++
		id := f.conns
		f.open[c] = true
		f.mu.Unlock()
		f.wg.Go(func() {
			defer func() {
				f.mu.Lock()
				delete(f.open, c)
				f.mu.Unlock()
				c.Close()
			}()
			f.session(id, c)
		})
	}
}

func (f *fakeRelay) connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns
}

func (f *fakeRelay) messages() []fakeMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeMessage(nil), f.msgs...)
}

// commands returns the command lines of connection conn.
func (f *fakeRelay) commands(conn int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.lines {
		if l.conn == conn {
			out = append(out, l.line)
		}
	}
	return out
}

// session serves one connection until the client quits or hangs up.
func (f *fakeRelay) session(id int, c net.Conn) {
	r := bufio.NewReader(c)
	var out bytes.Buffer // replies held back (pipelining) or about to go
	send := func() bool {
		_, err := c.Write(out.Bytes())
		out.Reset()
		return err == nil
	}
	greeting := f.greeting
	if greeting == "" {
		greeting = "220 fake.test ESMTP\r\n"
	}
	out.WriteString(greeting)
	if !send() || strings.HasPrefix(greeting, "421") {
		return
	}
	ext, isTLS := f.ext, false
	pipelining := func() bool {
		if f.sequential {
			return false
		}
		for _, e := range ext {
			if e == "PIPELINING" {
				return true
			}
		}
		return false
	}
	var msg *fakeMessage // the transaction under way
	accepted := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\r\n")
		f.mu.Lock()
		f.lines = append(f.lines, fakeLine{conn: id, line: line})
		f.mu.Unlock()
		verb := strings.ToUpper(line)
		if i := strings.IndexAny(verb, " :"); i >= 0 {
			verb = verb[:i]
		}
		batchable := verb == "MAIL" || verb == "RCPT"
		if r.Buffered() > 0 && !(batchable && pipelining()) {
			f.t.Errorf("connection %d: the client sent more after %q before its reply: %q", id, line, peek(r))
		}
		reply := ""
		if f.reply != nil {
			reply = f.reply(id, line)
		}
		if reply == "CLOSE" {
			send()
			return
		}
		if reply == "" {
			switch verb {
			case "EHLO":
				reply = "250-fake.test greets you\r\n"
				for i, e := range ext {
					sep := "-"
					if i == len(ext)-1 {
						sep = " "
					}
					reply += "250" + sep + e + "\r\n"
				}
				if len(ext) == 0 {
					reply = "250 fake.test greets you\r\n"
				}
			case "HELO", "NOOP":
				reply = "250 fake.test\r\n"
			case "RSET":
				reply = "250 2.0.0 OK\r\n"
			case "MAIL":
				if msg != nil {
					reply = "503 5.5.1 nested MAIL\r\n"
				} else {
					reply = "250 2.1.0 OK\r\n"
				}
			case "RCPT":
				if msg == nil {
					reply = "503 5.5.1 MAIL first\r\n"
				} else {
					reply = "250 2.1.5 OK\r\n"
				}
			case "DATA":
				switch {
				case msg == nil:
					reply = "503 5.5.1 MAIL first\r\n"
				case accepted == 0:
					reply = "554 5.5.1 no valid recipients\r\n"
				default:
					reply = "354 go ahead\r\n"
				}
			case "STARTTLS":
				reply = "220 2.0.0 ready for TLS\r\n"
			case "QUIT":
				reply = "221 2.0.0 bye\r\n"
			default:
				reply = "502 5.5.2 what?\r\n"
			}
		}
		code := reply[:3]
		switch verb {
		case "MAIL":
			if code == "250" {
				from := strings.TrimPrefix(line, "MAIL FROM:<")
				from, _, _ = strings.Cut(from, ">")
				msg, accepted = &fakeMessage{conn: id, from: from, tls: isTLS}, 0
			}
		case "RCPT":
			if msg != nil && code[0] == '2' {
				to := strings.TrimPrefix(line, "RCPT TO:<")
				to, _, _ = strings.Cut(to, ">")
				msg.to = append(msg.to, to)
				accepted++
			}
		case "RSET", "EHLO", "HELO":
			msg = nil
		}
		out.WriteString(reply)
		if code == "421" {
			send() // and hang up, the rest unanswered
			return
		}
		if batchable && pipelining() {
			continue // held until DATA (or another command) comes
		}
		if !send() || verb == "QUIT" {
			return
		}
		switch {
		case verb == "DATA" && code == "354":
			wire, data, err := readData(r)
			if err != nil {
				return
			}
			final := ""
			if f.reply != nil {
				final = f.reply(id, ".")
			}
			if final == "CLOSE" {
				return
			}
			if final == "" {
				final = "250 2.0.0 queued as 1\r\n"
			}
			if final[0] == '2' && msg != nil && accepted > 0 {
				m := *msg
				m.wire, m.data = wire, data
				f.mu.Lock()
				f.msgs = append(f.msgs, m)
				f.mu.Unlock()
			}
			msg = nil
			out.WriteString(final)
			if !send() || strings.HasPrefix(final, "421") {
				return
			}
		case verb == "DATA":
			// The transaction stays until RSET, as in Postfix.
		case verb == "STARTTLS" && code == "220":
			if f.cert == nil {
				f.t.Errorf("STARTTLS accepted without a certificate")
				return
			}
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{*f.cert}, MinVersion: tls.VersionTLS12})
			if err := tc.Handshake(); err != nil {
				return
			}
			c, r, isTLS = tc, bufio.NewReader(tc), true
			if f.extTLS != nil {
				ext = f.extTLS
			}
			msg = nil
		}
	}
}

// peek shows what is buffered, for an error message.
func peek(r *bufio.Reader) string {
	b, _ := r.Peek(r.Buffered())
	return string(b)
}

// readData reads message data up to the final dot.
func readData(r *bufio.Reader) (wire, data []byte, err error) {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return nil, nil, err
		}
		wire = append(wire, line...)
		if string(line) == ".\r\n" {
			return wire, data, nil
		}
		if line[0] == '.' {
			line = line[1:]
		}
		data = append(data, line...)
	}
}
