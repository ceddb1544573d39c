package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Suppression keeps mail away from an address that bounced permanently.
type Suppression struct {
	Address string    `json:"address"`
	Until   time.Time `json:"until"`
	Reason  string    `json:"reason"`
	Ticket  string    `json:"ticket,omitempty"`
	Created time.Time `json:"created"`
}

// Suppress records (or extends) a suppression.
func (tx *boltTx) Suppress(s *Suppression) error {
	return tx.put(bSuppress, []byte(s.Address), s)
}

// Suppressed returns the suppression of addr in force at now, or nil. A
// record that does not decode is an error, not "not suppressed".
func (tx *boltTx) Suppressed(addr string, now time.Time) (*Suppression, error) {
	// Nearly every address has none: look before making one to decode
	// into (tx.get's record and key would escape either way).
	data := tx.read(bSuppress, []byte(addr))
	if data == nil {
		return nil, nil
	}
	s := new(Suppression)
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("store: decode %s/%x: %w", bSuppress, addr, err)
	}
	if !now.Before(s.Until) {
		return nil, nil
	}
	return s, nil
}

// Suppressions lists every suppression (also expired ones not yet
// cleared).
func (tx *boltTx) Suppressions() ([]*Suppression, error) {
	var out []*Suppression
	err := tx.btx.Bucket(bSuppress).ForEach(func(k, v []byte) error {
		var s Suppression
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("store: decode suppression: %w", err)
		}
		out = append(out, &s)
		return nil
	})
	return out, err
}

// ClearSuppression removes the suppression of addr.
func (tx *boltTx) ClearSuppression(addr string) error {
	return tx.btx.Bucket(bSuppress).Delete([]byte(addr))
}

