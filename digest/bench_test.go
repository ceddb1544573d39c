package digest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// BenchmarkBuildDigests is the work of one day's digests on a store of
// $TICKETGATE_DIGEST_BENCH_N tickets (default 100,000) in two projects
// with ten agents each: a fifth of the tickets open (a fifth of those
// unassigned, the rest spread over the agents, each with a running
// first-response clock), the rest closed, 1 % breached in the last day.
// One iteration builds the digests of all twenty agents from one
// snapshot (the facts index and the open tickets' records), as Run does
// when they fall due together; queuing the mails is not included.
//
//	go test -run '^$' -bench BuildDigests -benchtime 5x ./digest/
func BenchmarkBuildDigests(b *testing.B) {
	n := 100000
	if s := os.Getenv("TICKETGATE_DIGEST_BENCH_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	now := time.Date(2026, 11, 16, 7, 30, 0, 0, time.UTC)
	db, err := store.Open(b.TempDir(), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	var agents [2][]string
	for pi, key := range []string{"ACME", "BETA"} {
		for a := range 10 {
			agents[pi] = append(agents[pi], fmt.Sprintf("agent%d@%s.example.com", a, key))
		}
		cfg.Projects = append(cfg.Projects, config.Project{Key: key, Name: key, Address: "support@" + key + ".example.com", Agents: agents[pi],
			Notifications: config.DefaultNotifications(), Statuses: statuses()})
	}
	cfg.Digests.Default = config.DigestSchedule{At: "08:30", TimeZone: "Europe/Berlin"}
	if err := cfg.Finalize(); err != nil {
		b.Fatal(err)
	}
	const batch = 5000
	for start := 0; start < n; start += batch {
		if err := db.Update(context.Background(), func(tx store.Tx) error {
			for i := start; i < min(start+batch, n); i++ {
				project := cfg.Projects[i%2].Key
				num, err := tx.NextTicketNumber(project)
				if err != nil {
					return err
				}
				created := now.Add(-time.Duration(n-i) * time.Minute)
				t := &store.Ticket{Key: store.TicketKey(project, num), Project: project, Number: num, Subject: "Printer on fire " + strconv.Itoa(i),
					Status: "done", Priority: "normal", Reporter: "carl@customer.example", Created: created, Updated: created, Closed: created.Add(time.Hour),
					FirstResponse: &store.Clock{Budget: 4 * time.Hour, Done: created.Add(time.Hour), Took: time.Hour}}
				if i%5 == 0 {
					t.Status, t.Closed = "working", time.Time{}
					t.FirstResponse = &store.Clock{Budget: 4 * time.Hour, Since: created, Due: created.Add(4 * time.Hour)}
					if i%25 != 0 {
						t.Assignee = agents[i%2][(i/2)%10]
					}
				}
				if i%100 == 1 {
					t.FirstResponse = &store.Clock{Budget: 4 * time.Hour, Breached: now.Add(-time.Hour)}
				}
				if err := tx.PutTicket(t); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	var list []due
	if err := db.View(func(tx store.Tx) error {
		var err error
		list, _, err = schedule(tx, cfg, now)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	if len(list) != 20 {
		b.Fatalf("%d agents due, want 20", len(list))
	}
	b.ResetTimer()
	listed := 0
	for b.Loop() {
		if err := db.View(func(tx store.Tx) error {
			made, err := build(tx, cfg, now, list)
			listed = 0
			for _, v := range made {
				listed += len(v.Tickets) + v.More
			}
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "tickets")
	b.ReportMetric(float64(listed), "listed")
}
