// Package search is a node's full-text index of tickets for the agents'
// desk (bleve, in data_dir/search): subject, the text of every message
// (notes included: only agents search) and the addresses on the ticket.
// It is fed from the store's history: it reads the events after the last
// one it covered (its cursor), re-indexes their tickets and records the
// new cursor, both in the index (atomically with the documents) and in the
// store (store.SearchTx, so an operator can see how far each node got).
// It never holds anything the store does not: a missing or unreadable
// index is rebuilt from the tickets, and so is one whose cursor is lost.
// The index itself (analysis, segments, queries) runs in this process
// (Open) or in a worker process at a lower CPU priority (OpenWorker,
// ServeWorker; worker.go), which is how `ticketgate serve` runs it.
package search

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/mapping"

	"github.com/ticketgate/ticketgate/store"
)

const (
	// maxText caps the text indexed per ticket: enough for any real
	// conversation, bounded for a flood.
	maxText = 1 << 20
	// batchSize is how many tickets go into one index batch when the
	// index is built, and feedBatch how many events one catch-up batch
	// covers (at most as many tickets). A batch's analyzed documents and
	// segment are in memory until it is persisted, about 10 KiB a
	// ticket with garbage not yet collected (BenchmarkFeedNewTickets:
	// the Go heap peaks at 120 MiB with batches of 5,000 new tickets,
	// 52 MiB with 2,000, 26 MiB with 1,000); each batch also costs a
	// segment file and its merges (the feed costs about 10 % more CPU per
	// ticket in batches of 2,000 than of 5,000; a build in batches of
	// 2,000 costs 23 % less than in batches of 500).
	batchSize = 2000
	feedBatch = 2000
	// lookBack is how many event numbers before the cursor are read again
	// on a store several nodes share, where a transaction that commits
	// late can hold a number below one already read.
	lookBack = 1000
	// MaxHits caps the tickets one search returns.
	MaxHits = 2000
)

var cursorKey = []byte("cursor")

// encodeCursor and decodeCursor are the cursor as the index records it.
func encodeCursor(c uint64) []byte {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], c)
	return v[:]
}

func decodeCursor(b []byte) (uint64, bool) {
	if len(b) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(b), true
}

// Index is one node's index.
type Index struct {
	db     store.DB
	dir    string
	shared bool
	log    *slog.Logger
	// mu serialises everything the engine does: two searches never index
	// one ticket twice at once, the cursor only moves forward, and a
	// worker process answers one request at a time.
	mu   sync.Mutex
	eng  engine
	node string
	// rebuild: the index must be built from the tickets first (new, lost
	// its cursor, or was unreadable); ready closes when Run has done it
	// the first time.
	rebuild bool
	ready   chan struct{}
	closed  bool
}

// Open opens the index in dir in this process, or creates it; Run builds
// and feeds it.
func Open(ctx context.Context, dir string, db store.DB, log *slog.Logger) (*Index, error) {
	return open(dir, db, log, nil)
}

// OpenWorker is Open with the index in a worker process of its own at a
// lower CPU priority (worker.go): command is the program and arguments
// that run ServeWorker, e.g. the ticketgate binary and "search-worker".
// A worker that fails, or cannot be started at all, is started again at
// the next catch-up; until then searches fail with the reason.
func OpenWorker(ctx context.Context, dir string, db store.DB, log *slog.Logger, command []string) (*Index, error) {
	if len(command) == 0 {
		return nil, errors.New("search: no worker command")
	}
	return open(dir, db, log, &worker{command: command})
}

// open opens the index in dir, in the worker process w or, when w is
// nil, in this process.
func open(dir string, db store.DB, log *slog.Logger, w *worker) (*Index, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	_, shared := db.(store.NodeLocker)
	x := &Index{db: db, dir: dir, shared: shared, log: log, ready: make(chan struct{})}
	var fresh bool
	if w != nil {
		w.log = log
		x.eng = w
		var err error
		if fresh, err = w.start(x.path()); err != nil {
			// The mail goes on without search: the worker is tried again
			// at every catch-up, and searches answer this error meanwhile.
			log.Error("search: the index's worker process cannot start; searching fails until it does", "err", err)
			return x, nil
		}
	} else {
		l, f, warn, err := openLocal(x.path())
		if err != nil {
			return nil, err
		}
		if warn != "" {
			log.Warn("search: " + warn)
		}
		x.eng, fresh = l, f
	}
	if err := x.opened(fresh); err != nil {
		x.eng.close()
		return nil, err
	}
	return x, nil
}

