package store

import (
	"context"
	"io"
	"time"
)

// The storage contract. Everything outside this package uses the store
// through DB and Tx; the bbolt implementation (boltDB, boltTx) is the only
// one today, and store/storetest is the conformance suite every
// implementation must pass (storetest.Run). The rules an implementation
// must keep, beyond the method comments:
//
//   - Update is atomic and durable: when fn returns an error (or panics)
//     nothing it wrote is visible to anyone, and when Update returns nil
//     everything is on disk. fn may run more than once (a batch is retried
//     without a failed member; Options.RunTwice runs every fn twice on
//     purpose): it must have no effect outside the Tx, and the caller
//     keeps what the last run produced.
//   - Reads see a consistent snapshot; values returned are copies, safe to
//     keep after the transaction ends.
//   - A record that cannot be decoded is an error wherever it is read,
//     never "absent", "not suppressed" or "not referenced".
//   - Ticket numbers per project are allocated in the transaction that
//     stores the ticket: never reused, never skipped by a rolled-back one.
//   - The Message-ID index (IndexMessageID/Duplicate/LookupMessageID) is
//     exactly-once: a (project, Message-ID, content hash) is found by the
//     first transaction that commits after the one that indexed it.
//   - Blobs are immutable contents named by their SHA-256 (files, or for
//     a backend that chooses so, small ones inside its database); a blob
//     is referenced while any record names it (ForEachBlobRef), and
//     SweepBlobs removes only blobs no record names that are older than
//     its grace, and nothing at all when the reference scan failed.
//   - Every store belongs to one installation (InstallationID), recorded
//     in the database and beside the blobs; Open refuses a database that
//     does not match its blob folder, or cannot be read, with an error
//     matching ErrDamaged, and writes nothing.

// DB is an open store: records and indexes, and the blob folder.
type DB interface {
	// View runs fn in a read-only snapshot.
	View(fn func(Tx) error) error
	// Update runs fn in a read-write transaction (possibly shared with
	// other callers' functions, see the contract above) and returns once
	// it is durable. Storage failures are temporary (package fault).
	Update(ctx context.Context, fn func(Tx) error) error
	// Close waits for queued updates and closes the store.
	Close() error

	// Dir is the folder the store lives in (data_dir).
	Dir() string
	// Size is the size of the database in bytes.
	Size() int64
	// InstallationID names the installation this store belongs to (also
	// recorded beside the blobs).
	InstallationID() string

	Blobs

	// CommitFailing is the error of the last commit when it failed (a
	// full disk, an I/O error, a failed blob fsync), nil when it
	// succeeded: reads keep working while commits fail, so only this
	// tells /readyz that nothing can be stored.
	CommitFailing() error

	// Check runs the full consistency check (`ticketgate check-store`):
	// the file's own structure, every record decodes, indexes agree with
	// their rows, named blobs exist. Each finding goes to problem; the
	// error is for a check that could not run.
	Check(ctx context.Context, problem func(Problem)) error

	// Backup writes a consistent hot copy of the store (the database as
	// one snapshot saw it and every blob it refers to) as a tar archive
	// that Restore unpacks.
	Backup(w io.Writer) error
}

// Blobs is the content-addressed file store of raw messages and
// attachments.
type Blobs interface {
	// NewBlob starts writing a blob.
	NewBlob() (BlobWriter, error)
	// PutBlob stores what r yields, durable on return; it returns the
	// hash and size.
	PutBlob(r io.Reader) (string, int64, error)
	// PutBlobPending is PutBlob whose fsync is shared with the next
	// Update: the blob is durable once any Update started after it
	// returns.
	PutBlobPending(r io.Reader) (string, int64, error)
	// FlushBlobs makes every pending blob durable.
	FlushBlobs(ctx context.Context) error
	// OpenBlob opens a blob positioned at its start; ErrNotFound when
	// there is none, ErrBlobDamaged when its content no longer matches its
	// hash (checked before it is handed out: never served).
	OpenBlob(hash string) (BlobReader, error)
	// RemoveBlob deletes a blob (retention); missing is not an error.
	RemoveBlob(hash string) error
	// SweepBlobs removes temporary files and unreferenced blobs older
	// than grace and returns how many it removed. When any record could
	// not be read it removes no blob and returns the error.
	SweepBlobs(grace time.Duration) (int, error)
	// PruneRates removes the rate counters no RateCount reads any more
	// at now (their window and the one after it are over) and returns
	// how many. RateAdd removes only the old windows of the key it
	// counts: without this, every key counted once (each new sender's)
	// would stay for ever.
	PruneRates(now time.Time) (int, error)
}

