package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestOffersAndRatingsConfig: the defaults of offers and ratings, and
// every problem with its key path (issue 18).
func TestOffersAndRatingsConfig(t *testing.T) {
	const base = "projects:\n  - key: ACME\n    address: acme@support.example.com\n    agents: [alice@example.com, bob@example.com]\n"
	c, err := Load(writeConfig(t, base+"    offers: {to: [alice@example.com, Bob@example.com]}\n    ratings: {enabled: true, scale: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := &c.Projects[0]
	if o := p.OffersFor(""); !o.Enabled() || o.Wait() != 30*time.Minute || o.Batch() != 2 || p.StatusOnTake() != "assigned" {
		t.Errorf("offer defaults: wait %v batch %d status %q", o.Wait(), o.Batch(), p.StatusOnTake())
	}
	if r := p.Ratings; !r.AsksOnResolved() || r.Points() != 2 || r.MinScore() != 2 {
		t.Errorf("rating defaults: %+v points %d min %d", r, r.Points(), r.MinScore())
	}
	_, err = Load(writeConfig(t, base+`    offers: {to: [alice@example.com, carl@customer.example, alice@example.com], at_once: -1, timeout: 10s, status_on_take: resolved}
    ratings: {scale: 3, ask_on: request_closed, close_min_score: 9}
`))
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want *Errors, got %v", err)
	}
	var got []string
	for _, e := range errs.List {
		got = append(got, e.Error())
	}
	want := []string{
		`projects[0].offers.to[1]: "carl@customer.example" is not an agent or admin of the project`,
		`projects[0].offers.to[2]: "alice@example.com" is listed twice`,
		`projects[0].offers.at_once: must be 0 (all) or more`,
		`projects[0].offers.timeout: must be at least 1m`,
		`projects[0].offers.status_on_take: "resolved" is not a new or open status`,
		`projects[0].ratings.scale: must be 5 or 2`,
		`projects[0].ratings.ask_on: must be request_resolved`,
		`projects[0].ratings.close_min_score: must be between 1 and 5`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
