package mailout

import (
	"bytes"
	"io"
	"net/textproto"
	"strings"
	"sync"
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
}

// Buffers lends composing its header and quoted-printable buffers, so
// that a mail does not grow new ones from nothing. A Sender owns one and
// gives it to the messages it prepares; a Message without one (nil)
// allocates its own. The zero value is ready to use.
type Buffers struct {
	header, qp sync.Pool
}

func (b *Buffers) getHeader() *headerBuf {
	if b != nil {
		if h, _ := b.header.Get().(*headerBuf); h != nil {
			return h
		}
	}
	return &headerBuf{dst: make([]byte, 0, 2048), val: make([]byte, 0, 1024)}
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

func (h *headerBuf) str(key, v string) bool {
	h.val = append(h.val[:0], v...)
	return h.field(key)
}

func (h *headerBuf) addr(key, name, address string) bool {
	if v, ok := appendAddress(h.val[:0], name, address); ok {
		h.val = v
		return h.field(key)
	}
	a := mail.Address{Name: name, Address: address}
	return h.str(key, a.String())
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

func (h *headerBuf) msgIDs(key string, ids []string) bool {
	h.val = append(h.val[:0], '<')
	for i, id := range ids {
		if i > 0 {
			h.val = append(h.val, '>', ' ', '<')
		}
		h.val = append(h.val, id...)
	}
	h.val = append(h.val, '>')
	return h.field(key)
}

// writeAltHeader writes the header of a mail without attachments nor
// encryption, its Content-Type multipart/alternative with boundary b,
// as header and writeAlternative write it through go-message. It
// reports false, having written nothing, when a value has a line break
// (go-message's writer then fails the mail with its own error).
func (m *Message) writeAltHeader(w io.Writer, b string) (bool, error) {
	it := m.Item
	hd := it.Header
	h := m.Bufs.getHeader()
	defer m.Bufs.putHeader(h)
	h.dst = h.dst[:0]
	// go-message writes the field set last first.
	h.val = append(append(h.val[:0], "multipart/alternative; boundary="...), b...)
	ok := h.field("Content-Type")
	if m.Seal.Autocrypt != "" {
		ok = ok && h.str("Autocrypt", m.Seal.Autocrypt)
	}
	ok = ok && h.str("Mime-Version", "1.0")
	if hd.Unsubscribe != "" {
		ok = ok && h.str("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
		h.val = append(append(append(h.val[:0], '<'), hd.Unsubscribe...), "/mute>"...)
		ok = ok && h.field("List-Unsubscribe")
	}
	if hd.Loop != "" {
		ok = ok && h.str(loopKey, hd.Loop)
	}
	ok = ok && h.str("X-Auto-Response-Suppress", "All")
	if hd.AutoSubmitted != "" {
		ok = ok && h.str("Auto-Submitted", hd.AutoSubmitted)
	}
	if len(it.References) > 0 {
		ok = ok && h.msgIDs("References", it.References)
	}
	if len(it.InReplyTo) > 0 {
		ok = ok && h.msgIDs("In-Reply-To", it.InReplyTo)
	}
	if it.MessageID != "" {
		h.val = append(append(append(h.val[:0], '<'), it.MessageID...), '>')
		ok = ok && h.field("Message-Id")
	}
	h.val = appendQEncoded(h.val[:0], hd.Subject)
	ok = ok && h.field("Subject")
	if hd.ReplyTo != "" {
		ok = ok && h.addr("Reply-To", hd.ReplyToName, hd.ReplyTo)
	}
	ok = ok && h.addr("To", it.RecipientName, it.Recipient)
	ok = ok && h.addr("From", hd.FromName, hd.From)
	if !ok {
		return false, nil
	}
	if !it.Date.IsZero() {
		// Never folded: the longest date is far shorter than a line.
		h.dst = append(h.dst, "Date: "...)
		h.dst = it.Date.AppendFormat(h.dst, dateLayout)
		h.dst = append(h.dst, '\r', '\n')
	}
	h.dst = append(h.dst, '\r', '\n')
	_, err := w.Write(h.dst)
	if cap(h.dst) > 64<<10 || cap(h.val) > 64<<10 {
		// A row with thousands of References must not pin its header.
		h.dst, h.val = nil, nil
	}
	return true, err
}
