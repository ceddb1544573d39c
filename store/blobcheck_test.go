package store

import (
	"errors"
	"io"
	"os"
	"testing"
)

// TestDamagedBlobNotServed: a blob truncated (a full disk, a crashed file
// system) or altered was served as if it were the mail received. Its hash
// is checked when it is opened; an intact blob still reads whole.
func TestDamagedBlobNotServed(t *testing.T) {
	s := openTest(t)
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
	intact := put("an intact attachment")
	f, err := s.OpenBlob(intact)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "an intact attachment" {
		t.Fatalf("intact blob read as %q", b)
	}

	truncated := put("a long invoice that loses its end")
	if err := os.Truncate(s.blobPath(truncated), 6); err != nil {
		t.Fatal(err)
	}
	altered := put("pay to account 1234")
	if err := os.WriteFile(s.blobPath(altered), []byte("pay to account 6666"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]string{"truncated": truncated, "altered": altered} {
		if f, err := s.OpenBlob(h); !errors.Is(err, ErrBlobDamaged) {
			if f != nil {
				f.Close()
			}
			t.Errorf("%s blob: %v, want ErrBlobDamaged", name, err)
		}
	}
}
