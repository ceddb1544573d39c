package mailout

import (
	"bytes"
	"io"
	"net/textproto"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"

	"github.com/ticketgate/ticketgate/policy"
)

// The top-level header of a mail without attachments, written by mailout
// itself: byte for byte what go-message's mail.Header and WriteHeader
// write for the same fields (TestHeaderFast compares them on random rows),
// without their per-field allocations (a field struct, a map entry, key
// canonicalisation, a string per folded line and the field's bytes): about
// fifty allocations and an eighth of composing a mail.

// loopKey is the loop header's name as go-message writes it.
var loopKey = textproto.CanonicalMIMEHeaderKey(policy.LoopHeader)

// dateLayout is go-message's Date format.
const dateLayout = "Mon, 02 Jan 2006 15:04:05 -0700"

// The folding limits of go-message's formatHeaderField.
const (
	preferredHeaderLen = 76
	maxHeaderLen       = 998
)

// headerBuf builds a header: dst the header so far, val the value of the
// field being formatted.
type headerBuf struct {
	dst, val []byte
	// starts[:n] are where the fields begin in dst; bad that a value
	// has a line break.
	starts [maxFields]int
	n      int
	bad    bool
}

// maxFields is the most fields headerFields gives, with Content-Type.
const maxFields = 16

// Buffers lends composing its header, quoted-printable and base64
// buffers, so that a mail does not grow new ones from nothing. A Sender
// owns one and gives it to the messages it prepares; a Message without
// one (nil) allocates its own. The zero value is ready to use.
type Buffers struct {
	header, qp, base64 sync.Pool
}

func (b *Buffers) getHeader() *headerBuf {
	if b != nil {
		if h, _ := b.header.Get().(*headerBuf); h != nil {
			return h
		}
	}
	return &headerBuf{dst: make([]byte, 0, 4096), val: make([]byte, 0, 1024)}
}

func (b *Buffers) putHeader(h *headerBuf) {
	if b != nil {
		b.header.Put(h)
	}
}

func (b *Buffers) getQP() *qpEncoder {
	if b != nil {
		if e, _ := b.qp.Get().(*qpEncoder); e != nil {
			return e
		}
	}
	return &qpEncoder{out: make([]byte, 0, qpBufSize)}
}

func (b *Buffers) putQP(e *qpEncoder) {
	if b != nil {
		b.qp.Put(e)
	}
}

func (b *Buffers) getBase64() *base64Body {
	if b != nil {
		if e, _ := b.base64.Get().(*base64Body); e != nil {
			return e
		}
	}
	return newBase64Body()
}

func (b *Buffers) putBase64(e *base64Body) {
	if b != nil {
		b.base64.Put(e)
	}
}

// field appends key: val, folded as go-message folds it. It reports false
// for a value with a CR or LF, which go-message refuses to write.
func (h *headerBuf) field(key string) bool {
	v := h.val
	if bytes.IndexByte(v, '\r') >= 0 || bytes.IndexByte(v, '\n') >= 0 {
		return false
	}
	h.dst = append(h.dst, key...)
	h.dst = append(h.dst, ':', ' ')
	if len(v) == 0 {
		h.dst = append(h.dst, '\r', '\n')
		return true
	}
	keylen := len(key) + 2
	for len(v) > 0 {
		at, folding, ok := foldLine(v, preferredHeaderLen-keylen)
		if !ok {
			at, folding, _ = foldLine(v, maxHeaderLen-keylen)
		}
		h.dst = append(h.dst, v[:at]...)
		h.dst = append(h.dst, folding...)
		v = v[at:]
		keylen = 0
	}
	return true
}

// foldLine is go-message's textproto.foldLine on bytes: the line is
// v[:at] followed by folding.
func foldLine(v []byte, maxlen int) (at int, folding string, ok bool) {
	ok = true
	foldBefore := maxlen + 1
	at = len(v)
	if foldBefore > len(v) {
		if v[len(v)-1] != '\n' {
			folding = "\r\n"
		}
		return at, folding, ok
	}
	at = -1
	for i := foldBefore - 1; i >= 0; i-- {
		if c := v[i]; c == ' ' || c == '\t' || c == '\n' {
			at = i
			break
		}
	}
	if at == 0 {
		at = foldBefore - 1
	} else if at < 0 {
		at = foldBefore - 2
	}
	switch v[at] {
	case ' ', '\t':
		if v[at-1] != '\n' {
			folding = "\r\n"
		}
	case '\n':
	default:
		folding = "\r\n "
		ok = false
	}
	return at, folding, ok
}

// qMaxContent is how much encoded text one encoded word holds (mime's
// maxContentLen: 75 less "=?UTF-8?q?" and "?=").
const qMaxContent = 75 - len("=?UTF-8?q?") - len("?=")

// appendQEncoded appends what mime.QEncoding.Encode("utf-8", s) returns:
// s itself when it needs no encoding, else Q encoded words of at most
// qMaxContent encoded bytes each, a character never split between two
// (TestQEncoded compares them).
func appendQEncoded(dst []byte, s string) []byte {
	needs := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' || c > '~') && c != '\t' {
			needs = true
			break
		}
	}
	if !needs {
		return append(dst, s...)
	}
	const upperhex = "0123456789ABCDEF"
	dst = append(dst, "=?utf-8?q?"...)
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		size, enc := 1, 1
		if c < ' ' || c > '~' || c == '=' || c == '?' || c == '_' {
			_, size = utf8.DecodeRuneInString(s[i:])
			enc = 3 * size
		}
		if n+enc > qMaxContent {
			dst = append(dst, "?= =?utf-8?q?"...)
			n = 0
		}
		for k := i; k < i+size; k++ {
			switch b := s[k]; {
			case b == ' ':
				dst = append(dst, '_')
			case b >= '!' && b <= '~' && b != '=' && b != '?' && b != '_':
				dst = append(dst, b)
			default:
				dst = append(dst, '=', upperhex[b>>4], upperhex[b&0x0f])
			}
		}
		n += enc
		i += size
	}
	return append(dst, "?="...)
}

