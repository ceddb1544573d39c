package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// Damage names a kind of stored record Backend.Corrupt must make
// undecodable, with the arguments that name the record.
type Damage int

// The records the suite damages.
const (
	DamageMessage       Damage = iota // args: message id (decimal)
	DamageSuppression                 // args: address
	DamageBlock                       // args: project, address
	DamageOrganization                // args: project, name
	DamageTicketCounter               // args: project
	DamageMessageIDRef                // args: project, Message-ID, content hash

	// Index damage (issue 21), for check-store's cross-checks of the
	// indexes against the tickets: an entry removed, or one left behind.
	DamageTimerEntry // args: ticket key, wake time (RFC 3339, nanoseconds): its timer index entry is removed
	DamageFactsEntry // args: ticket key: its report facts are removed
	DamageStaleTimer // args: ticket key, time: a wake entry for a time the ticket does not have is added
)

// Backend is what the conformance suite needs of a store implementation.
type Backend struct {
	// Open opens the store kept in dir (creating it in an empty dir). The
	// suite closes what it opens, and opens a dir again after Close to
	// check durability.
	Open func(t testing.TB, dir string) (store.DB, error)
	// Corrupt, with the store in dir closed, makes the record named by
	// what and args undecodable (garbage where a record was).
	Corrupt func(t testing.TB, dir string, what Damage, args ...string)
	// Age, with the store in dir closed, turns it into a store of the
	// oldest schema version this code still migrates from (nil: the
	// migration test is skipped).
	Age func(t testing.TB, dir string)
	// Future, with the store in dir closed, marks it as written by a newer
	// schema version than this code knows (nil: skipped).
	Future func(t testing.TB, dir string)
	// DamageBlob, with the store in dir closed, alters the stored content
	// of blob hash wherever the backend keeps it (nil: the damage part of
	// BlobKinds is skipped). Issue 13.
	DamageBlob func(t testing.TB, dir, hash string)
}

// Run runs the conformance suite against b. Every implementation of
// store.DB must pass it; run it with TICKETGATE_STORE_RUN_TWICE=1 as well
// (CI does), so the suite's own transaction functions run twice too.
func Run(t *testing.T, b Backend) {
	s := &suite{b: b}
	for _, c := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"Atomicity", s.atomicity},
		{"BatchIsolation", s.batchIsolation},
		{"AfterCommit", s.afterCommit},
		{"Durability", s.durability},
		{"CopiesOut", s.copiesOut},
		{"MessageIDIndex", s.messageIDIndex},
		{"ExactlyOnceUnderConcurrency", s.exactlyOnce},
		{"TicketNumbering", s.ticketNumbering},
		{"TicketWalkInSteps", s.ticketWalk}, // issue 13: no long read transaction
		{"OutboxOrder", s.outboxOrder},
		{"OutboxLeases", s.outboxLeases},
		{"OutboxDequeueSeen", s.outboxDequeueSeen}, // issue 13: the sender's CPU
		{"OutboxDueExcept", s.outboxDueExcept},
		{"HookOrder", s.hookOrder},
		{"HookLeases", s.hookLeases},
		{"NodeLocks", s.nodeLocks},
		{"BlobReferences", s.blobReferences},
		{"BlobKinds", s.blobKinds}, // issue 13: inline and file blobs
		{"DecodeFailuresAreErrors", s.decodeFailures},
		{"Migration", s.migration},
		{"TicketTimers", s.ticketTimers},
		{"TicketFacts", s.ticketFacts},
		{"CheckTimerAndFactsIndexes", s.checkIndexes},
		{"BounceTokenPruning", s.tokenPrune},
		{"Drafts", s.drafts}, // issue 17
		{"DraftsAccepted", s.draftsAccepted},
		{"Customers", s.customers},
		{"DeskSignInAndSessions", s.desk},
		{"SearchFeed", s.searchFeed},
		{"Offers", s.offers},
		{"Ratings", s.ratings},
		{"PGPKeys", s.pgpKeys},
		{"Digests", s.digests}, // issue 21
		{"AuditStream", s.auditStream},
		{"RateCounters", s.rateCounters}, // issue 13: one seek per count
		{"RatePrune", s.ratePrune},       // issue 13: counters counted once do not stay
		{"AuditGroups", s.auditGroups},   // issue 13: a group written once
	} {
		t.Run(c.name, c.fn)
	}
}

