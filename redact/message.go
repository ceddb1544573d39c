package redact

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"path"
	"regexp"
	"strings"

	"github.com/ticketgate/ticketgate/message"
)

// lineBuf is the longest line Message reads at once; a longer line is
// handled in pieces (a Writer keeps enough back to see a key split
// between them).
const lineBuf = 64 << 10

// maxField bounds one header field kept whole to be decoded; a longer one
// is passed through the byte redactor as it is.
const maxField = 256 << 10

// Message copies the raw message r to w with every key re matches
// redacted: in header fields (RFC 2047 words decoded; a field with a key
// is rewritten, the others are copied byte for byte), in the bodies of
// text-like parts (base64 and quoted-printable decoded, redacted and
// encoded again; other parts as they are), in nested messages
// (message/rfc822) and in preambles and epilogues. Structure, boundaries
// and binary parts (TextLike false) are kept as received. With a nil re
// it copies r unchanged. It streams: memory does not grow with the
// message.
func Message(w io.Writer, r io.Reader, re *regexp.Regexp) error {
	if re == nil {
		_, err := io.Copy(w, r)
		return err
	}
	m := &rewriter{re: re, out: w, br: bufio.NewReaderSize(r, lineBuf)}
	return m.run()
}

// part is what the rewriter knows of the entity it is in.
type part struct {
	// header: reading its header; field collects the field being read.
	header bool
	field  []byte
	ctype  string
	params map[string]string
	cte    string
	fname  string
}

type rewriter struct {
	re  *regexp.Regexp
	out io.Writer
	br  *bufio.Reader
	// bounds are the boundaries of the open multiparts, outermost first.
	bounds []string
	cur    part
	// body receives the current body (or preamble/epilogue) lines.
	body io.WriteCloser
	eol  string
}

