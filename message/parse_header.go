package message

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxHeaderBytes bounds one header block (the message's or a part's), as
// go-message does by default; what follows is read as body, so nothing is
// lost, and memory stays bounded.
const maxHeaderBytes = 1 << 20

// rawField is one header field as read: the name as written (trimmed) and
// the value unfolded but still in its original bytes, which may be 8-bit.
type rawField struct {
	name  string
	value string
}

// headerBlock is the result of readHeader.
type headerBlock struct {
	fields []rawField
	// body continues where the header ended; it includes any lines that
	// were read as a lookahead but belong to the body.
	body io.Reader
	// noHeader is set when nothing that looks like a header field was
	// found, in which case body starts at the first byte.
	noHeader bool
	problems []string
}

// get returns the first value of the named field (case-insensitive).
func (h *headerBlock) get(name string) string {
	for _, f := range h.fields {
		if strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

// readHeader reads a header block from br tolerantly. Unlike
// textproto.ReadHeader it never gives up half-way: odd field names (the
// letters/ corpus has names with tabs and punctuation), an indented first
// line, junk lines, 8-bit bytes and a missing blank line are all recorded as
// problems and reading goes on. The only error is an I/O error from br.
//
// The block is collected whole (it is bounded by maxHeaderBytes) before it
// is interpreted, because deciding whether a line without a colon is a
// broken continuation or the start of a body needs the lines after it.
func readHeader(br *bufio.Reader) (*headerBlock, error) {
	// Lines are read straight into raw and kept as slices of it: a
	// slice of an array raw has grown out of still holds its bytes. The
	// sizes fit a usual header without growing.
	var (
		lines    = make([][]byte, 0, 16) // non-empty lines, without line endings
		starts   = make([]int, 0, 16)    // offset of each of lines in raw
		raw      = make([]byte, 0, 1024) // every byte consumed, so nothing is lost if it turns out to be body
		overflow = -1                    // offset in raw where an over-long header was cut
	)
	for {
		off := len(raw)
		var full bool
		var err error
		raw, full, err = appendLineMax(raw, br, maxHeaderBytes-off)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		line := raw[off:]
		if !full {
			overflow = off
			break
		}
		if len(line) == 0 {
			break // EOF
		}
		content := trimEOL(line)
		if len(content) > 0 {
			lines = append(lines, content)
			starts = append(starts, off)
		}
		if len(content) == 0 || err != nil {
			break
		}
	}

	hb := &headerBlock{}
	rest := func(off int) io.Reader {
		if off >= len(raw) {
			return br
		}
		return io.MultiReader(bytes.NewReader(raw[off:]), br)
	}

	// A line is a field if it has a name before a colon and does not
	// start with white space.
	isField := make([]bool, len(lines))
	anyField := false
	for i, l := range lines {
		if fieldLike(l) {
			isField[i] = true
			anyField = true
		}
	}
	if len(lines) == 0 && overflow < 0 {
		// An empty header: just the blank line (or nothing at all).
		hb.body = br
		return hb, nil
	}
	if !anyField && !(len(lines) > 0 && isWSP(lines[0][0]) && fieldLike(trimWSP(lines[0]))) {
		hb.noHeader = true
		hb.body = rest(0)
		return hb, nil
	}

	// A run of lines at the end that are neither fields nor indented
	// continuations is the body, started without the blank line.
	end := len(lines)
	for end > 0 && !isField[end-1] && !isWSP(lines[end-1][0]) {
		end--
	}
	switch {
	case end < len(lines):
		hb.problems = append(hb.problems, "no blank line between header and body")
		hb.body = rest(starts[end])
	case overflow >= 0:
		hb.problems = append(hb.problems, fmt.Sprintf("header block larger than %d bytes; the rest was read as body", maxHeaderBytes))
		hb.body = rest(overflow)
	default:
		hb.body = br
	}

	var cur *fieldBuilder
	fields := make([]fieldBuilder, 0, end)
	junk := 0
	for i := 0; i < end; i++ {
		l := lines[i]
		switch {
		case isField[i]:
			fields = append(fields, newFieldBuilder(l))
			cur = &fields[len(fields)-1]
		case isWSP(l[0]) && cur != nil:
			cur.add(l)
		case isWSP(l[0]) && fieldLike(trimWSP(l)):
			hb.problems = append(hb.problems, "first header line is indented; read it as a field")
			fields = append(fields, newFieldBuilder(trimWSP(l)))
			cur = &fields[len(fields)-1]
		case cur != nil:
			// Mailers that forget to indent continuation lines
			// (long Received and X-Spam headers) produce these.
			junk++
			cur.add(l)
		default:
			junk++
		}
	}
	if junk > 0 {
		hb.problems = append(hb.problems, fmt.Sprintf("%d header line(s) without a field name", junk))
	}
	hb.fields = make([]rawField, 0, len(fields))
	for _, f := range fields {
		if f.name == "" {
			continue
		}
		hb.fields = append(hb.fields, rawField{name: f.name, value: string(f.value)})
	}
	return hb, nil
}

// readLineMax returns the next line including its line ending. If the
// line is longer than max, it returns what it read so far (at most one
// buffer more than max) with full=false and leaves the rest unread. At EOF
// the last line may lack a line ending; an empty line with io.EOF means
// there was nothing left.
func readLineMax(br *bufio.Reader, max int) (line []byte, full bool, err error) {
	return appendLineMax(nil, br, max)
}

// appendLineMax is readLineMax appending the line to dst: it returns dst
// with the line, and full says whether the line (not dst) fits in max.
func appendLineMax(dst []byte, br *bufio.Reader, max int) (_ []byte, full bool, err error) {
	start := len(dst)
	for {
		var chunk []byte
		chunk, err = br.ReadSlice('\n')
		dst = append(dst, chunk...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return dst, len(dst)-start <= max, err
		}
		if len(dst)-start > max {
			return dst, false, nil
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

func isWSP(c byte) bool { return c == ' ' || c == '\t' }

func trimWSP(b []byte) []byte { return bytes.Trim(b, " \t") }

// fieldLike reports whether a line (not starting with white space) has the
// shape "name: value" with a printable first character.
func fieldLike(l []byte) bool {
	if len(l) == 0 || l[0] <= ' ' || l[0] >= 0x7f || l[0] == ':' {
		return false
	}
	i := bytes.IndexByte(l, ':')
	if i <= 0 || i > 998 {
		return false
	}
	for _, c := range l[:i] {
		// Tabs and spaces do occur in names (letters/ corpus); control
		// characters and 8-bit bytes mean this is text, not a header.
		if (c < ' ' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

type fieldBuilder struct {
	name  string
	value []byte
}

func newFieldBuilder(l []byte) fieldBuilder {
	i := bytes.IndexByte(l, ':')
	fb := fieldBuilder{name: string(trimWSP(l[:i]))}
	fb.add(l[i+1:])
	return fb
}

// add appends one physical line to the value, unfolding the way go-message
// does: white space around line breaks becomes one space.
func (fb *fieldBuilder) add(l []byte) {
	l = trimWSP(l)
	if len(l) == 0 {
		return
	}
	if len(fb.value) > 0 {
		fb.value = append(fb.value, ' ')
	}
	if bytes.IndexByte(l, 0) >= 0 {
		l = bytes.ReplaceAll(l, []byte{0}, nil)
	}
	fb.value = append(fb.value, l...)
}
