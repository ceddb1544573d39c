package store

import (
	"crypto/sha256"
	"encoding/hex"
	"runtime"
	"strconv"
	"testing"
)

// BenchmarkBlobRefsMemory: the heap a sweep's reference set takes for a
// million blob hashes, as BlobRefs and as the map of hex strings it
// replaced (reported as MB; the time is building it and asking for every
// hash once).
//
//	go test -run XXX -bench BlobRefsMemory -benchtime 1x ./store/
func BenchmarkBlobRefsMemory(b *testing.B) {
	const n = 1_000_000
	hashes := make([]string, n)
	for i := range hashes {
		h := sha256.Sum256([]byte(strconv.Itoa(i)))
		hashes[i] = hex.EncodeToString(h[:])
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	b.Run("BlobRefs", func(b *testing.B) {
		for range b.N {
			before := heap()
			var r BlobRefs
			for _, h := range hashes {
				r.Add(h)
			}
			r.Seal()
			b.ReportMetric(float64(heap()-before)/(1<<20), "MB")
			for _, h := range hashes {
				if !r.Has(h) {
					b.Fatal("lost a hash")
				}
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		for range b.N {
			before := heap()
			m := map[string]bool{}
			for _, h := range hashes {
				m[string([]byte(h))] = true // a copy, as the scan hands over
			}
			b.ReportMetric(float64(heap()-before)/(1<<20), "MB")
			for _, h := range hashes {
				if !m[h] {
					b.Fatal("lost a hash")
				}
			}
		}
	})
}
