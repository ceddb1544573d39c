package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestDamagedBlobNotServed: a blob truncated (a full disk, a crashed file
// system) or altered was served as if it were the mail received. Its hash
// is checked when it is opened; an intact blob still reads whole. Files
// (above InlineBlobMax) and inline blobs alike.
func TestDamagedBlobNotServed(t *testing.T) {
	s := openTest(t)
	big := strings.Repeat("x", InlineBlobMax)
	put := func(content string) string {
		t.Helper()
		w, err := s.NewBlob()
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, content)
		h, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	for _, content := range []string{"an intact attachment", "an intact attachment" + big} {
		f, err := s.OpenBlob(put(content))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(f)
		size := f.Size()
		f.Close()
		if string(b) != content || size != int64(len(content)) {
			t.Fatalf("intact blob of %d bytes read as %d bytes, size %d", len(content), len(b), size)
		}
	}

	truncated := put("a long invoice that loses its end" + big)
	if err := os.Truncate(s.blobPath(truncated), 6); err != nil {
		t.Fatal(err)
	}
	altered := put("pay to account 1234" + big)
	if err := os.WriteFile(s.blobPath(altered), []byte("pay to account 6666"+big), 0o600); err != nil {
		t.Fatal(err)
	}
	inlineTruncated := put("a short invoice that loses its end")
	inlineAltered := put("pay to account 4321")
	damageInline(t, s, inlineTruncated, func(c []byte) []byte { return c[:6] })
	damageInline(t, s, inlineAltered, func([]byte) []byte { return []byte("pay to account 6666") })
	for name, h := range map[string]string{"truncated": truncated, "altered": altered,
		"inline truncated": inlineTruncated, "inline altered": inlineAltered} {
		if f, err := s.OpenBlob(h); !errors.Is(err, ErrBlobDamaged) {
			if f != nil {
				f.Close()
			}
			t.Errorf("%s blob: %v, want ErrBlobDamaged", name, err)
		}
	}
}

// damageInline rewrites the content of inline blob h through change, in
// whichever layout holds it.
func damageInline(t *testing.T, s *boltDB, h string, change func([]byte) []byte) {
	t.Helper()
	var missing bool
	err := s.Update(context.Background(), func(tx Tx) error {
		btx := tx.(*boltTx).btx
		if v := btx.Bucket(bBlobIndex).Get([]byte(h)); v != nil {
			d := btx.Bucket(bBlobData)
			return d.Put(v[:8], change(bytes.Clone(d.Get(v[:8]))))
		}
		b := btx.Bucket(bBlobs)
		v := b.Get([]byte(h))
		if v == nil {
			missing = true // reported outside: this runs on the commit loop
			return nil
		}
		return b.Put([]byte(h), append(bytes.Clone(v[:inlineHeader]), change(bytes.Clone(v[inlineHeader:]))...))
	})
	if err != nil {
		t.Fatal(err)
	}
	if missing {
		t.Fatalf("blob %s is not inline", h)
	}
}

// TestCheckReportsDamagedInlineBlob: check-store verifies the hash of
// every inline blob (the content OpenBlob would refuse) and finds the
// inline blob a message names, so a healthy one is no finding.
func TestCheckReportsDamagedInlineBlob(t *testing.T) {
	dir := t.TempDir()
	s, err := openBolt(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	intact, _, err := s.PutBlob(strings.NewReader("an intact mail"))
	if err != nil {
		t.Fatal(err)
	}
	damaged, _, err := s.PutBlob(strings.NewReader("a mail about to be altered"))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(context.Background(), func(tx Tx) error {
		return tx.AddMessage(&Message{Ticket: "ACME-1", Project: "ACME", Raw: intact})
	})
	if err != nil {
		t.Fatal(err)
	}
	damageInline(t, s, damaged, func(c []byte) []byte { return append(c, '!') })
	s.Close()
	got := strings.Join(checkProblems(t, dir), "\n")
	if want := "blob_index/" + damaged + ": damaged"; !strings.Contains(got, want) {
		t.Errorf("check-store output lacks %q:\n%s", want, got)
	}
	if strings.Contains(got, intact) {
		t.Errorf("check-store reports the intact inline blob:\n%s", got)
	}
	db, err := bolt.Open(dir+"/ticketgate.db", 0o640, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(btx *bolt.Tx) error { return deleteInline(btx, []byte(intact)) })
	db.Close()
	got = strings.Join(checkProblems(t, dir), "\n")
	if want := "messages/1: names blob " + intact + ", which is missing"; !strings.Contains(got, want) {
		t.Errorf("check-store output lacks %q:\n%s", want, got)
	}
}
