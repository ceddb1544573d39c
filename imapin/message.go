package imapin

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/ticketgate/ticketgate/mailin"
	"github.com/ticketgate/ticketgate/message"
	"github.com/ticketgate/ticketgate/msgid"
)

// headerInfo is what the fetcher reads from a message's header itself: the
// envelope sender the delivering MTA recorded, and the Message-ID for logs.
type headerInfo struct {
	returnPath string
	nullSender bool
	messageID  string
}

// envelopeOf reads Return-Path (the first: the final MTA adds it on top)
// and Message-ID from a header read by package message.
func envelopeOf(h message.Header) headerInfo {
	var info headerInfo
	if rp := h.Values("Return-Path"); len(rp) > 0 {
		v := strings.TrimSpace(rp[0])
		if addr := message.FirstAddress(v); addr != "" {
			info.returnPath = addr
		} else if bare := strings.TrimSpace(strings.Trim(v, "<>")); bare != "" {
			info.returnPath = bare
		} else {
			info.nullSender = true
		}
	}
	info.messageID = msgid.Canonical(h.Get("Message-ID"))
	return info
}

// peekHeader reads the header block at the start of r and returns it with
// a reader that yields all of r again, from its first byte. Only the header
// and a small lookahead (bounded by the parser's header limit) are held.
func peekHeader(r io.Reader) (message.Header, io.Reader, error) {
	var head bytes.Buffer
	h, err := message.ReadHeader(io.TeeReader(r, &head))
	if err != nil {
		return nil, nil, err
	}
	return h, io.MultiReader(&head, r), nil
}

// oversizeStandIn builds what is stored instead of a message too large to
// download: its own header (MIME fields replaced, so the note parses as
// plain text) and a note for the agents.
func oversizeStandIn(header message.Header, size, limit int64, errorMailbox string) []byte {
	var b bytes.Buffer
	for _, f := range header {
		switch strings.ToLower(f.Name) {
		case "content-type", "content-transfer-encoding", "mime-version", "content-disposition":
			continue
		}
		b.WriteString(f.Name + ": " + f.Value + "\r\n")
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