// RateKey names a rate-limit counter about subject (an address or a
// ticket key) for what is counted: subject first, so that every counter of
// one subject sits in the same place of the store: the three a new
// sender's first mail counts (its new tickets by envelope and by From,
// the auto-replies to it) share one page of the rate bucket instead of
// landing on three, which under a flood of new senders were most of the
// bucket's page writes. Keys are opaque to the store; callers that count
// about one subject should name it here.
func RateKey(subject string, what ...string) string {
	n := len(subject)
	for _, w := range what {
		n += 1 + len(w)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(subject)
	for _, w := range what {
		b.WriteByte('|')
		b.WriteString(w)
	}
	return b.String()
}

// A rate counter's value is be64(count) be64(expiry): the end, in unix
// nanoseconds, of the window after its own. From then on no RateCount
// reads it (it counts the current window and the one before), and
// PruneRates removes it: RateAdd removes the old windows of the key it
// counts, but nothing else would remove the counters of the many keys
// counted once (every new sender's).
const rateValueLen = 16

// rateCounter decodes a counter's value; nil is zero, and a value of
// another form is an error.
func rateCounter(key, v []byte) (n uint64, expires int64, err error) {
	if v == nil {
		return 0, 0, nil
	}
	if len(v) != rateValueLen {
		return 0, 0, fmt.Errorf("store: decode %s/%q: counter of %d bytes", bRate, key, len(v))
	}
	return binary.BigEndian.Uint64(v), int64(binary.BigEndian.Uint64(v[8:])), nil
}

// rateN is rateCounter's count.
func rateN(key, v []byte) (uint64, error) {
	n, _, err := rateCounter(key, v)
	return n, err
}

// appendRateValue appends the value of a counter at n that expires at
// expires.
func appendRateValue(dst []byte, n uint64, expires int64) []byte {
	dst = binary.BigEndian.AppendUint64(dst, n)
	return binary.BigEndian.AppendUint64(dst, uint64(expires))
}

// rateKey is key \0 be64(window index), in one allocation with room
// for extra more bytes after it (RateAdd's counter value).
func rateKey(key string, window time.Duration, now time.Time, extra int) ([]byte, int64) {
	idx := now.UnixNano() / int64(window)
	k := make([]byte, len(key)+9, len(key)+9+extra)
	copy(k, key)
	binary.BigEndian.PutUint64(k[len(key)+1:], uint64(idx))
	return k, idx
}

// RateCount estimates how many events counted under key fell within the
// last window before now: the current fixed window's count plus the
// previous window's, weighted by how much of it still overlaps (the
// sliding-window approximation). The two counters are neighbours in the
// bucket (key \0 be64(index)): one seek finds both. A counter that does
// not decode is an error, not zero.
func (tx *boltTx) RateCount(key string, window time.Duration, now time.Time) (float64, error) {
	b := tx.btx.Bucket(bRate)
	cur, idx := rateKey(key, window, now, len(key)+9)
	// The previous window's key differs in the index only; it shares
	// cur's allocation (neither is kept: these are reads).
	prev := append(cur[len(cur):], cur[:len(key)+1]...)
	prev = binary.BigEndian.AppendUint64(prev, uint64(idx-1))
	var c, p uint64
	var err error
	if bytes.Compare(prev, cur) > 0 {
		// Window 0 (the epoch's first): the previous index wraps around
		// and sorts last.
		if c, err = rateN(cur, tx.lookup(b, cur)); err != nil {
			return 0, err
		}
		if p, err = rateN(prev, tx.lookup(b, prev)); err != nil {
			return 0, err
		}
		elapsed := float64(now.UnixNano()-idx*int64(window)) / float64(window)
		return float64(c) + float64(p)*(1-elapsed), nil
	}
	cu := tx.cursor(b)
	for k, v := cu.Seek(prev); k != nil; k, v = cu.Next() {
		if bytes.Equal(k, prev) {
			if p, err = rateN(prev, v); err != nil {
				return 0, err
			}
			continue
		}
		if bytes.Compare(k, cur) >= 0 {
			if bytes.Equal(k, cur) {
				if c, err = rateN(cur, v); err != nil {
					return 0, err
				}
			}
			break
		}
	}
	elapsed := float64(now.UnixNano()-idx*int64(window)) / float64(window)
	return float64(c) + float64(p)*(1-elapsed), nil
}

// RateAdd counts one event under key at now. Windows older than the
// previous one are deleted as it goes, so the bucket stays small. One
// pass over the key's counters (two or three) finds the current count and
// the stale windows.
func (tx *boltTx) RateAdd(key string, window time.Duration, now time.Time) error {
	b := tx.btx.Bucket(bRate)
	// The key and its new value share one allocation; bbolt keeps both
	// until the commit.
	cur, idx := rateKey(key, window, now, rateValueLen)
	prefix := cur[:len(key)+1]
	var n uint64
	var stale [][]byte
	c := tx.cursor(b)
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != len(prefix)+8 {
			continue
		}
		switch w := int64(binary.BigEndian.Uint64(k[len(prefix):])); {
		case w == idx:
			var err error
			if n, err = rateN(cur, v); err != nil {
				return err
			}
		case w < idx-1:
			stale = append(stale, append([]byte(nil), k...))
		}
	}
	val := appendRateValue(cur[len(cur):], n+1, (idx+2)*int64(window))
	if err := b.Put(cur, val); err != nil {
		return err
	}
	for _, k := range stale {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Block keeps a sender's mail from reaching anyone.
type Block struct {
	Project string    `json:"project"`
	Address string    `json:"address"`
	By      string    `json:"by"`
	Reason  string    `json:"reason"`
	Created time.Time `json:"created"`
}

func blockKey(project, addr string) []byte { return join([]byte(project), []byte(addr)) }

// Block records a blocked sender.
func (tx *boltTx) Block(b *Block) error {
	return tx.put(bBlocked, blockKey(b.Project, b.Address), b)
}

// Blocked returns the block of addr in project, or nil. A record that
// does not decode is an error, not "not blocked".
func (tx *boltTx) Blocked(project, addr string) (*Block, error) {
	key := blockKey(project, addr)
	if tx.read(bBlocked, key) == nil {
		return nil, nil // the usual answer, without a Block to decode into
	}
	var b Block
	found, err := tx.get(bBlocked, key, &b)
	if err != nil || !found {
		return nil, err
	}
	return &b, nil
}

// Unblock lifts a block.
func (tx *boltTx) Unblock(project, addr string) error {
	return tx.btx.Bucket(bBlocked).Delete(blockKey(project, addr))
}

// MoveMessage moves m to another ticket.
func (tx *boltTx) MoveMessage(m *Message, ticket string) error {
	if err := tx.btx.Bucket(bTicketMsgs).Delete(join([]byte(m.Ticket), putU64(m.ID))); err != nil {
		return err
	}
	m.Ticket = ticket
	if err := tx.PutMessage(m); err != nil {
		return err
	}
	return tx.btx.Bucket(bTicketMsgs).Put(join([]byte(ticket), putU64(m.ID)), nil)
}

// PruneRates removes the rate counters whose expiry is before now (no
// RateCount reads them any more), at most sweepBatch per transaction
// so that commits go on meanwhile. A counter that does not decode stops
// it with an error.
func (s *boltDB) PruneRates(now time.Time) (int, error) {
	cutoff := now.UnixNano()
	n, err := s.removeStale(bRate, func(k, v []byte) (bool, error) {
		_, exp, err := rateCounter(k, v)
		return exp < cutoff, err
	}, nil)
	if err != nil {
		return n, fmt.Errorf("store: prune rate counters: %w", err)
	}
	return n, nil
}
