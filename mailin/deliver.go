package mailin

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/message"
)

// ErrNoHeader is returned for input that is empty or has no header block:
// nothing we could ever store as mail.
var ErrNoHeader = errors.New("no message header found")

// CheckHeader reports ErrNoHeader when raw is empty or does not start with
// a header field (an mbox "From " line is allowed before it).
func CheckHeader(raw []byte) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return fmt.Errorf("empty input: %w", ErrNoHeader)
	}
	line := firstLine(raw)
	if bytes.HasPrefix(line, []byte("From ")) {
		rest := raw[len(line):]
		rest = bytes.TrimLeft(rest, "\r\n")
		line = firstLine(rest)
	}
	// Lenient on purpose: an indented first field or odd characters in a
	// field name still make a header block the parser can cope with.
	line = bytes.TrimLeft(line, " \t")
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return fmt.Errorf("first line is not a header field: %w", ErrNoHeader)
	}
	for _, c := range line[:colon] {
		if c < ' ' && c != '\t' || c == 127 {
			return fmt.Errorf("first line is not a header field: %w", ErrNoHeader)
		}
	}
	if bytes.ContainsRune(bytes.TrimRight(line[:colon], " \t"), ' ') {
		return fmt.Errorf("first line is not a header field: %w", ErrNoHeader)
	}
	return nil
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return bytes.TrimRight(b[:i], "\r")
	}
	return b
}

// RecipientsFromHeader finds where an MTA meant the message to go when
// `deliver` was not told: Delivered-To, then X-Original-To, then To and Cc.
// Every header is under the sender's control, so the caller must not let
// what it finds here grant more than the bare project address would. The
// header is read by package message, as the pipeline will read it.
func RecipientsFromHeader(raw []byte) []string {
	h, err := message.ReadHeader(bytes.NewReader(raw))
	if err != nil {
		return nil
	}
	if out := addressesIn(h, "Delivered-To", "X-Original-To"); len(out) > 0 {
		return out
	}
	var out []string
	for _, name := range []string{"To", "Cc"} {
		out = append(out, addressesIn(h, name)...)
	}
	return out
}

// MTARecipients returns the addresses in the headers a delivering MTA adds
// (Delivered-To, else X-Original-To). A sender can write them too.
func MTARecipients(raw []byte) []string {
	h, err := message.ReadHeader(bytes.NewReader(raw))
	if err != nil {
		return nil
	}
	return addressesIn(h, "Delivered-To", "X-Original-To")
}

// addressesIn returns the addresses of the first of the named fields that
// has any, read by message.ParseAddressList.
func addressesIn(h message.Header, names ...string) []string {
	for _, name := range names {
		var out []string
		for _, v := range h.Values(name) {
			for _, a := range message.ParseAddressList(v) {
				out = append(out, a.Address)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// LMTPDeliver hands one message to the daemon's local LMTP socket and
// returns the per-recipient verdicts (nil = stored). The error is for the
// conversation as a whole; a daemon that is not running gives a temporary
// one.
func LMTPDeliver(socket, from string, rcpts []string, raw []byte, timeout time.Duration) (map[string]error, error) {
	conn, err := net.DialTimeout("unix", socket, timeout)
	if err != nil {
		return nil, fault.Temporary(fmt.Errorf("daemon not reachable at %s: %w", socket, err))
	}
	conn.SetDeadline(time.Now().Add(timeout))
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return nil, classify(err)
	}
	if err := c.Mail(from, nil); err != nil {
		return nil, classify(err)
	}
	verdicts := map[string]error{}
	var accepted []string
	for _, r := range rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			verdicts[r] = classify(err)
			continue
		}
		accepted = append(accepted, r)
	}
	if len(accepted) == 0 {
		return verdicts, nil
	}
	w, err := c.Data()
	if err != nil {
		return nil, classify(err)
	}
	if _, err := w.Write(raw); err != nil {
		return nil, classify(err)
	}
	_, err = w.CloseWithLMTPResponse()
	for _, r := range accepted {
		verdicts[r] = nil
	}
	var lerr smtp.LMTPDataError
	if errors.As(err, &lerr) {
		for rcpt, se := range lerr {
			verdicts[rcpt] = classify(se)
		}
	} else if err != nil {
		return nil, classify(err)
	}
	c.Quit()
	return verdicts, nil
}

func classify(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		if se.Code >= 400 && se.Code < 500 {
			return fault.Temporary(err)
		}
		return fault.Permanent(err)
	}
	return fault.Temporary(err)
}