// BlobReader is an open blob: a file, or a small blob held in memory
// (bbolt keeps blobs of at most InlineBlobMax bytes inside its database).
// Size is the whole content's length.
type BlobReader interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
	Size() int64
}

// BlobWriter streams one new blob. Commit (or CommitPending) names it by
// its content hash; Abort discards it.
type BlobWriter interface {
	io.Writer
	// Size is the number of bytes written so far.
	Size() int64
	// Commit makes the blob durable under its hash and returns the hash.
	Commit() (string, error)
	// CommitPending places the blob under its hash; it is durable once
	// the next Update returns (see Blobs.PutBlobPending). Neither it nor
	// Commit may be called inside an Update function (a backend may
	// write the blob through an Update of its own).
	CommitPending() (string, error)
	// Abort discards an unfinished blob.
	Abort()
}

// Tx is one transaction: typed records and the indexes kept with them. The
// groups below are the parts of the contract; a read-only transaction
// (View) fails every write.
type Tx interface {
	TicketTx
	MessageTx
	EventTx
	TokenTx
	OutboxTx
	StateTx
	LimitTx
	OrgTx
	DraftTx
	// CustomerTx: who reported or follows a ticket of a project (issue
	// 17, people.go).
	CustomerTx
	AuditTx
	IMAPTx
	TimerTx
	FactsTx
	DeskTx
	SearchTx
	// OfferTx and RatingTx: offers to agents and customer ratings
	// (issue 18).
	OfferTx
	RatingTx
	PGPTx
	// HookTx is the webhook delivery queue (issue 18, hooks.go).
	HookTx
	// DigestTx: the agents' digest choices and marks (issue 21).
	DigestTx
	// AfterCommit registers fn to run once, after this transaction is
	// durable (for a View: after fn returned nil), and never when it is
	// rolled back or rehearsed. Effects outside the store — metrics, logs
	// of what was done, wake-ups — go here, not into the function given to
	// Update, which may run more than once. fn runs on the commit loop
	// before Update returns: it must be quick and must not call Update.
	AfterCommit(fn func())
	// ForEachBlobRef calls fn with every blob hash a record refers to
	// (hashes may repeat). A record that cannot be decoded stops the scan
	// with an error: a sweep must never take it for "unreferenced".
	ForEachBlobRef(fn func(hash string)) error
}

// TicketTx stores tickets and numbers them.
type TicketTx interface {
	// NextTicketNumber allocates the next number of project, in this
	// transaction (rolled back with it).
	NextTicketNumber(project string) (uint64, error)
	// LastTicketNumber is the highest number allocated in project.
	LastTicketNumber(project string) (uint64, error)
	PutTicket(t *Ticket) error
	// Ticket reads a ticket by key ("ACME-42"); ErrNotFound when unknown.
	Ticket(key string) (*Ticket, error)
	// ForEachTicket calls fn per ticket of project ("" = all) in key
	// order until fn returns false.
	ForEachTicket(project string, fn func(*Ticket) bool) error
	// ForEachTicketAfter calls fn per ticket of every project after the
	// one keyed after ("" = from the first), in ForEachTicket("")'s
	// order, until fn returns false: a walk over every ticket goes on in
	// a later transaction where the last one stopped, so that no read
	// transaction stays open for long (bbolt's writer cannot grow its
	// file's map, nor reuse freed pages, while one does).
	ForEachTicketAfter(after string, fn func(*Ticket) bool) error
}

// MessageTx stores messages and the per-project Message-ID index.
type MessageTx interface {
	// AddMessage stores m under a new id (set on m) and links it to
	// m.Ticket.
	AddMessage(m *Message) error
	// PutMessage rewrites a stored message.
	PutMessage(m *Message) error
	// MoveMessage moves m to ticket.
	MoveMessage(m *Message, ticket string) error
	Message(id uint64) (*Message, error)
	// TicketMessages lists a ticket's messages, oldest first.
	TicketMessages(ticket string) ([]*Message, error)
	// IndexMessageID records that msgid with content hash belongs to ref
	// in project (outbound ids with an empty hash).
	IndexMessageID(project, msgid, hash string, ref MessageRef) error
	// Duplicate finds a message stored with the same project, Message-ID
	// and content hash.
	Duplicate(project, msgid, hash string) (MessageRef, bool, error)
	// LookupMessageID finds any message of project with msgid.
	LookupMessageID(project, msgid string) (MessageRef, bool, error)
}

// EventTx stores a ticket's history.
type EventTx interface {
	// AddEvent appends e (Seq is set).
	AddEvent(e *Event) error
	// Events lists a ticket's history, oldest first.
	Events(ticket string) ([]*Event, error)
}

