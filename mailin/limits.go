package mailin

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// What a limitedConn is reading.
const (
	readingCommands = iota // command lines
	readingData            // a DATA message, up to <CRLF>.<CRLF>
	readingChunk           // a BDAT chunk of known size
)

// States of the DATA end-of-message detector; the same machine as
// go-smtp's data reader, so both agree on where the message ends.
const (
	dataBeginLine = iota
	dataDot
	dataDotCR
	dataCR
	dataMiddle
)

// verbPrefix is how much of a command line is kept to recognise its verb
// and a BDAT size.
const verbPrefix = 32

// limitedConn is an accepted connection as go-smtp sees it. It follows the
// dialogue at the byte level to apply what go-smtp cannot: a small limit
// on command lines but none on message lines beyond the message size; an
// idle limit that only moving a message along resets; and a repaired end of
// DATA — go-smtp's reader loses the line end after a stray CR ("\r\r\n.\r\n"
// would never end the message), so a CR directly followed by another CR
// reaches it as a space (a bare CR is not allowed in mail anyway).
type limitedConn struct {
	net.Conn
	s    *Server
	ip   string
	once sync.Once

	mu      sync.Mutex
	mode    int
	lineLen int
	verb    []byte // the start of the current command line
	chunk   int64  // BDAT bytes still to come
	dstate  int    // end-of-DATA detector
	heldCR  bool   // a CR at the end of the last read, not yet passed on
	// owed: the end of a message (DATA's <CRLF>.<CRLF>, a BDAT chunk) was
	// read and its reply may not be written yet; go-smtp reads the next
	// command only after replying, so the next Read clears it. Until
	// then a shutdown must not take the connection for idle.
	owed     bool
	progress time.Time
	done     error // once set, every read returns it
}

