package message

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"

	"github.com/ticketgate/ticketgate/msgid"
)

const (
	// DefaultMaxTextBytes is how much text (and HTML) of a body is kept
	// when ParseOptions.MaxTextBytes is 0: enough for any message a person
	// writes, small enough that memory per message in flight stays a small
	// constant; the raw message is stored whole anyway.
	DefaultMaxTextBytes = 1 << 20
	// maxDepth bounds multipart nesting; deeper structures are kept as
	// one opaque attachment. Real mail rarely exceeds 5.
	maxDepth = 32
	// maxParts bounds the number of parts visited, so a message made of
	// millions of empty parts cannot make us allocate per part.
	maxParts = 5000
	// peekHeaderBytes is how much of an attached message is buffered to
	// read its header (for the .eml name or a bounce's original headers).
	peekHeaderBytes = 64 << 10
	// maxPreamble bounds what is kept of the text before a multipart's
	// first part, per nesting level. It is only used when no part is
	// found, and then read as the body.
	maxPreamble = 256 << 10
)

// Parse reads one RFC 5322 message from r and returns what the gateway
// needs of it. It streams: bodies are kept up to opts.MaxTextBytes and
// attachments are handed to opts.Attachments as they are decoded, so memory
// does not grow with the size of the message.
//
// Parse never fails because the mail is malformed; what was wrong is
// described in Message.Problems. It returns an error only when reading r
// fails or when the attachment sink returns one; both are wrapped with %w, so
// errors.Is/As and fault.IsTemporary see the original error. On error the
// message is nil: the caller must treat the mail as not received.
//
// The sink is called with an *Attachment whose Size is still zero; Parse sets
// Size (the decoded byte count) and Ref once the sink returns.
func Parse(r io.Reader, opts ParseOptions) (*Message, error) {
	p := &parser{
		opts:    opts,
		src:     &sourceReader{r: r},
		maxText: opts.MaxTextBytes,
		msg: &Message{
			To:          []Address{},
			Cc:          []Address{},
			InReplyTo:   []string{},
			References:  []string{},
			Attachments: []Attachment{},
			Problems:    []string{},
		},
	}
	if p.maxText <= 0 {
		p.maxText = DefaultMaxTextBytes
	}
	br := opts.Reader
	if br == nil || br.Size() < 32<<10 {
		br = bufio.NewReaderSize(p.src, 32<<10)
	} else {
		br.Reset(p.src)
	}
	if err := skipEnvelopeLines(br); err != nil {
		return nil, p.readErr(err)
	}
	hb, err := readHeader(br)
	if err != nil {
		return nil, p.readErr(err)
	}
	for _, pr := range hb.problems {
		p.problem("header: " + pr)
	}
	if hb.noHeader {
		p.problem("the message has no header; all of it was read as body")
	}
	if err := p.walk(hb, hb.body, walkCtx{top: true}); err != nil {
		return nil, err
	}
	// Whatever follows the last part (an epilogue, junk after a closing
	// boundary) is read so that a broken connection is still noticed.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return nil, p.readErr(err)
	}
	if p.src.err != nil {
		return nil, p.readErr(p.src.err)
	}
	p.finishHeader(hb)
	p.finishBody()
	if err := p.extractUUEncoded(); err != nil {
		return nil, err
	}
	return p.msg, nil
}

// sourceReader remembers the first error of the caller's reader, so that
// an error surfacing from a decoder can be told apart: if the source failed,
// it is an I/O error to return; otherwise the mail is malformed.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(b []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(b)
	if err != nil && !errors.Is(err, io.EOF) {
		s.err = err
	}
	return n, err
}

