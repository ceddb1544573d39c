package store

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// rowReader reads the JSON of a record as the store writes it
// (encoding/json's Marshal of a known struct), without reflection. It is
// strict: anything it does not expect — an unknown or escaped key, a null,
// a number with a sign, fraction or leading zero, a type it does not look
// for — marks it bad, and the caller decodes the record with encoding/json
// instead. So what it accepts it decodes exactly as encoding/json would,
// and what it does not accept gets encoding/json's result or error.
//
// String values without escapes (valid UTF-8, no control characters) are
// taken as they are; escapes (\n, \" …, \u003c) are undone here; UTF-16
// surrogates and invalid UTF-8 go to encoding/json for that string alone.
type rowReader struct {
	b []byte
	// s is b as one string: plain string values are slices of it, one
	// allocation per record instead of one per field.
	s   string
	i   int
	bad bool
}

func newRowReader(b []byte) rowReader { return rowReader{b: b, s: string(b)} }

// unmarshalRow decodes the record b into v as json.Unmarshal would: with
// read, the record's own reader, or, where read gives up (false, v partly
// filled), with encoding/json from a zero v. v must be zero.
func unmarshalRow[T any](b []byte, v *T, read func([]byte, *T) bool) error {
	if read(b, v) {
		return nil
	}
	var zero T
	*v = zero
	return json.Unmarshal(b, v)
}

func (r *rowReader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, 0 at the end.
func (r *rowReader) peek() byte {
	r.ws()
	if r.i >= len(r.b) {
		return 0
	}
	return r.b[r.i]
}

// expect consumes c (after white space) or marks the reader bad.
func (r *rowReader) expect(c byte) bool {
	if r.bad || r.peek() != c {
		r.bad = true
		return false
	}
	r.i++
	return true
}

// object calls field for every key of the object that follows; field
// reads the value. It returns false when the reader went bad.
func (r *rowReader) object(field func(key []byte)) bool {
	if !r.expect('{') {
		return false
	}
	if r.peek() == '}' {
		r.i++
		return true
	}
	for !r.bad {
		key, ok := r.rawString()
		if !ok {
			r.bad = true
			return false
		}
		if !r.expect(':') {
			return false
		}
		field(key)
		if r.bad {
			return false
		}
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.i++
			return true
		default:
			r.bad = true
		}
	}
	return false
}

// end checks that nothing but white space follows.
func (r *rowReader) end() {
	if r.peek() != 0 || r.i != len(r.b) {
		r.bad = true
	}
}

// Constants of stringSpan's word-at-a-time scan.
const (
	swarOnes = 0x0101010101010101
	swarHigh = 0x8080808080808080
)

// zeroBytes flags (high bit) the bytes of x that are zero; above the
// lowest zero byte it may flag others too.
func zeroBytes(x uint64) uint64 { return (x - swarOnes) &^ x & swarHigh }

// stringSpan finds the string that follows: its contents (without the
// quotes) and whether they need more than copying: escapes, bytes that
// are not ASCII. Control characters mark the reader bad.
func (r *rowReader) stringSpan() (start, end int, plain bool) {
	if !r.expect('"') {
		return 0, 0, false
	}
	b := r.b
	start, plain = r.i, true
	// Eight bytes at a time while eight are left: a word without a
	// quote, a backslash, a control character or a byte that is not
	// ASCII is passed whole; otherwise the first such byte (the lowest
	// flagged one: a borrow only ever flags bytes above a true one)
	// decides. Words may reach past the string into the rest of the row;
	// its last bytes go one at a time.
	i := start
	for i < len(b) {
		if i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			special := zeroBytes(x^(swarOnes*'"')) | zeroBytes(x^(swarOnes*'\\')) |
				(x-swarOnes*0x20)&^x&swarHigh | x&swarHigh
			if special == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(special) / 8
		}
		switch c := b[i]; {
		case c == '"':
			r.i = i + 1
			return start, i, plain
		case c == '\\':
			plain = false
			i += 2
		case c < 0x20:
			r.bad = true
			return 0, 0, false
		case c >= utf8.RuneSelf:
			plain = false
			i++
		default:
			i++
		}
	}
	r.bad = true
	return 0, 0, false
}

// rawString reads a string that must be plain ASCII (keys, times, kinds).
func (r *rowReader) rawString() ([]byte, bool) {
	s, e, plain := r.stringSpan()
	if r.bad || !plain {
		r.bad = true
		return nil, false
	}
	return r.b[s:e], true
}

