package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func checkProblems(t *testing.T, dir string) []string {
	t.Helper()
	s, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []string
	if err := s.Check(context.Background(), func(p Problem) { out = append(out, p.String()) }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCheckHealthyStore(t *testing.T) {
	dir := t.TempDir()
	fillStore(t, dir, 3)
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	err = s.Update(context.Background(), func(tx Tx) error {
		for _, fn := range []func() error{
			func() error { return tx.AddEvent(&Event{Ticket: "ACME-1", Time: now, Kind: EvRequestCreated}) },
			func() error { return tx.PutToken(&Token{Token: "tok", Kind: TokenLink, Ticket: "ACME-1"}) },
			func() error { return tx.Enqueue(&OutboxItem{Ticket: "ACME-1", Recipient: "a@b", NextAttempt: now}) },
			func() error { return tx.IndexMessageID("ACME", "m@x", "h", MessageRef{Ticket: "ACME-1", Message: 1}) },
			func() error { return tx.Suppress(&Suppression{Address: "a@b", Until: now}) },
			func() error { return tx.RateAdd("k", time.Hour, now) },
			func() error { return tx.AddAudit(&AuditEvent{MessageID: "m@x", Type: AuditReceived}) },
			func() error { return tx.SetState("s", 1) },
		} {
			if err := fn(); err != nil {
				return err
			}
		}
		return nil
	})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	if p := checkProblems(t, dir); len(p) != 0 {
		t.Fatalf("a healthy store has problems: %q", p)
	}
}

// TestCheckReportsDamage: check-store names a record that does not decode,
// an index entry without its row, a row missing from its index, and a
// missing blob.
func TestCheckReportsDamage(t *testing.T) {
	dir := t.TempDir()
	blobs := fillStore(t, dir, 3)
	db, err := bolt.Open(filepath.Join(dir, "ticketgate.db"), 0o640, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		tx.Bucket(bMessages).Put(putU64(2), []byte(`{"id":2,`))
		tx.Bucket(bTicketMsgs).Delete(join([]byte("ACME-3"), putU64(3)))
		tx.Bucket(bTicketMsgs).Put(join([]byte("ACME-1"), putU64(99)), nil)
		tx.Bucket(bTicketSeq).Put([]byte("ACME"), []byte{1})
		// A rate counter of the form before schema 11 (no expiry).
		tx.Bucket(bRate).Put(append([]byte("k\x00"), putU64(7)...), putU64(1))
		return nil
	})
	db.Close()
	var m1 Message
	s, _ := Open(dir, Options{ReadOnly: true})
	s.View(func(tx Tx) error { p, err := tx.Message(1); m1 = *p; return err })
	s.Close()
	for _, b := range blobs {
		if strings.HasSuffix(b, m1.Raw[2:]) {
			os.Remove(b)
		}
	}
	got := strings.Join(checkProblems(t, dir), "\n")
	for _, want := range []string{
		"messages/2: does not decode",
		"messages/3: is not listed on its ticket ACME-3",
		"ticket_msgs/ACME-1|99: lists message 99, which does not exist",
		"ticket_seq/ACME: store: decode ticket_seq/\"ACME\": counter of 1 bytes",
		"tickets/ACME|3: number 3 is above the project's counter 0",
		"messages/1: names blob " + m1.Raw + ", which is missing",
		"counter of 8 bytes",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("check-store output lacks %q:\n%s", want, got)
		}
	}
}

// TestCheckDamagedPagesWithoutPanic: pages overwritten with garbage are
// reported, not a crash.
func TestCheckDamagedPagesWithoutPanic(t *testing.T) {
	dir := t.TempDir()
	fillStore(t, dir, 60)
	f, err := os.OpenFile(filepath.Join(dir, "ticketgate.db"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	// Every page but the two meta pages: which pages are in use depends on
	// the commit history (free pages would hide damage to the second half
	// alone), so all of them are hit.
	junk := []byte(strings.Repeat("\xff\x13garbage!", 512))
	for off := int64(2 * os.Getpagesize()); off < st.Size(); off += int64(len(junk)) {
		f.WriteAt(junk, off)
	}
	f.Close()
	s, err := Open(dir, Options{ReadOnly: true})
	if errors.Is(err, ErrDamaged) {
		// The garbage hit what Open reads itself (the meta bucket): a
		// refusal, which is what check-store then reports.
		t.Logf("refused at open: %v", err)
		return
	}
	if err != nil {
		t.Fatalf("read-only open for the check: %v", err)
	}
	defer s.Close()
	var problems []string
	err = s.Check(context.Background(), func(p Problem) { problems = append(problems, p.String()) })
	if len(problems) == 0 && err == nil {
		t.Fatal("damaged pages passed the check")
	}
	t.Logf("%d problems, err %v; first: %q", len(problems), err, problems[:min(3, len(problems))])
}
