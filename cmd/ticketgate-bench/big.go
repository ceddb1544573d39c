package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// BigResult is what sending large messages did to the daemon.
type BigResult struct {
	Kind            string  `json:"kind"` // attachment, text, flowed
	Messages        int     `json:"messages"`
	MessageBytes    int64   `json:"message_bytes"` // of one message
	AttachmentBytes int64   `json:"attachment_bytes,omitempty"`
	DataTo250Ms     float64 `json:"data_to_250_ms"` // the slowest
	SendSec         float64 `json:"send_s"`
	RSSAnonBeforeMB float64 `json:"rss_anon_before_mb,omitempty"`
	RSSAnonMaxMB    float64 `json:"rss_anon_max_mb,omitempty"`
	RSSAnonAfterMB  float64 `json:"rss_anon_after_mb,omitempty"`
}

// BigOptions says what `big` sends: Bytes of attachment (decoded) or, with
// Kind text or flowed, of text in one text/plain part (format=flowed: one
// paragraph of soft-broken lines, the worst case for unflowing),
// Concurrent messages at once.
type BigOptions struct {
	Kind       string
	Bytes      int64
	Concurrent int
}

// textReader produces n bytes of text lines without holding them; flowed
// lines end in a space (a soft break), so all of it is one paragraph.
type textReader struct {
	left   int64
	flowed bool
	line   int
	buf    []byte
}

func (t *textReader) Read(p []byte) (int, error) {
	if len(t.buf) == 0 {
		if t.left <= 0 {
			return 0, io.EOF
		}
		t.line++
		l := fmt.Sprintf("Line %d of the log: Grüße, the printer on floor 2 prints empty pages again.", t.line)
		if t.flowed {
			l += " "
		}
		t.buf = append(t.buf[:0], l+"\r\n"...)
		t.left -= int64(len(t.buf))
	}
	n := copy(p, t.buf)
	t.buf = t.buf[n:]
	return n, nil
}

// attachmentMail is the rest of a message's header and its body: a
// multipart/mixed of a line of text and one attachment named filename of
// size bytes (attachmentReader's).
func attachmentMail(text, filename string, size int64) io.Reader {
	head := fmt.Sprintf("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n%s\r\n"+
		"--b\r\nContent-Type: application/octet-stream; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
		text, filename, filename)
	return io.MultiReader(strings.NewReader(head), &attachmentReader{left: size}, strings.NewReader("--b--\r\n"))
}

// attachmentReader produces a base64 body of n decoded bytes, 76-column
// lines, without holding it: the client side stays small too.
type attachmentReader struct {
	left int64
	buf  []byte
	seed byte
}

func (a *attachmentReader) Read(p []byte) (int, error) {
	for len(a.buf) == 0 {
		if a.left <= 0 {
			return 0, io.EOF
		}
		raw := make([]byte, min(57*1024, a.left)) // 57 bytes = one 76-char line
		for i := range raw {
			a.seed = a.seed*31 + 7
			raw[i] = a.seed
		}
		a.left -= int64(len(raw))
		enc := base64.StdEncoding.EncodeToString(raw)
		for len(enc) > 76 {
			a.buf = append(a.buf, enc[:76]...)
			a.buf = append(a.buf, '\r', '\n')
			enc = enc[76:]
		}
		a.buf = append(a.buf, enc...)
		a.buf = append(a.buf, '\r', '\n')
	}
	n := copy(p, a.buf)
	a.buf = a.buf[n:]
	return n, nil
}

// countingWriter counts what passes.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// SendBig sends opts.Concurrent large messages at once, each on its own
// connection, and samples the daemon's RssAnon every 5 ms meanwhile (pid
// 0: no samples).
func SendBig(addr, rcpt string, opts BigOptions, pid int) (*BigResult, error) {
	opts.Concurrent = max(opts.Concurrent, 1)
	if opts.Kind == "" {
		opts.Kind = "attachment"
	}
	res := &BigResult{Kind: opts.Kind, Messages: opts.Concurrent}
	if opts.Kind == "attachment" {
		res.AttachmentBytes = opts.Bytes
	}
	var sampler *procSampler
	if pid > 0 {
		sampler = startSampler(pid, 5*time.Millisecond)
	}
	start := time.Now()
	type one struct {
		size  int64
		to250 time.Duration
		err   error
	}
	done := make(chan one, opts.Concurrent)
	for i := range opts.Concurrent {
		go func() {
			size, to250, err := sendBigOne(addr, rcpt, opts, i)
			done <- one{size, to250, err}
		}()
	}
	var firstErr error
	for range opts.Concurrent {
		o := <-done
		if o.err != nil && firstErr == nil {
			firstErr = o.err
		}
		res.MessageBytes = o.size
		res.DataTo250Ms = max(res.DataTo250Ms, float64(o.to250.Microseconds())/1000)
	}
	res.SendSec = time.Since(start).Seconds()
	if sampler != nil {
		// Let the daemon finish what follows the 250 (the auto-reply).
		time.Sleep(500 * time.Millisecond)
		st := sampler.stop()
		res.RSSAnonBeforeMB, res.RSSAnonMaxMB, res.RSSAnonAfterMB = st.startMB, st.maxMB, st.endMB
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return res, nil
}

// sendBigOne sends one large message and returns its size and the time
// from the end of DATA to the 250.
func sendBigOne(addr, rcpt string, opts BigOptions, i int) (int64, time.Duration, error) {
	c, err := smtp.Dial(addr)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	start := time.Now()
	from := fmt.Sprintf("big-%d-%d@customer.example", start.UnixNano(), i)
	if err := c.Mail(from, nil); err != nil {
		return 0, 0, err
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return 0, 0, err
	}
	wc, err := c.Data()
	if err != nil {
		return 0, 0, err
	}
	cw := &countingWriter{w: wc}
	fmt.Fprintf(cw, "From: <%s>\r\nTo: %s\r\nSubject: Big %s\r\nMessage-ID: <big-%d-%d@customer.example>\r\n%sMIME-Version: 1.0\r\n",
		from, rcpt, opts.Kind, start.UnixNano(), i, dateHeader)
	var body io.Reader
	switch opts.Kind {
	case "text", "flowed":
		ct := "text/plain; charset=utf-8"
		if opts.Kind == "flowed" {
			ct += "; format=flowed"
		}
		fmt.Fprintf(cw, "Content-Type: %s\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", ct)
		body = &textReader{left: opts.Bytes, flowed: opts.Kind == "flowed"}
	default:
		body = attachmentMail("The log file is attached.", "big.bin", opts.Bytes)
	}
	if _, err := io.Copy(cw, body); err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	if err := wc.Close(); err != nil {
		return 0, 0, err
	}
	to250 := time.Since(t0)
	c.Quit()
	return cw.n, to250, nil
}