// TokenTx stores link and reply tokens.
type TokenTx interface {
	PutToken(t *Token) error
	// Token reads a token; ErrNotFound when unknown.
	Token(token string) (*Token, error)
	// PruneBounceTokens deletes up to max bounce tokens that expired at or
	// before before, found by an index (not by reading every token), and
	// says how many it deleted (issue 21).
	PruneBounceTokens(before time.Time, max int) (int, error)
}

// OutboxTx is the outbound queue.
type OutboxTx interface {
	// Enqueue adds an item (ID is set) due at item.NextAttempt.
	Enqueue(item *OutboxItem) error
	// OutboxItem reads one queued item; ErrNotFound when it is gone.
	OutboxItem(id uint64) (*OutboxItem, error)
	// Reschedule re-reads item id, lets change set its new state and
	// moves it in the due order from the stored due time to the new one;
	// it returns the row as stored, ErrNotFound when it is gone.
	Reschedule(id uint64, change func(*OutboxItem)) (*OutboxItem, error)
	// Dequeue removes item id and returns the row as it was stored;
	// ErrNotFound when it is gone.
	Dequeue(id uint64) (*OutboxItem, error)
	// DequeueSeen is Dequeue for a caller holding the row as OutboxItem
	// read it earlier, unchanged: while the stored row is still that one
	// it need not be decoded again (seen's copy is returned); otherwise
	// it is Dequeue.
	DequeueSeen(seen *OutboxItem) (*OutboxItem, error)
	// DueOutbox returns up to max items due at or before now, earliest
	// first, and when the next item is due (zero if none). An index entry
	// that disagrees with its row fails with ErrOutboxIndex.
	DueOutbox(now time.Time, max int) ([]*OutboxItem, time.Time, error)
	// DueIDs is DueOutbox without decoding the rows.
	DueIDs(now time.Time, max int) ([]uint64, time.Time, error)
	// DueIDsExcept is DueIDs for a caller that holds some due items
	// already (the sender's in flight): ids skip says true for count
	// against max but are neither returned nor checked against their rows.
	DueIDsExcept(now time.Time, max int, skip func(id uint64) bool) ([]uint64, time.Time, error)
	// ListOutbox returns up to max queued items in queueing order.
	ListOutbox(max int) ([]*OutboxItem, error)
	// CheckOutbox reports every disagreement between rows and due order.
	CheckOutbox() (OutboxCheck, error)
	// RepairOutbox makes the due order match the rows and says how many
	// entries it fixed; a row that fails to decode is an error.
	RepairOutbox() (int, error)
	// OutboxStats counts queued items and gives the oldest one's
	// creation time.
	OutboxStats() (int, time.Time)
	// OldestOutboxItem is the longest-queued item, nil when the queue is
	// empty or its first row cannot be read.
	OldestOutboxItem() *OutboxItem
}

// StateTx keeps small named values.
type StateTx interface {
	// SetState stores v (JSON) under name.
	SetState(name string, v any) error
	// State reads name into v; false when absent.
	State(name string, v any) (bool, error)
	// Meta reads a per-installation value; nil when absent.
	Meta(name string) []byte
	SetMeta(name string, v []byte) error
}

// LimitTx keeps suppressions, rate counters and blocked senders.
type LimitTx interface {
	Suppress(s *Suppression) error
	// Suppressed is the suppression of addr in force at now, or nil.
	Suppressed(addr string, now time.Time) (*Suppression, error)
	Suppressions() ([]*Suppression, error)
	ClearSuppression(addr string) error
	// RateCount estimates the events under key within window before now.
	RateCount(key string, window time.Duration, now time.Time) (float64, error)
	// RateAdd counts one event under key at now.
	RateAdd(key string, window time.Duration, now time.Time) error
	Block(b *Block) error
	// Blocked is the block of addr in project, or nil.
	Blocked(project, addr string) (*Block, error)
	Unblock(project, addr string) error
}

// OrgTx stores organizations.
type OrgTx interface {
	PutOrganization(o *Organization) error
	// Organization reads one; ErrNotFound when unknown.
	Organization(project, name string) (*Organization, error)
	DeleteOrganization(project, name string) error
	// Organizations lists a project's organizations ("" = all).
	Organizations(project string) ([]*Organization, error)
	// OrganizationOf is the organization addr belongs to in project, or
	// nil; a member listing wins over a domain.
	OrganizationOf(project, addr string) (*Organization, error)
}

