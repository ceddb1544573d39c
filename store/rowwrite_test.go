package store

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// rowStrings are strings that exercise encoding/json's escaping.
var rowStrings = []string{
	"", "a", "ACME-12", "jörg@example.org", `quo"te\back`, "<b>&amp;</b>", "tab\tnl\ncr\r\x00\x1f\x7f",
	"\u2028\u2029", "bad \xff\xfe utf-8", "emoji 😀", "tg-0123456789abcdefghijklmn@support.example.com",
}

// rowTimes are instants MarshalJSON writes, and some it refuses.
func rowTimes(rng *rand.Rand) time.Time {
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("", 3600), time.FixedZone("X", -(9*3600 + 30*60)),
		time.FixedZone("", 23*3600+59*60), time.FixedZone("", 24*3600), time.FixedZone("", -25*3600), time.FixedZone("", 100*3600)}
	switch rng.IntN(8) {
	case 0:
		return time.Time{}
	case 1:
		return time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	case 2:
		return time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)
	case 3:
		return time.Date(1, 1, 1, 0, 0, 0, 1, zones[rng.IntN(len(zones))])
	}
	t := time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)*int64(rng.IntN(2)))
	return t.In(zones[rng.IntN(len(zones))])
}

// fillRow sets every exported field of the struct v points to, each left
// zero one time in three, so a field the hand writer forgets (or one added
// to the record later) shows as a difference from encoding/json.
func fillRow(rng *rand.Rand, v reflect.Value) {
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() || rng.IntN(3) == 0 {
			continue
		}
		switch {
		case f.Type() == reflect.TypeFor[time.Time]():
			f.Set(reflect.ValueOf(rowTimes(rng)))
		case f.Type() == reflect.TypeFor[EventKind]():
			f.SetUint(uint64(rng.IntN(int(evEnd) + 2)))
		case f.Kind() == reflect.String:
			f.SetString(rowStrings[rng.IntN(len(rowStrings))])
		case f.Kind() == reflect.Bool:
			f.SetBool(rng.IntN(2) == 0)
		case f.Kind() == reflect.Uint64 || f.Kind() == reflect.Uint8:
			f.SetUint(rng.Uint64() >> rng.IntN(64))
		case f.Kind() == reflect.Int || f.Kind() == reflect.Int64: // time.Duration too
			f.SetInt(rng.Int64() >> rng.IntN(64) * int64(1-2*rng.IntN(2)))
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
			n := rng.IntN(4)
			s := reflect.MakeSlice(f.Type(), n, n)
			for j := range n {
				s.Index(j).SetString(rowStrings[rng.IntN(len(rowStrings))])
			}
			f.Set(s)
		case f.Kind() == reflect.Struct:
			fillRow(rng, f)
		case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Struct:
			p := reflect.New(f.Type().Elem())
			fillRow(rng, p.Elem())
			f.Set(p)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Struct:
			n := rng.IntN(3)
			s := reflect.MakeSlice(f.Type(), n, n)
			for j := range n {
				fillRow(rng, s.Index(j))
			}
			f.Set(s)
		default:
			panic("fillRow: field " + v.Type().Field(i).Name + " of a type it does not know: teach it, and the writer")
		}
	}
}

// TestMarshalRowIsJSON: the hand-written encoders write encoding/json's
// bytes for every field, and fail where it fails.
func TestMarshalRowIsJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 4))
	for i := range 40000 {
		v := [...]any{new(Token), new(Event), new(Ticket), new(Message)}[i%4]
		fillRow(rng, reflect.ValueOf(v).Elem())
		want, werr := json.Marshal(v)
		got, gerr := marshalRow(v)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("%+v:\n got %s (%v)\nwant %s (%v)", v, got, gerr, want, werr)
		}
	}
}

// TestRowWriterTime: time writes what MarshalJSON writes and refuses what
// it refuses.
func TestRowWriterTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		tm := rowTimes(rng)
		want, werr := tm.MarshalJSON()
		w := rowWriter{b: []byte("x")}
		ok := w.time(tm)
		if ok != (werr == nil) || (ok && string(w.b) != "x"+string(want)) || (!ok && string(w.b) != "x") {
			t.Fatalf("%v: got %s %v, want %s %v", tm, w.b, ok, want, werr)
		}
	}
}

// TestMarshalRowAllocs: a token costs one allocation (its bytes).
func TestMarshalRowAllocs(t *testing.T) {
	now := time.Now()
	tok := &Token{Token: "0123456789abcdefghijklmnop", Kind: TokenReply, Project: "ACME", Ticket: "ACME-1", Recipient: "c@customer.example", Created: now, Expires: now.Add(time.Hour), Proof: true}
	if n := testing.AllocsPerRun(100, func() { marshalRow(tok) }); n > 1 {
		t.Errorf("marshalRow(token) allocates %v times, want 1", n)
	}
}
