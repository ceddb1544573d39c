package bufpool

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// TestCopy: everything arrives, in order, through many copies sharing
// the pool; a reader's error comes back as io.Copy's would.
func TestCopy(t *testing.T) {
	var p Pool
	src := strings.Repeat("0123456789abcdef", 10000) // 160,000 bytes: several buffers
	for range 3 {
		var dst bytes.Buffer
		n, err := p.Copy(&dst, iotest.HalfReader(strings.NewReader(src)))
		if err != nil || n != int64(len(src)) || dst.String() != src {
			t.Fatalf("copied %d of %d, err %v", n, len(src), err)
		}
	}
	boom := errors.New("boom")
	n, err := p.Copy(io.Discard, io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || n != 3 {
		t.Fatalf("a failing reader: %d, %v", n, err)
	}
}

// TestCopyAllocates no buffer once the pool holds one: what a copy
// allocates is a few words, not 32 KiB.
func TestCopyAllocates(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop what is put back")
	}
	var p Pool
	src := strings.NewReader(strings.Repeat("x", 100000))
	// io.Discard is a ReaderFrom and the reader a WriterTo: Copy still
	// uses the lent buffer (io.Discard's ReadFrom would take its own).
	p.Copy(io.Discard, src)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 100
	for range n {
		src.Seek(0, io.SeekStart)
		p.Copy(io.Discard, src)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 1024 {
		t.Errorf("%d bytes allocated per copy", per)
	}
}
