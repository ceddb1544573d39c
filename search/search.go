// Package search is a node's full-text index of tickets for the agents'
// desk (bleve, in data_dir/search): subject, the text of every message
// (notes included: only agents search) and the addresses on the ticket.
// It is fed from the store's history: it reads the events after the last
// one it covered (its cursor), re-indexes their tickets and records the
// new cursor, both in the index (atomically with the documents) and in the
// store (store.SearchTx, so an operator can see how far each node got).
// It never holds anything the store does not: a missing or unreadable
// index is rebuilt from the tickets, and so is one whose cursor is lost.
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
	"github.com/blevesearch/bleve/v2/search/query"

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

// Index is one node's index.
type Index struct {
	db     store.DB
	idx    bleve.Index
	node   string
	shared bool
	log    *slog.Logger
	// mu serialises catching up: two searches never index one ticket
	// twice at once, and the cursor only moves forward.
	mu sync.Mutex
	// rebuild: the index must be built from the tickets first (new, lost
	// its cursor, or was unreadable); ready closes when Run has done it.
	rebuild   bool
	ready     chan struct{}
	closeOnce sync.Once
}

// Open opens the index in dir, or creates it; Run builds and feeds it.
func Open(ctx context.Context, dir string, db store.DB, log *slog.Logger) (*Index, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	_, shared := db.(store.NodeLocker)
	x := &Index{db: db, shared: shared, log: log}
	path := filepath.Join(dir, "index")
	idx, err := bleve.Open(path)
	fresh := false
	if err != nil {
		if !errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
			log.Warn("search: the index cannot be read; building it again from the store", "err", err)
		}
		if err := os.RemoveAll(path); err != nil {
			return nil, fmt.Errorf("search: remove the old index: %w", err)
		}
		if idx, err = create(path); err != nil {
			return nil, err
		}
		fresh = true
	}
	if !fresh {
		if v, err := idx.GetInternal(layoutKey); err != nil || string(v) != layout {
			log.Info("search: the index has an older layout; building it again from the store")
			idx.Close()
			if err := os.RemoveAll(path); err != nil {
				return nil, fmt.Errorf("search: remove the old index: %w", err)
			}
			if idx, err = create(path); err != nil {
				return nil, err
			}
			fresh = true
		}
	}
	if fresh {
		if err := idx.SetInternal(layoutKey, []byte(layout)); err != nil {
			idx.Close()
			return nil, fmt.Errorf("search: %w", err)
		}
	}
	x.idx = idx
	if x.node, err = nodeID(dir, fresh); err != nil {
		idx.Close()
		return nil, err
	}
	_, ok, err := x.cursor()
	x.rebuild = fresh || !ok || err != nil
	x.ready = make(chan struct{})
	return x, nil
}

// create makes a new empty index at path.
func create(path string) (bleve.Index, error) {
	m, err := newMapping()
	if err != nil {
		return nil, err
	}
	idx, err := bleve.New(path, m)
	if err != nil {
		return nil, fmt.Errorf("search: create the index: %w", err)
	}
	return idx, nil
}

// ErrBuilding answers a search while the index is first being built.
var ErrBuilding = errors.New("search: the index is being built")

// Ready is closed once the index has been built (Run did its first
// catch-up).
func (x *Index) Ready() <-chan struct{} { return x.ready }

// Run builds the index when it has to, then keeps it caught up with the
// store every interval until ctx ends (searches also catch up first).
func (x *Index) Run(ctx context.Context, interval time.Duration) {
	if x.rebuild {
		for {
			err := x.Rebuild(ctx)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return // stopped, not failed: the next start builds it
			}
			x.log.Error("search: building the index failed; trying again", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(interval):
			}
		}
	}
	if err := x.CatchUp(ctx); err != nil {
		x.log.Warn("search: catching up failed", "err", err)
	}
	close(x.ready)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := x.CatchUp(ctx); err != nil && ctx.Err() == nil {
				x.log.Warn("search: catching up failed", "err", err)
			}
		}
	}
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

// cursor is the last event the index covered, as the index itself
// recorded it with the documents.
func (x *Index) cursor() (uint64, bool, error) {
	b, err := x.idx.GetInternal(cursorKey)
	if err != nil {
		return 0, false, fmt.Errorf("search: read cursor: %w", err)
	}
	if len(b) != 8 {
		return 0, false, nil
	}
	return binary.BigEndian.Uint64(b), true, nil
}

