package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"time"

	"github.com/emersion/go-smtp"
)

// BigResult is what sending one large message did to the daemon.
type BigResult struct {
	MessageBytes    int64   `json:"message_bytes"`
	AttachmentBytes int64   `json:"attachment_bytes"`
	DataTo250Ms     float64 `json:"data_to_250_ms"`
	SendSec         float64 `json:"send_s"`
	RSSAnonBeforeMB float64 `json:"rss_anon_before_mb,omitempty"`
	RSSAnonMaxMB    float64 `json:"rss_anon_max_mb,omitempty"`
	RSSAnonAfterMB  float64 `json:"rss_anon_after_mb,omitempty"`
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

// SendBig sends one message with an attachment of attachBytes (decoded)
// and samples the daemon's RssAnon every 5 ms meanwhile (pid 0: no
// samples).
func SendBig(addr, rcpt string, attachBytes int64, pid int) (*BigResult, error) {
	res := &BigResult{AttachmentBytes: attachBytes}
	var sampler *procSampler
	if pid > 0 {
		sampler = startSampler(pid, 5*time.Millisecond)
	}
	c, err := smtp.Dial(addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	start := time.Now()
	from := fmt.Sprintf("big-%d@customer.example", start.UnixNano())
	if err := c.Mail(from, nil); err != nil {
		return nil, err
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return nil, err
	}
	wc, err := c.Data()
	if err != nil {
		return nil, err
	}
	cw := &countingWriter{w: wc}
	fmt.Fprintf(cw, "From: <%s>\r\nTo: %s\r\nSubject: Big attachment\r\nMessage-ID: <big-%d@customer.example>\r\n%sMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe log file is attached.\r\n"+
		"--b\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\nContent-Disposition: attachment; filename=\"big.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
		from, rcpt, start.UnixNano(), dateHeader)
	if _, err := io.Copy(cw, &attachmentReader{left: attachBytes}); err != nil {
		return nil, err
	}
	io.WriteString(cw, "--b--\r\n")
	t0 := time.Now()
	if err := wc.Close(); err != nil {
		return nil, err
	}
	res.DataTo250Ms = float64(time.Since(t0).Microseconds()) / 1000
	res.SendSec = time.Since(start).Seconds()
	res.MessageBytes = cw.n
	c.Quit()
	if sampler != nil {
		// Let the daemon finish what follows the 250 (the auto-reply).
		time.Sleep(500 * time.Millisecond)
		st := sampler.stop()
		res.RSSAnonBeforeMB, res.RSSAnonMaxMB, res.RSSAnonAfterMB = st.startMB, st.maxMB, st.endMB
	}
	return res, nil
}
