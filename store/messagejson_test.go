package store

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
)

func randMessage(r *rand.Rand) *Message {
	m := &Message{ID: r.Uint64(), Ticket: randText(r), Project: randText(r), Direction: randText(r), Kind: randText(r), Internal: r.IntN(2) == 0,
		Held: randText(r), Discarded: r.IntN(2) == 0, Source: randText(r), MailFrom: randText(r), From: randText(r), FromName: randText(r),
		To: randStrings(r), Cc: randStrings(r), Subject: randText(r), MessageID: randText(r), InReplyTo: randStrings(r), References: randStrings(r),
		Date: randTime(r), Received: randTime(r), Text: randText(r) + "\n\n> " + randText(r), HTML: randText(r), TextCut: r.IntN(2) == 0,
		Raw: randText(r), RawSize: r.Int64N(1 << 40), ThreadedBy: randText(r), Auto: randText(r), Problems: randStrings(r),
		Unverified: r.IntN(2) == 0, Encrypted: r.IntN(2) == 0, Signature: Signature(randText(r)), FromFallback: randText(r), ForwardedBy: randText(r)}
	if r.IntN(3) == 0 {
		m.Attach = []Attachment{{Filename: randText(r), ContentType: "image/png", Size: r.Int64N(1 << 20), Blob: randText(r), ContentID: randText(r)}}
	}
	return m
}

// TestUnmarshalMessageRandom: message records as the store writes them
// decode to what json.Unmarshal makes of them, most without it.
func TestUnmarshalMessageRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 2026))
	own := 0
	for i := range 5000 {
		b, err := json.Marshal(randMessage(r))
		if err != nil {
			t.Fatal(err)
		}
		var want, got Message
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if err := UnmarshalMessage(b, &got); err != nil {
			t.Fatalf("record %d: %v\n%s", i, err, b)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("record %d decodes to\n%+v\nencoding/json:\n%+v\n%s", i, got, want, b)
		}
		var fast Message
		if readMessage(b, &fast) {
			own++
			if !reflect.DeepEqual(fast, want) {
				t.Fatalf("record %d: own reader gives\n%+v\nencoding/json:\n%+v\n%s", i, fast, want, b)
			}
		}
	}
	if own < 500 {
		t.Errorf("only %d of 5000 records read without encoding/json", own)
	}
}

// FuzzUnmarshalMessage: for any bytes, UnmarshalMessage fails when
// json.Unmarshal fails and gives the same record when it does not.
func FuzzUnmarshalMessage(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		b, err := json.Marshal(randMessage(r))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{`{}`, `{"text":"a\nb\u00e9"}`, `{"raw_size":-1}`, `{"signature":"verified"}`, `{"signature":1}`, `{"to":["a"],"cc":[]}`,
		`{"attachments":null}`, `{"attachments":[]}`, `{"date":"2026-12-03T23:38:37+01:00"}`, `{"Text":"x"}`,
		`{"text":"\u003e quoted \u0026 \u2028"}`, `{"text":"\ud83d\ude00"}`, `{"text":"\ud800 lone"}`, `{"text":"\u00"}`, `{"text":"\u00zz"}`, `{"text":"\uDFFF"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want, got Message
		werr := json.Unmarshal(b, &want)
		gerr := UnmarshalMessage(b, &got)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: json.Unmarshal: %v, UnmarshalMessage: %v", b, werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q decodes to\n%+v\nencoding/json:\n%+v", b, got, want)
		}
	})
}