// document is what the index holds of a ticket.
func document(t *store.Ticket, msgs []*store.Message) map[string]any {
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
	return map[string]any{"project": t.Project, "words": text.String()}
}

// rebuildStep is how many tickets Rebuild reads in one read transaction.
const rebuildStep = 500

// Rebuild indexes every ticket of the store again and moves the cursor to
// the newest event seen before it started (events during the rebuild are
// read again by the next catch-up).
func (x *Index) Rebuild(ctx context.Context) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	var last uint64
	if err := x.db.View(func(tx store.Tx) error {
		var err error
		last, err = tx.LastEventSeq()
		return err
	}); err != nil {
		return fmt.Errorf("search: %w", err)
	}
	b := x.idx.NewBatch()
	n := 0
	// A read transaction per rebuildStep tickets, each going on after the
	// last ticket of the one before: one transaction over a million
	// tickets stays open for most of a minute, and while it does bbolt's
	// writer can neither reuse freed pages nor grow its map.
	after := ""
	for {
		var ferr error
		seen, from := 0, after
		err := x.db.View(func(tx store.Tx) error {
			seen, after = 0, from
			return tx.ForEachTicketAfter(from, func(t *store.Ticket) bool {
				msgs, err := tx.TicketMessages(t.Key)
				if err != nil {
					ferr = err
					return false
				}
				if ferr = b.Index(t.Key, document(t, msgs)); ferr != nil {
					return false
				}
				seen++
				after = t.Key
				return seen < rebuildStep
			})
		})
		if err == nil {
			err = ferr
		}
		if err == nil && b.Size() >= batchSize {
			err = x.idx.Batch(b)
			b.Reset()
		}
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			return fmt.Errorf("search: rebuild: %w", err)
		}
		n += seen
		if seen < rebuildStep {
			break
		}
	}
	if err := x.commit(ctx, b, last); err != nil {
		return err
	}
	x.log.Info("search: index built", "tickets", n, "cursor", last)
	return nil
}

// commit applies b with the new cursor and records it in the store.
func (x *Index) commit(ctx context.Context, b *bleve.Batch, cursor uint64) error {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], cursor)
	b.SetInternal(cursorKey, v[:])
	if err := x.idx.Batch(b); err != nil {
		return fmt.Errorf("search: index: %w", err)
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
	for {
		cur, _, err := x.cursor()
		if err != nil {
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
		b := x.idx.NewBatch()
		if err := x.db.View(func(tx store.Tx) error {
			for key := range seen {
				t, err := tx.Ticket(key)
				if errors.Is(err, store.ErrNotFound) {
					b.Delete(key)
					continue
				}
				if err != nil {
					return err
				}
				msgs, err := tx.TicketMessages(key)
				if err != nil {
					return err
				}
				if err := b.Index(key, document(t, msgs)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("search: read tickets: %w", err)
		}
		if err := x.commit(ctx, b, next); err != nil {
			return err
		}
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
	if err := x.CatchUp(ctx); err != nil {
		return nil, err
	}
	return x.search(q, projects)
}

func (x *Index) search(q string, projects []string) ([]string, error) {
	if strings.TrimSpace(q) == "" || len(projects) == 0 {
		return nil, nil
	}
	words := bleve.NewMatchQuery(q)
	words.SetField("words")
	words.SetOperator(query.MatchQueryOperatorAnd)
	var scope []query.Query
	for _, p := range projects {
		tq := bleve.NewTermQuery(p)
		tq.SetField("project")
		scope = append(scope, tq)
	}
	req := bleve.NewSearchRequestOptions(bleve.NewConjunctionQuery(words, bleve.NewDisjunctionQuery(scope...)), MaxHits, 0, false)
	res, err := x.idx.Search(req)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	keys := make([]string, 0, len(res.Hits))
	for _, h := range res.Hits {
		keys = append(keys, h.ID)
	}
	return keys, nil
}

// Close closes the index; closing it again does nothing.
func (x *Index) Close() error {
	var err error
	x.closeOnce.Do(func() { err = x.idx.Close() })
	return err
}