// skipEnvelopeLines drops an mbox "From " line and blank lines before the
// header, which some MTAs and archive tools leave in front of a message.
func skipEnvelopeLines(br *bufio.Reader) error {
	for first := true; ; first = false {
		b, err := br.Peek(5)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
		switch {
		case first && string(b) == "From ":
		case len(b) > 0 && (b[0] == '\n' || (b[0] == '\r' && len(b) > 1 && b[1] == '\n')):
		default:
			return nil
		}
		if _, _, err := readLineMax(br, 1<<20); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
}

type parser struct {
	opts    ParseOptions
	src     *sourceReader
	msg     *Message
	maxText int

	text       bodyBuf
	html       bodyBuf
	textCut    bool
	htmlCut    bool
	nparts     int
	charsets   []string // legacy (non-UTF-8) charsets declared so far, in order
	seenProbs  map[string]bool
	origHeader bool
	// tnefText is the body of the first decoded winmail.dat (see tnef.go).
	tnefText string
}

// bodyBuf collects a body's text. The first piece is kept as it is, so
// the common single text part is never copied again; a second piece
// switches to a builder, so many parts stay linear.
type bodyBuf struct {
	first string
	b     strings.Builder
}

func (x *bodyBuf) Len() int {
	if x.b.Len() > 0 {
		return x.b.Len()
	}
	return len(x.first)
}

func (x *bodyBuf) String() string {
	if x.b.Len() > 0 {
		return x.b.String()
	}
	return x.first
}

func (x *bodyBuf) add(s string) {
	switch {
	case s == "":
	case x.b.Len() == 0 && x.first == "":
		x.first = s
	default:
		if x.b.Len() == 0 {
			x.b.WriteString(x.first)
			x.first = ""
		}
		x.b.WriteString(s)
	}
}

// walkCtx is what a part needs to know about where it sits.
type walkCtx struct {
	top        bool
	path       string // "1.2", as IMAP numbers parts; "" for the message
	parent     string // subtype of the enclosing multipart
	reportType string // report-type of an enclosing multipart/report
	// charset declared on an enclosing multipart (not standard, but the
	// only hint some senders give for parts that declare none)
	charset string
	// resource is set for the parts of a multipart/related other than
	// its root: they are what the root refers to, never body text.
	resource bool
	// alt is shared by the parts of one multipart/alternative: the first
	// text/plain and the first text/html are the body, further parts of
	// the same type are other renderings of the same text.
	alt   *altState
	depth int
}

func (c walkCtx) where() string {
	if c.path == "" {
		return "message"
	}
	return "part " + c.path
}

func (p *parser) problem(s string) {
	if p.seenProbs == nil {
		p.seenProbs = map[string]bool{}
	}
	if p.seenProbs[s] || len(p.msg.Problems) >= 100 {
		return
	}
	p.seenProbs[s] = true
	p.msg.Problems = append(p.msg.Problems, s)
}

// readErr wraps an error that came out of reading. If the source reader
// failed, that error is what the caller must see.
func (p *parser) readErr(err error) error {
	if p.src.err != nil {
		err = p.src.err
	}
	return fmt.Errorf("message: reading message: %w", err)
}

// partError handles an error met while walking a part: an I/O error of
// the source ends the parse; anything else (which the readers in this file
// should never produce) only ends this part, with a problem recorded.
func (p *parser) partError(c walkCtx, err error) error {
	if p.ioFailed() {
		return p.readErr(err)
	}
	p.problem(fmt.Sprintf("%s: could not be read to the end: %v", c.where(), err))
	return nil
}

// ioFailed reports whether the source has failed; decoders' errors are
// only I/O errors in that case.
func (p *parser) ioFailed() bool { return p.src.err != nil }

// walk handles one entity (the message or a part) given its header and
// raw body. It returns only I/O and sink errors.
func (p *parser) walk(hb *headerBlock, body io.Reader, c walkCtx) error {
	note := func(s string) { p.problem(c.where() + ": " + s) }
	// The charset parameter is ASCII even when other parameters (a
	// filename) carry raw 8-bit bytes, so read it first and use it to
	// decode those bytes.
	declared := parseMediaValue(hb.get("Content-Type"), nil).params["charset"]
	p.sawCharset(declared)
	if !c.top {
		// The message's own header is converted at the end, when every
		// charset the message declares is known.
		for i, f := range hb.fields {
			if !utf8.ValidString(f.value) {
				v, how := p.toUTF8(f.value, declared, c.charset)
				hb.fields[i].value = v
				note(fmt.Sprintf("raw 8-bit bytes in the %s header read as %s", clip(f.name), how))
			}
		}
	}
	fieldUTF8 := func(name string) string {
		v, _ := p.toUTF8(hb.get(name), declared, c.charset)
		return v
	}
	rawCT := fieldUTF8("Content-Type")
	ct := parseMediaValue(rawCT, note)
	if !validMediaType(ct.value) {
		if strings.TrimSpace(rawCT) != "" {
			note(fmt.Sprintf("unreadable Content-Type %q; treated as text/plain", clip(rawCT)))
		}
		ct.value = "text/plain"
		if c.parent == "digest" {
			ct.value = "message/rfc822"
		}
	}
	if c.top {
		p.msg.ContentType = ct.value
		p.msg.ReportType = strings.ToLower(ct.params["report-type"])
	}
	cte := normalizeCTE(hb.get("Content-Transfer-Encoding"))
	disp := parseMediaValue(fieldUTF8("Content-Disposition"), note)

	switch {
	case strings.HasPrefix(ct.value, "multipart/"):
		if c.depth < maxDepth {
			return p.walkMultipart(ct, cte, body, c)
		}
		note("multipart nesting too deep; kept as one attachment")
	case ct.value == "message/rfc822" || ct.value == "message/global":
		return p.attachedMessage(hb, ct, disp, cte, body, c)
	case ct.value == "message/delivery-status" || ct.value == "message/global-delivery-status":
		return p.deliveryStatus(cte, body, c)
	case (ct.value == "text/rfc822-headers" || ct.value == "message/global-headers") && c.reportType != "":
		return p.originalHeaders(cte, body, c)
	}
	return p.leaf(hb, ct, disp, cte, body, c)
}

func validMediaType(v string) bool {
	i := strings.IndexByte(v, '/')
	return i > 0 && i < len(v)-1 && !strings.ContainsAny(v, " \t\"=")
}

// walkMultipart walks the parts of a multipart entity. cte is only used
// when no part can be found and the body is read as text instead: a
// Content-Transfer-Encoding on a multipart is invalid, but senders who get
// the structure wrong tend to encode the text they meant to send.
func (p *parser) walkMultipart(ct mediaValue, cte string, body io.Reader, c walkCtx) error {
	note := func(s string) { p.problem(c.where() + ": " + s) }
	sub := strings.TrimPrefix(ct.value, "multipart/")
	boundary := ct.params["boundary"]
	if boundary == "" {
		bbr := bufio.NewReaderSize(body, 16<<10)
		boundary = guessBoundary(bbr)
		body = bbr
		if boundary == "" {
			note(ct.value + " without a boundary; read as text")
			return p.leaf(&headerBlock{}, textPlain(ct), mediaValue{}, cte, body, c)
		}
		note(fmt.Sprintf("%s without a boundary; guessed %q from the body", ct.value, clip(boundary)))
	}
	child := walkCtx{parent: sub, reportType: c.reportType, charset: c.charset, depth: c.depth + 1}
	p.msg.MIMEDepth = max(p.msg.MIMEDepth, child.depth)
	if sub == "alternative" {
		child.alt = &altState{seen: map[string]bool{}}
	}
	if cs := ct.params["charset"]; cs != "" {
		child.charset = cs
	}
	if sub == "report" {
		child.reportType = strings.ToLower(ct.params["report-type"])
		if child.reportType == "" {
			child.reportType = "unknown"
		}
	}
	mr := newMultipartReader(body, boundary, min(p.maxText, maxPreamble))
	for i := 1; ; i++ {
		pr, err := mr.next()
		if err != nil {
			return p.partError(c, err)
		}
		if pr == nil {
			break
		}
		p.nparts++
		if p.nparts > maxParts {
			note(fmt.Sprintf("more than %d parts; the rest were skipped", maxParts))
			break
		}
		pbr := bufio.NewReaderSize(pr, 8<<10)
		phb, err := readHeader(pbr)
		if err != nil {
			return p.partError(c, err)
		}
		child.resource = sub == "related" && !isRelatedRoot(ct.params["start"], phb, i)
		child.path = strconv.Itoa(i)
		if c.path != "" {
			child.path = c.path + "." + child.path
		}
		for _, pp := range phb.problems {
			p.problem(child.where() + " header: " + pp)
		}
		if err := p.walk(phb, phb.body, child); err != nil {
			return err
		}
	}
	if _, err := io.Copy(io.Discard, body); err != nil && p.ioFailed() {
		return p.readErr(err)
	}
	switch {
	case mr.parts == 0 && len(bytes.TrimSpace(mr.preamble)) == 0:
		note(fmt.Sprintf("%s has no parts (empty body)", ct.value))
	case mr.parts == 0:
		note(fmt.Sprintf("%s has no part with boundary %q; its text was read as the body", ct.value, clip(boundary)))
		if len(mr.preamble) >= maxPreamble {
			note(fmt.Sprintf("that text was cut at %d bytes", maxPreamble))
		}
		return p.leaf(&headerBlock{}, textPlain(ct), mediaValue{}, cte, bytes.NewReader(mr.preamble), c)
	case !mr.closed && p.nparts <= maxParts:
		note(fmt.Sprintf("%s is not closed (boundary %q); the message may be truncated", ct.value, clip(boundary)))
	}
	return nil
}

type altState struct{ seen map[string]bool }

// isRelatedRoot reports whether the i-th part of a multipart/related is
// its root: the one named by the start parameter, else the first.
func isRelatedRoot(start string, hb *headerBlock, i int) bool {
	if start = msgid.Canonical(start); start != "" {
		return msgid.Canonical(hb.get("Content-ID")) == start
	}
	return i == 1
}

// textPlain is the media type used to read a broken multipart as text,
// keeping its charset parameter if it had one.
func textPlain(ct mediaValue) mediaValue {
	mv := mediaValue{value: "text/plain", params: map[string]string{}}
	if cs := ct.params["charset"]; cs != "" {
		mv.params["charset"] = cs
	}
	return mv
}

// guessBoundary looks at the start of a multipart body that declared no
// boundary for a line that looks like a delimiter.
func guessBoundary(br *bufio.Reader) string {
	b, _ := br.Peek(br.Size())
	for _, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimRight(line, " \t\r")
		if len(line) > 2 && len(line) <= 200 && bytes.HasPrefix(line, []byte("--")) && !bytes.ContainsAny(line, " \t") {
			return string(bytes.TrimSuffix(line[2:], []byte("--")))
		}
	}
	return ""
}

