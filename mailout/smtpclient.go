package mailout

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// smtpClient is the client side of one SMTP connection (RFC 5321) to the
// relay: the greeting, EHLO (HELO for a relay that knows no EHLO),
// STARTTLS, AUTH, the commands of a mail transaction and the message data.
// SMTP drives it; it knows nothing of envelopes or retries.
//
// It replaces go-smtp's client for sending because that one can neither
// pipeline (RFC 2920: MAIL, RCPT and DATA in one write, their replies read
// in order, instead of a round trip each) nor write the message data other
// than a byte at a time through net/textproto's dot writer, which cost
// about 130k instructions per auto-reply. Relay replies still come back as
// go-smtp's *smtp.SMTPError, which the rest of the daemon classifies.
type smtpClient struct {
	// raw is the TCP connection under any TLS: the close on cancellation
	// acts on it. conn is raw or the *tls.Conn over it.
	raw   net.Conn
	conn  net.Conn
	isTLS bool
	r     *bufio.Reader
	w     *bufio.Writer
	// timeout bounds every write and the wait for every batch of replies.
	timeout time.Duration
	// ext holds the EHLO keywords in upper case with their parameters;
	// nil after HELO or before EHLO.
	ext map[string]string
	// text is the last reply's text, its lines joined by "\n" (as
	// net/textproto joins them), reused from reply to reply.
	text []byte
	// broken: an I/O or protocol error happened, or the relay said 421:
	// the connection is in no known state and must not be used again.
	broken bool
	dot    dotWriter
	// body is the buffer the message is read into, made at the first
	// message.
	body []byte
	// closeRaw is raw.Close, made once: a Send hands it to
	// context.AfterFunc.
	closeRaw func()
}

// Buffer sizes: a reply line longer than smtpReadBuffer is a protocol
// error (RFC 5321 allows 512 bytes); the write buffer holds a typical
// message whole, so its data and the final dot leave in one write.
const (
	smtpReadBuffer  = 4 << 10
	smtpWriteBuffer = 16 << 10
	smtpBodyBuffer  = 16 << 10
	// maxReplyBytes bounds a multi-line reply, so a relay cannot make us
	// buffer without end.
	maxReplyBytes = 64 << 10
)

// newSMTPClient wraps an open connection (TCP or implicit TLS over raw).
func newSMTPClient(raw, conn net.Conn, timeout time.Duration) *smtpClient {
	c := &smtpClient{raw: raw, timeout: timeout}
	c.closeRaw = func() { raw.Close() }
	c.r = bufio.NewReaderSize(nil, smtpReadBuffer)
	c.w = bufio.NewWriterSize(nil, smtpWriteBuffer)
	c.setConn(conn)
	c.dot.w = c.w
	return c
}

func (c *smtpClient) setConn(conn net.Conn) {
	c.conn = conn
	_, c.isTLS = conn.(*tls.Conn)
	c.r.Reset(conn)
	c.w.Reset(deadlineConn{conn: conn, timeout: c.timeout})
}

// close closes the connection without QUIT.
func (c *smtpClient) close() error {
	c.broken = true
	return c.conn.Close()
}

// deadlineConn extends the write deadline before each write, so a large
// message may take long overall as long as the relay keeps reading, and a
// relay that stops reading cannot hang the sender.
type deadlineConn struct {
	conn    net.Conn
	timeout time.Duration
}

func (d deadlineConn) Write(p []byte) (int, error) {
	if err := d.conn.SetWriteDeadline(time.Now().Add(d.timeout)); err != nil {
		return 0, err
	}
	return d.conn.Write(p)
}

// has reports whether the relay announced the EHLO keyword ext (upper
// case).
func (c *smtpClient) has(ext string) bool {
	_, ok := c.ext[ext]
	return ok
}

// flush sends what is buffered and starts the wait for its replies.
func (c *smtpClient) flush() error {
	if err := c.w.Flush(); err != nil {
		c.broken = true
		return err
	}
	if err := c.conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		c.broken = true
		return err
	}
	return nil
}

// command buffers one command line made of parts (no CR or LF in them:
// the callers' inputs are checked before).
func (c *smtpClient) command(parts ...string) {
	for _, p := range parts {
		c.w.WriteString(p)
	}
	c.w.WriteString("\r\n")
}

// cmd sends one command and reads its reply, which must match want (see
// codeMatches).
func (c *smtpClient) cmd(want int, parts ...string) error {
	c.command(parts...)
	if err := c.flush(); err != nil {
		return err
	}
	return c.expect(want)
}

