// Package redact hides support keys (issue 17) in what ticketgate serves
// or copies: a key matching a project's support_keys.pattern keeps only
// its last 4 characters. The raw message and attachments stay whole on
// disk (the durable record, read by the key check and by re-parsing);
// every path that hands their bytes to a person — the desk's raw and
// attachment downloads, the admin API's and the customer page's
// attachment downloads, notification mail that attaches them — streams
// them through this package. Nothing is held whole in memory: a Writer
// keeps back only the tail that might be the start of a key.
package redact

import (
	"io"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Hold is how many bytes a Writer keeps back at the end of what it was
// given, so that a key split across two writes is still seen whole: a
// key longer than this is redacted only when it arrives in one piece.
const Hold = 1024

// maxPending bounds what a Writer keeps when a match keeps growing (a
// pattern such as [0-9]+ over a long run of digits): past it, what was
// found so far is redacted and written.
const maxPending = 64 << 10

// Key is one key with all but its last 4 characters starred (decide.RedactKey).
func Key(k string) string {
	n := utf8.RuneCountInString(k)
	if n <= 4 {
		return strings.Repeat("*", n)
	}
	r := []rune(k)
	return strings.Repeat("*", n-4) + string(r[n-4:])
}

// String redacts every match of re in s (nil re: s unchanged).
func String(re *regexp.Regexp, s string) string {
	if re == nil || s == "" {
		return s
	}
	return re.ReplaceAllStringFunc(s, Key)
}

// Writer redacts keys in the byte stream written to it and passes the
// rest on unchanged. Close flushes what it holds back (and does not close
// the underlying writer).
type Writer struct {
	w   io.Writer
	re  *regexp.Regexp
	buf []byte
	err error
}

// NewWriter returns a Writer onto w; with a nil re it still works and
// changes nothing.
func NewWriter(w io.Writer, re *regexp.Regexp) *Writer {
	return &Writer{w: w, re: re}
}

// Write takes p; it may keep up to Hold bytes (or a growing match, up to
// maxPending) back until the next Write or Close.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.re == nil {
		_, w.err = w.w.Write(p)
		if w.err != nil {
			return 0, w.err
		}
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) > 2*Hold {
		w.flush(false)
	}
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// Close writes what is held back.
func (w *Writer) Close() error {
	if w.err == nil && w.re != nil {
		w.flush(true)
	}
	return w.err
}

// flush writes the part of buf that no later byte can change: everything
// up to Hold bytes before its end, except that a match reaching into
// those last bytes is kept whole (it may go on).
func (w *Writer) flush(final bool) {
	safe := len(w.buf)
	if !final {
		safe -= Hold
	}
	pos := 0
	var out []byte
	for _, m := range w.re.FindAllIndex(w.buf, -1) {
		s, e := m[0], m[1]
		if s >= safe {
			break
		}
		if e > safe-0 && !final && len(w.buf)-s < maxPending {
			// The match reaches the tail: it may still grow.
			safe = s
			break
		}
		out = append(out, w.buf[pos:s]...)
		out = append(out, Key(string(w.buf[s:e]))...)
		pos = e
	}
	if pos < safe {
		out = append(out, w.buf[pos:safe]...)
		pos = safe
	}
	if len(out) > 0 {
		if _, err := w.w.Write(out); err != nil {
			w.err = err
			return
		}
	}
	w.buf = append(w.buf[:0], w.buf[pos:]...)
}

// Attachment copies an attachment's bytes (as stored: decoded) from r to
// w: a message (message/rfc822) through Message, text through a Writer,
// anything else (TextLike false) unchanged.
func Attachment(w io.Writer, r io.Reader, re *regexp.Regexp, contentType, name string) error {
	ct := strings.ToLower(strings.TrimSpace(contentType))
	switch {
	case re == nil || !TextLike(ct, name):
		_, err := io.Copy(w, r)
		return err
	case strings.HasPrefix(ct, "message/rfc822"), strings.HasPrefix(ct, "message/global"):
		return Message(w, r, re)
	}
	rw := NewWriter(w, re)
	if _, err := io.Copy(rw, r); err != nil {
		return err
	}
	return rw.Close()
}