// path is where the bleve index lives.
func (x *Index) path() string { return filepath.Join(x.dir, "index") }

// opened names the index just opened and decides whether it must be
// built from the tickets first.
func (x *Index) opened(fresh bool) error {
	var err error
	if x.node, err = nodeID(x.dir, fresh); err != nil {
		return err
	}
	_, ok, err := x.eng.cursor()
	x.rebuild = fresh || !ok || err != nil
	return nil
}

// ErrClosed answers a request to an index that was closed.
var ErrClosed = errors.New("search: the index is closed")

// up starts the worker process again if it failed (x.mu held).
func (x *Index) up() error {
	if x.closed {
		return ErrClosed
	}
	w, ok := x.eng.(*worker)
	if !ok || w.running() {
		return nil
	}
	fresh, err := w.start(x.path())
	if err != nil {
		return err
	}
	return x.opened(fresh)
}

// ErrBuilding answers a search while the index is being built.
var ErrBuilding = errors.New("search: the index is being built")

// Ready is closed once the index has been built (Run did its first
// catch-up).
func (x *Index) Ready() <-chan struct{} { return x.ready }

// Pace is how Run keeps the index caught up.
type Pace struct {
	// Every is the time between two catch-ups.
	Every time.Duration
	// Busy, when set, reports whether the daemon's mail needs the CPUs
	// now; Run asks it once a second (or every Every, if shorter), and
	// it answers for the time since it was last asked. A catch-up that
	// is due waits while Busy says so, but not longer than MaxWait after
	// the previous one. Searches catch up first, so a search finds
	// nothing older for it: the indexing only moves out of a burst of
	// mail (the worker's nice 10 alone left a burst 20 % slower: a
	// catch-up also reads tickets in the daemon, and the machine's two
	// CPUs were not quite full).
	Busy    func() bool
	MaxWait time.Duration
}

// Run builds the index when it has to, then keeps it caught up with the
// store at pace p until ctx ends (searches also catch up first).
func (x *Index) Run(ctx context.Context, p Pace) {
	check := p.Every
	if p.Busy != nil {
		check = min(check, time.Second)
	}
	t := time.NewTicker(check)
	defer t.Stop()
	x.run(ctx, p, check, t.C)
}

// run is Run with its clock: a catch-up is due every p.Every/check ticks,
// and waits for a busy one at most p.MaxWait/check.
func (x *Index) run(ctx context.Context, p Pace, check time.Duration, tick <-chan time.Time) {
	every, most := max(1, int(p.Every/check)), max(1, int(p.MaxWait/check))
	first := true
	for {
		err := x.build(ctx, false)
		if err == nil {
			err = x.CatchUp(ctx)
		}
		if ctx.Err() != nil {
			return // stopped, not failed: the next start goes on
		}
		if err != nil {
			x.log.Warn("search: catching up failed; trying again", "err", err)
		}
		if first && !x.building() {
			close(x.ready)
			first = false
		}
		for n := 1; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick:
			}
			// Busy is asked at every tick, so that its answer is
			// about the last tick's time only.
			busy := p.Busy != nil && p.Busy()
			if n >= every && (!busy || n >= most) {
				break
			}
		}
	}
}

// building reports whether the index still has to be built.
func (x *Index) building() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.rebuild
}

// build builds the index from the tickets when it has to (always: at
// every call; else at the first start, and when a worker that failed came
// back with a new index).
func (x *Index) build(ctx context.Context, always bool) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.up(); err != nil {
		return err
	}
	if !always && !x.rebuild {
		return nil
	}
	if err := x.rebuildLocked(ctx); err != nil {
		return err
	}
	x.rebuild = false
	return nil
}

// nodeID names this node's index in the store's cursors; a new index gets
// a new name.
func nodeID(dir string, fresh bool) (string, error) {
	path := filepath.Join(dir, "node-id")
	if b, err := os.ReadFile(path); err == nil && !fresh && len(b) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	host, _ := os.Hostname()
	id := host + "-" + hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("search: %w", err)
	}
	return id, nil
}