// str reads a string value.
func (r *rowReader) str() string {
	s, e, plain := r.stringSpan()
	if r.bad {
		return ""
	}
	if plain {
		return r.s[s:e]
	}
	return r.unescape(s, e)
}

// unescape decodes the contents b[s:e] of a string with escapes or
// non-ASCII bytes: simple escapes here, the rest through encoding/json.
func (r *rowReader) unescape(s, e int) string {
	raw := r.b[s:e]
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			if c >= utf8.RuneSelf {
				_, size := utf8.DecodeRune(raw[i:])
				if size == 1 {
					return r.jsonString(s, e) // invalid UTF-8: replaced as encoding/json does
				}
				out = append(out, raw[i:i+size]...)
				i += size
				continue
			}
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(raw) {
			r.bad = true
			return ""
		}
		switch raw[i+1] {
		case '"', '\\', '/':
			out = append(out, raw[i+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			// encoding/json writes <, >, &, U+2028 and U+2029 so.
			c, ok := hex4(raw[i+2:])
			if !ok || utf16.IsSurrogate(c) {
				return r.jsonString(s, e) // surrogate pairs and their errors
			}
			out = utf8.AppendRune(out, c)
			i += 6
			continue
		default: // invalid escapes
			return r.jsonString(s, e)
		}
		i += 2
	}
	return string(out)
}

// hex4 reads the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// jsonString decodes the string b[s-1:e+1] with encoding/json.
func (r *rowReader) jsonString(s, e int) string {
	var v string
	if err := json.Unmarshal(r.b[s-1:e+1], &v); err != nil {
		r.bad = true
		return ""
	}
	return v
}

// strings reads an array of strings.
func (r *rowReader) strings() []string {
	if !r.expect('[') {
		return nil
	}
	out := []string{}
	if r.peek() == ']' {
		r.i++
		return out
	}
	for !r.bad {
		out = append(out, r.str())
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			return out
		default:
			r.bad = true
		}
	}
	return nil
}

// boolean reads true or false.
func (r *rowReader) boolean() bool {
	r.ws()
	switch {
	case len(r.b)-r.i >= 4 && string(r.b[r.i:r.i+4]) == "true":
		r.i += 4
		return true
	case len(r.b)-r.i >= 5 && string(r.b[r.i:r.i+5]) == "false":
		r.i += 5
		return false
	}
	r.bad = true
	return false
}

// uint reads a non-negative integer of at most bits bits, digits only.
func (r *rowReader) uint(bits int) uint64 {
	r.ws()
	s := r.i
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		r.i++
	}
	digits := r.b[s:r.i]
	if len(digits) == 0 || (len(digits) > 1 && digits[0] == '0') {
		r.bad = true
		return 0
	}
	if r.i < len(r.b) {
		switch r.b[r.i] {
		case '.', 'e', 'E':
			r.bad = true // a fraction or exponent: encoding/json decides
			return 0
		}
	}
	n, err := strconv.ParseUint(r.s[s:r.i], 10, bits)
	if err != nil {
		r.bad = true
		return 0
	}
	return n
}

// int reads a non-negative int (negative ones go to encoding/json).
func (r *rowReader) int() int { return int(r.uint(strconv.IntSize - 1)) }

// time reads a time as time.Time's UnmarshalJSON does.
func (r *rowReader) time(t *time.Time) {
	s, e, plain := r.stringSpan()
	if r.bad || !plain {
		r.bad = true
		return
	}
	if err := t.UnmarshalJSON(r.b[s-1 : e+1]); err != nil {
		r.bad = true
	}
}

// skip passes over any value and returns it, for encoding/json to decode:
// strings, arrays and objects nested to any depth, literals and numbers
// as far as the next delimiter (encoding/json checks them).
func (r *rowReader) skip() []byte {
	r.ws()
	s := r.i
	depth := 0
	for r.i < len(r.b) && !r.bad {
		switch c := r.b[r.i]; c {
		case '"':
			r.stringSpan()
			if depth == 0 {
				return r.b[s:r.i]
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return r.b[s:r.i]
			}
			depth--
			if depth == 0 {
				r.i++
				return r.b[s:r.i]
			}
		case ',':
			if depth == 0 {
				return r.b[s:r.i]
			}
		}
		r.i++
	}
	if depth != 0 || r.i == s {
		r.bad = true
	}
	return r.b[s:r.i]
}