func (m *rewriter) run() error {
	m.cur = part{header: true}
	for {
		line, err := m.br.ReadSlice('\n')
		if len(line) > 0 {
			if m.eol == "" && bytes.HasSuffix(line, []byte("\n")) {
				m.eol = "\n"
				if bytes.HasSuffix(line, []byte("\r\n")) {
					m.eol = "\r\n"
				}
			}
			if perr := m.line(line, err == nil); perr != nil {
				return perr
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			return m.end()
		}
		if err != nil {
			return err
		}
	}
}

// end finishes what is open at the end of the input.
func (m *rewriter) end() error {
	if m.cur.header {
		if err := m.flushField(); err != nil {
			return err
		}
	}
	return m.closeBody()
}

func (m *rewriter) closeBody() error {
	if m.body == nil {
		return nil
	}
	err := m.body.Close()
	m.body = nil
	return err
}

// line handles one line (whole: it ends in \n) or a piece of a long one.
func (m *rewriter) line(l []byte, whole bool) error {
	if whole && len(m.bounds) > 0 && bytes.HasPrefix(l, []byte("--")) {
		if i, closing := m.boundary(l); i >= 0 {
			if m.cur.header {
				// A part that ends inside its header.
				if err := m.flushField(); err != nil {
					return err
				}
			}
			if err := m.closeBody(); err != nil {
				return err
			}
			if _, err := m.out.Write(l); err != nil {
				return err
			}
			m.bounds = m.bounds[:i+1]
			if closing {
				// The epilogue: text of the enclosing part.
				m.bounds = m.bounds[:i]
				m.body = m.textBody("")
				return nil
			}
			m.cur = part{header: true}
			return nil
		}
	}
	if m.cur.header {
		return m.headerLine(l, whole)
	}
	if m.body == nil {
		m.body = m.textBody("")
	}
	_, err := m.body.Write(l)
	return err
}

// boundary reports which open multipart's delimiter l is (-1: none) and
// whether it closes it.
func (m *rewriter) boundary(l []byte) (int, bool) {
	s := strings.TrimRight(string(l[2:]), " \t\r\n")
	for i := len(m.bounds) - 1; i >= 0; i-- {
		b := m.bounds[i]
		if s == b {
			return i, false
		}
		if s == b+"--" {
			return i, true
		}
	}
	return -1, false
}

func (m *rewriter) headerLine(l []byte, whole bool) error {
	blank := whole && len(bytes.TrimRight(l, "\r\n")) == 0
	folded := len(l) > 0 && (l[0] == ' ' || l[0] == '\t')
	if (!folded || blank) && len(m.cur.field) > 0 && !m.continuing() {
		if err := m.flushField(); err != nil {
			return err
		}
	}
	if blank {
		if _, err := m.out.Write(l); err != nil {
			return err
		}
		return m.startBody()
	}
	m.cur.field = append(m.cur.field, l...)
	if len(m.cur.field) > maxField {
		return m.flushField()
	}
	return nil
}

// continuing: the field being read is a long line read in pieces.
func (m *rewriter) continuing() bool {
	return !bytes.HasSuffix(m.cur.field, []byte("\n"))
}

// flushField writes the field being read: unchanged when it holds no
// key, rewritten with its value redacted when it does.
func (m *rewriter) flushField() error {
	f := m.cur.field
	m.cur.field = nil
	if len(f) == 0 {
		return nil
	}
	colon := bytes.IndexByte(f, ':')
	if colon <= 0 || len(f) > maxField {
		w := NewWriter(m.out, m.re)
		if _, err := w.Write(f); err != nil {
			return err
		}
		return w.Close()
	}
	name := string(bytes.TrimSpace(f[:colon]))
	raw := string(f[colon+1:])
	unfolded := strings.TrimSpace(strings.NewReplacer("\r\n", "", "\n", "").Replace(raw))
	switch strings.ToLower(name) {
	case "content-type":
		ct, params, err := mime.ParseMediaType(unfolded)
		if err != nil {
			ct, params = looseMediaType(unfolded)
		}
		m.cur.ctype, m.cur.params = strings.ToLower(ct), params
		if n := params["name"]; n != "" && m.cur.fname == "" {
			m.cur.fname = n
		}
	case "content-transfer-encoding":
		m.cur.cte = strings.ToLower(strings.TrimSpace(unfolded))
	case "content-disposition":
		if _, params, err := mime.ParseMediaType(unfolded); err == nil && params["filename"] != "" {
			m.cur.fname = params["filename"]
		}
	}
	decoded := message.DecodeWords(unfolded)
	if !m.re.MatchString(decoded) && !m.re.MatchString(unfolded) && !m.re.Match(f) {
		_, err := m.out.Write(f)
		return err
	}
	v := String(m.re, decoded)
	if !isASCII(v) {
		v = mime.QEncoding.Encode("utf-8", v)
	}
	eol := m.eol
	if eol == "" {
		eol = "\r\n"
	}
	_, err := fmt.Fprintf(m.out, "%s: %s%s", name, v, eol)
	return err
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

var looseBoundary = regexp.MustCompile(`(?i)boundary\s*=\s*"?([^";\s]+)"?`)

// looseMediaType reads what it can of a Content-Type mime cannot parse.
func looseMediaType(v string) (string, map[string]string) {
	ct, _, _ := strings.Cut(v, ";")
	params := map[string]string{}
	if m := looseBoundary.FindStringSubmatch(v); m != nil {
		params["boundary"] = m[1]
	}
	return strings.TrimSpace(ct), params
}

// startBody begins the body of the part whose header just ended.
func (m *rewriter) startBody() error {
	c := m.cur
	m.cur = part{}
	ct := c.ctype
	if ct == "" {
		ct = "text/plain"
	}
	identity := c.cte == "" || c.cte == "7bit" || c.cte == "8bit" || c.cte == "binary"
	switch {
	case strings.HasPrefix(ct, "multipart/") && c.params["boundary"] != "":
		m.bounds = append(m.bounds, c.params["boundary"])
		m.body = m.textBody("") // the preamble
	case (ct == "message/rfc822" || ct == "message/global") && identity:
		// The nested message's header follows at once.
		m.cur = part{header: true}
	case !TextLike(ct, c.fname):
		m.body = nopCloser{m.out}
	default:
		m.body = m.textBody(c.cte)
	}
	return nil
}

// textBody is where a text body encoded with cte goes: decoded, redacted,
// encoded again. An encoding it does not know is redacted as it is.
func (m *rewriter) textBody(cte string) io.WriteCloser {
	eol := m.eol
	if eol == "" {
		eol = "\r\n"
	}
	switch cte {
	case "base64":
		enc := &lineWrapper{w: m.out, eol: eol}
		b64 := base64.NewEncoder(base64.StdEncoding, enc)
		red := NewWriter(b64, m.re)
		return &base64Body{red: red, b64: b64, wrap: enc, raw: m.out, re: m.re}
	case "quoted-printable":
		ew := &eolWriter{w: m.out, eol: eol, nl: true}
		qp := quotedprintable.NewWriter(ew)
		red := NewWriter(qp, m.re)
		return &qpBody{red: red, qp: qp, ew: ew}
	}
	return NewWriter(m.out, m.re)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// TextLike reports whether an attachment of content type ct named name
// is text a key could be read in (text/*, message/*, JSON, XML, YAML, CSV,
// scripts; an application/octet-stream named .txt, .log, .csv …). Binary
// formats (PDF, images, archives, office files) are served as received:
// their bytes are compressed or structured, a byte scan cannot read a key
// in them, and redacting by bytes could break them (a PDF's offsets are
// digits).
func TextLike(ct, name string) bool {
	ct = strings.ToLower(strings.TrimSpace(ct))
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = strings.TrimSpace(ct[:i])
	}
	switch {
	case strings.HasPrefix(ct, "text/"), strings.HasPrefix(ct, "message/"),
		strings.HasSuffix(ct, "+json"), strings.HasSuffix(ct, "+xml"):
		return true
	}
	switch ct {
	case "application/json", "application/xml", "application/x-yaml", "application/yaml", "application/csv",
		"application/javascript", "application/x-sh", "application/x-shellscript", "application/sql",
		"application/x-ndjson", "application/mbox", "application/x-pem-file", "application/pgp-keys":
		return true
	case "", "application/octet-stream", "application/x-unknown", "application/unknown":
		switch strings.ToLower(path.Ext(name)) {
		case ".txt", ".text", ".log", ".csv", ".tsv", ".json", ".xml", ".yaml", ".yml", ".ini", ".conf", ".cfg",
			".md", ".eml", ".msg.txt", ".sh", ".sql", ".html", ".htm", ".properties", ".toml", ".env", ".lic", ".key":
			return true
		}
	}
	return false
}

// base64Body decodes base64 lines, redacts and encodes again. Lines that
// are not base64 (a damaged part) end the decoding: from there the part
// is redacted as it is.
type base64Body struct {
	red  *Writer
	b64  io.WriteCloser
	wrap *lineWrapper
	raw  io.Writer
	re   *regexp.Regexp
	// quad collects base64 characters until a multiple of 4.
	quad    []byte
	broken  *Writer
	decoded []byte
}

func (b *base64Body) Write(p []byte) (int, error) {
	if b.broken != nil {
		return b.broken.Write(p)
	}
	for i, c := range p {
		switch {
		case c == '\r' || c == '\n' || c == ' ' || c == '\t':
			continue
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/', c == '=':
			b.quad = append(b.quad, c)
		default:
			// Not base64: finish what was decoded, pass the rest on.
			if err := b.finish(); err != nil {
				return 0, err
			}
			b.broken = NewWriter(b.raw, b.re)
			if _, err := b.broken.Write(p[i:]); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	if n := len(b.quad) / 4 * 4; n > 0 && len(b.quad) >= 4096 {
		if err := b.decode(b.quad[:n]); err != nil {
			return 0, err
		}
		b.quad = append(b.quad[:0], b.quad[n:]...)
	}
	return len(p), nil
}

func (b *base64Body) decode(q []byte) error {
	// Padding may sit in the middle when parts were joined: decode each
	// padded group on its own.
	for len(q) > 0 {
		end := len(q)
		if i := bytes.IndexByte(q, '='); i >= 0 {
			end = (i/4 + 1) * 4
			if end > len(q) {
				end = len(q)
			}
		}
		chunk := q[:end]
		q = q[end:]
		n := base64.StdEncoding.DecodedLen(len(chunk))
		if cap(b.decoded) < n {
			b.decoded = make([]byte, n)
		}
		got, err := base64.StdEncoding.Decode(b.decoded[:n], chunk)
		if err != nil {
			got, err = base64.RawStdEncoding.Decode(b.decoded[:n], bytes.TrimRight(chunk, "="))
			if err != nil {
				return fmt.Errorf("redact: base64 part: %w", err)
			}
		}
		if _, err := b.red.Write(b.decoded[:got]); err != nil {
			return err
		}
	}
	return nil
}

func (b *base64Body) finish() error {
	if len(b.quad) > 0 {
		q := b.quad
		for len(q)%4 != 0 {
			q = append(q, '=')
		}
		b.quad = nil
		if err := b.decode(q); err != nil {
			return err
		}
	}
	if err := b.red.Close(); err != nil {
		return err
	}
	if err := b.b64.Close(); err != nil {
		return err
	}
	return b.wrap.end()
}

func (b *base64Body) Close() error {
	if b.broken != nil {
		return b.broken.Close()
	}
	return b.finish()
}

// lineWrapper breaks base64 output into lines of 76 characters.
type lineWrapper struct {
	w   io.Writer
	eol string
	col int
}

func (l *lineWrapper) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		room := 76 - l.col
		if room > len(p) {
			room = len(p)
		}
		if _, err := l.w.Write(p[:room]); err != nil {
			return 0, err
		}
		p, l.col = p[room:], l.col+room
		if l.col == 76 {
			if _, err := io.WriteString(l.w, l.eol); err != nil {
				return 0, err
			}
			l.col = 0
		}
	}
	return n, nil
}

// end finishes the last line.
func (l *lineWrapper) end() error {
	if l.col == 0 {
		return nil
	}
	l.col = 0
	_, err := io.WriteString(l.w, l.eol)
	return err
}

// eolWriter turns the CRLF quotedprintable.Writer writes into eol (its
// output has no other CR: a CR in the text is encoded =0D) and notes
// whether what it wrote ends a line.
type eolWriter struct {
	w   io.Writer
	eol string
	nl  bool
}

func (e *eolWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	e.nl = p[len(p)-1] == '\n'
	if e.eol == "\r\n" {
		return e.w.Write(p)
	}
	if _, err := e.w.Write(bytes.ReplaceAll(p, []byte("\r"), nil)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// qpBody decodes quoted-printable, redacts and encodes again. It decodes
// byte by byte, so a soft line break or an =XX split between two writes
// is still read right; an '=' not followed by hex or a line break is
// kept as it is.
type qpBody struct {
	red *Writer
	qp  *quotedprintable.Writer
	ew  *eolWriter
	// pend holds an '=' and what followed it, until it is known what it is.
	pend []byte
	dec  []byte
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func (q *qpBody) Write(p []byte) (int, error) {
	q.dec = q.dec[:0]
	for _, c := range p {
		if len(q.pend) == 0 {
			if c == '=' {
				q.pend = append(q.pend, c)
				continue
			}
			q.dec = append(q.dec, c)
			continue
		}
		q.pend = append(q.pend, c)
		switch {
		case len(q.pend) == 2 && (c == '\n'):
			q.pend = q.pend[:0] // soft line break
		case len(q.pend) == 2 && (c == '\r' || c == ' ' || c == '\t'):
			// "=\r\n" or "=  \r\n": wait for the line's end.
		case len(q.pend) > 2 && q.pend[1] != '\r' && q.pend[1] != ' ' && q.pend[1] != '\t':
			// "=XY"
			hi, ok1 := unhex(q.pend[1])
			lo, ok2 := unhex(q.pend[2])
			if ok1 && ok2 {
				q.dec = append(q.dec, hi<<4|lo)
			} else {
				q.dec = append(q.dec, q.pend...)
			}
			q.pend = q.pend[:0]
		case len(q.pend) > 2 && c == '\n':
			q.pend = q.pend[:0] // soft line break after white space
		case len(q.pend) > 2 && (c == '\r' || c == ' ' || c == '\t'):
			if len(q.pend) > 80 {
				q.dec = append(q.dec, q.pend...)
				q.pend = q.pend[:0]
			}
		case len(q.pend) == 2:
			if _, ok := unhex(c); !ok {
				q.dec = append(q.dec, q.pend...)
				q.pend = q.pend[:0]
			}
		default:
			q.dec = append(q.dec, q.pend...)
			q.pend = q.pend[:0]
		}
	}
	if _, err := q.red.Write(q.dec); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (q *qpBody) Close() error {
	if len(q.pend) > 0 {
		if _, err := q.red.Write(q.pend); err != nil {
			return err
		}
		q.pend = nil
	}
	if err := q.red.Close(); err != nil {
		return err
	}
	if err := q.qp.Close(); err != nil {
		return err
	}
	if q.ew.nl {
		return nil
	}
	// The delimiter that follows needs a line of its own.
	_, err := io.WriteString(q.ew.w, q.ew.eol)
	return err
}
