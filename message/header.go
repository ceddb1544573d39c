package message

import (
	"bufio"
	"bytes"
	"io"
)

// Header is a header block's fields in order, names as written, values
// unfolded but not RFC 2047 decoded.
type Header []HeaderField

// Get returns the first field with the given name (case-insensitive), or "".
func (h Header) Get(name string) string {
	for _, f := range h {
		if equalFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Values returns every field with the given name (case-insensitive).
func (h Header) Values(name string) []string {
	var out []string
	for _, f := range h {
		if equalFold(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// ReadHeader reads the header block at the start of r as tolerantly as
// Parse does (an mbox "From " line before it is skipped, odd lines are
// kept or dropped the same way) and returns its fields, 8-bit values read
// as UTF-8 the way Parse reads them. It reads at most the header (bounded
// by 1 MiB) plus a buffer's worth of lookahead; the body is not read.
// Malformed input is never an error; a failing r is.
func ReadHeader(r io.Reader) (Header, error) {
	p := &parser{}
	br := bufio.NewReaderSize(r, 4<<10)
	if err := skipEnvelopeLines(br); err != nil {
		return nil, err
	}
	hb, err := readHeader(br)
	if err != nil {
		return nil, err
	}
	declared := parseMediaValue(hb.get("Content-Type"), nil).params["charset"]
	return p.headerFields(hb.fields, func(string) {}, declared), nil
}

// HeaderLength returns the length of the header block at the start of raw,
// including the blank line that ends it (len(raw) when there is none).
func HeaderLength(raw []byte) int {
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\n')
		if j < 0 {
			return len(raw)
		}
		line := bytes.TrimRight(raw[i:i+j], "\r")
		i += j + 1
		if len(line) == 0 {
			return i
		}
	}
	return len(raw)
}

// FirstAddress returns the address of the first mailbox in an address header
// value, read like ParseAddressList reads it, or "" when it names none
// (the null reverse-path "<>" included).
func FirstAddress(v string) string {
	if list := ParseAddressList(v); len(list) > 0 {
		return list[0].Address
	}
	return ""
}

// DecodeWords decodes the RFC 2047 encoded-words of an unstructured header
// value (Subject) as tolerantly as Parse does: unknown charsets degrade to
// a guess, never an error.
func DecodeWords(v string) string { return decodeWords(v, nil) }