// Close forgets the connection once.
func (c *limitedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		if c.ip != "" {
			if c.s.perIP[c.ip]--; c.s.perIP[c.ip] <= 0 {
				delete(c.s.perIP, c.ip)
			}
		}
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// Write notices the 354 that starts a message: what follows is message
// data until <CRLF>.<CRLF>, read under the transfer's own deadline.
func (c *limitedConn) Write(b []byte) (int, error) {
	if bytes.HasPrefix(b, []byte("354 ")) || bytes.Contains(b, []byte("\n354 ")) {
		c.mu.Lock()
		c.mode, c.dstate = readingData, dataBeginLine
		c.mu.Unlock()
		c.Conn.SetReadDeadline(time.Now().Add(c.s.srv.ReadTimeout))
	}
	return c.Conn.Write(b)
}

// SetReadDeadline keeps go-smtp's per-command deadline from outliving the
// idle limit while commands are read.
func (c *limitedConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	if idle := c.s.opts.IdleTimeout; idle > 0 && c.mode == readingCommands && !t.IsZero() {
		if lim := c.progress.Add(idle); lim.Before(t) {
			t = lim
		}
	}
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

// Read is called by one goroutine at a time (go-smtp's buffered reader);
// the mutex guards the state Write and SetReadDeadline share, and is not
// held while the read waits, so a shutdown can still write 421.
func (c *limitedConn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	c.mu.Lock()
	done := c.done
	if c.mode == readingCommands {
		c.owed = false
	}
	c.mu.Unlock()
	if done != nil {
		return 0, done
	}
	for {
		start := 0
		c.mu.Lock()
		if c.heldCR {
			b[0] = '\r'
			start = 1
			c.heldCR = false
			if len(b) == 1 {
				// No room to look further: pass the CR on as it is.
				_, ferr := c.scan(b[:1], false)
				c.mu.Unlock()
				return 1, ferr
			}
		}
		c.mu.Unlock()
		n, err := c.Conn.Read(b[start:])
		if n < 0 {
			n = 0
		}
		n += start
		if n == 0 {
			return 0, err
		}
		c.mu.Lock()
		n, ferr := c.scan(b[:n], err == nil)
		if ferr != nil {
			c.done = ferr
		}
		c.mu.Unlock()
		if ferr != nil {
			return 0, ferr
		}
		if n > 0 || err != nil {
			return n, err
		}
		// Only a held-back CR came in: read on.
	}
}

// scan applies the limits to the n bytes just read and returns how many
// to pass on (a trailing CR inside a message may be held back until the
// next byte shows whether it was stray).
func (c *limitedConn) scan(b []byte, more bool) (int, error) {
	for i := 0; i < len(b); i++ {
		switch c.mode {
		case readingChunk:
			k := int64(len(b) - i)
			if k > c.chunk {
				k = c.chunk
			}
			c.chunk -= k
			i += int(k) - 1
			if c.chunk == 0 {
				c.mode, c.progress, c.owed = readingCommands, time.Now(), true
			}
		case readingData:
			if c.dstate == dataMiddle {
				// Inside a line only a CR changes anything (the
				// detector's state, a stray CR): go to the next one.
				j := bytes.IndexByte(b[i:], '\r')
				if j < 0 {
					i = len(b)
					continue
				}
				i += j
			}
			ch := b[i]
			if ch == '\r' {
				if i+1 == len(b) && more {
					c.heldCR = true
					return i, nil
				}
				if i+1 < len(b) && b[i+1] == '\r' {
					b[i], ch = ' ', ' '
				}
			}
			// No line limit here: a message line is limited only by
			// the message size (inbound.max_line_length is checked by
			// the pipeline, which keeps the message for the agents).
			if c.endOfData(ch) {
				c.mode, c.lineLen, c.verb, c.progress, c.owed = readingCommands, 0, c.verb[:0], time.Now(), true
			}
		default:
			if err := c.commandByte(b[i]); err != nil {
				return 0, err // io.EOF: the connection is done
			}
		}
	}
	return len(b), nil
}

// endOfData steps the end-of-message detector (go-smtp's machine).
func (c *limitedConn) endOfData(ch byte) bool {
	switch c.dstate {
	case dataBeginLine:
		switch ch {
		case '.':
			c.dstate = dataDot
		case '\r':
			c.dstate = dataCR
		default:
			c.dstate = dataMiddle
		}
	case dataDot:
		if ch == '\r' {
			c.dstate = dataDotCR
		} else {
			c.dstate = dataMiddle
		}
	case dataDotCR:
		if ch == '\n' {
			return true
		}
		c.dstate = dataMiddle
	case dataCR:
		if ch == '\n' {
			c.dstate = dataBeginLine
		} else {
			c.dstate = dataMiddle
		}
	case dataMiddle:
		if ch == '\r' {
			c.dstate = dataCR
		}
	}
	return false
}

// commandByte counts one byte of a command line; at its end it notes
// progress and BDAT chunks.
func (c *limitedConn) commandByte(ch byte) error {
	if ch != '\n' {
		c.lineLen++
		if max := c.s.opts.MaxCommandLine; max > 0 && c.lineLen > max {
			c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
			io.WriteString(c.Conn, "500 5.5.2 Line too long\r\n")
			return io.EOF
		}
		if len(c.verb) < verbPrefix {
			c.verb = append(c.verb, ch)
		}
		return nil
	}
	line := bytes.ToUpper(bytes.TrimRight(c.verb, "\r"))
	c.lineLen, c.verb = 0, c.verb[:0]
	verb, arg, _ := bytes.Cut(line, []byte(" "))
	switch string(verb) {
	case "MAIL", "RCPT", "DATA":
		c.progress = time.Now()
	case "BDAT":
		c.progress = time.Now()
		size, _, _ := bytes.Cut(bytes.TrimSpace(arg), []byte(" "))
		// go-smtp reads the chunk whatever it answers, once the size
		// parses (as here).
		if n, err := strconv.ParseUint(string(size), 10, 32); err == nil && n > 0 {
			c.mode, c.chunk = readingChunk, int64(n)
			c.Conn.SetReadDeadline(time.Now().Add(c.s.srv.ReadTimeout))
		}
	}
	return nil
}

// replyOwed reports whether the client still waits for the answer to a
// message it sent (see owed).
func (c *limitedConn) replyOwed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.owed
}
