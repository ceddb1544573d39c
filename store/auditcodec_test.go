package store

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestAuditCompactRoundTrip: every field of an audit event survives the
// compact form, Message-ID and Seq come from the key, and a body that is
// cut short, has bytes left over or names an unknown type is an error.
func TestAuditCompactRoundTrip(t *testing.T) {
	e := &AuditEvent{MessageID: "a@b.example", Seq: 42, Time: time.Date(2026, 12, 3, 23, 45, 12, 123456789, time.UTC), Type: AuditQueued,
		Project: "ACME", Ticket: "ACME-7", Source: "smtp", From: "c@customer.example", Recipient: "alice@example.com", Rule: "new",
		Detail: "internal/request_created — ü", Related: "tg.x@support.example.com"}
	b, err := encodeAudit(e)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(e)
	t.Logf("compact %d bytes, JSON %d bytes", len(b), len(js))
	got, err := DecodeAudit(b, e.MessageID, e.Seq)
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], e) {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, e)
	}
	if got, err := DecodeAudit(js, "ignored", 1); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], e) {
		t.Errorf("JSON body: %+v, %v", got, err)
	}
	// A group: the events of one mail at one time, seq, seq+1 ….
	f := *e
	f.Seq, f.Type, f.Recipient, f.Related = 43, AuditNewTicket, "", ""
	gb, err := encodeAuditRecord([]*AuditEvent{e, &f})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a group of two: %d bytes", len(gb))
	if got, err := DecodeAudit(gb, e.MessageID, 42); err != nil || len(got) != 2 || !reflect.DeepEqual(got[0], e) || !reflect.DeepEqual(got[1], &f) {
		t.Errorf("group: %+v, %v", got, err)
	}
	g := f
	g.Time = g.Time.Add(time.Second)
	if _, err := encodeAuditRecord([]*AuditEvent{e, &g}); err == nil {
		t.Error("a group of two times was encoded")
	}
	// A group's count must be honest.
	for i, body := range [][]byte{gb[:len(gb)-3], append(append([]byte(nil), gb...), 1, 0, 0, 0, 0, 0, 0, 0, 0)} {
		if _, err := DecodeAudit(body, e.MessageID, 42); err == nil {
			t.Errorf("damaged group %d decoded", i)
		}
	}
	for name, bad := range map[string][]byte{
		"empty": nil, "cut": b[:len(b)-1], "extra": append(append([]byte(nil), b...), 0), "unknown form": {7, 1, 1},
		"unknown type": append([]byte{auditCompact, 1, byte(len(auditCodes))}, make([]byte, 8)...), "bad JSON": []byte(`{"type":"nope"}`),
	} {
		if _, err := DecodeAudit(bad, "a@b.example", 1); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	if _, err := encodeAuditRecord(nil); err == nil {
		t.Error("a record of no events was encoded")
	}
	if _, err := encodeAudit(&AuditEvent{Type: "nope"}); err == nil {
		t.Error("an unknown type was encoded")
	}
}

// TestMigrateCompactAudit: a schema-7 store's JSON audit records are
// rewritten in the compact form and read back the same; the time index
// still names them, and the check passes.
func TestMigrateCompactAudit(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 10, 0, 0, 5, time.UTC)
	want := []*AuditEvent{
		{MessageID: "first@customer.example", Time: at, Type: AuditReceived, Project: "ACME", Source: "smtp", From: "c@customer.example"},
		{MessageID: "first@customer.example", Time: at, Type: AuditQueued, Project: "ACME", Ticket: "ACME-1", Recipient: "c@customer.example", Detail: "customer/request_created", Related: "tg.x@support.example.com"},
	}
	err = s.Update(context.Background(), func(tx Tx) error {
		for _, e := range want {
			if err := tx.AddAudit(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Turn it into what schema 7 wrote: JSON bodies.
	writeRaw(t, dir, func(tx *bolt.Tx) error {
		b := tx.Bucket(bAudit)
		for _, e := range want {
			js, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if err := b.Put(append(auditPrefix(e.MessageID), putU64(e.Seq)...), js); err != nil {
				return err
			}
		}
		return tx.Bucket(bMeta).Put([]byte("schema"), putU64(7))
	})

	s, err = Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatalf("open v7 store: %v", err)
	}
	defer s.Close()
	s.View(func(tx Tx) error {
		got, err := tx.Audit("first@customer.example")
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("audit after migration: %+v, %v; want %+v", got, err, want)
		}
		return nil
	})
	s.(*boltDB).db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bAudit).ForEach(func(k, v []byte) error {
			if v[0] == '{' {
				t.Errorf("audit %q still %q", k, v)
			}
			return nil
		})
	})
	var problems []Problem
	if err := s.Check(context.Background(), func(p Problem) { problems = append(problems, p) }); err != nil || len(problems) > 0 {
		t.Errorf("check after migration: %v %+v", err, problems)
	}
}

