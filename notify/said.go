package notify

import (
	"sync"

	"github.com/ticketgate/ticketgate/quote"
	"github.com/ticketgate/ticketgate/templates"
)

// saidCap bounds the stripped texts kept: enough for the notifications
// of the messages in flight (one message causes one to a few dozen mails,
// rendered within seconds of each other).
const saidCap = 2048

// saidCache keeps what the author of a message wrote (its text without
// quoted history and signature), so the several notifications one message
// causes strip it once, not once per recipient: reply stripping is the
// costliest part of rendering. An entry is used only for the same text,
// so an edited message is stripped anew.
type saidCache struct {
	mu sync.Mutex
	m  map[uint64]saidEntry
}

type saidEntry struct{ text, said string }

// said returns the stripped text of message id.
func (c *saidCache) said(id uint64, text string) string {
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && e.text == text {
		return e.said
	}
	s := quote.Strip(text, templates.AllReplyMarkers())
	c.mu.Lock()
	if c.m == nil || len(c.m) >= saidCap {
		c.m = make(map[uint64]saidEntry, saidCap)
	}
	c.m[id] = saidEntry{text: text, said: s}
	c.mu.Unlock()
	return s
}