// value decodes the value that follows into v with encoding/json (nested
// records the reader does not know field by field).
func (r *rowReader) value(v any) {
	raw := r.skip()
	if r.bad {
		return
	}
	if len(raw) >= 4 && string(raw[:4]) == "null" {
		r.bad = true // encoding/json's rules for null differ by type
		return
	}
	if err := json.Unmarshal(raw, v); err != nil {
		r.bad = true
	}
}

// rowWriter writes a record's JSON as encoding/json's Marshal does for
// the fields its callers know (see MarshalOutboxItem), without
// reflection.
type rowWriter struct {
	b []byte
	// more: the object being written has a field already.
	more bool
}

// field starts the field named key (written with its quotes, colon
// and, when not the first, the comma before it: `"id":`).
func (w *rowWriter) field(key string) {
	if w.more {
		w.b = append(w.b, ',')
	}
	w.more = true
	w.b = append(w.b, key...)
}

func (w *rowWriter) open() {
	w.b = append(w.b, '{')
	w.more = false
}

func (w *rowWriter) close() {
	w.b = append(w.b, '}')
	w.more = true
}

const hexDigits = "0123456789abcdef"

// jsonPlain marks the bytes encoding/json writes as they are: ASCII but
// control characters, quote, backslash and the HTML ones (<, >, &). It is
// never written to.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = !strings.ContainsRune(`"\<>&`, rune(c))
	}
	return t
}()

// str writes s as encoding/json does with HTML escaping (its default):
// <, > and & as \u003c …, control characters, U+2028 and U+2029
// escaped, invalid UTF-8 as \ufffd.
func (w *rowWriter) str(s string) {
	b := append(w.b, '"')
	start := 0
	for i := 0; i < len(s); {
		for i < len(s) && jsonPlain[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	w.b = append(b, '"')
}

func (w *rowWriter) strings(ss []string) {
	w.b = append(w.b, '[')
	for i, s := range ss {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.str(s)
	}
	w.b = append(w.b, ']')
}

func (w *rowWriter) uint(n uint64) { w.b = strconv.AppendUint(w.b, n, 10) }

func (w *rowWriter) int(n int64) { w.b = strconv.AppendInt(w.b, n, 10) }

// appendZulu appends t as RFC 3339 with nanoseconds (trailing zeros
// dropped) and "Z", as AppendFormat(time.RFC3339Nano) writes a time whose
// zone offset is zero and whose year has four digits — nearly every time
// the store writes (they are UTC) — by hand: AppendFormat interprets its
// layout on every call. ok is false for any other time (b unchanged).
func appendZulu(b []byte, t time.Time) ([]byte, bool) {
	if _, off := t.Zone(); off != 0 {
		return b, false
	}
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return b, false
	}
	h, mi, sec := t.Clock()
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+mo/10), byte('0'+mo%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+sec/10), byte('0'+sec%10))
	if ns := t.Nanosecond(); ns != 0 {
		var frac [9]byte
		for i := 8; i >= 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 9
		for frac[n-1] == '0' {
			n--
		}
		b = append(append(b, '.'), frac[:n]...)
	}
	return append(b, 'Z'), true
}

// time writes t as its MarshalJSON does; false when that fails (a year
// outside 0–9999, a zone offset of a day or more): encoding/json then
// gives the error. It appends in place: MarshalJSON allocates its answer.
func (w *rowWriter) time(t time.Time) bool {
	if b, ok := appendZulu(append(w.b, '"'), t); ok {
		w.b = append(b, '"')
		return true
	}
	b := append(w.b, '"')
	n0 := len(b)
	// AppendFormat with RFC3339Nano is MarshalJSON's own formatting; the
	// checks are those of time.appendStrictRFC3339.
	b = t.AppendFormat(b, time.RFC3339Nano)
	s := b[n0:]
	if len(s) < len("2006-01-02T15:04:05Z") || s[4] != '-' {
		return false // year not exactly 4 digits wide
	}
	if s[len(s)-1] != 'Z' {
		c := s[len(s)-len("Z07:00")]
		hh := s[len(s)-len("07:00"):]
		if ('0' <= c && c <= '9') || 10*(hh[0]-'0')+(hh[1]-'0') >= 24 {
			return false // zone hour outside 0–23
		}
	}
	w.b = append(b, '"')
	return true
}

// value writes v with encoding/json (nested records the writer does not
// know field by field); false when that fails.
func (w *rowWriter) value(v any) bool {
	j, err := json.Marshal(v)
	if err != nil {
		return false
	}
	w.b = append(w.b, j...)
	return true
}
