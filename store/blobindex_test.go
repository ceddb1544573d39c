package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// putOldInline writes content as a store before schema 10 kept it: hash →
// be64(time) then the content, in bucket blobs.
func putOldInline(t *testing.T, s *boltDB, content string, at time.Time) string {
	t.Helper()
	sum := sha256.Sum256([]byte(content))
	h := hex.EncodeToString(sum[:])
	err := s.db.Update(func(btx *bolt.Tx) error {
		return btx.Bucket(bBlobs).Put([]byte(h), append(putU64(uint64(at.UnixNano())), content...))
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func readBlob(t *testing.T, s *boltDB, h string) string {
	t.Helper()
	f, err := s.OpenBlob(h)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestInlineBlobLayouts: a new inline blob is its content appended under
// the next sequence number and an index entry; one stored before schema
// 10 stays in bucket blobs, reads, is renewed where it is when stored
// again, is swept and removed like a new one.
func TestInlineBlobLayouts(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	twoHoursAgo := time.Now().Add(-2 * time.Hour)
	oldKept := putOldInline(t, s, "an old mail someone refers to", twoHoursAgo)
	oldOrphan := putOldInline(t, s, "an old orphan", twoHoursAgo)
	oldAgain := putOldInline(t, s, "an old mail stored again", twoHoursAgo)
	var news []string
	for _, c := range []string{"first new mail", "second new mail", "third new mail"} {
		h, _, err := s.PutBlob(strings.NewReader(c))
		if err != nil {
			t.Fatal(err)
		}
		news = append(news, h)
	}
	// The new ones: content under 1, 2, 3 in blob_data, in order.
	s.db.View(func(btx *bolt.Tx) error {
		for i, h := range news {
			v := btx.Bucket(bBlobIndex).Get([]byte(h))
			if len(v) != blobIndexLen || getU64(v[:8]) != uint64(i+1) {
				t.Errorf("blob %d: index entry %x", i, v)
			}
			if btx.Bucket(bBlobs).Get([]byte(h)) != nil {
				t.Errorf("blob %d is in the old bucket too", i)
			}
		}
		if n := btx.Bucket(bBlobData).Stats().KeyN; n != 3 {
			t.Errorf("%d contents, want 3", n)
		}
		return nil
	})
	if got := readBlob(t, s, oldKept); got != "an old mail someone refers to" {
		t.Errorf("old blob reads %q", got)
	}
	if got := readBlob(t, s, news[1]); got != "second new mail" {
		t.Errorf("new blob reads %q", got)
	}
	// Stored again, the old one is renewed in place, not copied.
	h, _, err := s.PutBlob(strings.NewReader("an old mail stored again"))
	if err != nil || h != oldAgain {
		t.Fatalf("stored again: %s, %v", h, err)
	}
	s.db.View(func(btx *bolt.Tx) error {
		v := btx.Bucket(bBlobs).Get([]byte(oldAgain))
		if len(v) < inlineHeader || int64(getU64(v[:inlineHeader])) <= twoHoursAgo.UnixNano() {
			t.Errorf("old blob stored again: record %q, want a new time", v)
		}
		if btx.Bucket(bBlobIndex).Get([]byte(oldAgain)) != nil {
			t.Error("old blob stored again went into the new layout too")
		}
		return nil
	})
	// A new one stored again keeps its content and sequence, with a
	// new time.
	ageInline(t, s, news[0], uint64(twoHoursAgo.UnixNano()))
	if h, _, err := s.PutBlob(strings.NewReader("first new mail")); err != nil || h != news[0] {
		t.Fatalf("stored again: %s, %v", h, err)
	}
	s.db.View(func(btx *bolt.Tx) error {
		v := btx.Bucket(bBlobIndex).Get([]byte(news[0]))
		if getU64(v[:8]) != 1 || int64(getU64(v[8:])) <= twoHoursAgo.UnixNano() {
			t.Errorf("new blob stored again: index entry %x", v)
		}
		if n := btx.Bucket(bBlobData).Stats().KeyN; n != 3 {
			t.Errorf("%d contents after storing one again, want 3", n)
		}
		return nil
	})
	// The sweep: old and new orphans older than the grace go, with
	// their content; referenced and young ones stay.
	err = s.Update(ctx, func(tx Tx) error {
		return tx.AddMessage(&Message{Ticket: "ACME-1", Raw: oldKept, Attach: []Attachment{{Blob: news[2]}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	ageInline(t, s, news[1], uint64(twoHoursAgo.UnixNano()))
	ageInline(t, s, news[2], uint64(twoHoursAgo.UnixNano()))
	n, err := s.SweepBlobs(time.Hour)
	if err != nil || n != 2 {
		t.Fatalf("sweep removed %d (%v), want the two old orphans", n, err)
	}
	for h, want := range map[string]string{oldKept: "inline", oldOrphan: "", oldAgain: "inline", news[0]: "inline", news[1]: "", news[2]: "inline"} {
		if got := where(t, s, h); got != want {
			t.Errorf("after the sweep, blob %s is %q, want %q", h[:8], got, want)
		}
	}
	s.db.View(func(btx *bolt.Tx) error {
		if btx.Bucket(bBlobData).Get(putU64(2)) != nil {
			t.Error("the swept blob's content stayed")
		}
		return nil
	})
	// RemoveBlob (retention), either layout.
	for _, h := range []string{oldKept, news[2]} {
		if err := s.RemoveBlob(h); err != nil {
			t.Fatal(err)
		}
		if _, err := s.OpenBlob(h); !errors.Is(err, ErrNotFound) {
			t.Errorf("removed blob %s: %v, want ErrNotFound", h[:8], err)
		}
	}
	s.db.View(func(btx *bolt.Tx) error {
		if n := btx.Bucket(bBlobData).Stats().KeyN; n != 1 {
			t.Errorf("%d contents left, want 1", n)
		}
		return nil
	})
}

// TestCheckBlobIndex: check-store finds an index entry whose content is
// missing or damaged, content no entry names, and damage in the old
// layout; a healthy store of both layouts has no finding.
func TestCheckBlobIndex(t *testing.T) {
	dir := t.TempDir()
	s, err := openBolt(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	old := putOldInline(t, s, "an old mail", time.Now())
	var hs []string
	for _, c := range []string{"mail one", "mail two", "mail three"} {
		h, _, err := s.PutBlob(strings.NewReader(c))
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	err = s.Update(context.Background(), func(tx Tx) error {
		for _, h := range append([]string{old}, hs...) {
			if err := tx.AddMessage(&Message{Ticket: "ACME-1", Project: "ACME", Raw: h}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// (The messages' ticket is not stored: only blob findings count.)
	if got := strings.Join(checkProblems(t, dir), "\n"); strings.Contains(got, "blob") {
		t.Fatalf("healthy blobs reported:\n%s", got)
	}
	db, err := bolt.Open(dir+"/ticketgate.db", 0o640, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(btx *bolt.Tx) error {
		idx, data := btx.Bucket(bBlobIndex), btx.Bucket(bBlobData)
		// mail one: content gone; mail two: altered; mail three: its
		// index entry gone, its content left behind.
		if err := data.Delete(idx.Get([]byte(hs[0]))[:8]); err != nil {
			return err
		}
		at := bytes.Clone(idx.Get([]byte(hs[1]))[:8])
		if err := data.Put(at, []byte("mail 2")); err != nil {
			return err
		}
		if err := idx.Delete([]byte(hs[2])); err != nil {
			return err
		}
		v := bytes.Clone(btx.Bucket(bBlobs).Get([]byte(old)))
		return btx.Bucket(bBlobs).Put([]byte(old), append(v, '!'))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(checkProblems(t, dir), "\n")
	for _, want := range []string{
		"blob_index/" + hs[0] + ": names content 1, which is missing",
		"blob_index/" + hs[1] + ": damaged",
		"content of 10 bytes that no blob_index entry names",
		"names blob " + hs[2] + ", which is missing",
		"blobs/" + old + ": damaged",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("check-store output lacks %q:\n%s", want, got)
		}
	}
}
