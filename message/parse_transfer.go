package message

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime/quotedprintable"
	"strings"
)

// normalizeCTE lower-cases a Content-Transfer-Encoding value and strips the
// decorations seen in the wild (quotes, trailing comments, "7-bit").
func normalizeCTE(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	v = strings.Trim(v, "\"'")
	if i := strings.IndexAny(v, ";("); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	// "quoted printable", "quoted_printable", "7 bit"
	v = strings.Join(strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == '_' }), "-")
	switch v {
	case "7-bit", "7bits":
		return "7bit"
	case "8-bit", "8bits":
		return "8bit"
	case "quoted-printable", "quotedprintable", "qp", "quoted":
		return "quoted-printable"
	case "base-64", "b64":
		return "base64"
	}
	return v
}

// isUUEncoding reports whether cte names uuencoding, which we keep raw.
func isUUEncoding(cte string) bool {
	switch cte {
	case "x-uuencode", "uuencode", "x-uue", "uue":
		return true
	}
	return false
}

// transferDecoder returns a reader undoing the transfer encoding cte (already
// normalised). ok is false for an encoding we do not know, in which case r
// is returned as is so the raw bytes can still be kept.
//
// transferDecoder reports problems through the returned *decodeNotes, which
// is only complete once the reader has been read to the end.
func transferDecoder(cte string, r io.Reader) (io.Reader, *decodeNotes, bool) {
	notes := &decodeNotes{}
	switch cte {
	case "", "7bit", "8bit", "binary":
		return r, notes, true
	case "quoted-printable":
		// The standard reader is lenient where it matters: bad escapes
		// pass through literally, soft breaks with trailing blanks work.
		return quotedprintable.NewReader(r), notes, true
	case "base64":
		return &base64Reader{br: bufio.NewReader(r), notes: notes, lineStart: true}, notes, true
	}
	return r, notes, false
}

// decodeNotes collects what a lenient decoder had to skip.
type decodeNotes struct {
	junk    int  // characters that are not base64
	trailer bool // text after the base64 data was ignored
}

// base64Reader decodes base64 leniently: white space anywhere, characters
// outside the alphabet and missing padding are tolerated, concatenated
// base64 blocks are decoded in turn, and a plain-text trailer (mailing list
// footers appended to a base64 body) ends the data instead of being decoded
// into garbage. encoding/base64 stops at the first stray byte instead.
type base64Reader struct {
	br        *bufio.Reader
	notes     *decodeNotes
	q         [4]byte
	nq        int
	out       []byte
	pending   []byte // decoded bytes not yet returned (a tail of out)
	padded    bool   // the last thing seen was padding
	seenData  bool
	lineStart bool
	err       error
}

func (r *base64Reader) Read(p []byte) (int, error) {
	for len(r.pending) == 0 && r.err == nil {
		r.fill()
	}
	if len(r.pending) > 0 {
		n := copy(p, r.pending)
		r.pending = r.pending[n:]
		return n, nil
	}
	return 0, r.err
}

func (r *base64Reader) fill() {
	chunk, err := r.br.ReadSlice('\n')
	partial := errors.Is(err, bufio.ErrBufferFull)
	if partial {
		err = nil
	}
	// fill is only called once pending is drained, so out can be reused.
	r.out = r.out[:0]
	if r.lineStart && r.seenData && r.isTrailer(chunk) {
		r.notes.trailer = true
		r.flushQuantum()
		r.pending = r.out
		// The rest of the part is still consumed by the caller's drain.
		r.err = io.EOF
		return
	}
	for _, c := range chunk {
		if v, ok := b64Value(c); ok {
			r.q[r.nq] = v
			r.nq++
			r.padded = false
			if r.nq == 4 {
				r.out = append(r.out, r.q[0]<<2|r.q[1]>>4, r.q[1]<<4|r.q[2]>>2, r.q[2]<<6|r.q[3])
				r.nq = 0
				r.seenData = true
			}
			continue
		}
		switch c {
		case '=':
			r.flushQuantum()
			r.padded = true
		case ' ', '\t', '\r', '\n':
		default:
			r.notes.junk++
		}
	}
	r.lineStart = !partial
	if err != nil {
		r.flushQuantum()
		r.err = err
	}
	r.pending = r.out
}

// flushQuantum emits the bytes of an incomplete quantum.
func (r *base64Reader) flushQuantum() {
	switch r.nq {
	case 1:
		r.notes.junk++
	case 2:
		r.out = append(r.out, r.q[0]<<2|r.q[1]>>4)
		r.seenData = true
	case 3:
		r.out = append(r.out, r.q[0]<<2|r.q[1]>>4, r.q[1]<<4|r.q[2]>>2)
		r.seenData = true
	}
	r.nq = 0
}

// isTrailer reports whether a line after base64 data is plain text: it has
// white space between characters (base64 lines never do), or it follows the
// final padding and has characters outside the alphabet.
func (r *base64Reader) isTrailer(line []byte) bool {
	s := bytes.TrimSpace(line)
	if len(s) == 0 {
		return false
	}
	if bytes.ContainsAny(s, " \t") {
		return true
	}
	if !r.padded {
		return false
	}
	for i := 0; i < len(s); i++ {
		if _, ok := b64Value(s[i]); !ok && s[i] != '=' {
			return true
		}
	}
	return false
}
