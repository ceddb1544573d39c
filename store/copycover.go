package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// What `ticketgate store copy` does with every bbolt bucket and every
// PostgreSQL table, in one table that the copy (storecopy refuses a source
// holding rows anywhere else) and the guard tests (every bucket and table
// a store has must be listed here) both read, so a new bucket or table
// that nobody classified fails a test instead of being left out silently.

// Coverage says how the copy treats one bucket or table.
type Coverage uint8

// The coverages.
const (
	// CoverCopied: its rows are records of Kind, exported and imported.
	CoverCopied Coverage = iota + 1
	// CoverDerived: import rebuilds it from copied records (Why says from
	// which).
	CoverDerived
	// CoverBlobs: blob contents, copied through the Blobs interface.
	CoverBlobs
	// CoverNotCopied: deliberately left behind (per node, ephemeral or
	// backend-internal); Why says why, and `store copy` says so when the
	// source holds any.
	CoverNotCopied
	// CoverInternal: the backend's own bookkeeping (its schema version),
	// which every store has and keeps for itself.
	CoverInternal
)

func (c Coverage) String() string {
	switch c {
	case CoverCopied:
		return "copied"
	case CoverDerived:
		return "derived"
	case CoverBlobs:
		return "blobs"
	case CoverNotCopied:
		return "not copied"
	case CoverInternal:
		return "backend-internal"
	}
	return fmt.Sprintf("Coverage(%d)", uint8(c))
}

// The backends of a coverage entry.
const (
	BackendBolt     = "bbolt"
	BackendPostgres = "postgresql"
)

// CoverageEntry classifies one bucket or table.
type CoverageEntry struct {
	// Backend is BackendBolt, BackendPostgres or "" for both (the same
	// name on both).
	Backend string
	Name    string
	Cover   Coverage
	// Kind is the record kind of a copied bucket or table.
	Kind RecordKind
	Why  string
}

var copyCoverage = []CoverageEntry{
	{"", "meta", CoverCopied, RecMeta, "schema version and installation id stay the target's own"},
	{"", "ticket_seq", CoverCopied, RecTicketSeq, ""},
	{"", "tickets", CoverCopied, RecTicket, ""},
	{"", "messages", CoverCopied, RecMessage, ""},
	{BackendBolt, "ticket_msgs", CoverDerived, 0, "from the messages' tickets"},
	{"", "msgids", CoverCopied, RecMsgID, ""},
	{"", "events", CoverCopied, RecEvent, ""},
	{BackendBolt, "event_log", CoverDerived, 0, "the search feed, written for every imported event as AddEvent does"},
	{"", "tokens", CoverCopied, RecToken, ""},
	{BackendBolt, "token_prune", CoverDerived, 0, "from the bounce tokens' expiry, as PutToken does"},
	{"", "outbox", CoverCopied, RecOutbox, ""},
	{BackendBolt, "outbox_due", CoverDerived, 0, "from the outbox rows' due times"},
	{"", "state", CoverCopied, RecState, ""},
	{"", "suppress", CoverCopied, RecSuppression, ""},
	{"", "rate", CoverCopied, RecRate, ""},
	{"", "blocked", CoverCopied, RecBlocked, ""},
	{"", "orgs", CoverCopied, RecOrg, ""},
	{"", "imap_cursor", CoverCopied, RecIMAPCursor, ""},
	{"", "imap_attempts", CoverCopied, RecIMAPAttempt, ""},
	{"", "audit", CoverCopied, RecAudit, ""},
	{BackendBolt, "audit_time", CoverDerived, 0, "from the audit rows' times"},
	{"", "ticket_timers", CoverDerived, 0, "from the tickets, as PutTicket does"},
	{"", "ticket_facts", CoverDerived, 0, "from the tickets, as PutTicket does"},
	{"", "draft_seq", CoverCopied, RecDraftSeq, ""},
	{"", "drafts", CoverCopied, RecDraft, ""},
	{"", "drafts_accepted", CoverCopied, RecDraftAccepted, ""},
	{"", "customers", CoverDerived, 0, "from the tickets, as PutTicket does"},
	{"", "desk_signin", CoverCopied, RecDeskSignIn, ""},
	{"", "desk_sessions", CoverNotCopied, 0, "desk sessions are not copied: agents sign in again"},
	{"", "search_cursor", CoverNotCopied, 0, "per node: each node's search index rebuilds from the events"},
	{"", "offers", CoverCopied, RecOffer, ""},
	{BackendBolt, "offer_due", CoverDerived, 0, "from the offers' due times"},
	{"", "ratings", CoverCopied, RecRating, ""},
	{"", "pgp_project_keys", CoverCopied, RecPGPProjectKey, ""},
	{"", "pgp_keys", CoverCopied, RecPGPKey, ""},
	{"", "hooks", CoverCopied, RecHook, "a delivery's lease (PostgreSQL) belongs to the node that held it and is not copied"},
	{BackendBolt, "hooks_due", CoverDerived, 0, "from the deliveries' due times"},
	{"", "digest_prefs", CoverCopied, RecDigestPref, ""},
	{"", "digest_marks", CoverCopied, RecDigestMark, "a day's digest is not sent again from the copy"},
	{"", "blobs", CoverBlobs, 0, "bbolt: the inline blobs (store.InlineBlobMax) stored before schema 10, copied with the files through the Blobs interface"},
	{BackendBolt, "blob_data", CoverBlobs, 0, "bbolt: the inline blobs' content since schema 10, copied with the files through the Blobs interface"},
	{BackendBolt, "blob_index", CoverBlobs, 0, "bbolt: the inline blobs' hashes and times since schema 10, copied with the files through the Blobs interface"},
	{BackendPostgres, "blob_chunks", CoverBlobs, 0, ""},
	{BackendPostgres, "schema_version", CoverInternal, 0, "backend-internal: the target has its own schema"},
}

// CopyCoverage lists the classification of every bucket and table.
func CopyCoverage() []CoverageEntry {
	return append([]CoverageEntry(nil), copyCoverage...)
}

// CoverageOf finds the entry of a backend's bucket or table.
func CoverageOf(backend, name string) (CoverageEntry, bool) {
	for _, e := range copyCoverage {
		if e.Name == name && (e.Backend == "" || e.Backend == backend) {
			return e, true
		}
	}
	return CoverageEntry{}, false
}

// Container is one bucket or table of a store and whether it holds rows.
type Container struct {
	Name  string
	Empty bool
}

// Layout is implemented by the Copiers: the backend's name and every
// bucket or table the store has.
type Layout interface {
	Layout() (backend string, containers []Container, err error)
}

var _ Layout = (*boltDB)(nil)

// Layout lists every top-level bucket.
func (s *boltDB) Layout() (string, []Container, error) {
	var out []Container
	err := s.db.View(func(btx *bolt.Tx) error {
		return btx.ForEach(func(name []byte, b *bolt.Bucket) error {
			k, _ := b.Cursor().First()
			out = append(out, Container{Name: string(bytes.Clone(name)), Empty: k == nil})
			return nil
		})
	})
	if err != nil {
		return "", nil, fmt.Errorf("store: list buckets: %w", err)
	}
	return BackendBolt, out, nil
}
