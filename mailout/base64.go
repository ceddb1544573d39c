package mailout

import (
	"encoding/base64"
	"encoding/binary"
	"io"
)

// A base64 body (an attachment) as go-message's writer encodes it:
// standard base64 with padding, in lines of 76 characters separated by
// CRLF, without a CRLF after the last line (the part's closing
// delimiter begins with one); an empty body is nothing at all.
// go-message's encoder hands its output to a line wrapper that writes
// each line and each CRLF separately (and allocates the CRLF), through
// the part writer, the count and the composer's buffer: for a 14 MiB
// attachment half a million writes and 258 000 allocations, 36 ms of
// CPU per recipient to compose it (BenchmarkSendLargeAttachment/compose;
// 5 ms now; issue 13).
// base64Body encodes whole lines, 57 input bytes each, into one buffer
// and writes it once per block of b64BlockLines lines; the characters
// come two at a time from a table.

const (
	b64LineIn     = 57                               // input bytes of a whole line
	b64LineOut    = 76                               // its characters
	b64BlockLines = 512                              // lines per write
	b64BlockIn    = b64BlockLines * b64LineIn        // input bytes per write
	b64BlockOut   = b64BlockLines * (b64LineOut + 2) // the most a write holds, CRLFs included
)

// b64Pairs holds the two characters of every 12-bit value, the first
// in the low byte (little-endian, as they are stored).
var b64Pairs = func() (t [1 << 12]uint16) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = uint16(alphabet[i>>6]) | uint16(alphabet[i&63])<<8
	}
	return t
}()

// b64Line encodes the 57 bytes of src into the 76 characters of dst, as
// base64.StdEncoding does: six bytes (eight characters) a step, read in
// one load and stored in one; the steps written out (a loop cost a
// tenth more).
func b64Line(dst, src []byte) {
	_, _ = src[b64LineIn-1], dst[b64LineOut-1]
	b64Step(dst[0:8], src[0:8])
	b64Step(dst[8:16], src[6:14])
	b64Step(dst[16:24], src[12:20])
	b64Step(dst[24:32], src[18:26])
	b64Step(dst[32:40], src[24:32])
	b64Step(dst[40:48], src[30:38])
	b64Step(dst[48:56], src[36:44])
	b64Step(dst[56:64], src[42:50])
	b64Step(dst[64:72], src[48:56])
	v := uint32(src[54])<<16 | uint32(src[55])<<8 | uint32(src[56])
	binary.LittleEndian.PutUint32(dst[72:], uint32(b64Pairs[v>>12])|uint32(b64Pairs[v&0xfff])<<16)
}

// b64Step encodes the first six bytes of src (of eight, read in one
// load) into the eight characters of dst.
func b64Step(dst, src []byte) {
	v := binary.BigEndian.Uint64(src)
	binary.LittleEndian.PutUint64(dst, uint64(b64Pairs[v>>52])|uint64(b64Pairs[v>>40&0xfff])<<16|
		uint64(b64Pairs[v>>28&0xfff])<<32|uint64(b64Pairs[v>>16&0xfff])<<48)
}

// base64Body is an attachment's body writer: what is written to it (or
// read by ReadFrom) goes to w base64-encoded, exactly as go-message's
// writer encodes it (TestBase64Body and FuzzBase64Body compare them).
// Close writes the last line. Reset readies it for another body.
type base64Body struct {
	w io.Writer
	// in is input not yet encoded (fewer than b64BlockIn bytes between
	// calls; its capacity is b64BlockIn); out is the encoding buffer.
	in, out []byte
	// more: a line was written, so the next begins with a CRLF.
	more bool
	err  error
}

func newBase64Body() *base64Body {
	return &base64Body{in: make([]byte, 0, b64BlockIn), out: make([]byte, b64BlockOut)}
}

// Reset makes e write a new body to w.
func (e *base64Body) Reset(w io.Writer) {
	e.w, e.in, e.more, e.err = w, e.in[:0], false, nil
}

// Write encodes p; it keeps back what does not fill a block.
func (e *base64Body) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n := len(p)
	if len(e.in) > 0 {
		k := copy(e.in[len(e.in):cap(e.in)], p)
		e.in = e.in[:len(e.in)+k]
		p = p[k:]
		if len(e.in) < cap(e.in) {
			return n, nil
		}
		e.encode(e.in, false)
		e.in = e.in[:0]
	}
	// Whole blocks are encoded from p itself.
	for len(p) >= b64BlockIn && e.err == nil {
		e.encode(p[:b64BlockIn], false)
		p = p[b64BlockIn:]
	}
	if e.err != nil {
		return 0, e.err
	}
	e.in = append(e.in, p...)
	return n, nil
}

// ReadFrom encodes what r gives until its end, reading into e's own
// buffer (io.Copy to e, as redact.Attachment does, uses it).
func (e *base64Body) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for e.err == nil {
		if len(e.in) == cap(e.in) {
			e.encode(e.in, false)
			e.in = e.in[:0]
			continue
		}
		n, err := r.Read(e.in[len(e.in):cap(e.in)])
		e.in = e.in[:len(e.in)+n]
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
	return total, e.err
}

// Close writes what is kept back: the last lines, the last one padded.
// It does not close the underlying writer.
func (e *base64Body) Close() error {
	if e.err == nil {
		e.encode(e.in, true)
		e.in = e.in[:0]
	}
	return e.err
}

// encode writes the whole lines of src (all of it if final, the last
// line shorter and padded), each but the body's first after a CRLF.
func (e *base64Body) encode(src []byte, final bool) {
	out := e.out
	o := 0
	for len(src) >= b64LineIn {
		if e.more {
			out[o], out[o+1] = '\r', '\n'
			o += 2
		}
		e.more = true
		b64Line(out[o:o+b64LineOut], src[:b64LineIn])
		o += b64LineOut
		src = src[b64LineIn:]
	}
	if final && len(src) > 0 {
		if e.more {
			out[o], out[o+1] = '\r', '\n'
			o += 2
		}
		e.more = true
		n := base64.StdEncoding.EncodedLen(len(src))
		base64.StdEncoding.Encode(out[o:o+n], src)
		o += n
	}
	if o > 0 {
		if _, err := e.w.Write(out[:o]); err != nil {
			e.err = err
		}
	}
}