// layout names the index's mapping; an index of another layout is built
// again from the store.
const layout = "3"

var layoutKey = []byte("layout")

// newMapping indexes a ticket as two fields: its project (a keyword) and
// its words (subject, texts and addresses in one text field, searched
// without phrases). Nothing is stored, and neither term vectors, doc
// values nor bleve's composite "_all" field are kept: a search needs none
// of them, and each would cost the intake CPU while it indexes. Words are
// analyzed as bleve's "standard" analyzer does, with a cheaper tokenizer
// that gives the same tokens (tokenizer.go); layout 3 brought it in.
func newMapping() (mapping.IndexMapping, error) {
	m := bleve.NewIndexMapping()
	if err := m.AddCustomAnalyzer(wordsAnalyzerName, wordsAnalyzer()); err != nil {
		return nil, fmt.Errorf("search: the words analyzer: %w", err)
	}
	m.DefaultAnalyzer = wordsAnalyzerName
	doc := bleve.NewDocumentMapping()
	project := bleve.NewKeywordFieldMapping()
	project.IncludeInAll = false
	project.DocValues = false
	doc.AddFieldMappingsAt("project", project)
	words := bleve.NewTextFieldMapping()
	words.Store = false
	words.IncludeTermVectors = false
	words.IncludeInAll = false
	words.DocValues = false
	doc.AddFieldMappingsAt("words", words)
	doc.AddSubDocumentMapping("_all", bleve.NewDocumentDisabledMapping())
	m.DefaultMapping = doc
	return m, nil
}

// document is what the index holds of a ticket.
func document(t *store.Ticket, msgs []*store.Message) doc {
	var text strings.Builder
	text.WriteString(t.Subject)
	text.WriteString("\n")
	addrs := []string{t.Reporter, t.ReporterName, t.Assignee, t.Organization}
	for _, p := range t.Participants {
		addrs = append(addrs, p.Address, p.Name)
	}
	for _, m := range msgs {
		addrs = append(addrs, m.From, m.FromName)
		addrs = append(addrs, m.To...)
		addrs = append(addrs, m.Cc...)
		if text.Len() < maxText {
			text.WriteString(m.Subject)
			text.WriteString("\n")
			body := m.Text
			if strings.TrimSpace(body) == "" {
				body = m.HTML
			}
			if room := maxText - text.Len(); room < len(body) {
				body = strings.ToValidUTF8(body[:max(room, 0)], "")
			}
			text.WriteString(body)
			text.WriteString("\n")
		}
	}
	text.WriteString(strings.Join(addrs, " "))
	return doc{Key: t.Key, Project: t.Project, Words: text.String()}
}

// rebuildStep is how many tickets Rebuild reads in one read transaction.
const rebuildStep = 500

// Rebuild indexes every ticket of the store again and moves the cursor to
// the newest event seen before it started (events during the rebuild are
// read again by the next catch-up).
func (x *Index) Rebuild(ctx context.Context) error { return x.build(ctx, true) }

