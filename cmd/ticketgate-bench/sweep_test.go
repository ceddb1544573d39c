package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// TestSweepCommand: `ticketgate-bench sweep` runs the daemon's hourly
// housekeeping once on a stopped store: the unreferenced blob goes, the
// referenced one stays; the rate counters go once --ahead passes their
// windows, and not before.
func TestSweepCommand(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	orphan, _, err := db.PutBlob(strings.NewReader("left by a crash"))
	if err != nil {
		t.Fatal(err)
	}
	kept, _, err := db.PutBlob(strings.NewReader("a request"))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.AddMessage(&store.Message{Ticket: "ACME-1", Raw: kept}); err != nil {
			return err
		}
		for _, k := range []string{"a@x.example|auto", "b@x.example|auto"} {
			if err := tx.RateAdd(k, time.Hour, time.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	sweep := func(args ...string) SweepResult {
		t.Helper()
		var out, errs bytes.Buffer
		if code := run(t.Context(), append([]string{"sweep", "--data-dir", dir, "--json"}, args...), &out, &errs); code != 0 {
			t.Fatalf("sweep %v: exit %d: %s", args, code, errs.String())
		}
		var res SweepResult
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("sweep output %q: %v", out.String(), err)
		}
		return res
	}
	if res := sweep(); res.BlobsRemoved != 0 || res.RatesRemoved != 0 {
		t.Fatalf("with the daemon's grace and no look ahead: %+v, want nothing removed", res)
	}
	if res := sweep("--grace", "-1s", "--ahead", "4h"); res.BlobsRemoved != 1 || res.RatesRemoved != 2 {
		t.Fatalf("no grace, 4 hours ahead: %+v, want the orphan and both counters", res)
	}
	db, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.OpenBlob(orphan); err == nil {
		t.Error("the orphaned blob is still there")
	}
	b, err := db.OpenBlob(kept)
	if err != nil {
		t.Fatalf("the referenced blob: %v", err)
	}
	b.Close()
}
