package store

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestLongReadDoesNotHoldCommits: while a read transaction stays open
// (the search index's first build reads every ticket in one), the file
// grows by tens of megabytes and every commit still completes. bbolt
// must wait for all readers before it maps a larger file; the first map
// (initialMap) is large enough that it need not.
func TestLongReadDoesNotHoldCommits(t *testing.T) {
	if runtime.GOOS != "linux" || strconv.IntSize < 64 {
		t.Skip("the large first map is for 64-bit Linux")
	}
	s, err := openBolt(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	dbPath := filepath.Join(s.dir, "ticketgate.db")
	before := fileSize(t, dbPath)

	reading, release := make(chan struct{}), make(chan struct{})
	readDone := make(chan error, 1)
	go func() {
		readDone <- s.View(func(tx Tx) error {
			close(reading)
			<-release
			return nil
		})
	}()
	<-reading
	// Before the store closes (cleanups run last first): the reader ends
	// and its transaction was sound.
	t.Cleanup(func() {
		close(release)
		if err := <-readDone; err != nil {
			t.Errorf("the read transaction: %v", err)
		}
	})

	wrote := make(chan error, 1)
	go func() {
		r := rand.New(rand.NewPCG(3, 4))
		b := make([]byte, InlineBlobMax)
		for range 500 { // 16 MiB of inline blobs, each its own commit
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			if _, _, err := s.PutBlob(bytes.NewReader(b)); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the commits wait for the open read transaction: the file's map was grown under it")
	}
	if after := fileSize(t, dbPath); after < before+16<<20 {
		t.Fatalf("the file grew from %d to %d bytes only: the test did not make bbolt grow it", before, after)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestInitialMap: twice the file, at least 1 GiB.
func TestInitialMap(t *testing.T) {
	if runtime.GOOS != "linux" || strconv.IntSize < 64 {
		t.Skip("the large first map is for 64-bit Linux")
	}
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.db")
	if got := initialMap(missing); got != 1<<30 {
		t.Errorf("no file: %d, want 1 GiB", got)
	}
	big := filepath.Join(dir, "big.db")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(3 << 30); err != nil { // sparse
		t.Fatal(err)
	}
	f.Close()
	if got := initialMap(big); got != 6<<30 {
		t.Errorf("3 GiB file: %d, want 6 GiB", got)
	}
}
