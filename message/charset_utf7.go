package message

import (
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/transform"
)

// UTF-7 (RFC 2152) is not in x/text, yet old Outlook Express and some
// webmailers still send it. Only decoding is needed.

// utf7Encoding is an encoding.Encoding whose decoder handles UTF-7. The
// encoder is a no-op: we never write UTF-7.
type utf7Encoding struct{}

func (utf7Encoding) NewDecoder() *encoding.Decoder {
	return &encoding.Decoder{Transformer: &utf7Decoder{}}
}

func (utf7Encoding) NewEncoder() *encoding.Encoder { return encoding.Nop.NewEncoder() }

// utf7Decoder is a streaming UTF-7 to UTF-8 transformer.
//
// Outside a shift sequence bytes are copied. "+" opens a modified-base64
// run of UTF-16BE code units, closed by "-" (swallowed) or by any byte that
// is not base64 (kept); "+-" is a literal "+". Malformed input (8-bit bytes,
// lone surrogates) becomes U+FFFD rather than an error, because mail must
// never be rejected for its charset.
type utf7Decoder struct {
	inB64 bool
	fresh bool   // just saw "+", no base64 digit yet
	bits  uint32 // pending base64 bits, low nbits valid
	nbits uint
	high  rune // pending high surrogate, 0 if none
}

func (d *utf7Decoder) Reset() { *d = utf7Decoder{} }

// maxRuneOut is the most one input byte can make us write: a surrogate
// pair completes into one 4-byte rune, or a dangling high surrogate plus the
// byte that ended the run (3 + 3 bytes).
const maxRuneOut = 8

func (d *utf7Decoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		if len(dst)-nDst < maxRuneOut {
			return nDst, nSrc, transform.ErrShortDst
		}
		c := src[nSrc]
		if d.inB64 {
			if v, ok := b64Value(c); ok {
				d.fresh = false
				d.bits = d.bits<<6 | uint32(v)
				d.nbits += 6
				if d.nbits >= 16 {
					unit := rune(d.bits >> (d.nbits - 16) & 0xFFFF)
					d.nbits -= 16
					d.bits &= 1<<d.nbits - 1
					nDst += d.unit(dst[nDst:], unit)
				}
				nSrc++
				continue
			}
			// End of the shift sequence.
			wasFresh := d.fresh
			d.inB64, d.fresh, d.bits, d.nbits = false, false, 0, 0
			nDst += d.flushHigh(dst[nDst:])
			if c == '-' {
				if wasFresh {
					dst[nDst] = '+'
					nDst++
				}
				nSrc++
				continue
			}
		}
		switch {
		case c == '+':
			d.inB64, d.fresh = true, true
		case c >= utf8.RuneSelf:
			nDst += utf8.EncodeRune(dst[nDst:], utf8.RuneError)
		default:
			dst[nDst] = c
			nDst++
		}
		nSrc++
	}
	if atEOF {
		if len(dst)-nDst < maxRuneOut {
			return nDst, nSrc, transform.ErrShortDst
		}
		if d.inB64 && d.fresh {
			// A lone trailing "+" is more likely a literal plus than
			// an empty shift sequence.
			dst[nDst] = '+'
			nDst++
		}
		nDst += d.flushHigh(dst[nDst:])
		d.inB64, d.fresh = false, false
	}
	return nDst, nSrc, nil
}

// unit handles one UTF-16 code unit and returns the bytes written.
func (d *utf7Decoder) unit(dst []byte, u rune) int {
	switch {
	case utf16.IsSurrogate(u) && u < 0xDC00:
		n := d.flushHigh(dst)
		d.high = u
		return n
	case utf16.IsSurrogate(u):
		if d.high == 0 {
			return utf8.EncodeRune(dst, utf8.RuneError)
		}
		r := utf16.DecodeRune(d.high, u)
		d.high = 0
		return utf8.EncodeRune(dst, r)
	default:
		n := d.flushHigh(dst)
		return n + utf8.EncodeRune(dst[n:], u)
	}
}

func (d *utf7Decoder) flushHigh(dst []byte) int {
	if d.high == 0 {
		return 0
	}
	d.high = 0
	return utf8.EncodeRune(dst, utf8.RuneError)
}

func b64Value(c byte) (byte, bool) {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A', true
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26, true
	case c >= '0' && c <= '9':
		return c - '0' + 52, true
	case c == '+':
		return 62, true
	case c == '/':
		return 63, true
	}
	return 0, false
}