// expect reads one reply: nil when its code matches want, the relay's
// *smtp.SMTPError when it does not, or the I/O or protocol error.
func (c *smtpClient) expect(want int) error {
	code, err := c.readReply()
	if err != nil {
		return err
	}
	if !codeMatches(code, want) {
		return c.replyError(code)
	}
	return nil
}

// codeMatches checks a reply code as net/textproto does (and go-smtp's
// client did): want 0 takes any code, one digit the class, two digits the
// class and category, three digits exactly that code.
func codeMatches(code, want int) bool {
	switch {
	case want <= 0:
		return true
	case want < 10:
		return code/100 == want
	case want < 100:
		return code/10 == want
	default:
		return code == want
	}
}

// readReply reads one reply, possibly of several lines, into c.text and
// returns its code. A malformed reply, a line too long or an I/O error
// leaves the connection broken; so does a 421, which announces the close.
func (c *smtpClient) readReply() (int, error) {
	c.text = c.text[:0]
	code := 0
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			c.broken = true
			switch {
			case errors.Is(err, bufio.ErrBufferFull):
				return 0, fmt.Errorf("smtp relay sent a reply line longer than %d bytes", smtpReadBuffer)
			case errors.Is(err, io.EOF):
				return 0, fmt.Errorf("smtp relay closed the connection: %w", io.ErrUnexpectedEOF)
			}
			return 0, err
		}
		line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
		lc, more, text, ok := parseReplyLine(line)
		if code == 0 {
			if !ok {
				c.broken = true
				return 0, fmt.Errorf("smtp relay sent a malformed reply %q", line)
			}
			code = lc
			c.text = append(c.text, text...)
		} else {
			// As net/textproto: a continuation line with another code or
			// no code is kept whole, and the reply goes on.
			c.text = append(c.text, '\n')
			if !ok || lc != code {
				c.text = append(c.text, line...)
				more = true
			} else {
				c.text = append(c.text, text...)
			}
		}
		if len(c.text) > maxReplyBytes {
			c.broken = true
			return 0, fmt.Errorf("smtp relay sent a reply longer than %d bytes", maxReplyBytes)
		}
		if !more {
			break
		}
	}
	if code == 421 {
		c.broken = true
	}
	return code, nil
}

// parseReplyLine splits "250-text", "250 text" or "250" into code, whether
// more lines follow, and text.
func parseReplyLine(line []byte) (code int, more bool, text []byte, ok bool) {
	if len(line) < 3 {
		return 0, false, nil, false
	}
	for _, d := range line[:3] {
		if d < '0' || d > '9' {
			return 0, false, nil, false
		}
		code = code*10 + int(d-'0')
	}
	if code < 100 {
		return 0, false, nil, false
	}
	if len(line) == 3 {
		return code, false, nil, true
	}
	switch line[3] {
	case ' ':
		return code, false, line[4:], true
	case '-':
		return code, true, line[4:], true
	}
	return 0, false, nil, false
}

// replyError turns the reply just read into go-smtp's *smtp.SMTPError,
// with the enhanced status code (RFC 2034) taken off the text the way
// go-smtp's client did, so that messages and codes read as before.
func (c *smtpClient) replyError(code int) *smtp.SMTPError {
	msg := string(c.text)
	se := &smtp.SMTPError{Code: code, Message: msg}
	first, rest, found := strings.Cut(msg, " ")
	if !found {
		return se
	}
	enh, ok := parseEnhancedCode(first)
	if !ok {
		return se
	}
	se.EnhancedCode = enh
	// Each line repeats the enhanced code; keep it once.
	se.Message = strings.ReplaceAll(rest, "\n"+first+" ", "\n")
	return se
}

func parseEnhancedCode(s string) (smtp.EnhancedCode, bool) {
	var code smtp.EnhancedCode
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return code, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return code, false
		}
		code[i] = n
	}
	return code, true
}

// greet reads the relay's greeting.
func (c *smtpClient) greet() error {
	return c.expect(220)
}

// hello sends EHLO, or HELO when the relay does not know EHLO (500 or
// 502), and records the extensions the relay announces.
func (c *smtpClient) hello(name string) error {
	err := c.cmd(250, "EHLO ", name)
	if err == nil {
		c.ext = parseEHLO(c.text)
		return nil
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) && (se.Code == 500 || se.Code == 502) {
		c.ext = nil
		return c.cmd(250, "HELO ", name)
	}
	return err
}