// TestAuditGroupsInOneTransaction: the events of one mail written one
// after the other at one time share a record and a time index entry;
// another mail, another time or another transaction starts a new one.
// The stream reads the same either way.
func TestAuditGroupsInOneTransaction(t *testing.T) {
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	in := []AuditEvent{
		{MessageID: "req@customer.example", Time: at, Type: AuditReceived, Project: "ACME", Source: "smtp", From: "c@customer.example"},
		{MessageID: "req@customer.example", Time: at, Type: AuditNewTicket, Project: "ACME", Ticket: "ACME-1"},
		{MessageID: "req@customer.example", Time: at, Type: AuditQueued, Project: "ACME", Ticket: "ACME-1", Related: "tg.a@support.example.com"},
		{MessageID: "tg.a@support.example.com", Time: at, Type: AuditQueued, Project: "ACME", Ticket: "ACME-1", Related: "req@customer.example"},
		{MessageID: "req@customer.example", Time: at, Type: AuditQueued, Project: "ACME", Ticket: "ACME-1", Related: "tg.b@support.example.com"},
		{MessageID: "req@customer.example", Time: at.Add(time.Second), Type: AuditHeld, Project: "ACME", Ticket: "ACME-1"},
	}
	for _, part := range [][]AuditEvent{in[:5], in[5:]} {
		err := s.Update(context.Background(), func(tx Tx) error {
			for _, e := range part {
				if err := tx.AddAudit(&e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var keys, times int
	s.(*boltDB).db.View(func(tx *bolt.Tx) error {
		keys, times = tx.Bucket(bAudit).Stats().KeyN, tx.Bucket(bAuditTime).Stats().KeyN
		return nil
	})
	// req: {received, new_ticket, queued}, {queued}, {held}; tg.a: {queued}.
	if keys != 4 || times != 4 {
		t.Errorf("%d records and %d time entries, want 4 and 4", keys, times)
	}
	s.View(func(tx Tx) error {
		got, err := tx.Audit("req@customer.example")
		if err != nil || len(got) != 5 {
			t.Fatalf("stream: %+v %v", got, err)
		}
		for i, w := range []int{0, 1, 2, 4, 5} {
			want := in[w]
			want.Seq = got[i].Seq
			if !reflect.DeepEqual(got[i], &want) {
				t.Errorf("event %d: %+v, want %+v", i, got[i], &want)
			}
			if i > 0 && got[i].Seq <= got[i-1].Seq {
				t.Errorf("event %d: seq %d after %d", i, got[i].Seq, got[i-1].Seq)
			}
		}
		return nil
	})
	var problems []Problem
	if err := s.Check(context.Background(), func(p Problem) { problems = append(problems, p) }); err != nil || len(problems) > 0 {
		t.Errorf("check: %v %+v", err, problems)
	}
	var n int
	s.Update(context.Background(), func(tx Tx) error {
		n, err = tx.PruneAudit(at.Add(time.Second), 0)
		return err
	})
	if n != 3 {
		t.Errorf("pruned %d records, want the 3 of the first time", n)
	}
}
