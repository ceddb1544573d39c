package store

import (
	"reflect"
	"testing"
	"time"
)

// TestFactsBinary: the facts record reads back as written, and a record
// cut short, longer or of another version is an error, never "no facts".
func TestFactsBinary(t *testing.T) {
	at := time.Date(2026, 12, 3, 16, 50, 58, 750614203, time.UTC)
	f := &TicketFacts{Key: "ACME-12345", Project: "ACME", Status: "closed", Priority: "normal", Assignee: "alice@example.com",
		Created: at, Updated: at.Add(time.Hour), Closed: at.Add(2 * time.Hour), Reopens: 2, LastReopened: at.Add(time.Minute),
		FirstResponse: &Clock{Budget: 4 * time.Hour, Done: at, Took: 30 * time.Second, Breached: at.Add(-time.Second), Warned: at.Add(-time.Minute)},
		MergedInto:    "ACME-1"}
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var g TicketFacts
	if err := g.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f, &g) {
		t.Fatalf("read back %+v\nwant      %+v", g, *f)
	}
	for _, bad := range [][]byte{nil, {2}, b[:len(b)-1], append(append([]byte(nil), b...), 0), b[:5]} {
		if err := new(TicketFacts).UnmarshalBinary(bad); err == nil {
			t.Errorf("%x decoded", bad)
		}
	}
}

func BenchmarkFactsDecode(b *testing.B) {
	at := time.Now().UTC()
	f := &TicketFacts{Key: "ACME-12345", Project: "ACME", Status: "closed", Priority: "normal", Assignee: "alice@example.com", Created: at, Updated: at, Closed: at,
		FirstResponse: &Clock{Budget: 4 * time.Hour, Done: at, Took: 30 * time.Second}, Resolution: &Clock{Budget: 30 * time.Hour, Done: at, Took: 2 * time.Hour}}
	data, _ := f.MarshalBinary()
	for b.Loop() {
		var g TicketFacts
		if err := g.UnmarshalBinary(data); err != nil {
			b.Fatal(err)
		}
	}
}
