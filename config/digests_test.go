package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDigestsConfig: the schedule each agent gets from digests.default,
// digests.agents and the built-in one, and every problem check-config
// reports with its key path (issue 21).
func TestDigestsConfig(t *testing.T) {
	const base = "projects:\n  - key: ACME\n    address: acme@support.example.com\n    agents: [alice@example.com, bob@example.com]\n    admins: [boss@example.com]\n"
	// No digests section: nobody gets one (an agent may ask by mail).
	c := mustLoad(t, base)
	if c.Digests.Configured() || c.DigestFor("alice@example.com").On {
		t.Errorf("digests without a section: %+v", c.DigestFor("alice@example.com"))
	}
	c = mustLoad(t, base+`digests:
  default: {at: "08:30", days: mon-fri, timezone: Europe/Berlin}
  agents:
    Alice@Example.com: {at: "07:00"}
    bob@example.com: {off: true}
    boss@example.com: {days: "sat,sun", timezone: America/New_York}
`)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	ny, _ := time.LoadLocation("America/New_York")
	weekdays := [7]bool{false, true, true, true, true, true, false}
	for _, tc := range []struct {
		agent string
		want  DigestPlan
	}{
		{"alice@example.com", DigestPlan{On: true, At: 7 * 60, Days: weekdays, Loc: berlin}},
		{"bob@example.com", DigestPlan{On: false, At: 8*60 + 30, Days: weekdays, Loc: berlin}},
		{"boss@example.com", DigestPlan{On: true, At: 8*60 + 30, Days: [7]bool{true, false, false, false, false, false, true}, Loc: ny}},
		{"carl@example.com", DigestPlan{On: true, At: 8*60 + 30, Days: weekdays, Loc: berlin}},
	} {
		got := c.DigestFor(tc.agent)
		if got.On != tc.want.On || got.At != tc.want.At || got.Days != tc.want.Days || got.Loc.String() != tc.want.Loc.String() {
			t.Errorf("%s: got %+v, want %+v", tc.agent, got, tc.want)
		}
	}
	if got := c.DigestAgents(); !slices.Equal(got, []string{"alice@example.com", "bob@example.com", "boss@example.com"}) {
		t.Errorf("DigestAgents = %v", got)
	}
	// The built-in schedule when the section only switches digests on.
	c = mustLoad(t, base+"digests:\n  default: {off: false}\n")
	if p := c.DigestFor("alice@example.com"); !p.On || p.At != 8*60+30 || p.Days != weekdays || p.Loc != c.Location() {
		t.Errorf("built-in schedule: %+v", p)
	}

	got := problems(t, base+`digests:
  default: {at: "25:00", days: mon-fry, timezone: Mars/Olympus}
  agents:
    alice@example.com: {at: "7"}
    stranger@example.net: {at: "07:00"}
`)
	want := []string{
		`digests.agents.alice@example.com.at: want a time of day like "08:30" (00:00-23:59), got "7"`,
		`digests.agents.stranger@example.net: stranger@example.net is no agent or admin of any project`,
		`digests.default.at: want a time of day like "08:30" (00:00-23:59), got "25:00"`,
		`digests.default.days: want days or ranges of days like "mon-fri" or "mon,wed,fri", got "mon-fry"`,
		`digests.default.timezone: unknown time zone "Mars/Olympus"`,
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing problem %q in:\n%s", w, strings.Join(got, "\n"))
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
}
