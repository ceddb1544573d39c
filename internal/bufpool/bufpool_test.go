package bufpool

import (
	"bytes"
	"errors"
	"io"
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

// TestCopyAllocates nothing once the pool holds a buffer.
func TestCopyAllocates(t *testing.T) {
	var p Pool
	src := strings.NewReader(strings.Repeat("x", 100000))
	// Neither side may offer WriterTo/ReaderFrom, or the buffer goes unused.
	var dst io.Writer = struct{ io.Writer }{io.Discard}
	var r io.Reader = struct{ io.Reader }{src}
	p.Copy(dst, r)
	allocs := testing.AllocsPerRun(50, func() {
		src.Seek(0, io.SeekStart)
		p.Copy(dst, r)
	})
	// The race detector makes sync.Pool drop a share of what is put back.
	if allocs > 0.5 && !raceEnabled {
		t.Errorf("%.1f allocations per copy", allocs)
	}
}