// DraftTx stores drafts (issue 17, store/drafts.go).
type DraftTx interface {
	// NextDraftNumber allocates the next draft number of project: dense,
	// never reused, a space of its own (ACME-D17).
	NextDraftNumber(project string) (uint64, error)
	PutDraft(d *Draft) error
	// Draft reads one by key; ErrNotFound when there is none.
	Draft(key string) (*Draft, error)
	DeleteDraft(key string) error
	// Drafts lists the drafts of project ("" = all) in key order.
	Drafts(project string) ([]*Draft, error)
	// DraftOf is sender's open draft in project, or nil.
	DraftOf(project, sender string) (*Draft, error)
	// MarkDraftAccepted records that draft key became ticket (in the
	// transaction that deletes the draft), so that a later acceptance of
	// the same draft finds the ticket instead of the draft's absence.
	MarkDraftAccepted(key, ticket string) error
	// DraftAcceptedAs is the ticket draft key became, "" when it was not
	// accepted (open, expired or never there).
	DraftAcceptedAs(key string) (string, error)
}

// AuditTx is the per-Message-ID audit stream.
type AuditTx interface {
	// AddAudit appends e to its Message-ID's stream (Seq is set).
	AddAudit(e *AuditEvent) error
	// Audit lists one Message-ID's stream, oldest first.
	Audit(messageID string) ([]*AuditEvent, error)
	// PruneAudit deletes up to max events older than before (0: all).
	PruneAudit(before time.Time, max int) (int, error)
}

// IMAPTx keeps the IMAP fetchers' cursors and attempt records.
type IMAPTx interface {
	IMAPCursor(account string) (IMAPCursor, bool, error)
	SetIMAPCursor(account string, c IMAPCursor) error
	IMAPAttempt(account string, uidValidity, uid uint32) (IMAPAttempt, error)
	PutIMAPAttempt(account string, uidValidity, uid uint32, a IMAPAttempt) error
}

// PGPTx keeps OpenPGP keys (issue 19): each project's secret key and the
// public keys learned per address.
type PGPTx interface {
	// PGPProjectKey is project's secret key; nil when it has none.
	PGPProjectKey(project string) (*PGPProjectKey, error)
	PutPGPProjectKey(k *PGPProjectKey) error
	// PGPKey is what is known of address's keys (the address is compared
	// lower-cased); nil when nothing is.
	PGPKey(address string) (*PGPKey, error)
	PutPGPKey(k *PGPKey) error
	// DeletePGPKey forgets address's keys; absent is not an error.
	DeletePGPKey(address string) error
	// PGPKeys lists every address's keys in address order.
	PGPKeys() ([]*PGPKey, error)
}

// OutboxLeaser is implemented by a store that several nodes share
// (PostgreSQL; bbolt is one process by its file lock and does not need
// it). A node's outbox sender claims due items with a lease before it
// sends them, so two live nodes never send one item; an item whose lease
// ran out (its node died) is claimed by another. A lease ends at its time,
// or when the item is rescheduled or dequeued. Times are the callers'
// clocks: leases must be long against the skew between nodes.
type OutboxLeaser interface {
	// ClaimOutbox leases to owner, until now+lease, up to max items due at
	// now that no unexpired lease holds, and returns their ids (earliest
	// due first) and when to look again: now when more are claimable, the
	// earliest time another item becomes due or its lease runs out, zero
	// when the queue is empty.
	ClaimOutbox(ctx context.Context, owner string, now time.Time, lease time.Duration, max int) ([]uint64, time.Time, error)
	// RenewOutboxLeases extends owner's leases on ids to now+lease and
	// returns the ids another node holds now (claimed after owner's lease
	// ran out). Ids that are gone (sent and dequeued) or hold no lease
	// (rescheduled) are not lost: owner finished them.
	RenewOutboxLeases(ctx context.Context, owner string, ids []uint64, now time.Time, lease time.Duration) ([]uint64, error)
}

// NodeLocker is implemented by a store several nodes share (PostgreSQL;
// bbolt is one process by its file lock): named locks one node holds at a
// time, for work that must run on one node only — reading an IMAP
// mailbox, the periodic jobs. A lock lives on a database connection of
// its own and ends with it, so a node that dies gives its locks up at
// once (behind a network partition: once the database notices the
// connection is dead, by TCP keepalive).
type NodeLocker interface {
	// Lock blocks until this node holds the lock name, or ctx ends.
	Lock(ctx context.Context, name string) (HeldLock, error)
}

// HeldLock is a lock a node holds.
type HeldLock interface {
	// Lost is closed when the lock can no longer be vouched for (its
	// connection failed): the work it guards must stop.
	Lost() <-chan struct{}
	// Release gives the lock up.
	Release()
}

// Problem is one finding of DB.Check.
type Problem struct {
	// Where names the record ("messages/42") or the file.
	Where string
	What  string
}

func (p Problem) String() string { return p.Where + ": " + p.What }

// The implementations must satisfy the contract.
var (
	_ DB         = (*boltDB)(nil)
	_ Tx         = (*boltTx)(nil)
	_ BlobWriter = (*fileBlob)(nil)
)
