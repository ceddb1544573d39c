package store

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// randText returns a string that exercises JSON strings: plain ASCII,
// UTF-8, characters encoding/json escapes (<, >, &, quotes, control
// characters, U+2028), and sometimes invalid UTF-8.
func randText(r *rand.Rand) string {
	pieces := []string{"", "a", "ACME-12", "Jörg Müller", "日本語", "\"", "\\", "/", "\n", "\r\n", "\t", "\b", "\f", "<b>", "&amp;", "\u2028", "\u2029",
		"\x00", "\x1f", "\x7f", "\xff", "\xc3", "😀", "\ud7ff", "tg.01lh3vbt0ncanqfhpvqaea13ss@support.example.com", "http://127.0.0.1:8080/t/01lh3vbttnaqlmpsv1l9m0drgk?a=1&b=2"}
	var b strings.Builder
	for range r.IntN(5) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

func randStrings(r *rand.Rand) []string {
	switch r.IntN(4) {
	case 0:
		return nil
	case 1:
		return []string{}
	}
	out := make([]string, 1+r.IntN(3))
	for i := range out {
		out[i] = randText(r)
	}
	return out
}

func randTime(r *rand.Rand) time.Time {
	switch r.IntN(4) {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(r.Int64N(4e9), r.Int64N(1e9)).UTC()
	case 2:
		return time.Unix(r.Int64N(4e9), 0).In(time.FixedZone("", 3600*(r.IntN(25)-12)))
	}
	return time.Now()
}

func randOutboxItem(r *rand.Rand) *OutboxItem {
	it := &OutboxItem{
		ID: r.Uint64N(1 << 40), Project: randText(r), Ticket: randText(r), Event: randText(r), Language: randText(r),
		Internal: r.IntN(2) == 0, Recipient: randText(r), RecipientName: randText(r), MailFrom: randText(r), Bounce: randText(r),
		MessageID: randText(r), Date: randTime(r), InReplyTo: randStrings(r), References: randStrings(r), Message: r.Uint64(),
		RawBlob: randText(r), Automatic: r.IntN(2) == 0, Created: randTime(r), NextAttempt: randTime(r), Attempts: r.IntN(40), LastError: randText(r),
		Header: OutboxHeader{FromName: randText(r), From: randText(r), ReplyTo: randText(r), ReplyToName: randText(r), Subject: randText(r),
			AutoSubmitted: randText(r), Loop: randText(r), Unsubscribe: randText(r)},
		Vars: OutboxVars{ProjectKey: randText(r), ProjectName: randText(r), ProjectAddress: randText(r), TicketSubject: randText(r),
			TicketStatus: randText(r), Reporter: randText(r), Assignee: randText(r), Link: randText(r), AgentLink: randText(r), Marker: randText(r),
			Actor: randText(r), Added: randStrings(r), Recipients: randStrings(r), Status: randText(r), OldStatus: randText(r), Detail: randText(r),
			Reopened: r.IntN(2) == 0, Target: randText(r), Due: randText(r), Draft: randText(r), OfferLink: randText(r), RatingLink: randText(r),
			RatingScale: r.IntN(11), Comment: randText(r), AttachKey: r.IntN(2) == 0},
	}
	if r.IntN(2) == 0 {
		it.Kind = EventKind(1 + r.IntN(int(evEnd)-1))
	}
	if r.IntN(3) == 0 {
		it.Attach = []Attachment{{Filename: randText(r), ContentType: "text/plain", Size: r.Int64N(1 << 30), Blob: randText(r), Inline: r.IntN(2) == 0}}
	}
	if r.IntN(4) == 0 {
		it.Vars.Digest = &DigestVars{Day: "2026-12-03", Zone: randText(r), More: r.IntN(3), Tickets: []DigestItem{{Key: "ACME-1", Subject: randText(r), Overdue: true}}}
	}
	return it
}

// TestUnmarshalOutboxItemRandom: rows as the store writes them, with every
// kind of string encoding/json escapes, decode to what json.Unmarshal
// makes of them; rows without \u escapes and invalid UTF-8 are read by the
// store's own reader, not handed to encoding/json.
func TestUnmarshalOutboxItemRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 2026))
	own := 0
	for i := range 5000 {
		b, err := json.Marshal(randOutboxItem(r))
		if err != nil {
			t.Fatal(err)
		}
		var want, got OutboxItem
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if err := UnmarshalOutboxItem(b, &got); err != nil {
			t.Fatalf("row %d: %v\n%s", i, err, b)
		}
		if got.stored != "" && got.stored != string(b) {
			t.Fatalf("row %d: stored %q, want the row", i, got.stored)
		}
		got.stored = ""
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("row %d decodes to\n%+v\nencoding/json:\n%+v\n%s", i, got, want, b)
		}
		var fast OutboxItem
		if readOutboxItem(b, &fast) {
			own++
			if !fast.Stored(b) {
				t.Fatalf("row %d: own reader did not keep the row", i)
			}
			fast.stored = ""
			if !reflect.DeepEqual(fast, want) {
				t.Fatalf("row %d: own reader gives\n%+v\nencoding/json:\n%+v\n%s", i, fast, want, b)
			}
		}
	}
	if own < 1000 {
		t.Errorf("only %d of 5000 rows read without encoding/json", own)
	}
	// A sender's row (no \u escapes, valid UTF-8) never goes to encoding/json.
	it := &OutboxItem{ID: 7, Project: "ACME", Ticket: "ACME-1", Kind: EvRequestCreated, Event: "customer/request_created", Recipient: "joerg@customer.example",
		RecipientName: "Jörg Müller", MessageID: "tg.x@support.example.com", Date: time.Now(), InReplyTo: []string{"req-1@customer.example"},
		Header: OutboxHeader{From: "acme@support.example.com", Subject: "[ACME-1] Printer \"blank\"\tpages"}, Vars: OutboxVars{Detail: "line\nline"},
		Attach: []Attachment{{Filename: "a.pdf", Blob: "abc"}}, Created: time.Now(), NextAttempt: time.Now()}
	b, err := json.Marshal(it)
	if err != nil {
		t.Fatal(err)
	}
	var got OutboxItem
	if !readOutboxItem(b, &got) {
		t.Fatalf("a sender's row went to encoding/json: %s", b)
	}
}