type suite struct{ b Backend }

func (s *suite) open(t *testing.T, dir string) store.DB {
	t.Helper()
	db, err := s.b.Open(t, dir)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	return db
}

func (s *suite) fresh(t *testing.T) (store.DB, string) {
	t.Helper()
	dir := t.TempDir()
	db := s.open(t, dir)
	t.Cleanup(func() { db.Close() })
	return db, dir
}

func update(t *testing.T, db store.DB, fn func(store.Tx) error) {
	t.Helper()
	if err := db.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func view(t *testing.T, db store.DB, fn func(store.Tx) error) {
	t.Helper()
	if err := db.View(fn); err != nil {
		t.Fatal(err)
	}
}

// newTicket allocates a number in project and stores a ticket and one
// message with raw blob raw (may be ""); it returns the key and message id.
func newTicket(tx store.Tx, project, subject, raw string) (string, uint64, error) {
	n, err := tx.NextTicketNumber(project)
	if err != nil {
		return "", 0, err
	}
	key := store.TicketKey(project, n)
	if err := tx.PutTicket(&store.Ticket{Key: key, Project: project, Number: n, Subject: subject}); err != nil {
		return "", 0, err
	}
	m := &store.Message{Ticket: key, Project: project, Direction: "in", Kind: "request", Subject: subject, Raw: raw}
	if err := tx.AddMessage(m); err != nil {
		return "", 0, err
	}
	return key, m.ID, nil
}

// atomicity: a function that fails, or panics, leaves nothing behind.
func (s *suite) atomicity(t *testing.T) {
	db, _ := s.fresh(t)
	boom := errors.New("boom")
	for _, fail := range []func() error{
		func() error { return boom },
		func() error { panic("poisoned message") },
	} {
		err := db.Update(context.Background(), func(tx store.Tx) error {
			key, id, err := newTicket(tx, "ACME", "lost", "")
			if err != nil {
				return err
			}
			if err := tx.IndexMessageID("ACME", "lost@x", "h", store.MessageRef{Ticket: key, Message: id}); err != nil {
				return err
			}
			if err := tx.AddEvent(&store.Event{Ticket: key, Kind: store.EvRequestCreated}); err != nil {
				return err
			}
			if err := tx.Enqueue(&store.OutboxItem{Ticket: key, Recipient: "c@x", NextAttempt: time.Now()}); err != nil {
				return err
			}
			return fail()
		})
		if err == nil {
			t.Fatal("a failing function's Update returned nil")
		}
	}
	view(t, db, func(tx store.Tx) error {
		n, err := tx.LastTicketNumber("ACME")
		if err != nil || n != 0 {
			t.Errorf("ticket counter %d (%v) after failed functions, want 0", n, err)
		}
		if _, err := tx.Ticket("ACME-1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ticket of a failed function: %v", err)
		}
		if _, ok, err := tx.LookupMessageID("ACME", "lost@x"); ok || err != nil {
			t.Errorf("index entry of a failed function: %v %v", ok, err)
		}
		if evs, err := tx.Events("ACME-1"); len(evs) != 0 || err != nil {
			t.Errorf("events of a failed function: %d %v", len(evs), err)
		}
		if n, _ := tx.OutboxStats(); n != 0 {
			t.Errorf("%d outbox items of a failed function", n)
		}
		return nil
	})
}

