package mailout

import (
	"io"
)

// qpLineMax is the longest encoded line without its CRLF, soft break
// included (mime/quotedprintable's lineMaxLen 76, less the "=").
const qpLineMax = 75

// qpClass sorts bytes as mime/quotedprintable's Writer (Binary false)
// does: written as they are, a line break, or encoded as =XY.
var qpClass = func() (c [256]uint8) {
	for b := range 256 {
		switch {
		case b >= '!' && b <= '~' && b != '=', b == ' ', b == '\t':
			c[b] = qpPlain
		case b == '\n', b == '\r':
			c[b] = qpBreak
		default:
			c[b] = qpEncode
		}
	}
	return c
}()

const (
	qpEncode = iota
	qpPlain
	qpBreak
)

// qpEncoder encodes a body as mime/quotedprintable's Writer does when the
// whole body is written at once and the writer closed — byte for byte
// (FuzzQuotedPrintable compares them), including its quirks: a CR, then
// encoded bytes, then an LF make one line break. It writes into a buffer
// it owns and hands complete lines to w when the buffer fills, instead of
// the standard writer's call per run of plain bytes and write per line:
// quoted-printable was a quarter of composing a mail with a 4 KB body.
type qpEncoder struct {
	out []byte
	// i is the length of the current (last) line in out; cr: the last
	// line break written was a CR (an LF right after it adds nothing).
	i  int
	cr bool
}

// qpFlushAt is how full out may get before its complete lines are
// written; qpBufSize leaves room for the longest step (a soft break and
// an encoded byte).
const (
	qpBufSize = 8 << 10
	qpFlushAt = qpBufSize - 16
)

// qpPlain8 reports whether the eight bytes of s are all printable ASCII
// but "=" or spaces (plain, like most of a body; a tab is plain too but
// left to the byte loop): no byte below 0x20, above 0x7e, or equal to
// 0x3d.
func qpPlain8(s string) bool {
	return qpPlainWord(load64(s))
}

// load64 reads the first eight bytes of s, little-endian (one load).
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func qpPlainWord(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	below := (x - ones*0x20) &^ x       // a byte below 0x20 sets its high bit
	above := (x + ones*(0x7f-0x7e)) | x // a byte above 0x7e sets its high bit
	eq := x ^ (ones * '=')
	isEq := (eq - ones) &^ eq // a zero byte (an "=") sets its high bit
	return (below|above|isEq)&highs == 0
}

func (e *qpEncoder) soft() {
	e.out = append(e.out, '=', '\r', '\n')
	e.i = 0
}

func (e *qpEncoder) encode(b byte) {
	if qpLineMax-e.i < 3 {
		e.soft()
	}
	const upperhex = "0123456789ABCDEF"
	e.out = append(e.out, '=', upperhex[b>>4], upperhex[b&0x0f])
	e.i += 3
}

// checkLastByte encodes a space or tab that ends the current line.
func (e *qpEncoder) checkLastByte() {
	if e.i == 0 {
		return
	}
	if b := e.out[len(e.out)-1]; b == ' ' || b == '\t' {
		e.out = e.out[:len(e.out)-1]
		e.i--
		e.encode(b)
	}
}

// flush writes the complete lines of out to w and keeps the current one
// (checkLastByte may still change its end).
func (e *qpEncoder) flush(w io.Writer) error {
	done := len(e.out) - e.i
	if done == 0 {
		return nil
	}
	if _, err := w.Write(e.out[:done]); err != nil {
		return err
	}
	e.out = e.out[:copy(e.out, e.out[done:])]
	return nil
}

// appendRaw appends p as it is (a part's delimiter and header), between
// bodies; the buffer's lines are written to w first if p would not fit.
func (e *qpEncoder) appendRaw(w io.Writer, p string) error {
	if len(e.out)+len(p) > cap(e.out) {
		if err := e.flush(w); err != nil {
			return err
		}
	}
	e.out = append(e.out, p...)
	return nil
}

// writeOut writes what out holds to w.
func (e *qpEncoder) writeOut(w io.Writer) error {
	if len(e.out) == 0 {
		return nil
	}
	_, err := w.Write(e.out)
	e.out, e.i = e.out[:0], 0
	return err
}

// encodeBody writes s quoted-printable to w, as a new Writer given s in
// one Write and then closed writes it.
func (e *qpEncoder) encodeBody(w io.Writer, s string) error {
	e.out = e.out[:0]
	if err := e.appendBody(w, s); err != nil {
		return err
	}
	return e.writeOut(w)
}

// appendBody appends s quoted-printable to out, as a new Writer given s
// in one Write and then closed writes it, and leaves the end in out;
// complete lines go to w when out fills.
func (e *qpEncoder) appendBody(w io.Writer, s string) error {
	e.i, e.cr = 0, false
	for k := 0; k < len(s); {
		if len(e.out) >= qpFlushAt {
			if err := e.flush(w); err != nil {
				return err
			}
		}
		b := s[k]
		switch qpClass[b] {
		case qpPlain:
			// A run of plain bytes up to the end of the line, at once.
			if e.i == qpLineMax {
				e.soft()
			}
			j := k + 1
			end := k + min(qpLineMax-e.i, len(s)-k, qpFlushAt-len(e.out)+1)
			for j+8 <= end && qpPlainWord(load64(s[j:])) {
				j += 8
			}
			for ; j < end && qpClass[s[j]] == qpPlain; j++ {
			}
			e.out = append(e.out, s[k:j]...)
			e.i += j - k
			e.cr = false
			k = j
			continue
		case qpBreak:
			if e.cr && b == '\n' {
				e.cr = false
				k++
				continue
			}
			if b == '\r' {
				e.cr = true
			}
			e.checkLastByte()
			e.out = append(e.out, '\r', '\n')
			e.i = 0
		default:
			e.encode(b)
		}
		k++
	}
	e.checkLastByte()
	e.i = 0
	return nil
}
