package ingest

import (
	"fmt"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/config"
)

// floodLimiter counts the tickets each sender opened per project in a
// sliding window. It lives in memory: what it protects against is a burst
// now, and a restart resetting it costs at most one more window of
// tickets. (Outbound limits, which stop mail loops across restarts, are in
// the store.)
type floodLimiter struct {
	mu      sync.Mutex
	opened  map[string][]time.Time // project \0 sender → times, oldest first
	lastGC  time.Time
	now     func() time.Time
	enabled bool
}

func newFloodLimiter(now func() time.Time) *floodLimiter {
	return &floodLimiter{opened: map[string][]time.Time{}, now: now, enabled: true}
}

// ErrFlood is the SMTP answer to a sender over its new-ticket limit: 451
// makes the sending server back off and retry later.
func floodError(r config.Rate) error {
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1},
		Message: fmt.Sprintf("Too many new requests from this sender (limit %s), try again later", r)}
}

func (f *floodLimiter) recent(key string, r config.Rate, now time.Time) []time.Time {
	times := f.opened[key]
	cut := 0
	for cut < len(times) && now.Sub(times[cut]) >= r.Per {
		cut++
	}
	return times[cut:]
}

// reserve takes one of sender's new-ticket slots in project, or fails
// when none is left. Check and count are one step, so concurrent
// deliveries from one sender cannot all squeeze past the limit; release
// gives the slot back when no ticket was opened after all.
func (f *floodLimiter) reserve(project, sender string, r config.Rate) (release func(), err error) {
	if sender == "" {
		return func() {}, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	key := project + "\x00" + sender
	times := f.recent(key, r, now)
	if len(times) >= r.Count {
		f.opened[key] = times
		return nil, floodError(r)
	}
	f.opened[key] = append(times, now)
	f.gc(r, now)
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		ts := f.opened[key]
		for i := len(ts) - 1; i >= 0; i-- {
			if ts[i].Equal(now) {
				f.opened[key] = append(ts[:i:i], ts[i+1:]...)
				return
			}
		}
	}, nil
}

// gc forgets senders quiet for a whole window, so memory follows the
// number of active senders, not of senders ever seen. Called with mu held.
func (f *floodLimiter) gc(r config.Rate, now time.Time) {
	if now.Sub(f.lastGC) <= r.Per {
		return
	}
	for k := range f.opened {
		if len(f.recent(k, r, now)) == 0 {
			delete(f.opened, k)
		}
	}
	f.lastGC = now
}
