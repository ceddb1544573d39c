package imapin

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/ticketgate/ticketgate/mailin"
	"github.com/ticketgate/ticketgate/msgid"
)

// headerInfo is what the fetcher reads from a message's header itself: the
// envelope sender the delivering MTA recorded, and the Message-ID for logs.
type headerInfo struct {
	returnPath string
	nullSender bool
	messageID  string
}

// headerEnd returns the length of the header block including the blank
// line that ends it (len(raw) when there is none).
func headerEnd(raw []byte) int {
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

// fields splits a header block into unfolded "Name: value" fields.
func fields(hdr []byte) []string {
	var out []string
	for _, line := range strings.Split(string(hdr), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			out[len(out)-1] += " " + strings.TrimSpace(line)
			continue
		}
		out = append(out, line)
	}
	return out
}

// scanHeader reads Return-Path (the first: the final MTA adds it on top)
// and Message-ID.
func scanHeader(raw []byte) headerInfo {
	var h headerInfo
	seenRP := false
	for _, f := range fields(raw[:headerEnd(raw)]) {
		name, value, ok := strings.Cut(f, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "return-path":
			if seenRP {
				continue
			}
			seenRP = true
			addr := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(value, "<"), ">"))
			if addr == "" {
				h.nullSender = true
			} else {
				h.returnPath = addr
			}
		case "message-id":
			if h.messageID == "" {
				h.messageID = msgid.Canonical(value)
			}
		}
	}
	return h
}

// oversizeStandIn builds what is stored instead of a message too large to
// download: its own header (MIME fields replaced, so the note parses as
// plain text) and a note for the agents.
func oversizeStandIn(header []byte, size, limit int64, errorMailbox string) []byte {
	var b bytes.Buffer
	for _, f := range fields(header[:headerEnd(header)]) {
		name, _, _ := strings.Cut(f, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-type", "content-transfer-encoding", "mime-version", "content-disposition":
			continue
		}
		b.WriteString(f + "\r\n")
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	fmt.Fprintf(&b, "This message of %d bytes was not downloaded: it is over inbound.max_message_bytes (%d bytes).\r\n", size, limit)
	fmt.Fprintf(&b, "The sender has been told. The whole message is in the mailbox %q.\r\n", errorMailbox)
	return b.Bytes()
}

// setOversize marks the envelope of a stand-in, so that the pipeline
// refuses it (the agents are told, and a human sender gets a notice).
func setOversize(env *mailin.Envelope, size int64) {
	env.Oversize = size
}
