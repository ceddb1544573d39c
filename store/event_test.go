package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
)

// TestEventKindNames: every kind has a unique name that parses back to
// it; an unknown name is an error; the zero kind cannot be stored.
func TestEventKindNames(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range EventKinds() {
		name := k.String()
		if name == "" || seen[name] {
			t.Errorf("kind %d: name %q empty or repeated", k, name)
		}
		seen[name] = true
		got, err := ParseEventKind(name)
		if err != nil || got != k {
			t.Errorf("ParseEventKind(%q) = %v, %v; want %v", name, got, err, k)
		}
	}
	if _, err := ParseEventKind("ticket_exploded"); !errors.Is(err, ErrUnknownEventKind) {
		t.Errorf("unknown kind: %v, want ErrUnknownEventKind", err)
	}
	if _, err := json.Marshal(&Event{Ticket: "ACME-1"}); err == nil {
		t.Error("an event without a kind was encoded")
	}
}

// TestEventsReadOldAndNew: events written before kinds were typed
// ("type" + "detail") still read, their sentence kept as Legacy and never
// mapped into fields; typed events round-trip; a record of a kind this
// version does not know fails Events instead of vanishing.
func TestEventsReadOldAndNew(t *testing.T) {
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Update(context.Background(), func(tx Tx) error {
		b := tx.(*boltTx).btx.Bucket(bEvents)
		if err := b.Put(join([]byte("ACME-1"), putU64(1)), []byte(`{"seq":1,"ticket":"ACME-1","time":"2026-01-02T03:04:05Z","type":"status_changed","actor":"alice@example.com","detail":"open → closed"}`)); err != nil {
			return err
		}
		if err := b.SetSequence(1); err != nil {
			return err
		}
		return tx.AddEvent(&Event{Ticket: "ACME-1", Kind: EvQueued, Recipient: "c@customer.example", Template: "customer/request_created", MessageID: "tg.x@support.example.com", OutboxID: 4})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(func(tx Tx) error {
		evs, err := tx.Events("ACME-1")
		if err != nil || len(evs) != 2 {
			t.Fatalf("events: %+v, %v", evs, err)
		}
		old, typed := evs[0], evs[1]
		if old.Kind != EvStatusChanged || old.Actor != "alice@example.com" || old.Legacy != "open → closed" || old.NewStatus != "" {
			t.Errorf("old event: %+v", old)
		}
		if typed.Kind != EvQueued || typed.Recipient != "c@customer.example" || typed.OutboxID != 4 || typed.Legacy != "" || typed.Seq == 0 {
			t.Errorf("typed event: %+v", typed)
		}
		return nil
	})
	s.Update(context.Background(), func(tx Tx) error {
		return tx.(*boltTx).btx.Bucket(bEvents).Put(join([]byte("ACME-2"), putU64(9)), []byte(`{"seq":9,"ticket":"ACME-2","kind":"from_the_future"}`))
	})
	s.View(func(tx Tx) error {
		if evs, err := tx.Events("ACME-2"); !errors.Is(err, ErrUnknownEventKind) {
			t.Errorf("unknown kind read as %+v, %v", evs, err)
		}
		return nil
	})
}