// parseEHLO reads the keywords of an EHLO reply (its first line is the
// relay's name). Keywords are case-insensitive (RFC 5321 2.4): they are
// kept in upper case.
func parseEHLO(text []byte) map[string]string {
	ext := make(map[string]string)
	lines := strings.Split(string(text), "\n")
	for _, l := range lines[1:] {
		kw, param, _ := strings.Cut(l, " ")
		if kw != "" {
			ext[strings.ToUpper(kw)] = param
		}
	}
	return ext
}

// errNoStartTLS: the relay does not announce STARTTLS although the
// configuration demands it.
var errNoStartTLS = errors.New("smtp relay does not offer STARTTLS")

// startTLS sends STARTTLS and runs the TLS handshake (RFC 3207). The
// caller says EHLO again afterwards: what the relay announced in the clear
// is forgotten.
func (c *smtpClient) startTLS(ctx context.Context, cfg *tls.Config) (handshake bool, err error) {
	if !c.has("STARTTLS") {
		return false, errNoStartTLS
	}
	if err := c.cmd(220, "STARTTLS"); err != nil {
		return false, err
	}
	if c.r.Buffered() > 0 {
		// Anything the relay (or a man in the middle) sent after the 220
		// would be taken as coming through TLS.
		c.broken = true
		return false, errors.New("smtp relay sent data after its STARTTLS reply")
	}
	tc := tls.Client(c.raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.broken = true
		return true, err
	}
	c.setConn(tc)
	c.ext = nil
	return false, nil
}

// supportsAuth reports whether the relay offers the SASL mechanism mech.
func (c *smtpClient) supportsAuth(mech string) bool {
	mechs, ok := c.ext["AUTH"]
	if !ok {
		return false
	}
	for m := range strings.FieldsSeq(mechs) {
		if strings.EqualFold(m, mech) {
			return true
		}
	}
	return false
}

// auth runs the SASL exchange of AUTH (RFC 4954) with a, an initial
// response included in the command as go-smtp's client did.
func (c *smtpClient) auth(a sasl.Client) error {
	enc := base64.StdEncoding
	mech, resp, err := a.Start()
	if err != nil {
		return err
	}
	c.w.WriteString("AUTH ")
	c.w.WriteString(mech)
	if resp != nil {
		c.w.WriteByte(' ')
		if len(resp) == 0 {
			c.w.WriteByte('=')
		} else {
			c.w.WriteString(enc.EncodeToString(resp))
		}
	}
	c.w.WriteString("\r\n")
	for {
		if err := c.flush(); err != nil {
			return err
		}
		code, err := c.readReply()
		if err != nil {
			return err
		}
		switch code {
		case 235:
			return nil
		case 334:
		default:
			return c.replyError(code)
		}
		challenge, err := enc.DecodeString(string(c.text))
		if err == nil {
			resp, err = a.Next(challenge)
		}
		if err != nil {
			// Cancel the exchange (RFC 4954 4), then report why.
			_ = c.cmd(0, "*")
			return err
		}
		c.command(enc.EncodeToString(resp))
	}
}

// reset sends RSET: whatever transaction was under way is forgotten.
func (c *smtpClient) reset() error {
	return c.cmd(250, "RSET")
}

// quit sends QUIT and closes the connection whatever the answer.
func (c *smtpClient) quit() error {
	err := c.cmd(221, "QUIT")
	if cerr := c.close(); err == nil {
		err = cerr
	}
	return err
}

// mail buffers MAIL FROM with the parameters go-smtp's client sent:
// BODY=8BITMIME when the relay offers it, SMTPUTF8 when the envelope
// needs it.
func (c *smtpClient) mail(from string, utf8 bool) {
	c.w.WriteString("MAIL FROM:<")
	c.w.WriteString(from)
	c.w.WriteByte('>')
	if c.has("8BITMIME") {
		c.w.WriteString(" BODY=8BITMIME")
	}
	if utf8 {
		c.w.WriteString(" SMTPUTF8")
	}
	c.w.WriteString("\r\n")
}

// rcpt buffers RCPT TO.
func (c *smtpClient) rcpt(to string) {
	c.w.WriteString("RCPT TO:<")
	c.w.WriteString(to)
	c.w.WriteString(">\r\n")
}

// skipReplies reads n replies whose commands no longer matter (they were
// pipelined behind a MAIL the relay refused); should the last be DATA's
// 354, an empty message ends the data at once. It stops at a broken
// connection.
func (c *smtpClient) skipReplies(n int) {
	for i := 0; i < n && !c.broken; i++ {
		if _, err := c.readReply(); err != nil {
			return
		}
	}
	if !c.broken {
		c.abortData()
	}
}

