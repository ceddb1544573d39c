package message

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// multipartReader splits a multipart body into parts. It exists because
// go-message's reader (a copy of mime/multipart) stops for good at the
// first malformed part header or stray line between parts, and the rest of
// the message is lost; mail in the wild has all of these. This one only
// looks for delimiter lines: everything between two of them is a part, text
// before the first is the preamble, a missing closing delimiter ends the
// last part at EOF. Parts are returned raw (header and body), as streams.
type multipartReader struct {
	br   *bufio.Reader
	dash []byte // "--" + boundary

	cur      *partReader
	parts    int
	done     bool // no more parts
	closed   bool // the closing delimiter was seen
	preamble []byte
	// preambleMax bounds what is kept of the preamble; it is only used
	// when no delimiter is ever found.
	preambleMax int
}

func newMultipartReader(r io.Reader, boundary string, preambleMax int) *multipartReader {
	return &multipartReader{
		br:          bufio.NewReaderSize(r, 16<<10),
		dash:        []byte("--" + boundary),
		preambleMax: preambleMax,
	}
}

type delimKind int

const (
	notDelim delimKind = iota
	nextDelim
	closeDelim
)

// delimiter classifies a whole line (with its line ending).
func (mr *multipartReader) delimiter(line []byte) delimKind {
	if !bytes.HasPrefix(line, mr.dash) {
		return notDelim
	}
	rest := line[len(mr.dash):]
	if bytes.HasPrefix(rest, []byte("--")) {
		return closeDelim
	}
	// "--boundaryX" is a different, longer boundary (nested parts often
	// use a common prefix); only trailing white space is allowed.
	if len(bytes.Trim(rest, " \t\r\n")) != 0 {
		return notDelim
	}
	return nextDelim
}

// next returns a reader over the next part's raw bytes, or nil when there
// are no more parts. The previous part is drained first. Errors are I/O
// errors of the underlying reader.
func (mr *multipartReader) next() (io.Reader, error) {
	if mr.cur != nil {
		if _, err := io.Copy(io.Discard, mr.cur); err != nil {
			return nil, err
		}
		mr.cur = nil
	}
	if mr.done {
		return nil, nil
	}
	if mr.parts == 0 {
		if err := mr.skipPreamble(); err != nil || mr.done {
			return nil, err
		}
	}
	mr.parts++
	mr.cur = &partReader{mr: mr, lineStart: true}
	return mr.cur, nil
}

// skipPreamble reads up to and including the first delimiter line.
func (mr *multipartReader) skipPreamble() error {
	lineStart := true
	for {
		chunk, err := mr.br.ReadSlice('\n')
		partial := errors.Is(err, bufio.ErrBufferFull)
		if lineStart && !partial {
			switch mr.delimiter(chunk) {
			case nextDelim:
				return nil
			case closeDelim:
				mr.done, mr.closed = true, true
				return nil
			}
		}
		if room := mr.preambleMax - len(mr.preamble); room > 0 {
			mr.preamble = append(mr.preamble, chunk[:min(room, len(chunk))]...)
		}
		lineStart = !partial
		if partial {
			continue
		}
		if err != nil {
			mr.done = true
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// partReader yields the raw bytes of one part. The line ending before a
// delimiter belongs to the delimiter (RFC 2046), so each line ending is held
// back until the next line shows whether it ends the part.
type partReader struct {
	mr        *multipartReader
	pending   []byte // bytes not yet returned, a tail of buf
	buf       []byte
	held      []byte
	lineStart bool
	eof       bool
	err       error
}

func (p *partReader) Read(b []byte) (int, error) {
	for len(p.pending) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		if p.eof {
			return 0, io.EOF
		}
		p.fill()
	}
	n := copy(b, p.pending)
	p.pending = p.pending[n:]
	return n, nil
}

func (p *partReader) fill() {
	mr := p.mr
	chunk, err := mr.br.ReadSlice('\n')
	partial := errors.Is(err, bufio.ErrBufferFull)
	if partial {
		err = nil
	}
	if p.lineStart && !partial && len(chunk) > 0 {
		switch mr.delimiter(chunk) {
		case nextDelim:
			p.eof = true
			return
		case closeDelim:
			p.eof = true
			mr.done, mr.closed = true, true
			return
		}
	}
	content, eol := chunk, []byte(nil)
	if !partial {
		content = trimEOL(chunk)
		eol = chunk[len(content):]
	}
	p.buf = append(append(p.buf[:0], p.held...), content...)
	p.held = append(p.held[:0], eol...)
	p.lineStart = !partial
	if err != nil {
		// EOF without a closing delimiter: the last line ending is
		// content after all.
		p.buf = append(p.buf, p.held...)
		p.held = p.held[:0]
		mr.done = true
		if errors.Is(err, io.EOF) {
			p.eof = true
		} else {
			p.err = err
		}
	}
	p.pending = p.buf
}
