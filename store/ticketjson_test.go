package store

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestUnmarshalTicketRandom: ticket records as the store writes them
// (every field filled by reflection, some left zero) decode to what
// json.Unmarshal makes of them, most without it.
func TestUnmarshalTicketRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 2026))
	own, n := 0, 0
	for i := range 10000 {
		var tk Ticket
		fillRow(rng, reflect.ValueOf(&tk).Elem())
		b, err := json.Marshal(&tk)
		if err != nil {
			continue // a time MarshalJSON refuses: no such record is stored
		}
		n++
		var want, got Ticket
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if err := UnmarshalTicket(b, &got); err != nil {
			t.Fatalf("record %d: %v\n%s", i, err, b)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("record %d decodes to\n%+v\nencoding/json:\n%+v\n%s", i, got, want, b)
		}
		var fast Ticket
		if readTicket(b, &fast) {
			own++
			if !reflect.DeepEqual(fast, want) {
				t.Fatalf("record %d: own reader gives\n%+v\nencoding/json:\n%+v\n%s", i, fast, want, b)
			}
		}
	}
	if own < n/2 {
		t.Errorf("only %d of %d records read without encoding/json", own, n)
	}
}

// FuzzUnmarshalTicket: for any bytes, UnmarshalTicket fails when
// json.Unmarshal fails and gives the same record when it does not.
func FuzzUnmarshalTicket(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20 {
		var tk Ticket
		fillRow(rng, reflect.ValueOf(&tk).Elem())
		if b, err := json.Marshal(&tk); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{`{}`, `{"key":"ACME-1","number":1}`, `{"number":-1}`, `{"messages":-2}`, `{"muted":null}`, `{"muted":[]}`,
		`{"participants":null}`, `{"participants":[]}`, `{"first_response":null}`, `{"first_response":{"budget":60}}`, `{"Key":"x"}`,
		`{"created":"2026-12-03T23:38:37+01:00"}`, `{"private":true,"private":false}`, `{"subject":"\u00e9 \u2028 \ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want, got Ticket
		werr := json.Unmarshal(b, &want)
		gerr := UnmarshalTicket(b, &got)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: json.Unmarshal: %v, UnmarshalTicket: %v", b, werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q decodes to\n%+v\nencoding/json:\n%+v", b, got, want)
		}
	})
}
