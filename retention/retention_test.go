package retention

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

func TestRetentionWithFakeClock(t *testing.T) {
	s, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Projects = []config.Project{{Key: "ACME", Address: "acme@support.example.com",
		Retention: config.Retention{ClosedDays: 90, Delete: []string{"attachments", "raw"}, Schedule: "weekly sun 03:00"}}}
	if err := cfg.Finalize(); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	ctx := context.Background()
	blob := func(s2 string) string {
		h, _, err := s.PutBlob(strings.NewReader(s2))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	shared := blob("the same logo in both tickets")
	mk := func(n uint64, closedDaysAgo int) (raw, att string) {
		raw, att = blob("raw "+time.Duration(n).String()), blob("attachment "+time.Duration(n).String())
		err := s.Update(ctx, func(tx store.Tx) error {
			key := store.TicketKey("ACME", n)
			t := &store.Ticket{Key: key, Project: "ACME", Number: n, Subject: "s", Status: "closed", Closed: now.Add(-time.Duration(closedDaysAgo) * 24 * time.Hour)}
			if err := tx.PutTicket(t); err != nil {
				return err
			}
			return tx.AddMessage(&store.Message{Ticket: key, Text: "kept text", Raw: raw, RawSize: 100,
				Attach: []store.Attachment{{Filename: "a.pdf", Size: 50, Blob: att}, {Filename: "logo.png", Size: 7, Blob: shared}}})
		})
		if err != nil {
			t.Fatal(err)
		}
		return raw, att
	}
	oldRaw, oldAtt := mk(1, 91)
	youngRaw, youngAtt := mk(2, 89)

	var plan []Item
	s.View(func(tx store.Tx) error { plan, err = Plan(tx, cfg, now); return err })
	if len(plan) != 3 {
		t.Fatalf("dry run lists %d items, want raw + 2 attachments of ACME-1: %+v", len(plan), plan)
	}
	for _, it := range plan {
		if it.Ticket != "ACME-1" {
			t.Fatalf("dry run lists %s (closed 89 days)", it.Ticket)
		}
	}

	// Files written just now are young; age them so the sweep may act.
	eng := ticket.NewEngine(s, func() *config.Config { return cfg }, nil, func() time.Time { return now }, slog.New(slog.DiscardHandler))
	rep, err := Run(ctx, s, eng, cfg, now, "retention")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Tickets != 1 || rep.Bytes != 157 {
		t.Fatalf("report %+v", rep)
	}
	var m1, m2 []*store.Message
	var ev []*store.Event
	s.View(func(tx store.Tx) error {
		m1, _ = tx.TicketMessages("ACME-1")
		m2, _ = tx.TicketMessages("ACME-2")
		ev, _ = tx.Events("ACME-1")
		return nil
	})
	if m1[0].Raw != "" || m1[0].Attach[0].Blob != "" || m1[0].Text != "kept text" || m1[0].Attach[0].Filename != "a.pdf" {
		t.Fatalf("ACME-1 after retention: %+v", m1[0])
	}
	if m2[0].Raw != youngRaw || m2[0].Attach[0].Blob != youngAtt {
		t.Fatalf("ACME-2 (closed 89 days) was touched: %+v", m2[0])
	}
	if len(ev) != 1 || ev[0].Kind != store.EvRetention || ev[0].Bytes != 157 || ev[0].Count != 3 || ev[0].Actor != "retention" {
		t.Fatalf("event %+v", ev)
	}
	// The records no longer refer to the files; an aged sweep removes them
	// while the shared logo (still used by ACME-2) stays.
	if n, err := s.SweepBlobs(-time.Second); err != nil || n != 2 {
		t.Fatalf("sweep removed %d (%v), want ACME-1's raw and attachment", n, err)
	}
	for _, h := range []string{oldRaw, oldAtt} {
		if _, err := s.OpenBlob(h); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("blob %s still on disk", h[:8])
		}
	}
	for _, h := range []string{shared, youngRaw, youngAtt} {
		f, err := s.OpenBlob(h)
		if err != nil {
			t.Errorf("blob %s removed: %v", h[:8], err)
		} else {
			f.Close()
		}
	}
	// A second run finds nothing more to do.
	if rep, _ := Run(ctx, s, eng, cfg, now, "retention"); len(rep.Items) != 0 {
		t.Fatalf("second run: %+v", rep)
	}
}

func TestSchedule(t *testing.T) {
	sc, err := config.ParseSchedule("weekly sun 03:00")
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	from := time.Date(2026, 11, 22, 3, 0, 0, 0, berlin) // a Sunday, 03:00
	if got := sc.Next(from); !got.Equal(time.Date(2026, 11, 29, 3, 0, 0, 0, berlin)) {
		t.Errorf("next after Sunday 03:00: %v", got)
	}
	if got := sc.Next(from.Add(-time.Minute)); !got.Equal(from) {
		t.Errorf("next before Sunday 03:00: %v", got)
	}
	d, _ := config.ParseSchedule("daily 23:30")
	if got := d.Next(time.Date(2026, 11, 22, 23, 31, 0, 0, berlin)); !got.Equal(time.Date(2026, 11, 23, 23, 30, 0, 0, berlin)) {
		t.Errorf("daily: %v", got)
	}
	for _, bad := range []string{"", "weekly", "monthly 03:00", "weekly xyz 03:00", "daily 25:00"} {
		if _, err := config.ParseSchedule(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
