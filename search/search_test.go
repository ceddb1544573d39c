package search

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

func openStore(t testing.TB) store.DB {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// addTicket stores a ticket with one message and its event, as the engine
// would.
func addTicket(t testing.TB, db store.DB, project string, n uint64, subject, from, text string) {
	t.Helper()
	err := db.Update(context.Background(), func(tx store.Tx) error {
		if _, err := tx.NextTicketNumber(project); err != nil {
			return err
		}
		key := fmt.Sprintf("%s-%d", project, n)
		now := time.Now().UTC()
		if err := tx.PutTicket(&store.Ticket{Key: key, Project: project, Number: n, Subject: subject, Reporter: from, Status: "new", Created: now, Updated: now}); err != nil {
			return err
		}
		m := &store.Message{Ticket: key, Project: project, Direction: "in", Kind: "request", From: from, Subject: subject, Text: text, Received: now}
		if err := tx.AddMessage(m); err != nil {
			return err
		}
		return tx.AddEvent(&store.Event{Ticket: key, Kind: store.EvRequestCreated, Time: now, Message: m.ID})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func comment(t testing.TB, db store.DB, key, text string) {
	t.Helper()
	err := db.Update(context.Background(), func(tx store.Tx) error {
		tk, err := tx.Ticket(key)
		if err != nil {
			return err
		}
		m := &store.Message{Ticket: key, Project: tk.Project, Direction: "in", Kind: "note", Internal: true, From: "alice@example.com", Text: text, Received: time.Now()}
		if err := tx.AddMessage(m); err != nil {
			return err
		}
		return tx.AddEvent(&store.Event{Ticket: key, Kind: store.EvInternalNoteAdded, Time: time.Now(), Message: m.ID})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// run opens the index in dir and runs it until the test ends.
func run(t *testing.T, dir string, db store.DB) *Index {
	t.Helper()
	x, err := Open(context.Background(), dir, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	runIndex(t, x)
	return x
}

// runIndex runs x until stop (or the end of the test) and waits for its
// first build; stop ends Run and closes x, and answers Close's error.
func runIndex(t *testing.T, x *Index) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); x.Run(ctx, Pace{Every: time.Hour}) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); wg.Wait(); err = x.Close() })
		return err
	}
	t.Cleanup(func() { stop() })
	<-x.Ready()
	return stop
}

func find(t *testing.T, x *Index, q string, projects ...string) []string {
	t.Helper()
	keys, err := x.Search(context.Background(), q, projects)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// TestSearchFindsWithinProjects: words of a subject, a body and an
// address find their tickets, all words must match, and only tickets of
// the projects asked for come back, also for a note written after the
// build; the same with the index in this process and in a worker.
func TestSearchFindsWithinProjects(t *testing.T) {
	for name, start := range map[string]func(*testing.T, string, store.DB) *Index{"in process": run, "worker": runWorker} {
		t.Run(name, func(t *testing.T) {
			db := openStore(t)
			addTicket(t, db, "ACME", 1, "Printer on fire", "carl@customer.example", "The zanzibarian total is off.")
			addTicket(t, db, "ACME", 2, "Invoice", "dora@other.example", "Please send the invoice again.")
			addTicket(t, db, "BETA", 1, "Also zanzibarian", "eve@beta.example", "Nothing else.")
			x := start(t, t.TempDir(), db)
			comment(t, db, "ACME-2", "the quokka ate the toner")
			for _, c := range []struct {
				q        string
				projects []string
				want     []string
			}{
				{"zanzibarian", []string{"ACME"}, []string{"ACME-1"}},
				{"zanzibarian", []string{"BETA"}, []string{"BETA-1"}},
				{"zanzibarian", []string{"ACME", "BETA"}, []string{"ACME-1", "BETA-1"}},
				{"printer", []string{"ACME"}, []string{"ACME-1"}},
				{"carl@customer.example", []string{"ACME"}, []string{"ACME-1"}},
				{"invoice again", []string{"ACME"}, []string{"ACME-2"}},
				{"quokka toner", []string{"ACME", "BETA"}, []string{"ACME-2"}},
				{"invoice zanzibarian", []string{"ACME"}, nil},
				{"zanzibarian", nil, nil},
				{"  ", []string{"ACME"}, nil},
			} {
				if got := find(t, x, c.q, c.projects...); !slices.Equal(got, c.want) {
					t.Errorf("%q in %v: %v, want %v", c.q, c.projects, got, c.want)
				}
			}
		})
	}
}

// TestSearchFollowsEventsAndSurvives: a note added after the build is
// found (the search catches up first), the cursor is in the store, a
// reopened index keeps it without a rebuild, and a lost index is rebuilt.
func TestSearchFollowsEventsAndSurvives(t *testing.T) {
	db := openStore(t)
	addTicket(t, db, "ACME", 1, "Printer", "carl@customer.example", "first words")
	dir := t.TempDir()
	x, err := Open(context.Background(), dir, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Search(context.Background(), "printer", []string{"ACME"}); err != ErrBuilding {
		t.Fatalf("search before the build: %v, want ErrBuilding", err)
	}
	x.Close()
	x = run(t, dir, db)
	comment(t, db, "ACME-1", "the quokka ate the toner")
	if got := find(t, x, "quokka", "ACME"); !slices.Equal(got, []string{"ACME-1"}) {
		t.Fatalf("a note added after the build: %v", got)
	}
	var last, cur uint64
	db.View(func(tx store.Tx) error {
		last, _ = tx.LastEventSeq()
		cur, _, _ = tx.SearchCursor(x.node)
		return nil
	})
	if cur != last || last == 0 {
		t.Fatalf("the store's cursor for %s is %d, the last event %d", x.node, cur, last)
	}
	x.Close()

	y, err := Open(context.Background(), dir, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if y.rebuild || y.node != x.node {
		t.Fatalf("a reopened index wants a rebuild (%v) or changed its name (%s → %s)", y.rebuild, x.node, y.node)
	}
	y.Close()

	if err := os.RemoveAll(filepath.Join(dir, "index")); err != nil {
		t.Fatal(err)
	}
	z := run(t, dir, db)
	if z.node == x.node {
		t.Error("a rebuilt index kept the old name")
	}
	if got := find(t, z, "quokka toner", "ACME"); !slices.Equal(got, []string{"ACME-1"}) {
		t.Fatalf("after a rebuild: %v", got)
	}
}

// TestSearchQuietEventsAndOldLayout: delivering a ticket's mail leaves
// the bbolt feed alone (nothing to index again), while a change that
// adds words is indexed; an index of an older layout is built again from
// the store.
func TestSearchQuietEventsAndOldLayout(t *testing.T) {
	db := openStore(t)
	addTicket(t, db, "ACME", 1, "Printer", "carl@customer.example", "first words")
	dir := t.TempDir()
	x := run(t, dir, db)
	var before uint64
	db.View(func(tx store.Tx) error { before, _ = tx.LastEventSeq(); return nil })
	err := db.Update(context.Background(), func(tx store.Tx) error {
		for _, k := range []store.EventKind{store.EvQueued, store.EvDelivered, store.EvWebhookDelivered} {
			if !k.SearchQuiet() {
				t.Errorf("%s is not quiet", k)
			}
			if err := tx.AddEvent(&store.Event{Ticket: "ACME-1", Kind: k, Time: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx store.Tx) error {
		refs, err := tx.EventsAfter(before, 100)
		if err != nil || len(refs) != 0 {
			t.Errorf("quiet events in the feed: %v %v", refs, err)
		}
		return nil
	})
	for _, k := range []store.EventKind{store.EvRequestCreated, store.EvCustomerCommentAdded, store.EvInternalNoteAdded, store.EvParticipantAdded, store.EvAssigned, store.EvMerged} {
		if k.SearchQuiet() {
			t.Errorf("%s changes what is searched but is quiet", k)
		}
	}
	comment(t, db, "ACME-1", "the wombat ate the toner")
	if got := find(t, x, "wombat", "ACME"); !slices.Equal(got, []string{"ACME-1"}) {
		t.Fatalf("a note after quiet events: %v", got)
	}
	node := x.node
	if err := x.eng.(*local).idx.SetInternal(layoutKey, []byte("1")); err != nil {
		t.Fatal(err)
	}
	x.Close()
	y, err := Open(context.Background(), dir, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if !y.rebuild || y.node == node {
		t.Fatalf("an index of layout 1 is kept (rebuild %v, node %s → %s)", y.rebuild, node, y.node)
	}
}

// TestRebuildInSteps: the first build reads the tickets rebuildStep at a
// time, each step in a read transaction of its own; every ticket, on
// either side of a step's end and in either project, is found.
func TestRebuildInSteps(t *testing.T) {
	db := openStore(t)
	counts := map[string]int{"ACME": rebuildStep + 100, "BETA": rebuildStep + 1}
	for _, p := range []string{"ACME", "BETA"} {
		for n := 1; n <= counts[p]; n++ {
			addTicket(t, db, p, uint64(n), fmt.Sprintf("Case %s%d", strings.ToLower(p), n), "carl@customer.example", "")
		}
	}
	x := run(t, t.TempDir(), db)
	// The second step ends inside BETA, after its ticket cut.
	cut := 2*rebuildStep - counts["ACME"]
	for _, c := range []struct {
		project string
		n       int
	}{{"ACME", 1}, {"ACME", rebuildStep - 1}, {"ACME", rebuildStep}, {"ACME", rebuildStep + 1}, {"ACME", counts["ACME"]},
		{"BETA", 1}, {"BETA", cut - 1}, {"BETA", cut}, {"BETA", cut + 1}, {"BETA", counts["BETA"]}} {
		key := fmt.Sprintf("%s-%d", c.project, c.n)
		if got := find(t, x, fmt.Sprintf("%s%d", strings.ToLower(c.project), c.n), "ACME", "BETA"); !slices.Equal(got, []string{key}) {
			t.Errorf("%s: found %v", key, got)
		}
	}
	// Search returns at most MaxHits: the count is the index's.
	n, err := x.eng.(*local).idx.DocCount()
	if err != nil {
		t.Fatal(err)
	}
	if n != uint64(counts["ACME"]+counts["BETA"]) {
		t.Errorf("%d tickets indexed, want %d", n, counts["ACME"]+counts["BETA"])
	}
}
