package store

import (
	"testing"
	"time"
)

// TestAppendZulu holds the hand-written form of a zero-offset time to
// AppendFormat(time.RFC3339Nano), and rowWriter.time to MarshalJSON, at
// the edges: every number of fraction digits, four-digit years and the
// years around them, zones of offset zero under any name.
func TestAppendZulu(t *testing.T) {
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("", 0), time.FixedZone("GMT", 0), time.FixedZone("X", 60)}
	var nanos []int
	for n, p := 0, 1; p <= 1e9; p *= 10 {
		nanos = append(nanos, n, p-1, p/2, (p-1)/9*7)
		n = p
	}
	nanos = append(nanos, 123456789, 100000000, 120000000, 999999999, 1)
	for _, z := range zones {
		for _, y := range []int{-1, 0, 1, 9, 99, 999, 1000, 1970, 2026, 9999, 10000} {
			for _, ns := range nanos {
				tm := time.Date(y, 12, 31, 23, 59, 58, ns, z)
				want := tm.AppendFormat(nil, time.RFC3339Nano)
				got, ok := appendZulu(nil, tm)
				_, off := tm.Zone()
				if wantOK := off == 0 && y >= 0 && y <= 9999; ok != wantOK {
					t.Fatalf("%v: ok %v, want %v", tm, ok, wantOK)
				}
				if ok && string(got) != string(want) {
					t.Fatalf("%v: %s, want %s", tm, got, want)
				}
				mj, merr := tm.MarshalJSON()
				w := rowWriter{}
				if wok := w.time(tm); wok != (merr == nil) || (wok && string(w.b) != string(mj)) {
					t.Fatalf("%v: rowWriter %s %v, MarshalJSON %s %v", tm, w.b, wok, mj, merr)
				}
			}
		}
	}
}
