package ticket

import (
	"strconv"
	"testing"
)

// hugeReferences is the attack of issue 15 item 3: 115,000 IDs (965 KB)
// in References, the real parent last.
func hugeReferences(n int) *Mail {
	m := &Mail{InReplyTo: []string{"parent@customer.example"}}
	for i := range n {
		m.References = append(m.References, strconv.Itoa(i)+"@x")
	}
	return m
}

// TestReferencedIDsNewestHundred: threading considers In-Reply-To and
// the newest References, at most maxReferences IDs in all — which bounds
// the index lookups threading does under the store's writer, whatever
// the mail holds — and repeats count once.
func TestReferencedIDsNewestHundred(t *testing.T) {
	m := hugeReferences(115000)
	got := referencedIDs(m)
	if len(got) != maxReferences {
		t.Fatalf("%d IDs considered, want %d", len(got), maxReferences)
	}
	if got[0] != "parent@customer.example" || got[1] != "114999@x" || got[99] != "114901@x" {
		t.Errorf("not In-Reply-To then the newest References: %q … %q", got[:2], got[99])
	}
	// Repeats (an easy way to make a long field) count once.
	m = &Mail{InReplyTo: []string{"a@x"}, References: []string{"b@x", "a@x", "b@x", "a@x"}}
	if got := referencedIDs(m); len(got) != 2 || got[0] != "a@x" || got[1] != "b@x" {
		t.Errorf("with repeats: %q", got)
	}
}

// BenchmarkReferencedIDs115k measures the References work the attack
// costs (it was quadratic: 15.9 s, inside the write transaction).
func BenchmarkReferencedIDs115k(b *testing.B) {
	m := hugeReferences(115000)
	b.ReportAllocs()
	for b.Loop() {
		if len(referencedIDs(m)) != maxReferences {
			b.Fatal("wrong count")
		}
	}
}
