package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The agents' desk (package desk) keeps its sign-in links and sessions in
// the store, so that every node sharing a store honours a link mailed by
// another and a session opened on another, and a revoked session ends on
// all of them. Both are keyed by the SHA-256 of the secret the browser
// holds, never the secret itself: a copy of the store opens no session.

// SignIn is a pending sign-in by mail: the link's secret (its hash is the
// key) is mailed to Agent; it works once, until Expires, and only in the
// browser whose binding cookie hashes to Browser.
type SignIn struct {
	Hash    string    `json:"hash"`
	Agent   string    `json:"agent"`
	Browser string    `json:"browser"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
}

// Session is a signed-in agent's browser session (the key is the hash of
// the cookie's value).
type Session struct {
	Hash     string    `json:"hash"`
	Agent    string    `json:"agent"`
	Created  time.Time `json:"created"`
	LastSeen time.Time `json:"last_seen"`
	// Via says how the agent signed in: "mail" or "oidc".
	Via string `json:"via,omitempty"`
}

// DeskTx stores the desk's sign-in links and sessions.
type DeskTx interface {
	PutSignIn(s *SignIn) error
	// TakeSignIn reads and deletes a sign-in link in one step (a link
	// works once); ErrNotFound when unknown or already used.
	TakeSignIn(hash string) (*SignIn, error)
	// PutSession creates or refreshes a session.
	PutSession(s *Session) error
	// Session reads one; ErrNotFound when unknown or revoked.
	Session(hash string) (*Session, error)
	DeleteSession(hash string) error
	// Sessions lists the sessions of agent ("" = all), oldest first.
	Sessions(agent string) ([]*Session, error)
	// PruneDesk removes sign-in links that expired before now and
	// sessions for which keep answers false; it returns how many went.
	PruneDesk(now time.Time, keep func(*Session) bool) (int, error)
}

var errReadOnlyDesk = errors.New("store: desk write in a read-only transaction")

var (
	bDeskSignIn   = []byte("desk_signin")   // hash → SignIn (created on first use)
	bDeskSessions = []byte("desk_sessions") // hash → Session (created on first use)
)

func (tx *boltTx) deskBucket(name []byte) (*bolt.Bucket, error) {
	if b := tx.btx.Bucket(name); b != nil || !tx.btx.Writable() {
		return b, nil
	}
	b, err := tx.btx.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, fmt.Errorf("store: create bucket %s: %w", name, err)
	}
	return b, nil
}

func (tx *boltTx) deskPut(name []byte, key string, v any) error {
	b, err := tx.deskBucket(name)
	if err != nil {
		return err
	}
	if b == nil {
		return errReadOnlyDesk
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", name, err)
	}
	return b.Put([]byte(key), data)
}

// PutSignIn stores a pending sign-in link.
func (tx *boltTx) PutSignIn(s *SignIn) error { return tx.deskPut(bDeskSignIn, s.Hash, s) }

// TakeSignIn reads and deletes a sign-in link.
func (tx *boltTx) TakeSignIn(hash string) (*SignIn, error) {
	b, err := tx.deskBucket(bDeskSignIn)
	if err != nil {
		return nil, err
	}
	if !tx.btx.Writable() {
		return nil, errReadOnlyDesk
	}
	v := b.Get([]byte(hash))
	if v == nil {
		return nil, fmt.Errorf("sign-in link: %w", ErrNotFound)
	}
	var s SignIn
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("store: decode sign-in link: %w", err)
	}
	return &s, b.Delete([]byte(hash))
}

// PutSession creates or refreshes a session.
func (tx *boltTx) PutSession(s *Session) error { return tx.deskPut(bDeskSessions, s.Hash, s) }

// Session reads one session.
func (tx *boltTx) Session(hash string) (*Session, error) {
	b := tx.btx.Bucket(bDeskSessions)
	var v []byte
	if b != nil {
		v = b.Get([]byte(hash))
	}
	if v == nil {
		return nil, fmt.Errorf("session: %w", ErrNotFound)
	}
	var s Session
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("store: decode session: %w", err)
	}
	return &s, nil
}

// DeleteSession removes a session; an unknown one is not an error.
func (tx *boltTx) DeleteSession(hash string) error {
	b, err := tx.deskBucket(bDeskSessions)
	if err != nil {
		return err
	}
	if b == nil {
		return errReadOnlyDesk
	}
	return b.Delete([]byte(hash))
}

// Sessions lists the sessions of agent ("" = all), oldest first.
func (tx *boltTx) Sessions(agent string) ([]*Session, error) {
	b := tx.btx.Bucket(bDeskSessions)
	if b == nil {
		return nil, nil
	}
	var out []*Session
	err := b.ForEach(func(k, v []byte) error {
		var s Session
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("store: decode session: %w", err)
		}
		if agent == "" || s.Agent == agent {
			out = append(out, &s)
		}
		return nil
	})
	SortSessions(out)
	return out, err
}

// SortSessions orders sessions oldest first (ties by hash), the order
// DeskTx.Sessions returns on every backend.
func SortSessions(out []*Session) {
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && (out[j].Created.Before(out[j-1].Created) || out[j].Created.Equal(out[j-1].Created) && out[j].Hash < out[j-1].Hash); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
}

// PruneDesk removes expired sign-in links and the sessions keep refuses.
func (tx *boltTx) PruneDesk(now time.Time, keep func(*Session) bool) (int, error) {
	n := 0
	for _, name := range [][]byte{bDeskSignIn, bDeskSessions} {
		b, err := tx.deskBucket(name)
		if err != nil {
			return n, err
		}
		if b == nil {
			return n, errReadOnlyDesk
		}
		var gone [][]byte
		err = b.ForEach(func(k, v []byte) error {
			if string(name) == string(bDeskSignIn) {
				var s SignIn
				if err := json.Unmarshal(v, &s); err != nil {
					return fmt.Errorf("store: decode sign-in link: %w", err)
				}
				if !now.Before(s.Expires) {
					gone = append(gone, append([]byte(nil), k...))
				}
				return nil
			}
			var s Session
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("store: decode session: %w", err)
			}
			if !keep(&s) {
				gone = append(gone, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		for _, k := range gone {
			if err := b.Delete(k); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
