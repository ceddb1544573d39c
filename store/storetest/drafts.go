package storetest

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// drafts (issue 17): a number space of their own per project, dense and
// rolled back with a failed change; a sender's open draft is found; the
// mails' blobs are references the sweep keeps; records survive a reopen.
func (s *suite) drafts(t *testing.T) {
	dir := t.TempDir()
	db := s.open(t, dir)
	raw, _, err := db.PutBlob(strings.NewReader("the stranger's mail"))
	if err != nil {
		t.Fatal(err)
	}
	att, _, err := db.PutBlob(strings.NewReader("an attachment of it"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	mk := func(tx store.Tx, project, sender string) (*store.Draft, error) {
		n, err := tx.NextDraftNumber(project)
		if err != nil {
			return nil, err
		}
		d := &store.Draft{Key: store.DraftKey(project, n), Project: project, Number: n, Sender: sender, Subject: "help",
			Missing: store.MissingKey, Created: now, Expires: now.Add(14 * 24 * time.Hour),
			Mails: []store.Message{{Project: project, Direction: "in", Kind: "request", From: sender, Subject: "help", Text: "please",
				Raw: raw, Attach: []store.Attachment{{Filename: "a.txt", Blob: att}}}}}
		return d, tx.PutDraft(d)
	}
	update(t, db, func(tx store.Tx) error {
		// A ticket number does not move the draft numbers, nor the other way.
		if _, _, err := newTicket(tx, "ACME", "a ticket", ""); err != nil {
			return err
		}
		for _, c := range []struct{ project, sender string }{{"ACME", "a@x.example"}, {"ACME", "b@x.example"}, {"BETA", "a@x.example"}} {
			if _, err := mk(tx, c.project, c.sender); err != nil {
				return err
			}
		}
		return nil
	})
	// A failed change gives its number back.
	boom := errors.New("boom")
	if err := db.Update(t.Context(), func(tx store.Tx) error {
		if _, err := mk(tx, "ACME", "c@x.example"); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failed update: %v", err)
	}
	db.Close()
	db = s.open(t, dir)
	t.Cleanup(func() { db.Close() })

	view(t, db, func(tx store.Tx) error {
		all, err := tx.Drafts("")
		if err != nil {
			return err
		}
		var keys []string
		for _, d := range all {
			keys = append(keys, d.Key)
		}
		if strings.Join(keys, " ") != "ACME-D1 ACME-D2 BETA-D1" {
			t.Errorf("drafts: %v", keys)
		}
		acme, err := tx.Drafts("ACME")
		if err != nil || len(acme) != 2 {
			t.Errorf("ACME drafts: %d, %v", len(acme), err)
		}
		d, err := tx.Draft("ACME-D2")
		if err != nil {
			return err
		}
		if d.Sender != "b@x.example" || !d.Created.Equal(now) || len(d.Mails) != 1 || d.Mails[0].Attach[0].Blob != att {
			t.Errorf("ACME-D2 read back as %+v", d)
		}
		// Copies out: changing what was read changes nothing stored.
		d.Mails[0].Text = "changed"
		again, _ := tx.Draft("ACME-D2")
		if again.Mails[0].Text != "please" {
			t.Error("a read draft shares memory with the store")
		}
		if d, err := tx.DraftOf("ACME", "B@x.example"); err != nil || d == nil || d.Key != "ACME-D2" {
			t.Errorf("DraftOf(b): %+v, %v", d, err)
		}
		if d, err := tx.DraftOf("ACME", "c@x.example"); err != nil || d != nil {
			t.Errorf("DraftOf(c) of a rolled-back draft: %+v, %v", d, err)
		}
		for _, key := range []string{"ACME-D9", "ACME-1", "nonsense"} {
			if _, err := tx.Draft(key); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Draft(%s): %v, want ErrNotFound", key, err)
			}
		}
		return nil
	})
	var refs []string
	view(t, db, func(tx store.Tx) error { return tx.ForEachBlobRef(func(h string) { refs = append(refs, h) }) })
	if !reflect.DeepEqual(countOf(refs), map[string]int{raw: 3, att: 3}) {
		t.Errorf("blob references of the drafts: %v", countOf(refs))
	}
	if n, err := db.SweepBlobs(-time.Hour); err != nil || n != 0 {
		t.Fatalf("sweep removed %d blobs drafts name (%v)", n, err)
	}
	update(t, db, func(tx store.Tx) error {
		for _, k := range []string{"ACME-D1", "ACME-D2", "BETA-D1"} {
			if err := tx.DeleteDraft(k); err != nil {
				return err
			}
		}
		n, err := tx.NextDraftNumber("ACME")
		if err == nil && n != 3 {
			t.Errorf("next ACME draft number after deletions: %d, want 3 (never reused)", n)
		}
		return err
	})
	if n, err := db.SweepBlobs(-time.Hour); err != nil || n != 2 {
		t.Fatalf("sweep after the drafts went removed %d (%v), want 2", n, err)
	}
	// A sender is found whatever the case it was stored or asked in.
	update(t, db, func(tx store.Tx) error {
		n, err := tx.NextDraftNumber("BETA")
		if err != nil {
			return err
		}
		d := &store.Draft{Key: store.DraftKey("BETA", n), Project: "BETA", Number: n, Sender: "Dora@X.example", Subject: "help",
			Missing: store.MissingKey, Created: now, Expires: now.Add(time.Hour)}
		if err := tx.PutDraft(d); err != nil {
			return err
		}
		if got, err := tx.DraftOf("BETA", "dora@x.EXAMPLE"); err != nil || got == nil || got.Key != d.Key {
			t.Errorf("DraftOf with another case: %+v, %v", got, err)
		}
		return nil
	})
}

func countOf(list []string) map[string]int {
	out := map[string]int{}
	for _, s := range list {
		out[s]++
	}
	return out
}
