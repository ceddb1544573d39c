package bizhours

import (
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/internal/leaftest"
)

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tzdata for Europe/Berlin: %v", err)
	}
	return loc
}

var office = Week{
	time.Monday: {{8 * 60, 18 * 60}}, time.Tuesday: {{8 * 60, 18 * 60}}, time.Wednesday: {{8 * 60, 18 * 60}},
	time.Thursday: {{8 * 60, 18 * 60}}, time.Friday: {{8 * 60, 18 * 60}},
}

func TestAddAcrossWeekend(t *testing.T) {
	loc := berlin(t)
	c := New(loc, office, nil)
	// Friday 2026-11-13 16:00 + 4h: 2h on Friday, 2h on Monday.
	start := time.Date(2026, 11, 13, 16, 0, 0, 0, loc)
	got := c.Add(start, 4*time.Hour)
	want := time.Date(2026, 11, 16, 10, 0, 0, 0, loc)
	if !got.Equal(want) {
		t.Fatalf("Add = %s, want %s", got, want)
	}
	if b := c.Between(start, want); b != 4*time.Hour {
		t.Fatalf("Between = %s, want 4h", b)
	}
	// Started on Saturday: the clock starts on Monday at 08:00.
	sat := time.Date(2026, 11, 14, 11, 0, 0, 0, loc)
	if got := c.Add(sat, 30*time.Minute); !got.Equal(time.Date(2026, 11, 16, 8, 30, 0, 0, loc)) {
		t.Fatalf("Add from Saturday = %s", got)
	}
	// 30h of business time is three working days of ten hours.
	mon := time.Date(2026, 11, 16, 8, 0, 0, 0, loc)
	if got := c.Add(mon, 30*time.Hour); !got.Equal(time.Date(2026, 11, 18, 18, 0, 0, 0, loc)) {
		t.Fatalf("Add 30h = %s", got)
	}
}

func TestAddSkipsHoliday(t *testing.T) {
	loc := berlin(t)
	c := New(loc, office, map[Date]bool{{2026, 12, 24}: true, {2026, 12, 25}: true})
	// Wednesday 23 Dec 17:00 + 3h: 1h on Wednesday; Thursday and Friday
	// are holidays, the weekend is closed: 2h on Monday 28 Dec.
	start := time.Date(2026, 12, 23, 17, 0, 0, 0, loc)
	got := c.Add(start, 3*time.Hour)
	want := time.Date(2026, 12, 28, 10, 0, 0, 0, loc)
	if !got.Equal(want) {
		t.Fatalf("Add = %s, want %s", got, want)
	}
	if b := c.Between(start, want); b != 3*time.Hour {
		t.Fatalf("Between = %s", b)
	}
	if c.IsOpen(time.Date(2026, 12, 24, 10, 0, 0, 0, loc)) {
		t.Fatal("open on a holiday")
	}
}

func TestDSTChange(t *testing.T) {
	loc := berlin(t)
	c := New(loc, office, nil)
	// Across the March change (Sunday 29 Mar 2026, 02:00 → 03:00): Friday
	// 17:00 CET + 2h is Monday 09:00 CEST, which is 07:00 UTC.
	got := c.Add(time.Date(2026, 3, 27, 17, 0, 0, 0, loc), 2*time.Hour)
	if want := time.Date(2026, 3, 30, 7, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("March: Add = %s, want %s", got.UTC(), want)
	}
	// Across the October change (Sunday 25 Oct 2026, 03:00 → 02:00):
	// Monday 09:00 CET is 08:00 UTC.
	got = c.Add(time.Date(2026, 10, 23, 17, 0, 0, 0, loc), 2*time.Hour)
	if want := time.Date(2026, 10, 26, 8, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("October: Add = %s, want %s", got.UTC(), want)
	}
	// Open around the clock on Sundays: the day of the change has 23 and
	// 25 hours of business time.
	sundays := Week{time.Sunday: {{0, 1440}}}
	c = New(loc, sundays, nil)
	if b := c.Between(time.Date(2026, 3, 29, 0, 0, 0, 0, loc), time.Date(2026, 3, 30, 0, 0, 0, 0, loc)); b != 23*time.Hour {
		t.Fatalf("March Sunday = %s, want 23h", b)
	}
	if b := c.Between(time.Date(2026, 10, 25, 0, 0, 0, 0, loc), time.Date(2026, 10, 26, 0, 0, 0, 0, loc)); b != 25*time.Hour {
		t.Fatalf("October Sunday = %s, want 25h", b)
	}
	if got := c.Add(time.Date(2026, 3, 29, 0, 0, 0, 0, loc), 23*time.Hour); !got.Equal(time.Date(2026, 3, 30, 0, 0, 0, 0, loc)) {
		t.Fatalf("Add 23h on the March Sunday = %s", got)
	}
}

func TestClosedCalendarNeverDue(t *testing.T) {
	c := New(time.UTC, Week{}, nil)
	if got := c.Add(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Hour); !got.IsZero() {
		t.Fatalf("Add on a closed calendar = %s, want zero", got)
	}
	c = New(time.UTC, AllWeek, nil)
	a := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := c.Add(a, 50*time.Hour); !got.Equal(a.Add(50 * time.Hour)) {
		t.Fatalf("AllWeek Add = %s", got)
	}
}

func TestLeaf(t *testing.T) { leaftest.Check(t) }
