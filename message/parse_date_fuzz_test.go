package message

import (
	"net/mail"
	"testing"
	"time"
)

// FuzzParseDateCommon holds parseDateCommon to net/mail.ParseDate: where
// the fast path reads a value at all, the library must read it too, as
// the same instant in the same zone (parseDate's answers must not change
// because the fast path runs first).
func FuzzParseDateCommon(f *testing.F) {
	for _, s := range []string{
		"Thu, 03 Dec 2026 10:00:00 +0000",
		"Mon, 3 Mar 2025 10:14:55 +0100",
		"Fri, 21 Nov 1997 09:55:06 -0600",
		"Tue, 1 Jul 2003 10:52:37 +0200",
		"Wed,  5 Feb 2025 7:04:05 -0330",
		"Sun, 29 Feb 2024 23:59:59 +1400",
		"Sat, 31 Dec 1999 23:59:60 +0000",
		"Mon, 02 Jan 2006 15:04:05 -0700 (MST)",
		"Mon, 02 Jan 2006 15:04:05 MST",
		"Mon, 02 Jan 06 15:04:05 -0700",
		"Mon, 2 Jan 2006 15:04 -0700",
		"Monday, 02 Jan 2006 15:04:05 -0700",
		"02 Jan 2006 15:04:05 -0700",
		"Mon, 02 Jan 2006 15:04:05 -07:00",
		"Mon, 02 Jan 2006 15:04:05 +070",
		"Mon, 32 Jan 2006 15:04:05 -0700",
		"Mon,02 Jan 2006 15:04:05 -0700",
		"Mon, 02 Jan 2006\t15:04:05 -0700",
		"Mon, 02 Jan -006 15:04:05 -0700",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseDateCommon(s)
		if !ok {
			return
		}
		want, err := mail.ParseDate(s)
		if err != nil {
			t.Fatalf("parseDateCommon(%q) = %v, mail.ParseDate fails: %v", s, got, err)
		}
		gn, go_ := got.Zone()
		wn, wo := want.Zone()
		if !got.Equal(want) || gn != wn || go_ != wo || got.Location().String() != want.Location().String() {
			t.Fatalf("parseDateCommon(%q) = %v, mail.ParseDate = %v", s, got, want)
		}
	})
}

// TestParseDateCommonFirst: the usual Date is read by the fast path, so
// parsing it allocates no *time.ParseError.
func TestParseDateCommonFirst(t *testing.T) {
	const v = "Thu, 03 Dec 2026 10:00:00 +0000"
	if _, ok := parseDateCommon(v); !ok {
		t.Fatalf("parseDateCommon(%q) failed", v)
	}
	want := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	got, ok := parseDate(v)
	if !ok || !got.Equal(want) {
		t.Fatalf("parseDate(%q) = %v %v, want %v", v, got, ok, want)
	}
	if n := testing.AllocsPerRun(100, func() { parseDate(v) }); n > 0 {
		t.Errorf("parseDate(%q) allocates %v times, want 0", v, n)
	}
}
