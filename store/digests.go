package store

import (
	"fmt"
	"strings"
	"time"
)

// Digests (issue 21): the agents' daily queue by mail. Two small records
// per agent, in buckets created on first write (no migration on bbolt:
// an older store simply has none yet):
//
//	digest_prefs  lower-case agent address → DigestPref (JSON)
//	digest_marks  lower-case agent address → DigestMark (JSON)
//
// The preference is the agent's own choice by mail (#digest), written by
// the domain (package ticket); the mark says for which day the agent's
// digest was done, written by package digest in the transaction that
// queues the mail, so that no day is sent twice, whatever crashes.

// Digest modes an agent chose (DigestPref.Mode).
const (
	DigestOn  = "on"
	DigestOff = "off"
)

// DigestPref is an agent's own digest choice: it overrides the
// configuration's digests section for them.
type DigestPref struct {
	Agent string `json:"agent"`
	// Mode is DigestOn, DigestOff or "" (as configured).
	Mode string `json:"mode,omitempty"`
	// At ("07:30") and TimeZone ("Europe/Vienna") replace the configured
	// ones when set.
	At       string    `json:"at,omitempty"`
	TimeZone string    `json:"timezone,omitempty"`
	Updated  time.Time `json:"updated"`
}

// DigestMark is how far an agent's digests went.
type DigestMark struct {
	Agent string `json:"agent"`
	// Day is the agent's local date ("2026-12-03") whose digest was done:
	// sent, or found empty (nothing is sent then).
	Day string `json:"day"`
	// At is when that day's digest was made: the next one lists what
	// breached after it.
	At time.Time `json:"at"`
	// OutboxID is the queued mail (0: the digest was empty).
	OutboxID uint64 `json:"outbox_id,omitempty"`
}

// DigestTx keeps the agents' digest choices and marks (issue 21).
type DigestTx interface {
	// DigestPref is agent's choice (compared lower-cased); nil when none.
	DigestPref(agent string) (*DigestPref, error)
	PutDigestPref(p *DigestPref) error
	// DigestMark is agent's last digest day; nil when none yet.
	DigestMark(agent string) (*DigestMark, error)
	PutDigestMark(m *DigestMark) error
}

var (
	bDigestPrefs = []byte("digest_prefs")
	bDigestMarks = []byte("digest_marks")
)

// DigestPref implements DigestTx.
func (tx *boltTx) DigestPref(agent string) (*DigestPref, error) {
	var p DigestPref
	found, err := tx.pgpGet(bDigestPrefs, strings.ToLower(agent), &p)
	if err != nil || !found {
		return nil, err
	}
	return &p, nil
}

// PutDigestPref implements DigestTx.
func (tx *boltTx) PutDigestPref(p *DigestPref) error {
	if p.Agent == "" {
		return fmt.Errorf("store: digest preference without an agent")
	}
	p.Agent = strings.ToLower(p.Agent)
	return tx.pgpPut(bDigestPrefs, p.Agent, p)
}

// DigestMark implements DigestTx.
func (tx *boltTx) DigestMark(agent string) (*DigestMark, error) {
	var m DigestMark
	found, err := tx.pgpGet(bDigestMarks, strings.ToLower(agent), &m)
	if err != nil || !found {
		return nil, err
	}
	return &m, nil
}

// PutDigestMark implements DigestTx.
func (tx *boltTx) PutDigestMark(m *DigestMark) error {
	if m.Agent == "" {
		return fmt.Errorf("store: digest mark without an agent")
	}
	m.Agent = strings.ToLower(m.Agent)
	return tx.pgpPut(bDigestMarks, m.Agent, m)
}

// DigestVars are the template values of a digest mail, fixed when it is
// queued so that a retry renders the same text.
type DigestVars struct {
	// Day is the agent's local date the digest is for; Zone the name of
	// the agent's time zone the times are written in.
	Day  string `json:"day"`
	Zone string `json:"zone,omitempty"`
	// Tickets are the agent's open tickets and the unassigned ones of
	// their projects, by due time (none last); More counts those left
	// out beyond the list's cap, Snoozed those hidden by a snooze.
	Tickets []DigestItem `json:"tickets,omitempty"`
	More    int          `json:"more,omitempty"`
	Snoozed int          `json:"snoozed,omitempty"`
	// Breached are the targets missed since the previous digest.
	Breached []DigestItem `json:"breached,omitempty"`
	// Mine and Unassigned count the listed tickets of each kind.
	Mine       int `json:"mine,omitempty"`
	Unassigned int `json:"unassigned,omitempty"`
}

// DigestItem is one ticket of a digest.
type DigestItem struct {
	Key      string `json:"key"`
	Project  string `json:"project"`
	Subject  string `json:"subject"`
	Status   string `json:"status,omitempty"`
	Priority string `json:"priority,omitempty"`
	Assignee string `json:"assignee,omitempty"`
	Internal bool   `json:"internal,omitempty"`
	// Due is the due time as the agent reads it ("" for none); Overdue:
	// it has passed.
	Due     string `json:"due,omitempty"`
	Overdue bool   `json:"overdue,omitempty"`
	// Age is how long the ticket has been open ("3d 4h").
	Age string `json:"age,omitempty"`
	// Target names the missed target of a breach (first_response,
	// resolution).
	Target string `json:"target,omitempty"`
	// Link opens the ticket for the agent (set by the notifier).
	Link string `json:"link,omitempty"`
}