// batchIsolation: concurrent callers share commits, but one caller's
// failure is only its own.
func (s *suite) batchIsolation(t *testing.T) {
	db, _ := s.fresh(t)
	const n = 48
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Update(context.Background(), func(tx store.Tx) error {
				if err := tx.SetState(fmt.Sprintf("k%d", i), i); err != nil {
					return err
				}
				if i%3 == 0 {
					return fmt.Errorf("caller %d fails", i)
				}
				return nil
			})
		}()
	}
	wg.Wait()
	view(t, db, func(tx store.Tx) error {
		for i := range n {
			var v int
			found, err := tx.State(fmt.Sprintf("k%d", i), &v)
			if err != nil {
				return err
			}
			if fails := i%3 == 0; fails != (errs[i] != nil) || found == fails || found && v != i {
				t.Errorf("caller %d: err %v, stored %v (%d)", i, errs[i], found, v)
			}
		}
		return nil
	})
}

// afterCommit: effects registered with AfterCommit run once, only after a
// commit.
func (s *suite) afterCommit(t *testing.T) {
	db, _ := s.fresh(t)
	ran := 0
	var seen bool
	update(t, db, func(tx store.Tx) error {
		tx.AfterCommit(func() {
			ran++
			// Durable and visible by the time it runs.
			db.View(func(tx store.Tx) error { seen, _ = tx.State("x", new(int)); return nil })
		})
		return tx.SetState("x", 1)
	})
	if ran != 1 || !seen {
		t.Errorf("after-commit ran %d times (saw the write: %v), want once, after the commit", ran, seen)
	}
	ran = 0
	db.Update(context.Background(), func(tx store.Tx) error {
		tx.AfterCommit(func() { ran++ })
		return errors.New("rolled back")
	})
	if ran != 0 {
		t.Errorf("after-commit of a rolled-back function ran %d times", ran)
	}
}