func (x *Index) rebuildLocked(ctx context.Context) error {
	var last uint64
	if err := x.db.View(func(tx store.Tx) error {
		var err error
		last, err = tx.LastEventSeq()
		return err
	}); err != nil {
		return fmt.Errorf("search: %w", err)
	}
	n, pending := 0, 0
	// A read transaction per rebuildStep tickets, each going on after the
	// last ticket of the one before: one transaction over a million
	// tickets stays open for most of a minute, and while it does bbolt's
	// writer can neither reuse freed pages nor grow its map. A read
	// function may run again, so the documents go to the engine only
	// after its transaction ended.
	after := ""
	for {
		var docs []doc
		var ferr error
		from := after
		err := x.db.View(func(tx store.Tx) error {
			docs, after, ferr = docs[:0], from, nil
			err := tx.ForEachTicketAfter(from, func(t *store.Ticket) bool {
				msgs, err := tx.TicketMessages(t.Key)
				if err != nil {
					ferr = err
					return false
				}
				docs = append(docs, document(t, msgs))
				after = t.Key
				return len(docs) < rebuildStep
			})
			if err == nil {
				err = ferr
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("search: rebuild: %w", err)
		}
		for _, d := range docs {
			if err := x.eng.add(d); err != nil {
				return fmt.Errorf("search: rebuild: %w", err)
			}
		}
		pending += len(docs)
		if pending >= batchSize {
			if err := x.eng.flush(0, false); err != nil {
				return fmt.Errorf("search: rebuild: %w", err)
			}
			pending = 0
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("search: rebuild: %w", err)
		}
		n += len(docs)
		if len(docs) < rebuildStep {
			break
		}
	}
	if err := x.commit(ctx, last); err != nil {
		return err
	}
	x.log.Info("search: index built", "tickets", n, "cursor", last)
	return nil
}

// commit applies the pending documents with the new cursor and records
// it in the store.
func (x *Index) commit(ctx context.Context, cursor uint64) error {
	if err := x.eng.flush(cursor, true); err != nil {
		return err
	}
	// The store's copy is for operators and other tools; the index's own
	// is the one it trusts (a crash between the two loses nothing).
	if err := x.db.Update(ctx, func(tx store.Tx) error { return tx.SetSearchCursor(x.node, cursor) }); err != nil {
		x.log.Warn("search: recording the cursor in the store failed", "err", err)
	}
	return nil
}

// CatchUp indexes the tickets of every event after the cursor.
func (x *Index) CatchUp(ctx context.Context) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.catchUp(ctx)
}

func (x *Index) catchUp(ctx context.Context) error {
	if err := x.up(); err != nil {
		return err
	}
	if x.rebuild {
		return ErrBuilding
	}
	// The cursor is read from the index once; each batch committed
	// moves it to what the batch covered.
	cur, _, err := x.eng.cursor()
	if err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var refs []store.EventRef
		if err := x.db.View(func(tx store.Tx) error {
			refs, err = tx.EventsAfter(cur, feedBatch)
			if err == nil && len(refs) > 0 && x.shared {
				refs, err = tx.EventsAfter(cur-min(cur, lookBack), feedBatch+lookBack)
			}
			return err
		}); err != nil {
			return fmt.Errorf("search: read events: %w", err)
		}
		if len(refs) == 0 {
			return nil
		}
		next := cur
		seen := map[string]bool{}
		for _, r := range refs {
			seen[r.Ticket] = true
			next = max(next, r.Seq)
		}
		if next == cur {
			return nil
		}
		var docs []doc
		var gone []string
		if err := x.db.View(func(tx store.Tx) error {
			docs, gone = docs[:0], gone[:0]
			for key := range seen {
				t, err := tx.Ticket(key)
				if errors.Is(err, store.ErrNotFound) {
					gone = append(gone, key)
					continue
				}
				if err != nil {
					return err
				}
				msgs, err := tx.TicketMessages(key)
				if err != nil {
					return err
				}
				docs = append(docs, document(t, msgs))
			}
			return nil
		}); err != nil {
			return fmt.Errorf("search: read tickets: %w", err)
		}
		for _, d := range docs {
			if err := x.eng.add(d); err != nil {
				return err
			}
		}
		for _, key := range gone {
			if err := x.eng.drop(key); err != nil {
				return err
			}
		}
		if err := x.commit(ctx, next); err != nil {
			return err
		}
		cur = next
	}
}

// Search returns the keys of up to MaxHits tickets of projects matching
// every word of q (in the subject, a message's text or an address), best
// first, after catching up with the store.
func (x *Index) Search(ctx context.Context, q string, projects []string) ([]string, error) {
	select {
	case <-x.ready:
	default:
		return nil, ErrBuilding
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	keys, err := x.searchLocked(ctx, q, projects)
	if errors.Is(err, errWorkerFailed) {
		// Once more with a new worker: the index it opens is the one
		// on disk (or, if the old one broke it, a new one to build).
		keys, err = x.searchLocked(ctx, q, projects)
	}
	return keys, err
}

func (x *Index) searchLocked(ctx context.Context, q string, projects []string) ([]string, error) {
	if err := x.catchUp(ctx); err != nil {
		return nil, err
	}
	return x.eng.search(q, projects)
}

// Close closes the index (and ends its worker); closing it again does
// nothing.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil
	}
	x.closed = true
	return x.eng.close()
}