// abortData reads DATA's reply, pipelined after recipients that were all
// refused. A relay that answers 354 anyway gets an empty message (the
// final dot alone: data must follow a 354, and it has nobody to go to),
// which it refuses for want of recipients; its reply is read and
// ignored.
func (c *smtpClient) abortData() {
	code, err := c.readReply()
	if err != nil || code != 354 {
		return
	}
	c.w.WriteString(".\r\n")
	if c.flush() != nil {
		return
	}
	_, _ = c.readReply()
}

// writeBody streams msg as the message data: dot-stuffed, line ends as
// net/textproto's DotWriter makes them, ended by the final dot, and
// flushed. A failure leaves the connection broken (mid-DATA, the dot never
// sent); readErr tells a failure to read msg from one to write to the
// relay.
func (c *smtpClient) writeBody(msg io.Reader) (readErr, err error) {
	if c.body == nil {
		c.body = make([]byte, smtpBodyBuffer)
	}
	c.dot.state = wstateBegin
	c.dot.err = nil
	for {
		n, rerr := msg.Read(c.body)
		if n > 0 {
			if _, err := c.dot.Write(c.body[:n]); err != nil {
				c.broken = true
				return nil, err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			c.broken = true
			return rerr, rerr
		}
	}
	c.dot.close()
	return nil, c.flush()
}

// States of dotWriter, as net/textproto's.
const (
	wstateBegin     = iota // nothing written yet
	wstateBeginLine        // at the beginning of a line
	wstateCR               // wrote \r (possibly at the end of a line)
	wstateData             // in the middle of a line
)

// dotWriter writes message data for DATA (RFC 5321 4.5.2): a line that
// starts with "." gets another one, a bare LF becomes CRLF, and close ends
// the data with CRLF.CRLF (adding the CRLF the data lacks). It produces
// exactly the bytes net/textproto's DotWriter does (FuzzDotWriter holds it
// to that), but copies runs of ordinary lines whole instead of a byte at a
// time.
type dotWriter struct {
	w     *bufio.Writer
	state int
	err   error
}

func (d *dotWriter) Write(b []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	run := 0 // b[run:i] is still to be written unchanged
	i := 0
	for i < len(b) {
		switch d.state {
		case wstateBegin, wstateBeginLine:
			d.state = wstateData
			if b[i] == '.' {
				d.write(b[run:i])
				d.w.WriteByte('.')
				run = i // the line's own dot follows
			}
		case wstateCR:
			// The byte after a CR is taken as it is, even a CR or an LF
			// (which then ends the line).
			d.state = wstateData
			if b[i] == '\n' {
				d.state = wstateBeginLine
			}
			i++
			continue
		}
		// In a line (state data from b[i]): find its end. What a CR does
		// depends only on the run of CRs it is in: the first of a run,
		// and every second one after it, has the byte after it taken as
		// it is. So an LF after a run of odd length ends the line as it
		// stands, and one after a run of even length (none included) is
		// bare and gets a CR; CRs elsewhere in the line change nothing.
		rest := b[i:]
		lf := bytes.IndexByte(rest, '\n')
		if lf < 0 {
			if oddCRRun(rest) {
				d.state = wstateCR // the next byte is taken as it is
			}
			break // the rest of b is written unchanged below
		}
		if oddCRRun(rest[:lf]) {
			i += lf + 1
		} else {
			d.write(b[run : i+lf])
			d.w.WriteString("\r\n")
			i += lf + 1
			run = i
		}
		d.state = wstateBeginLine
	}
	d.write(b[run:])
	if d.err != nil {
		return 0, d.err
	}
	return len(b), nil
}

// oddCRRun reports whether p ends in a run of CRs of odd length.
func oddCRRun(p []byte) bool {
	n := 0
	for i := len(p) - 1; i >= 0 && p[i] == '\r'; i-- {
		n++
	}
	return n%2 == 1
}

func (d *dotWriter) write(p []byte) {
	if len(p) == 0 || d.err != nil {
		return
	}
	if _, err := d.w.Write(p); err != nil {
		d.err = err
	}
}

// close writes the end of the data; the caller flushes.
func (d *dotWriter) close() {
	switch d.state {
	case wstateBeginLine:
		d.w.WriteString(".\r\n")
	case wstateCR:
		d.w.WriteString("\n.\r\n")
	default:
		d.w.WriteString("\r\n.\r\n")
	}
}