// durability: what Update committed is there after Close and Open, and so
// is the installation id.
func (s *suite) durability(t *testing.T) {
	dir := t.TempDir()
	db := s.open(t, dir)
	id := db.InstallationID()
	if id == "" {
		t.Error("no installation id")
	}
	update(t, db, func(tx store.Tx) error {
		_, _, err := newTicket(tx, "ACME", "kept", "")
		return err
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = s.open(t, dir)
	defer db.Close()
	if db.InstallationID() != id {
		t.Errorf("installation id %q after reopening, was %q", db.InstallationID(), id)
	}
	view(t, db, func(tx store.Tx) error {
		tk, err := tx.Ticket("ACME-1")
		if err != nil || tk.Subject != "kept" {
			t.Errorf("after reopening: %+v %v", tk, err)
		}
		return nil
	})
}

// copiesOut: values read are copies; changing one changes nothing stored.
func (s *suite) copiesOut(t *testing.T) {
	db, _ := s.fresh(t)
	update(t, db, func(tx store.Tx) error { _, _, err := newTicket(tx, "ACME", "original", ""); return err })
	var tk *store.Ticket
	view(t, db, func(tx store.Tx) error { var err error; tk, err = tx.Ticket("ACME-1"); return err })
	tk.Subject = "changed outside"
	view(t, db, func(tx store.Tx) error {
		again, err := tx.Ticket("ACME-1")
		if err != nil || again.Subject != "original" {
			t.Errorf("stored ticket changed through a returned copy: %+v %v", again, err)
		}
		return nil
	})
}

// messageIDIndex: the index finds an id per project, a duplicate only
// with the same content hash, never by prefix.
func (s *suite) messageIDIndex(t *testing.T) {
	db, _ := s.fresh(t)
	update(t, db, func(tx store.Tx) error {
		if err := tx.IndexMessageID("ACME", "a@x", "h1", store.MessageRef{Ticket: "ACME-1", Message: 7}); err != nil {
			return err
		}
		return tx.IndexMessageID("ACME", "out@tg", "", store.MessageRef{Ticket: "ACME-2", Outbound: true})
	})
	view(t, db, func(tx store.Tx) error {
		check := func(what string, r store.MessageRef, ok bool, err error, want bool) {
			t.Helper()
			if err != nil || ok != want {
				t.Errorf("%s: %+v %v %v, want found=%v", what, r, ok, err, want)
			}
		}
		r, ok, err := tx.Duplicate("ACME", "a@x", "h1")
		check("duplicate", r, ok, err, true)
		if r.Ticket != "ACME-1" || r.Message != 7 {
			t.Errorf("duplicate ref %+v", r)
		}
		r, ok, err = tx.Duplicate("ACME", "a@x", "h2")
		check("same id, other content", r, ok, err, false)
		r, ok, err = tx.LookupMessageID("ACME", "a@x")
		check("lookup", r, ok, err, true)
		r, ok, err = tx.LookupMessageID("ACME", "a@")
		check("prefix", r, ok, err, false)
		r, ok, err = tx.LookupMessageID("OTHER", "a@x")
		check("other project", r, ok, err, false)
		r, ok, err = tx.LookupMessageID("ACME", "out@tg")
		check("outbound", r, ok, err, true)
		if !r.Outbound || r.Ticket != "ACME-2" {
			t.Errorf("outbound ref %+v", r)
		}
		return nil
	})
}

// exactlyOnce: many concurrent deliveries of one message (same project,
// Message-ID and content) store it once; the others find the duplicate.
func (s *suite) exactlyOnce(t *testing.T) {
	db, _ := s.fresh(t)
	const n = 32
	var wg sync.WaitGroup
	stored := make([]bool, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.Update(context.Background(), func(tx store.Tx) error {
				stored[i] = false
				_, dup, err := tx.Duplicate("ACME", "once@x", "hash")
				if err != nil || dup {
					return err
				}
				key, id, err := newTicket(tx, "ACME", "once", "")
				if err != nil {
					return err
				}
				stored[i] = true
				return tx.IndexMessageID("ACME", "once@x", "hash", store.MessageRef{Ticket: key, Message: id})
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	count := 0
	for _, s := range stored {
		if s {
			count++
		}
	}
	tickets, perID := MessageIDs(t, db, "ACME")
	if count != 1 || tickets != 1 || len(perID) != 1 {
		t.Fatalf("%d callers stored it, %d tickets, ids %v: want exactly one", count, tickets, perID)
	}
}

// ticketNumbering: numbers allocated by concurrent callers, some of which
// fail after allocating, are dense: 1..N with no gap and no reuse.
func (s *suite) ticketNumbering(t *testing.T) {
	db, _ := s.fresh(t)
	const workers, each = 16, 12
	var (
		mu  sync.Mutex
		got []uint64
		wg  sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var n uint64
				err := db.Update(context.Background(), func(tx store.Tx) error {
					var err error
					if n, err = tx.NextTicketNumber("ACME"); err != nil {
						return err
					}
					if err := tx.PutTicket(&store.Ticket{Key: store.TicketKey("ACME", n), Project: "ACME", Number: n}); err != nil {
						return err
					}
					if (w+i)%4 == 0 {
						return errors.New("rolled back: gives its number back")
					}
					return nil
				})
				if err == nil {
					mu.Lock()
					got = append(got, n)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	slices.Sort(got)
	for i, n := range got {
		if n != uint64(i+1) {
			t.Fatalf("committed numbers are not 1..%d: %v", len(got), got)
		}
	}
	view(t, db, func(tx store.Tx) error {
		last, err := tx.LastTicketNumber("ACME")
		if err != nil || last != uint64(len(got)) {
			t.Errorf("last number %d (%v), want %d", last, err, len(got))
		}
		other, err := tx.LastTicketNumber("BETA")
		if err != nil || other != 0 {
			t.Errorf("numbers are per project: BETA at %d (%v)", other, err)
		}
		tickets := 0
		tx.ForEachTicket("ACME", func(*store.Ticket) bool { tickets++; return true })
		if tickets != len(got) {
			t.Errorf("%d tickets stored, %d committed", tickets, len(got))
		}
		return nil
	})
}

// ticketWalk: ForEachTicketAfter, resumed in a new transaction after the
// last ticket each step saw, visits every ticket of every project once,
// in ForEachTicket("")'s order, whatever the step; a key that names no
// ticket resumes after where it would be; a malformed key is an error.
func (s *suite) ticketWalk(t *testing.T) {
	db, _ := s.fresh(t)
	update(t, db, func(tx store.Tx) error {
		for i := range 25 {
			for _, p := range []string{"ACME", "BETA", "ZED"} {
				if p == "BETA" && i >= 7 {
					continue
				}
				if _, _, err := newTicket(tx, p, fmt.Sprintf("%s %d", p, i), ""); err != nil {
					return err
				}
			}
		}
		return nil
	})
	var all []string
	view(t, db, func(tx store.Tx) error {
		return tx.ForEachTicket("", func(tk *store.Ticket) bool { all = append(all, tk.Key); return true })
	})
	if len(all) != 57 {
		t.Fatalf("ForEachTicket(\"\") saw %d tickets, want 57", len(all))
	}
	for _, step := range []int{1, 2, 7, 25, 56, 57, 100} {
		var got []string
		after := ""
		for {
			n := 0
			view(t, db, func(tx store.Tx) error {
				return tx.ForEachTicketAfter(after, func(tk *store.Ticket) bool {
					got = append(got, tk.Key)
					after = tk.Key
					n++
					return n < step
				})
			})
			if n < step {
				break
			}
		}
		if !slices.Equal(got, all) {
			t.Fatalf("steps of %d: %v, want %v", step, got, all)
		}
	}
	view(t, db, func(tx store.Tx) error {
		var got []string
		// BETA-8 was never made: the walk goes on with ZED's tickets.
		if err := tx.ForEachTicketAfter("BETA-8", func(tk *store.Ticket) bool { got = append(got, tk.Key); return len(got) < 2 }); err != nil {
			t.Fatal(err)
		}
		if want := []string{"ZED-1", "ZED-2"}; !slices.Equal(got, want) {
			t.Errorf("after BETA-8 (none): %v, want %v", got, want)
		}
		got = nil
		if err := tx.ForEachTicketAfter("ZED-25", func(tk *store.Ticket) bool { got = append(got, tk.Key); return true }); err != nil || len(got) != 0 {
			t.Errorf("after the last ticket: %v, %v; want nothing", got, err)
		}
		if err := tx.ForEachTicketAfter("no key", func(*store.Ticket) bool { return true }); err == nil {
			t.Error("a malformed key is not an error")
		}
		return nil
	})
}

// outboxOrder: due items come out earliest first, at most max, with the
// time the next one is due; Reschedule moves an item in that order and
// Dequeue removes it (queueOrder, queue.go).
func (s *suite) outboxOrder(t *testing.T) {
	db, _ := s.fresh(t)
	queueOrder(t, db, outboxKind)
}

// blobReferences: a blob stays while any record names it; the sweep
// removes it once none does.
func (s *suite) blobReferences(t *testing.T) {
	db, _ := s.fresh(t)
	put := func(body string) string {
		t.Helper()
		h, n, err := db.PutBlob(strings.NewReader(body))
		if err != nil || n != int64(len(body)) {
			t.Fatalf("put blob: %v (%d bytes)", err, n)
		}
		return h
	}
	shared, own, orphan := put("shared attachment"), put("raw mail"), put("never referenced")
	if again := put("shared attachment"); again != shared {
		t.Fatalf("same content, other hash: %s %s", again, shared)
	}
	var ids []uint64
	update(t, db, func(tx store.Tx) error {
		ids = ids[:0]
		for _, raw := range []string{own, ""} {
			_, id, err := newTicket(tx, "ACME", "with files", raw)
			if err != nil {
				return err
			}
			m, err := tx.Message(id)
			if err != nil {
				return err
			}
			m.Attach = []store.Attachment{{Filename: "a.pdf", Blob: shared}}
			if err := tx.PutMessage(m); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	exists := func(h string) bool {
		f, err := db.OpenBlob(h)
		if err == nil {
			b, _ := io.ReadAll(f)
			f.Close()
			return len(b) > 0
		}
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("open blob: %v", err)
		}
		return false
	}
	sweep := func() int {
		t.Helper()
		// A negative grace: every unreferenced file counts as old.
		n, err := db.SweepBlobs(-time.Hour)
		if err != nil {
			t.Fatalf("sweep: %v", err)
		}
		return n
	}
	if n := sweep(); n != 1 || exists(orphan) || !exists(own) || !exists(shared) {
		t.Fatalf("first sweep removed %d; orphan %v own %v shared %v", n, exists(orphan), exists(own), exists(shared))
	}
	// Drop the shared file from one message: the other still names it.
	update(t, db, func(tx store.Tx) error {
		m, err := tx.Message(ids[0])
		if err != nil {
			return err
		}
		m.Attach, m.Raw = nil, ""
		return tx.PutMessage(m)
	})
	if sweep(); exists(own) || !exists(shared) {
		t.Fatalf("own %v (want gone), shared %v (want kept)", exists(own), exists(shared))
	}
	update(t, db, func(tx store.Tx) error {
		m, err := tx.Message(ids[1])
		if err != nil {
			return err
		}
		m.Attach = nil
		return tx.PutMessage(m)
	})
	if sweep(); exists(shared) {
		t.Fatal("a blob nobody names survived the sweep")
	}
	var refs []string
	view(t, db, func(tx store.Tx) error { return tx.ForEachBlobRef(func(h string) { refs = append(refs, h) }) })
	if len(refs) != 0 {
		t.Fatalf("references left: %v", refs)
	}
}

// decodeFailures: a record that does not decode is an error wherever it is
// read, never "absent"; the sweep then removes nothing.
func (s *suite) decodeFailures(t *testing.T) {
	if s.b.Corrupt == nil {
		t.Skip("backend cannot damage records")
	}
	dir := t.TempDir()
	db := s.open(t, dir)
	now := time.Now().UTC()
	var raw string
	var msg uint64
	h, _, err := db.PutBlob(strings.NewReader("the raw mail"))
	if err != nil {
		t.Fatal(err)
	}
	raw = h
	update(t, db, func(tx store.Tx) error {
		key, id, err := newTicket(tx, "ACME", "s", raw)
		if err != nil {
			return err
		}
		msg = id
		for _, fn := range []func() error{
			func() error {
				return tx.Suppress(&store.Suppression{Address: "gone@x", Until: now.Add(time.Hour), Reason: "bounce"})
			},
			func() error { return tx.Block(&store.Block{Project: "ACME", Address: "spam@x", Reason: "spam"}) },
			func() error {
				return tx.PutOrganization(&store.Organization{Project: "ACME", Name: "Corp", Domains: []string{"corp.example"}})
			},
			func() error {
				return tx.IndexMessageID("ACME", "m@x", "hash", store.MessageRef{Ticket: key, Message: id})
			},
		} {
			if err := fn(); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	s.b.Corrupt(t, dir, DamageMessage, fmt.Sprint(msg))
	s.b.Corrupt(t, dir, DamageSuppression, "gone@x")
	s.b.Corrupt(t, dir, DamageBlock, "ACME", "spam@x")
	s.b.Corrupt(t, dir, DamageOrganization, "ACME", "Corp")
	s.b.Corrupt(t, dir, DamageTicketCounter, "ACME")
	s.b.Corrupt(t, dir, DamageMessageIDRef, "ACME", "m@x", "hash")
	db = s.open(t, dir)
	defer db.Close()
	view(t, db, func(tx store.Tx) error {
		if v, err := tx.Suppressed("gone@x", now); err == nil {
			t.Errorf("damaged suppression read as %v", v)
		}
		if v, err := tx.Blocked("ACME", "spam@x"); err == nil {
			t.Errorf("damaged block read as %v", v)
		}
		if v, err := tx.OrganizationOf("ACME", "x@corp.example"); err == nil {
			t.Errorf("damaged organization read as %v", v)
		}
		if v, _, err := tx.Duplicate("ACME", "m@x", "hash"); err == nil {
			t.Errorf("damaged index entry read as %+v", v)
		}
		if v, _, err := tx.LookupMessageID("ACME", "m@x"); err == nil {
			t.Errorf("damaged index entry read as %+v", v)
		}
		if v, err := tx.Message(msg); err == nil {
			t.Errorf("damaged message read as %+v", v)
		}
		if err := tx.ForEachBlobRef(func(string) {}); err == nil {
			t.Error("the blob reference scan passed over a damaged message")
		}
		return nil
	})
	err = db.Update(context.Background(), func(tx store.Tx) error {
		n, err := tx.NextTicketNumber("ACME")
		if err == nil {
			return fmt.Errorf("a damaged counter gave number %d", n)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	n, err := db.SweepBlobs(-time.Hour)
	if err == nil || n != 0 {
		t.Errorf("sweep over a damaged message removed %d (err %v), want nothing and an error", n, err)
	}
	if f, err := db.OpenBlob(raw); err != nil {
		t.Errorf("the damaged message's blob is gone: %v", err)
	} else {
		f.Close()
	}
}

// migration: a store of the oldest supported schema opens with every
// record intact; a store of a newer schema is refused.
func (s *suite) migration(t *testing.T) {
	if s.b.Age == nil {
		t.Skip("backend has no older schema to migrate from")
	}
	dir := t.TempDir()
	db := s.open(t, dir)
	resolvedAt := time.Date(2026, 11, 2, 10, 30, 0, 0, time.UTC)
	update(t, db, func(tx store.Tx) error {
		for i := range 5 {
			key, id, err := newTicket(tx, "ACME", fmt.Sprint("t", i), "")
			if err != nil {
				return err
			}
			if err := tx.IndexMessageID("ACME", fmt.Sprintf("m%d@x", i), "h", store.MessageRef{Ticket: key, Message: id}); err != nil {
				return err
			}
		}
		// A resolved ticket: the migration indexes it for auto-close.
		tk, err := tx.Ticket("ACME-2")
		if err != nil {
			return err
		}
		tk.Resolved = resolvedAt
		// Issue 17: its people, for the customers index.
		tk.Reporter, tk.Participants = "carl@customer.example", []store.Participant{{Address: "Dora@Customer.example"}}
		if err := tx.PutTicket(tk); err != nil {
			return err
		}
		// A bounce token: the migration indexes it for pruning (issue 21).
		return tx.PutToken(&store.Token{Token: "b-1", Kind: store.TokenBounce, Project: "ACME", Ticket: "ACME-2", Expires: resolvedAt})
	})
	id := db.InstallationID()
	db.Close()
	s.b.Age(t, dir)
	db = s.open(t, dir)
	view(t, db, func(tx store.Tx) error {
		for i := range 5 {
			tk, err := tx.Ticket(store.TicketKey("ACME", uint64(i+1)))
			if err != nil || tk.Subject != fmt.Sprint("t", i) {
				t.Errorf("ticket %d after migrating: %+v %v", i+1, tk, err)
			}
			if _, ok, err := tx.LookupMessageID("ACME", fmt.Sprintf("m%d@x", i)); !ok || err != nil {
				t.Errorf("index entry %d after migrating: %v %v", i, ok, err)
			}
		}
		var resolved []string
		if err := tx.ResolvedBefore(resolvedAt.Add(time.Second), func(key string, at time.Time) bool {
			resolved = append(resolved, key)
			if !at.Equal(resolvedAt) {
				t.Errorf("%s resolved at %s after migrating, want %s", key, at, resolvedAt)
			}
			return true
		}); err != nil || len(resolved) != 1 || resolved[0] != "ACME-2" {
			t.Errorf("resolved tickets after migrating: %v %v", resolved, err)
		}
		facts := 0
		if err := tx.FactsSince("ACME", time.Time{}, func(f *store.TicketFacts) bool {
			facts++
			if f.Key == "ACME-2" && !f.Resolved.Equal(resolvedAt) {
				t.Errorf("facts of ACME-2 after migrating: %+v", f)
			}
			return true
		}); err != nil || facts != 5 {
			t.Errorf("%d facts after migrating, want 5: %v", facts, err)
		}
		for addr, want := range map[string]bool{"carl@customer.example": true, "dora@customer.example": true, "erin@customer.example": false} {
			if got, err := tx.IsCustomer("ACME", addr); err != nil || got != want {
				t.Errorf("IsCustomer(%s) after migrating: %v %v", addr, got, err)
			}
		}
		last, err := tx.LastTicketNumber("ACME")
		if err != nil || last != 5 {
			t.Errorf("counter after migrating: %d %v", last, err)
		}
		return nil
	})
	update(t, db, func(tx store.Tx) error {
		if n, err := tx.PruneBounceTokens(resolvedAt, 10); err != nil || n != 1 {
			t.Errorf("pruned %d bounce tokens after migrating, want 1: %v", n, err)
		}
		return nil
	})
	if db.InstallationID() != id {
		t.Errorf("installation id changed by the migration: %s → %s", id, db.InstallationID())
	}
	// The indexes the migration built agree with the rows.
	checkClean(t, db)
	db.Close()
	if s.b.Future == nil {
		return
	}
	s.b.Future(t, dir)
	if db, err := s.b.Open(t, dir); err == nil {
		db.Close()
		t.Error("a store of a newer schema was opened")
	}
}

// outboxLeases (stores that implement store.OutboxLeaser): queueLeases
// (queue.go) for the outbox.
func (s *suite) outboxLeases(t *testing.T) { queueLeases(t, s, outboxKind) }

// nodeLocks (stores that implement store.NodeLocker): two nodes on one
// store — the same store opened twice — hold a lock one at a time; the
// other gets it when the holder releases it, or when the holder's store
// goes away as when its process dies. Locks of other names are
// independent.
func (s *suite) nodeLocks(t *testing.T) {
	a, dir := s.fresh(t)
	la, ok := a.(store.NodeLocker)
	if !ok {
		t.Skip("single-node store: no node locks")
	}
	b := s.open(t, dir)
	defer b.Close()
	lb := b.(store.NodeLocker)
	ctx := context.Background()
	held, err := la.Lock(ctx, "imap:ACME")
	if err != nil {
		t.Fatal(err)
	}
	other, err := lb.Lock(ctx, "timers")
	if err != nil {
		t.Fatalf("a lock of another name: %v", err)
	}
	other.Release()
	var released atomic.Bool
	got := make(chan store.HeldLock, 1)
	go func() {
		h, err := lb.Lock(ctx, "imap:ACME")
		if err != nil {
			t.Error(err)
		}
		if !released.Load() {
			t.Error("B got the lock while A held it")
		}
		got <- h
	}()
	released.Store(true)
	held.Release()
	hb := <-got
	if hb == nil {
		return
	}
	// B holds it now; when B's store goes away (its node dies), A gets it.
	c := s.open(t, dir)
	lc := c.(store.NodeLocker)
	got2 := make(chan store.HeldLock, 1)
	var closed atomic.Bool
	go func() {
		h, err := lc.Lock(ctx, "imap:ACME")
		if err != nil {
			t.Error(err)
		}
		if !closed.Load() {
			t.Error("C got the lock while B held it")
		}
		got2 <- h
	}()
	closed.Store(true)
	b.Close()
	if h := <-got2; h != nil {
		h.Release()
	}
	c.Close()
}