// decoded wraps a part body with its transfer decoding and the error
// filter every consumer needs. ok is false for an unknown encoding.
func (p *parser) decoded(cte string, body io.Reader, c walkCtx) (*tolerantReader, bool) {
	dec, notes, ok := transferDecoder(cte, body)
	if !ok {
		return nil, false
	}
	return &tolerantReader{r: dec, notes: notes, p: p, c: c}, true
}

// tolerantReader turns decoding errors (not source errors) into EOF plus a
// problem, so that a malformed part never looks like a failure to the sink.
type tolerantReader struct {
	r        io.Reader
	n        int64
	notes    *decodeNotes
	p        *parser
	c        walkCtx
	reported bool
}

func (t *tolerantReader) Read(b []byte) (int, error) {
	n, err := t.r.Read(b)
	t.n += int64(n)
	if err == nil {
		return n, nil
	}
	if errors.Is(err, io.EOF) || !t.p.ioFailed() {
		if !errors.Is(err, io.EOF) {
			t.p.problem(fmt.Sprintf("%s: content could not be decoded past byte %d: %v", t.c.where(), t.n, err))
		}
		t.report()
		return n, io.EOF
	}
	return n, err
}

func (t *tolerantReader) report() {
	if t.reported || t.notes == nil {
		return
	}
	t.reported = true
	if t.notes.junk > 0 {
		t.p.problem(fmt.Sprintf("%s: %d invalid base64 character(s) skipped", t.c.where(), t.notes.junk))
	}
	if t.notes.trailer {
		t.p.problem(fmt.Sprintf("%s: text after the base64 data was ignored", t.c.where()))
	}
}

