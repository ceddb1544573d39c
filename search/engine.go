package search

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// engine is the index itself, the part of an Index that analyzes words
// and answers queries: bleve in this process (local) or in a worker
// process of its own (worker.go). Index feeds it documents and cursors
// read from the store. Documents go into a pending batch; flush applies
// the batch, with a new cursor when one is given, atomically.
type engine interface {
	// add puts a ticket's document into the pending batch, drop its
	// removal.
	add(d doc) error
	drop(key string) error
	// flush applies the pending batch and, when setCursor, records
	// cursor with it.
	flush(cursor uint64, setCursor bool) error
	// cursor is the last event the index covered, as it recorded it.
	cursor() (uint64, bool, error)
	search(q string, projects []string) ([]string, error)
	close() error
}

// doc is what the index holds of a ticket (document builds it).
type doc struct {
	Key, Project, Words string
}

// local is bleve in this process.
type local struct {
	idx bleve.Index
	b   *bleve.Batch
	// err is the first error of add since the last flush, which flush
	// answers (as the worker does: add has no answer there).
	err error
}

// openLocal opens the index at path, or creates it (fresh) when it is
// missing, unreadable or of another layout.
func openLocal(path string) (l *local, fresh bool, warn string, err error) {
	idx, err := bleve.Open(path)
	if err != nil {
		if !errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
			warn = "the index cannot be read (" + err.Error() + "); building it again from the store"
		}
		fresh = true
	} else if v, err := idx.GetInternal(layoutKey); err != nil || string(v) != layout {
		warn = "the index has an older layout; building it again from the store"
		idx.Close()
		fresh = true
	}
	if fresh {
		if err := os.RemoveAll(path); err != nil {
			return nil, false, "", fmt.Errorf("search: remove the old index: %w", err)
		}
		m, err := newMapping()
		if err != nil {
			return nil, false, "", err
		}
		if idx, err = bleve.New(path, m); err != nil {
			return nil, false, "", fmt.Errorf("search: create the index: %w", err)
		}
		if err := idx.SetInternal(layoutKey, []byte(layout)); err != nil {
			idx.Close()
			return nil, false, "", fmt.Errorf("search: %w", err)
		}
	}
	return &local{idx: idx, b: idx.NewBatch()}, fresh, warn, nil
}

func (l *local) add(d doc) error {
	if err := l.b.Index(d.Key, map[string]any{"project": d.Project, "words": d.Words}); err != nil && l.err == nil {
		l.err = fmt.Errorf("search: index %s: %w", d.Key, err)
	}
	return nil
}

func (l *local) drop(key string) error {
	l.b.Delete(key)
	return nil
}

func (l *local) flush(cursor uint64, setCursor bool) error {
	b, err := l.b, l.err
	l.b, l.err = l.idx.NewBatch(), nil
	if err != nil {
		return err
	}
	if setCursor {
		b.SetInternal(cursorKey, encodeCursor(cursor))
	}
	if err := l.idx.Batch(b); err != nil {
		return fmt.Errorf("search: index: %w", err)
	}
	return nil
}

func (l *local) cursor() (uint64, bool, error) {
	b, err := l.idx.GetInternal(cursorKey)
	if err != nil {
		return 0, false, fmt.Errorf("search: read cursor: %w", err)
	}
	c, ok := decodeCursor(b)
	return c, ok, nil
}

func (l *local) search(q string, projects []string) ([]string, error) {
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
	res, err := l.idx.Search(req)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	keys := make([]string, 0, len(res.Hits))
	for _, h := range res.Hits {
		keys = append(keys, h.ID)
	}
	return keys, nil
}

func (l *local) close() error { return l.idx.Close() }