// FuzzUnmarshalOutboxItem: for any bytes, UnmarshalOutboxItem fails when
// json.Unmarshal fails and gives the same row when it does not.
func FuzzUnmarshalOutboxItem(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		b, err := json.Marshal(randOutboxItem(r))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{``, `{}`, `null`, `{"id":1}`, `{"id":01}`, `{"id":-1}`, `{"id":1.0}`, `{"id":1e2}`, `{"ID":1}`, `{"id":1,}`, `{"id":1} x`,
		`{"project":null}`, `{"project":"a\u0062c"}`, `{"project":"\ud800"}`, `{"in_reply_to":["a",null]}`, `{"in_reply_to":null}`, `{"kind":"nope"}`,
		`{"kind":"request_created"}`, `{"date":"2026-12-03T23:38:37Z"}`, `{"date":"junk"}`, `{"date":null}`, `{"vars":{"digest":null}}`,
		`{"vars":{"digest":{"day":"x"}}}`, `{"attachments":[{"filename":"a"}]}`, `{"attachments":[{"filename":"a"}}`, `{"header":{"from":"a","x":1}}`,
		`{"internal":true,"automatic":false}`, `{"internal":tru}`, `{"attempts":9223372036854775808}`, `{"message":18446744073709551616}`,
		"{\"project\":\"a\x01\"}", "{\"project\":\"\xff\"}", ` { "id" : 1 , "project" : "p" } `, `{"project":"a\/b\\c\"d"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want, got OutboxItem
		werr := json.Unmarshal(b, &want)
		gerr := UnmarshalOutboxItem(b, &got)
		got.stored = ""
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: json.Unmarshal: %v, UnmarshalOutboxItem: %v", b, werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q decodes to\n%+v\nencoding/json:\n%+v", b, got, want)
		}
	})
}

// BenchmarkUnmarshalOutboxItem compares the row decoders on an auto-reply
// row as the notifier queues it.
//
//	go test -run '^$' -bench UnmarshalOutboxItem -benchmem ./store
func BenchmarkUnmarshalOutboxItem(b *testing.B) {
	row := []byte(`{"id":1,"project":"ACME","ticket":"ACME-1","kind":"request_created","event":"customer/request_created","language":"en","recipient":"joerg@customer.example","recipient_name":"Jörg Müller","mail_from":"acme+bounce-01lh3vbt7v1mcsg78kt4gma3d8@support.example.com","bounce":"01lh3vbt7v1mcsg78kt4gma3d8","message_id":"tg.01lh3vbt0ncanqfhpvqaea13ss@support.example.com","date":"2026-12-03T23:38:37.141819391Z","in_reply_to":["req-1@customer.example"],"references":["req-1@customer.example"],"message":1,"header":{"from_name":"Acme Support","from":"acme@support.example.com","reply_to":"acme@support.example.com","reply_to_name":"Acme Support","subject":"[ACME-1] Printer prints blank pages","auto_submitted":"auto-replied","loop":"acme@support.example.com","unsubscribe":"http://127.0.0.1:8080/t/01lh3vbttnaqlmpsv1l9m0drgk"},"vars":{"project_key":"ACME","project_name":"Acme Support","project_address":"acme@support.example.com","ticket_subject":"Printer prints blank pages","ticket_status":"New","reporter":"joerg@customer.example","link":"http://127.0.0.1:8080/t/01lh3vbttnaqlmpsv1l9m0drgk","actor":"joerg@customer.example","status":"New"},"automatic":true,"created":"2026-12-03T23:38:37.141819391Z","next_attempt":"2026-12-03T23:38:37.141819391Z","attempts":0}`)
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var it OutboxItem
			if err := json.Unmarshal(row, &it); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("store", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var it OutboxItem
			if err := UnmarshalOutboxItem(row, &it); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestMarshalOutboxItemRandom: MarshalOutboxItem writes what json.Marshal
// writes, byte for byte, and fails where it fails (a kind that is not
// one, a year past 9999), for rows with every kind of string.
func TestMarshalOutboxItemRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 2026))
	own := 0
	for i := range 5000 {
		it := randOutboxItem(r)
		switch r.IntN(40) {
		case 0:
			it.Kind = evEnd + 3
		case 1:
			it.NextAttempt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		case 2:
			it.Vars = OutboxVars{Added: []string{}} // not zero: written as {}
		case 3:
			it.Vars = OutboxVars{}
			it.Header = OutboxHeader{}
		case 4:
			it.Attempts = -r.IntN(3)
		}
		want, werr := json.Marshal(it)
		got, gerr := MarshalOutboxItem(it)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("row %d: json.Marshal: %v, MarshalOutboxItem: %v", i, werr, gerr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("row %d: MarshalOutboxItem wrote\n%s\njson.Marshal:\n%s", i, got, want)
		}
		if _, ok := writeOutboxItem(it); ok {
			own++
		}
	}
	if own < 4500 {
		t.Errorf("only %d of 5000 rows written without encoding/json", own)
	}
}

// FuzzMarshalOutboxItem: whatever the strings, MarshalOutboxItem writes
// what json.Marshal writes.
func FuzzMarshalOutboxItem(f *testing.F) {
	f.Add("Jörg <x> & \"y\"\n", "\xff\u2028\x00", 3, true)
	f.Add("", "", 0, false)
	f.Fuzz(func(t *testing.T, a, b string, n int, flag bool) {
		it := &OutboxItem{ID: uint64(n), Project: a, Ticket: b, Event: a + b, RecipientName: b, InReplyTo: []string{a, b}, Internal: flag, Attempts: n,
			Header: OutboxHeader{Subject: a, FromName: b}, Vars: OutboxVars{Detail: b, Added: []string{a}, RatingScale: n, Reopened: flag},
			Created: time.Unix(int64(n), int64(n)), NextAttempt: time.Unix(int64(n)*1000, 0)}
		want, werr := json.Marshal(it)
		got, gerr := MarshalOutboxItem(it)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("MarshalOutboxItem: %v\n%s\njson.Marshal: %v\n%s", gerr, got, werr, want)
		}
	})
}

// BenchmarkMarshalOutboxItem compares the row encoders on an auto-reply
// row as the notifier queues it.
//
//	go test -run '^$' -bench MarshalOutboxItem -benchmem ./store
func BenchmarkMarshalOutboxItem(b *testing.B) {
	now := time.Now()
	it := &OutboxItem{ID: 1, Project: "ACME", Ticket: "ACME-1", Kind: EvRequestCreated, Event: "customer/request_created", Language: "en",
		Recipient: "joerg@customer.example", RecipientName: "Jörg Müller", MailFrom: "acme+bounce-01lh3vbt7v1mcsg78kt4gma3d8@support.example.com",
		Bounce: "01lh3vbt7v1mcsg78kt4gma3d8", MessageID: "tg.01lh3vbt0ncanqfhpvqaea13ss@support.example.com", Date: now,
		InReplyTo: []string{"req-1@customer.example"}, References: []string{"req-1@customer.example"}, Message: 1,
		Header: OutboxHeader{FromName: "Acme Support", From: "acme@support.example.com", ReplyTo: "acme@support.example.com", ReplyToName: "Acme Support",
			Subject: "[ACME-1] Printer prints blank pages", AutoSubmitted: "auto-replied", Loop: "acme@support.example.com", Unsubscribe: "http://127.0.0.1:8080/t/01lh3vbttnaqlmpsv1l9m0drgk"},
		Vars: OutboxVars{ProjectKey: "ACME", ProjectName: "Acme Support", ProjectAddress: "acme@support.example.com", TicketSubject: "Printer prints blank pages",
			TicketStatus: "New", Reporter: "joerg@customer.example", Link: "http://127.0.0.1:8080/t/01lh3vbttnaqlmpsv1l9m0drgk", Actor: "joerg@customer.example", Status: "New"},
		Automatic: true, Created: now, NextAttempt: now}
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := json.Marshal(it); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("store", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := MarshalOutboxItem(it); err != nil {
				b.Fatal(err)
			}
		}
	})
}
