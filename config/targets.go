package config

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Business hours and response targets of a project (issue 21).

// BusinessHours is the schedule a project's targets count in.
type BusinessHours struct {
	// TimeZone names the zone of the opening hours, the holidays and of
	// the times agents write in #due and #snooze (default: the daemon's
	// timezone).
	TimeZone string `mapstructure:"timezone"`
	// Week maps days or ranges of days ("mon-fri", "sat") to opening
	// hours ("08:00-18:00", several separated by commas,
	// "08:00-12:00,13:00-17:00"). Days not named are closed. Empty: open
	// around the clock.
	Week map[string]string `mapstructure:"week"`
	// HolidaysFile lists closed days, one YYYY-MM-DD per line (# starts
	// a comment). It is read at every load of the configuration, so
	// SIGHUP picks up a changed file.
	HolidaysFile string `mapstructure:"holidays_file"`

	// Parsed by validation.
	loc      *time.Location
	week     [7][][2]int
	holidays []time.Time
}

// Targets are a project's response targets in business time, per
// priority (low, normal, high, urgent); a priority not named has none.
type Targets struct {
	FirstResponse map[string]time.Duration `mapstructure:"first_response"`
	Resolution    map[string]time.Duration `mapstructure:"resolution"`
	// WarnAt is when the warning mail goes, as a share of the target
	// ("80%", the default).
	WarnAt string `mapstructure:"warn_at"`

	warnAt float64
}

// Location is the zone of the business hours: their timezone, else the
// daemon's.
func (b *BusinessHours) Location(c *Config) *time.Location {
	if b != nil && b.loc != nil {
		return b.loc
	}
	return c.Location()
}

// Spans returns the opening hours of each weekday (index time.Weekday) in
// minutes after midnight, [start, end); nil when no week is set (open
// around the clock).
func (b *BusinessHours) Spans() *[7][][2]int {
	if b == nil || len(b.Week) == 0 {
		return nil
	}
	return &b.week
}

// Holidays are the closed days read from holidays_file (midnight UTC of
// each date).
func (b *BusinessHours) Holidays() []time.Time {
	if b == nil {
		return nil
	}
	return b.holidays
}

// Share is WarnAt as a fraction (0.8 for "80%").
func (t *Targets) Share() float64 {
	if t == nil || t.warnAt == 0 {
		return 0.8
	}
	return t.warnAt
}

// For returns the first-response and resolution targets of priority (0:
// none).
func (t *Targets) For(priority string) (first, resolution time.Duration) {
	if t == nil {
		return 0, 0
	}
	if priority == "" {
		priority = "normal"
	}
	return t.FirstResponse[priority], t.Resolution[priority]
}

var targetPriorities = []string{"low", "normal", "high", "urgent"}

var dayIndex = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func parseDays(s string) ([]int, bool) {
	from, to, isRange := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "-")
	a := slices.Index(dayIndex, strings.TrimSpace(from))
	b := a
	if isRange {
		b = slices.Index(dayIndex, strings.TrimSpace(to))
	}
	if a < 0 || b < 0 {
		return nil, false
	}
	var out []int
	for d := a; ; d = (d + 1) % 7 {
		out = append(out, d)
		if d == b {
			return out, true
		}
	}
}

func parseClock(s string) (int, bool) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || hh == 24 && mm != 0 {
		return 0, false
	}
	return hh*60 + mm, true
}

// validate checks the schedule and reads the holidays file.
func (b *BusinessHours) validate(key string) []error {
	var errs []error
	b.loc, b.week, b.holidays = nil, [7][][2]int{}, nil
	if b.TimeZone != "" {
		loc, err := time.LoadLocation(b.TimeZone)
		if err != nil {
			errs = append(errs, fieldErr(key+".timezone", "unknown time zone %q", b.TimeZone))
		} else {
			b.loc = loc
		}
	}
	for _, days := range slices.Sorted(mapKeys(b.Week)) {
		k := key + ".week." + days
		ds, ok := parseDays(days)
		if !ok {
			errs = append(errs, fieldErr(k, `want a day or a range of days ("mon", "mon-fri")`))
			continue
		}
		for _, span := range strings.Split(b.Week[days], ",") {
			f, t, ok1 := strings.Cut(span, "-")
			from, ok2 := parseClock(f)
			to, ok3 := parseClock(t)
			if !ok1 || !ok2 || !ok3 || to <= from {
				errs = append(errs, fieldErr(k, `want opening hours like "08:00-18:00", got %q`, b.Week[days]))
				break
			}
			for _, d := range ds {
				b.week[d] = append(b.week[d], [2]int{from, to})
			}
		}
	}
	for d := range b.week {
		slices.SortFunc(b.week[d], func(x, y [2]int) int { return x[0] - y[0] })
		for i := 1; i < len(b.week[d]); i++ {
			if b.week[d][i][0] < b.week[d][i-1][1] {
				errs = append(errs, fieldErr(key+".week", "opening hours of %s overlap", dayIndex[d]))
			}
		}
	}
	if b.HolidaysFile != "" {
		hs, err := readHolidays(b.HolidaysFile)
		if err != nil {
			errs = append(errs, fieldErr(key+".holidays_file", "%v", err))
		}
		b.holidays = hs
	}
	return errs
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// readHolidays reads one date per line; blank lines and # comments are
// skipped; anything else is an error naming the line.
func readHolidays(path string) ([]time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []time.Time
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		d, err := time.Parse("2006-01-02", strings.Fields(line)[0])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: want a date YYYY-MM-DD, got %q", path, n, line)
		}
		out = append(out, d)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

func (t *Targets) validate(key string) []error {
	var errs []error
	for name, m := range map[string]map[string]time.Duration{"first_response": t.FirstResponse, "resolution": t.Resolution} {
		for _, pr := range slices.Sorted(mapKeys(m)) {
			k := key + "." + name + "." + pr
			if !slices.Contains(targetPriorities, pr) {
				errs = append(errs, fieldErr(k, "unknown priority (want %s)", strings.Join(targetPriorities, ", ")))
			}
			if m[pr] <= 0 {
				errs = append(errs, fieldErr(k, "must be a positive duration"))
			}
		}
	}
	t.warnAt = 0
	if t.WarnAt != "" {
		v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(t.WarnAt), "%"), 64)
		if err != nil || !strings.HasSuffix(strings.TrimSpace(t.WarnAt), "%") || v <= 0 || v >= 100 {
			errs = append(errs, fieldErr(key+".warn_at", `want a share like "80%%", got %q`, t.WarnAt))
		} else {
			t.warnAt = v / 100
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}

// validateTargets checks every project's business hours and targets (and
// reads the holidays files, at every load).
func (c *Config) validateTargets() []error {
	var errs []error
	for i := range c.Projects {
		p := &c.Projects[i]
		if p.BusinessHours != nil {
			errs = append(errs, p.BusinessHours.validate(fmt.Sprintf("projects[%d].business_hours", i))...)
		}
		if p.Targets != nil {
			errs = append(errs, p.Targets.validate(fmt.Sprintf("projects[%d].targets", i))...)
		}
	}
	return errs
}