// appendAddress appends what net/mail's Address.String makes of an
// address whose local part needs no quotes and whose name is printable
// ASCII (ours: a project's name, most people's); false for any other,
// which Address.String formats (encoded words, quoted local parts).
func appendAddress(dst []byte, name, address string) ([]byte, bool) {
	at := strings.LastIndexByte(address, '@')
	local, domain := address, ""
	if at >= 0 {
		local, domain = address[:at], address[at+1:]
	}
	for i := 0; i < len(local); i++ {
		switch c := local[i]; c {
		case '.':
			if i == 0 || local[i-1] == '.' || i == len(local)-1 {
				return dst, false
			}
		case '(', ')', '<', '>', '[', ']', ':', ';', '@', '\\', ',', '"':
			return dst, false
		default:
			if c < '!' || c > '~' {
				return dst, false
			}
		}
	}
	printable := true
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c < '!' || c > '~') && c != ' ' && c != '\t' {
			printable = false
			break
		}
	}
	switch {
	case !printable && strings.ContainsAny(name, "\"#$%&'(),.:;<>@[]^`{|}~"):
		return dst, false // base64-encoded by net/mail
	case !printable:
		dst = appendQEncoded(dst, name)
		dst = append(dst, ' ')
	case name != "":
		dst = append(dst, '"')
		for i := 0; i < len(name); i++ {
			if c := name[i]; c == '"' || c == '\\' {
				dst = append(dst, '\\', c)
			} else {
				dst = append(dst, c)
			}
		}
		dst = append(dst, '"', ' ')
	}
	dst = append(dst, '<')
	dst = append(dst, local...)
	dst = append(dst, '@')
	dst = append(dst, domain...)
	return append(dst, '>'), true
}

// headerBuf takes the fields of headerFields (headerSink): each is
// formatted at the end of dst, where starts records where it begins, so
// that they can be written last first, as go-message does; bad records
// a value go-message refuses (a line break).

func (h *headerBuf) begin() {
	h.starts[h.n] = len(h.dst)
	h.n++
}

func (h *headerBuf) add(key string) {
	h.begin()
	if !h.field(key) {
		h.bad = true
	}
}

func (h *headerBuf) date(t time.Time) {
	// Never folded: the longest date is far shorter than a line.
	h.begin()
	h.dst = append(h.dst, "Date: "...)
	h.dst = t.AppendFormat(h.dst, dateLayout)
	h.dst = append(h.dst, '\r', '\n')
}

func (h *headerBuf) addr(key, name, address string) {
	if v, ok := appendAddress(h.val[:0], name, address); ok {
		h.val = v
	} else {
		a := mail.Address{Name: name, Address: address}
		h.val = append(h.val[:0], a.String()...)
	}
	h.add(key)
}

func (h *headerBuf) subject(v string) {
	h.val = appendQEncoded(h.val[:0], v)
	h.add("Subject")
}

func (h *headerBuf) msgID(id string) {
	h.val = append(append(append(h.val[:0], '<'), id...), '>')
	h.add("Message-Id")
}

func (h *headerBuf) msgIDs(key string, ids []string) {
	h.val = append(h.val[:0], '<')
	for i, id := range ids {
		if i > 0 {
			h.val = append(h.val, '>', ' ', '<')
		}
		h.val = append(h.val, id...)
	}
	h.val = append(h.val, '>')
	h.add(key)
}

func (h *headerBuf) text(key, v string) {
	h.val = append(h.val[:0], v...)
	h.add(key)
}

// writeAltHeader writes the header of a mail without attachments nor
// encryption, its Content-Type multipart/alternative with boundary b,
// as header and writeAlternative write it through go-message. It
// reports false, having written nothing, when a value has a line break
// (go-message's writer then fails the mail with its own error).
func (m *Message) writeAltHeader(w io.Writer, b string) (bool, error) {
	h := m.Bufs.getHeader()
	defer m.Bufs.putHeader(h)
	h.dst, h.n, h.bad = h.dst[:0], 0, false
	m.headerFields(h)
	// writeAlternative sets the Content-Type last.
	h.val = append(append(h.val[:0], "multipart/alternative; boundary="...), b...)
	h.add("Content-Type")
	if h.bad {
		return false, nil
	}
	// The header, last field first, after the fields in dst.
	fields := len(h.dst)
	end := fields
	for i := h.n - 1; i >= 0; i-- {
		h.dst = append(h.dst, h.dst[h.starts[i]:end]...)
		end = h.starts[i]
	}
	h.dst = append(h.dst, '\r', '\n')
	_, err := w.Write(h.dst[fields:])
	if cap(h.dst) > 64<<10 || cap(h.val) > 64<<10 {
		// A row with thousands of References must not pin its header.
		h.dst, h.val = nil, nil
	}
	return true, err
}
