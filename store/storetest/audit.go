package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// auditStream: the audit stream of a Message-ID reads back in the order
// written with every field (whatever the backend's encoding), found by
// any form of the id; prune removes only what is older than its limit.
func (s *suite) auditStream(t *testing.T) {
	db, _ := s.fresh(t)
	old := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	now := old.Add(100 * 24 * time.Hour)
	in := []store.AuditEvent{
		{MessageID: "<Req-1@Customer.Example>", Time: old, Type: store.AuditReceived, Project: "ACME", Source: "smtp", From: "c@customer.example"},
		{MessageID: "Req-1@customer.example", Time: now, Type: store.AuditNewTicket, Project: "ACME", Ticket: "ACME-1", Rule: "new"},
		{MessageID: "Req-1@customer.example", Time: now, Type: store.AuditQueued, Project: "ACME", Ticket: "ACME-1", Recipient: "c@customer.example",
			Detail: "customer/request_created", Related: "tg.abc@support.example.com"},
		{MessageID: "tg.abc@support.example.com", Time: now, Type: store.AuditDelivered, Project: "ACME", Ticket: "ACME-1", Recipient: "c@customer.example",
			Detail: "customer/request_created handed over (attempt 1)"},
		{MessageID: "", Time: now, Type: store.AuditReceived}, // nothing to file it under: dropped
	}
	update(t, db, func(tx store.Tx) error {
		for i := range in {
			e := in[i]
			if err := tx.AddAudit(&e); err != nil {
				return err
			}
		}
		return nil
	})
	want := func(i int) *store.AuditEvent {
		e := in[i]
		e.MessageID = "Req-1@customer.example"
		if i == 3 {
			e.MessageID = "tg.abc@support.example.com"
		}
		return &e
	}
	view(t, db, func(tx store.Tx) error {
		got, err := tx.Audit("<Req-1@CUSTOMER.example>")
		if err != nil || len(got) != 3 {
			t.Fatalf("stream: %+v %v", got, err)
		}
		for i, e := range got {
			w := want(i)
			if e.Seq == 0 || (i > 0 && e.Seq <= got[i-1].Seq) {
				t.Errorf("event %d: seq %d after %d", i, e.Seq, got[max(i-1, 0)].Seq)
			}
			w.Seq = e.Seq
			if !e.Time.Equal(w.Time) {
				t.Errorf("event %d: time %v, want %v", i, e.Time, w.Time)
			}
			w.Time = e.Time
			if !reflect.DeepEqual(e, w) {
				t.Errorf("event %d: %+v, want %+v", i, e, w)
			}
		}
		if got, err := tx.Audit("tg.abc@support.example.com"); err != nil || len(got) != 1 || got[0].Type != store.AuditDelivered || got[0].Detail != in[3].Detail {
			t.Errorf("outbound stream: %+v %v", got, err)
		}
		if got, err := tx.Audit("nobody@example.com"); err != nil || len(got) != 0 {
			t.Errorf("unknown id: %+v %v", got, err)
		}
		return nil
	})
	var n int
	update(t, db, func(tx store.Tx) error {
		var err error
		n, err = tx.PruneAudit(old.Add(time.Hour), 0)
		return err
	})
	if n != 1 {
		t.Errorf("pruned %d, want the one old event", n)
	}
	view(t, db, func(tx store.Tx) error {
		if got, err := tx.Audit("Req-1@customer.example"); err != nil || len(got) != 2 || got[0].Type != store.AuditNewTicket {
			t.Errorf("after the prune: %+v %v", got, err)
		}
		return nil
	})
}

// auditGroups (issue 13): the events of one mail written one after the
// other at one time read back whole — in the transaction that wrote them,
// after another mail's event began a new record, and after the commit —
// also when concurrent transaction functions share a commit.
func (s *suite) auditGroups(t *testing.T) {
	db, _ := s.fresh(t)
	at := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	ev := func(id string, typ store.AuditType, rcpt string) *store.AuditEvent {
		return &store.AuditEvent{MessageID: id, Time: at, Type: typ, Project: "ACME", Ticket: "ACME-1", Recipient: rcpt}
	}
	types := func(evs []*store.AuditEvent) []store.AuditType {
		var out []store.AuditType
		for _, e := range evs {
			out = append(out, e.Type)
		}
		return out
	}
	mail := []store.AuditType{store.AuditReceived, store.AuditNewTicket, store.AuditQueued, store.AuditQueued}
	update(t, db, func(tx store.Tx) error {
		for i, typ := range mail {
			if err := tx.AddAudit(ev("a@x", typ, "r"+string(rune('0'+i)))); err != nil {
				return err
			}
			got, err := tx.Audit("a@x")
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(types(got), mail[:i+1]) {
				t.Errorf("in the writing transaction after %d events: %v", i+1, types(got))
			}
		}
		// Another mail's event begins a new record; then the first mail's
		// next event begins one of its own.
		if err := tx.AddAudit(ev("b@x", store.AuditDelivered, "c")); err != nil {
			return err
		}
		return tx.AddAudit(ev("a@x", store.AuditHeld, "d"))
	})
	want := append(append([]store.AuditType(nil), mail...), store.AuditHeld)
	view(t, db, func(tx store.Tx) error {
		got, err := tx.Audit("a@x")
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(types(got), want) {
			t.Errorf("after the commit: %v, want %v", types(got), want)
		}
		for i, e := range got[:len(mail)] {
			if e.Recipient != "r"+string(rune('0'+i)) {
				t.Errorf("event %d: recipient %q", i, e.Recipient)
			}
		}
		if got, err := tx.Audit("b@x"); err != nil || !reflect.DeepEqual(types(got), []store.AuditType{store.AuditDelivered}) {
			t.Errorf("the other mail: %v %v", types(got), err)
		}
		return nil
	})
	// Concurrent functions, each a group of its own mail: they may share
	// a commit, and every group is whole afterwards.
	const n = 16
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- db.Update(context.Background(), func(tx store.Tx) error {
				for _, typ := range mail {
					if err := tx.AddAudit(ev(fmt.Sprintf("m%d@x", i), typ, "")); err != nil {
						return err
					}
				}
				return nil
			})
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	view(t, db, func(tx store.Tx) error {
		for i := range n {
			got, err := tx.Audit(fmt.Sprintf("m%d@x", i))
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(types(got), mail) {
				t.Errorf("mail %d: %v, want %v", i, types(got), mail)
			}
		}
		return nil
	})
}
