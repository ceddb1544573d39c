package notify

import (
	"hash/maphash"
	"sync"

	"github.com/ticketgate/ticketgate/quote"
	"github.com/ticketgate/ticketgate/templates"
)

const (
	// saidGen is how many stripped texts one generation of the cache
	// holds; two generations are kept. Under load the outbox renders a
	// message's notifications seconds after it arrived, thousands of
	// messages later: a cache emptied whenever it filled (as this one
	// was) missed most of them.
	saidGen = 8192
	// saidMax is the longest stripped text kept; a longer one is stripped
	// again for each recipient (rare, and bounded by max_text_bytes).
	saidMax = 16 << 10
)

// saidCache keeps what the author of a message wrote (its text without
// quoted history and signature), so the several notifications one message
// causes strip it once, not once per recipient: reply stripping is the
// costliest part of rendering. An entry is used only for the same text
// (compared by a hash, so the cache does not keep whole texts alive), so
// an edited message is stripped anew. When the current generation is
// full it becomes the old one and the old one is dropped.
type saidCache struct {
	mu       sync.Mutex
	seed     maphash.Seed
	cur, old map[uint64]saidEntry
}

type saidEntry struct {
	hash uint64
	said string
}

// said returns the stripped text of message id.
func (c *saidCache) said(id uint64, text string) string {
	c.mu.Lock()
	if c.cur == nil {
		c.seed = maphash.MakeSeed()
		c.cur = make(map[uint64]saidEntry)
	}
	h := maphash.String(c.seed, text)
	e, ok := c.cur[id]
	if !ok {
		e, ok = c.old[id]
	}
	c.mu.Unlock()
	if ok && e.hash == h {
		return e.said
	}
	s := quote.Strip(text, templates.AllReplyMarkers())
	if len(s) > saidMax {
		return s
	}
	c.mu.Lock()
	if len(c.cur) >= saidGen {
		c.old, c.cur = c.cur, make(map[uint64]saidEntry, saidGen)
	}
	c.cur[id] = saidEntry{hash: h, said: s}
	c.mu.Unlock()
	return s
}