// leaf handles a non-multipart entity: a body text or an attachment.
func (p *parser) leaf(hb *headerBlock, ct, disp mediaValue, cte string, body io.Reader, c walkCtx) error {
	note := func(s string) { p.problem(c.where() + ": " + s) }
	filename := disp.params["filename"]
	if filename == "" {
		filename = ct.params["name"]
	}
	filename = decodeWords(filename, note)
	isText := ct.value == "text/plain" || ct.value == "text/html"
	attached := disp.value == "attachment" || filename != ""
	if isText && disp.value == "inline" && filename != "" && !p.haveBody(ct.value) {
		// An inline text part with a file name ("msg.txt") is shown as
		// text by mail clients; when it is all the text there is, it is
		// the body.
		attached = false
	}

	dec, ok := p.decoded(cte, body, c)
	if !ok {
		if isText && !attached && !c.resource && !isUUEncoding(cte) {
			// A text part with a nonsense encoding ("plain", "utf-8")
			// is almost always plain 8-bit text.
			note(fmt.Sprintf("unknown Content-Transfer-Encoding %q; the text was read undecoded", clip(cte)))
			return p.bodyText(ct, &tolerantReader{r: body, p: p, c: c}, c)
		}
		note(fmt.Sprintf("unknown Content-Transfer-Encoding %q; the part was kept undecoded as an attachment", clip(cte)))
		return p.attachment(p.newAttachment(hb, ct, disp, filename, c), &tolerantReader{r: body, p: p, c: c})
	}

	if isTNEF(ct.value, filename) {
		return p.tnefPart(p.newAttachment(hb, ct, disp, filename, c), dec, c)
	}
	switch {
	case isText && !attached && !c.resource && (c.alt == nil || !c.alt.seen[ct.value]):
		if c.alt != nil {
			c.alt.seen[ct.value] = true
		}
		return p.bodyText(ct, dec, c)
	case isText && !attached && c.alt != nil:
		_, err := io.Copy(io.Discard, dec)
		return p.checkRead(err)
	case c.parent == "alternative" && strings.HasPrefix(ct.value, "text/") && ct.value != "text/calendar" && !attached:
		// Other renderings of the same text (text/enriched,
		// text/watch-html, text/x-amp-html) add nothing.
		_, err := io.Copy(io.Discard, dec)
		return p.checkRead(err)
	}
	return p.attachment(p.newAttachment(hb, ct, disp, filename, c), dec)
}

// haveBody reports whether body text of the given type was already read.
func (p *parser) haveBody(mediaType string) bool {
	if mediaType == "text/html" {
		return p.html.Len() > 0
	}
	return p.text.Len() > 0
}

func (p *parser) checkRead(err error) error {
	if err != nil && p.ioFailed() {
		return p.readErr(err)
	}
	return nil
}

