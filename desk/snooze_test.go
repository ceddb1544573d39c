package desk

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tabCount reads the count of a view's tab from a queue page.
func tabCount(t *testing.T, page, view string) string {
	t.Helper()
	m := regexp.MustCompile(`id="view-` + view + `"[^>]*>[^<]*<span class="count">(\d+)</span>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s tab on the page:\n%s", view, page)
	}
	return m[1]
}

// TestSnoozedView (issue 21): a snoozed ticket leaves mine, unassigned
// and all open until it wakes, and the snoozed view lists it with its
// wake time; once the time has come it is back.
func TestSnoozedView(t *testing.T) {
	e := newEnv(t)
	alice := e.signIn("alice@example.com")
	if _, err := e.eng.Snooze(context.Background(), "ACME-1", "2026-12-03 14:00 UTC", "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	for _, view := range []string{"open", "unassigned"} {
		_, page := e.get(alice, "/desk/?view="+view)
		if strings.Contains(page, `class="key">ACME-1<`) {
			t.Errorf("the %s view lists the snoozed ticket", view)
		}
		if n := tabCount(t, page, view); n != "0" {
			t.Errorf("%s counts %s", view, n)
		}
	}
	_, page := e.get(alice, "/desk/?view=snoozed")
	if !strings.Contains(page, `class="key">ACME-1<`) || !strings.Contains(page, "snoozed until 3 Dec 2026, 14:00 UTC") {
		t.Errorf("the snoozed view:\n%s", page)
	}
	if n := tabCount(t, page, "snoozed"); n != "1" {
		t.Errorf("snoozed counts %s", n)
	}
	// Awake: back in the open views, gone from the snoozed one.
	e.now.Store(time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC).UnixNano())
	_, page = e.get(alice, "/desk/?view=open")
	if !strings.Contains(page, `class="key">ACME-1<`) || tabCount(t, page, "snoozed") != "0" || tabCount(t, page, "unassigned") != "1" {
		t.Errorf("after the wake time:\n%s", page)
	}
}