// bodyText reads a text/plain or text/html part into the message body,
// keeping at most maxText bytes of each kind.
func (p *parser) bodyText(ct mediaValue, r io.Reader, c walkCtx) error {
	dst, cut := &p.text, &p.textCut
	kind := "text"
	if ct.value == "text/html" {
		dst, cut, kind = &p.html, &p.htmlCut, "HTML"
	}
	room := p.maxText - dst.Len()
	raw, err := io.ReadAll(io.LimitReader(r, int64(max(room, 0))+1))
	if err != nil && p.ioFailed() {
		return p.readErr(err)
	}
	truncated := len(raw) > room
	if truncated {
		raw = raw[:max(room, 0)]
		if _, err := io.Copy(io.Discard, r); err != nil && p.ioFailed() {
			return p.readErr(err)
		}
	}
	label := ct.params["charset"]
	if label == "" && kind == "HTML" {
		label = sniffHTMLCharset(raw)
	}
	if label == "" {
		label = c.charset
	}
	var (
		s       string
		problem string
	)
	if label == "" && !utf8.Valid(raw) {
		// Undeclared 8-bit text in a message that declares a charset
		// elsewhere is most likely in that charset.
		var how string
		s, how = p.toUTF8(string(raw))
		problem = "undeclared 8-bit text read as " + how
		s = stripNUL(s)
	} else {
		s, problem = decodeBytes(raw, label)
	}
	if problem != "" {
		p.problem(c.where() + ": " + problem)
	}
	if ct.value == "text/plain" && strings.EqualFold(ct.params["format"], "flowed") {
		s = unflow(s, strings.EqualFold(ct.params["delsp"], "yes")) // CRLF → LF too
	} else {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	if dst.Len() > 0 && s != "" {
		if !strings.HasSuffix(dst.String(), "\n") {
			dst.add("\n")
		}
	}
	if dst.Len()+len(s) > p.maxText {
		s = truncateUTF8(s, p.maxText-dst.Len())
		truncated = true
	}
	dst.add(s)
	if truncated && !*cut {
		*cut = true
		p.problem(fmt.Sprintf("%s body longer than %d bytes; truncated", kind, p.maxText))
	}
	return nil
}

var (
	metaCharsetRE = regexp.MustCompile(`(?i)<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_.:-]+)`)
	charsetDeclRE = regexp.MustCompile(`(?i)charset\s*=\s*"?([a-z0-9_.:-]+)`)
)

// sniffHTMLCharset finds a <meta> charset declaration near the start of an
// HTML body that has none in its MIME header.
func sniffHTMLCharset(b []byte) string {
	if len(b) > 4096 {
		b = b[:4096]
	}
	if m := metaCharsetRE.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return ""
}

func truncateUTF8(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// unflow undoes RFC 3676 format=flowed: a line ending in a space continues
// on the next line (with the same quote depth). Signature separators and
// space-stuffing are handled as the RFC says.
func unflow(s string, delsp bool) string {
	// One pass over the lines into one builder: no slice of lines and no
	// paragraph copy, so a large flowed body costs about its own size.
	var out strings.Builder
	out.Grow(len(s))
	depth := -1       // quote depth of the open paragraph; -1: none
	wrote := false    // the open paragraph has content
	flush := func() { // end the open paragraph
		if depth >= 0 {
			out.WriteByte('\n')
			depth = -1
		}
	}
	for rest := s; rest != ""; {
		var l string
		l, rest, _ = strings.Cut(rest, "\n")
		l = strings.TrimSuffix(l, "\r")
		d := 0
		for d < len(l) && l[d] == '>' {
			d++
		}
		content := l[d:]
		content = strings.TrimPrefix(content, " ") // space-stuffing
		if depth >= 0 && d != depth {
			flush()
		}
		if depth < 0 {
			for range d {
				out.WriteByte('>')
			}
			wrote = false
		}
		depth = d
		flowed := strings.HasSuffix(content, " ") && content != "-- "
		if flowed && delsp {
			content = content[:len(content)-1]
		}
		if content != "" {
			if !wrote && d > 0 {
				out.WriteByte(' ')
			}
			wrote = true
			out.WriteString(content)
		}
		if !flowed {
			flush()
		}
	}
	flush()
	res := out.String()
	if !strings.HasSuffix(s, "\n") {
		res = strings.TrimSuffix(res, "\n")
	}
	return res
}

// newAttachment fills in an Attachment's metadata from a part header.
func (p *parser) newAttachment(hb *headerBlock, ct, disp mediaValue, filename string, c walkCtx) Attachment {
	a := Attachment{
		Filename:    sanitizeFilename(filename),
		ContentType: ct.value,
		ContentID:   strings.Trim(strings.TrimSpace(hb.get("Content-ID")), "<> \t"),
	}
	a.ContentID = strings.ToValidUTF8(a.ContentID, "")
	a.Inline = disp.value == "inline" || (disp.value == "" && a.ContentID != "" && c.parent == "related")
	if a.Filename == "" {
		a.Filename = fallbackFilename(hb.get("Content-Location"), a.ContentID, hb.get("Content-Description"), ct.value)
	}
	return a
}

// attachment streams one attachment to the sink (or counts and discards
// it) and records it.
func (p *parser) attachment(a Attachment, r io.Reader) error {
	cr := &countingReader{r: r}
	if p.opts.Attachments != nil {
		ref, err := p.opts.Attachments(&a, cr)
		if err != nil {
			if p.ioFailed() {
				return p.readErr(err)
			}
			return fmt.Errorf("message: storing attachment %q: %w", a.Filename, err)
		}
		a.Ref = ref
	}
	// The sink should have read everything; whatever it left is counted
	// so that Size is the part's decoded size in any case.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		if p.ioFailed() {
			return p.readErr(err)
		}
	}
	if tr, ok := r.(*tolerantReader); ok {
		tr.report()
	}
	a.Size = cr.n
	p.msg.Attachments = append(p.msg.Attachments, a)
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// attachedMessage handles message/rfc822: the original of a delivery
// report gives OriginalHeaders; any other attached message is stored as an
// .eml attachment named after its subject.
func (p *parser) attachedMessage(hb *headerBlock, ct, disp mediaValue, cte string, body io.Reader, c walkCtx) error {
	note := func(s string) { p.problem(c.where() + ": " + s) }
	dec, ok := p.decoded(cte, body, c)
	if !ok {
		note(fmt.Sprintf("unknown Content-Transfer-Encoding %q; the part was kept undecoded as an attachment", clip(cte)))
		return p.attachment(p.newAttachment(hb, ct, disp, "", c), &tolerantReader{r: body, p: p, c: c})
	}
	br := bufio.NewReaderSize(dec, peekHeaderBytes)
	peek, err := br.Peek(peekHeaderBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) && p.ioFailed() {
		return p.readErr(err)
	}
	inner, _ := readHeader(bufio.NewReader(bytes.NewReader(peek)))
	// Forwarded messages often carry the only declaration of the charset
	// that raw 8-bit header bytes (ours and theirs) are in.
	for _, m := range charsetDeclRE.FindAllSubmatch(peek, 8) {
		p.sawCharset(string(m[1]))
	}
	if c.reportType != "" && !p.origHeader {
		p.origHeader = true
		p.msg.OriginalHeaders = p.headerFields(inner.fields, note, c.charset)
	}
	if isDeliveryReport(c.reportType) {
		_, err := io.Copy(io.Discard, br)
		return p.checkRead(err)
	}
	filename := disp.params["filename"]
	if filename == "" {
		filename = ct.params["name"]
	}
	filename = decodeWords(filename, note)
	if filename == "" {
		subj, _ := p.toUTF8(inner.get("Subject"))
		subj = strings.TrimSpace(decodeWords(subj, nil))
		// A subject is not a path: keep "A / B" whole.
		subj = strings.NewReplacer("/", "_", `\`, "_").Replace(subj)
		if subj == "" {
			subj = "message"
		}
		filename = subj + ".eml"
	}
	a := p.newAttachment(hb, ct, disp, filename, c)
	if a.ContentType == "message/global" {
		a.ContentType = "message/rfc822"
	}
	return p.attachment(a, br)
}

func isDeliveryReport(rt string) bool {
	return rt == "delivery-status" || rt == "global-delivery-status"
}

// deliveryStatus keeps the text of a message/delivery-status part.
func (p *parser) deliveryStatus(cte string, body io.Reader, c walkCtx) error {
	dec, ok := p.decoded(cte, body, c)
	if !ok {
		dec = &tolerantReader{r: body, p: p, c: c}
	}
	raw, err := io.ReadAll(io.LimitReader(dec, int64(p.maxText)))
	if err := p.checkRead(err); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, dec); err != nil && p.ioFailed() {
		return p.readErr(err)
	}
	s, _ := decodeBytes(raw, "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if p.msg.DeliveryStatus != "" {
		p.msg.DeliveryStatus += "\n"
	}
	p.msg.DeliveryStatus += s
	return nil
}

// originalHeaders reads a text/rfc822-headers part of a report.
func (p *parser) originalHeaders(cte string, body io.Reader, c walkCtx) error {
	note := func(s string) { p.problem(c.where() + ": " + s) }
	dec, ok := p.decoded(cte, body, c)
	if !ok {
		dec = &tolerantReader{r: body, p: p, c: c}
	}
	inner, err := readHeader(bufio.NewReader(dec))
	if err != nil {
		return p.partError(c, err)
	}
	if !p.origHeader {
		p.origHeader = true
		p.msg.OriginalHeaders = p.headerFields(inner.fields, note, c.charset)
	}
	_, err = io.Copy(io.Discard, inner.body)
	return p.checkRead(err)
}

// headerFields converts raw fields to UTF-8 HeaderFields (see toUTF8).
func (p *parser) headerFields(raw []rawField, note func(string), declared ...string) []HeaderField {
	out := make([]HeaderField, 0, len(raw))
	for _, f := range raw {
		v := f.value
		if !utf8.ValidString(v) {
			var how string
			v, how = p.toUTF8(v, declared...)
			note(fmt.Sprintf("raw 8-bit bytes in the %s header read as %s", clip(f.name), how))
		}
		out = append(out, HeaderField{Name: strings.ToValidUTF8(f.name, ""), Value: stripNUL(v)})
	}
	return out
}

// sawCharset remembers a declared charset as a hint for undeclared text.
func (p *parser) sawCharset(label string) {
	info := lookupCharset(label)
	if info.kind != csEncoding || len(p.charsets) >= 8 {
		return
	}
	for _, c := range p.charsets {
		if c == info.name {
			return
		}
	}
	p.charsets = append(p.charsets, info.name)
}

// toUTF8 decodes text whose charset is not declared where it appears:
// 8-bit header bytes, undeclared body text. It returns v unchanged if it is
// valid UTF-8. Otherwise it tries the charsets declared nearby (the part's
// own, then its parents'), then those declared anywhere in the message so
// far, multi-byte ones first because single-byte charsets accept any input
// and so prove nothing; last comes windows-1252. how names what was used.
func (p *parser) toUTF8(v string, declared ...string) (string, string) {
	if utf8.ValidString(v) {
		return v, "UTF-8"
	}
	b := []byte(v)
	var candidates []charsetInfo
	for _, label := range append(declared, p.charsets...) {
		if info := lookupCharset(label); info.kind == csEncoding {
			candidates = append(candidates, info)
		}
	}
	for _, info := range candidates {
		if _, single := info.enc.(*charmap.Charmap); single {
			continue
		}
		if info.name == "iso-2022-jp" {
			// 8-bit bytes in a message labelled ISO-2022-JP are
			// Shift_JIS or EUC-JP (see decodeBytes).
			for _, enc := range []struct {
				name string
				enc  encoding.Encoding
			}{{"Shift_JIS", japanese.ShiftJIS}, {"EUC-JP", japanese.EUCJP}} {
				if s, ok := decodeClean(enc.enc, b); ok {
					return s, enc.name
				}
			}
			continue
		}
		if s, ok := decodeClean(info.enc, b); ok {
			return s, info.name
		}
	}
	for _, info := range candidates {
		if _, single := info.enc.(*charmap.Charmap); single {
			return decodeWith(info.enc, b), info.name
		}
	}
	return decodeWith(charmap.Windows1252, b), "windows-1252"
}

func (p *parser) finishHeader(hb *headerBlock) {
	m := p.msg
	note := func(s string) { p.problem(s) }
	declared := parseMediaValue(hb.get("Content-Type"), nil).params["charset"]
	m.Header = p.headerFields(hb.fields, func(s string) { p.problem("header: " + s) }, declared)
	get := func(name string) string {
		for _, f := range m.Header {
			if strings.EqualFold(f.Name, name) {
				return f.Value
			}
		}
		return ""
	}
	all := func(name string) string {
		var vs []string
		for _, f := range m.Header {
			if strings.EqualFold(f.Name, name) && strings.TrimSpace(f.Value) != "" {
				vs = append(vs, f.Value)
			}
		}
		return strings.Join(vs, ", ")
	}
	m.Subject = strings.TrimSpace(decodeWords(get("Subject"), note))

	// With several From fields (it happens), the first one that holds a
	// real address wins.
	for _, f := range m.Header {
		if !strings.EqualFold(f.Name, "From") || strings.TrimSpace(f.Value) == "" {
			continue
		}
		from, ok := parseAddressList(f.Value, note)
		if !ok {
			p.problem(fmt.Sprintf("From header %q is not a valid address; addresses were picked out of it", clip(f.Value)))
		}
		for _, a := range from {
			if m.From == "" || (!strings.Contains(m.From, "@") && strings.Contains(a.Address, "@")) {
				m.From, m.FromName = a.Address, a.Name
				m.FromNameAddress = NameAddress(a)
			}
		}
		if strings.Contains(m.From, "@") {
			if m.FromNameAddress != "" {
				p.problem(fmt.Sprintf("From display name %q names another address than the sender's %s", clip(m.FromName), m.From))
			}
			break
		}
	}
	for _, h := range []struct {
		name string
		dst  *[]Address
	}{{"To", &m.To}, {"Cc", &m.Cc}, {"Reply-To", &m.ReplyTo}} {
		v := all(h.name)
		if v == "" {
			continue
		}
		list, ok := parseAddressList(v, note)
		if !ok {
			p.problem(fmt.Sprintf("%s header %q is not a valid address list; addresses were picked out of it", h.name, clip(v)))
		}
		if list != nil {
			*h.dst = list
		}
	}
	if ids := msgid.ParseList(get("Message-ID")); len(ids) > 0 {
		m.MessageID = ids[0]
	}
	m.InReplyTo = append(m.InReplyTo, msgid.ParseList(all("In-Reply-To"))...)
	m.References = append(m.References, msgid.ParseList(all("References"))...)
	if v := strings.TrimSpace(get("Date")); v != "" {
		if t, ok := parseDate(v); ok {
			m.Date = t
		} else {
			p.problem(fmt.Sprintf("Date header %q could not be read", clip(v)))
		}
	}
}

func (p *parser) finishBody() {
	m := p.msg
	m.HTML = p.html.String()
	m.Text = p.text.String()
	m.TextCut = p.textCut || p.htmlCut
	if strings.TrimSpace(m.Text) == "" && m.HTML != "" {
		m.Text = htmlToText(m.HTML)
	}
	p.useTNEFBody()
}

// extractUUEncoded stores uuencoded files found in the body text as
// attachments (see findUUBlocks). The text keeps them.
func (p *parser) extractUUEncoded() error {
	if !strings.Contains(p.msg.Text, "begin ") {
		return nil
	}
	for _, b := range findUUBlocks(p.msg.Text, p.maxText) {
		a := Attachment{Filename: sanitizeFilename(b.name), ContentType: "application/octet-stream"}
		if a.Filename == "" {
			a.Filename = "attachment.bin"
		}
		p.problem(fmt.Sprintf("the text contains the uuencoded file %q; it was stored as an attachment too", clip(a.Filename)))
		if err := p.attachment(a, bytes.NewReader(b.data)); err != nil {
			return err
		}
	}
	return nil
}

// clip shortens a value quoted in a problem text.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) > 80 {
		return truncateUTF8(s, 77) + "..."
	}
	return s
}

// sanitizeFilename keeps the last path element of a sender-supplied name
// and drops control characters, so the name is safe to show and to use in
// a download's Content-Disposition. Bidirectional controls go too:
// "invoice\u202Efdp.exe" shows as "invoiceexe.pdf" but is a program.
func sanitizeFilename(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < ' ' || (r >= 0x7f && r <= 0x9f) || unicode.Is(unicode.Bidi_Control, r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(name)
	if name == "." || name == ".." {
		return ""
	}
	// File systems and Content-Disposition headers want short names; a
	// subject turned into an .eml name can be kilobytes long.
	const maxName = 200
	if len(name) > maxName {
		ext := ""
		if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 10 {
			ext = name[i:]
		}
		name = strings.TrimSpace(truncateUTF8(name, maxName-len(ext))) + ext
	}
	return name
}

var filenameLikeRE = regexp.MustCompile(`^[^/\\]+\.[A-Za-z0-9]{2,5}$`)

// fallbackFilename names an attachment that came without a name, so agents
// can still download it with a sensible extension: the last element of its
// Content-Location, the local part of its Content-ID if that looks like a
// file name (Outlook's "image001.png@01D…"), its Content-Description
// ("Delivery report") plus an extension, else a name made from the type.
func fallbackFilename(location, contentID, description, mediaType string) string {
	if loc := sanitizeFilename(location); filenameLikeRE.MatchString(loc) {
		return loc
	}
	if local, _, _ := strings.Cut(contentID, "@"); filenameLikeRE.MatchString(local) {
		return sanitizeFilename(local)
	}
	if d := sanitizeFilename(decodeWords(description, nil)); d != "" && len(d) <= 100 {
		if ext := extensionFor(mediaType); !strings.HasSuffix(strings.ToLower(d), ext) {
			d += ext
		}
		return d
	}
	major, _, _ := strings.Cut(mediaType, "/")
	base := "attachment"
	switch {
	case major == "image" || major == "video" || major == "audio":
		base = major
	case mediaType == "text/html":
		base = "document"
	}
	return base + extensionFor(mediaType)
}

// extensionFor returns a file extension for common attachment types. It
// does not use mime.ExtensionsByType, whose answer depends on the host's
// mime.types file.
func extensionFor(mediaType string) string {
	switch mediaType {
	case "application/pdf":
		return ".pdf"
	case "application/pkcs7-signature", "application/x-pkcs7-signature":
		return ".p7s"
	case "application/pkcs7-mime", "application/x-pkcs7-mime":
		return ".p7m"
	case "application/pgp-signature", "application/pgp-encrypted", "application/pgp-keys":
		return ".asc"
	case "application/ms-tnef", "application/vnd.ms-tnef":
		return ".dat"
	case "application/zip", "application/x-zip-compressed":
		return ".zip"
	case "application/msword":
		return ".doc"
	case "application/vnd.ms-excel":
		return ".xls"
	case "image/png":
		return ".png"
	case "image/jpeg", "image/jpg", "image/pjpeg":
		return ".jpg"
	case "image/gif":
		return ".gif"
	case "image/bmp":
		return ".bmp"
	case "image/tiff":
		return ".tif"
	case "video/quicktime":
		return ".mov"
	case "video/mp4":
		return ".mp4"
	case "audio/mpeg":
		return ".mp3"
	case "audio/wav", "audio/x-wav":
		return ".wav"
	case "text/plain", "text/rfc822-headers", "message/delivery-status":
		return ".txt"
	case "text/html":
		return ".html"
	case "text/calendar":
		return ".ics"
	case "text/csv":
		return ".csv"
	case "message/rfc822", "message/global":
		return ".eml"
	}
	return ".bin"
}
