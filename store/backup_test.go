package store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestBackupRestoreWhileWriting(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	put := func(i int) {
		// Issue 13: most raw messages are inline blobs (inside the
		// database), every third one a file; the backup holds both.
		text := fmt.Sprint(i)
		if i%3 == 0 {
			text += strings.Repeat("x", InlineBlobMax)
		}
		h, _, err := s.PutBlob(strings.NewReader("raw message " + text))
		if err != nil {
			t.Error(err)
			return
		}
		err = s.Update(ctx, func(tx Tx) error {
			n, err := tx.NextTicketNumber("ACME")
			if err != nil {
				return err
			}
			key := TicketKey("ACME", n)
			if err := tx.PutTicket(&Ticket{Key: key, Project: "ACME", Number: n, Subject: fmt.Sprint(i)}); err != nil {
				return err
			}
			return tx.AddMessage(&Message{Ticket: key, Raw: h, Text: text})
		})
		if err != nil {
			t.Error(err)
		}
	}
	for i := range 20 {
		put(i)
	}
	// Writers keep going while the backup runs: it is a hot copy.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 20; i < 60; i++ {
			put(i)
		}
	}()
	var buf bytes.Buffer
	if err := s.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	dir := filepath.Join(t.TempDir(), "restored")
	if err := Restore(bytes.NewReader(buf.Bytes()), dir); err != nil {
		t.Fatal(err)
	}
	if err := Restore(bytes.NewReader(buf.Bytes()), dir); err == nil {
		t.Fatal("restore over an existing store must refuse")
	}
	r, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var n uint64
	var msgs []*Message
	r.View(func(tx Tx) error {
		n, _ = tx.LastTicketNumber("ACME")
		msgs, _ = tx.TicketMessages("ACME-7")
		return nil
	})
	if n < 20 || n > 60 {
		t.Fatalf("restored %d tickets", n)
	}
	// Every ticket in the snapshot has its raw message.
	for i := uint64(1); i <= n; i++ {
		var m []*Message
		r.View(func(tx Tx) error { m, _ = tx.TicketMessages(TicketKey("ACME", i)); return nil })
		f, err := r.OpenBlob(m[0].Raw)
		if err != nil {
			t.Fatalf("ACME-%d: raw blob missing from the backup: %v", i, err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if string(b) != "raw message "+m[0].Text {
			t.Fatalf("ACME-%d: blob of %d bytes, want %d", i, len(b), len("raw message "+m[0].Text))
		}
	}
	if len(msgs) != 1 {
		t.Fatalf("ACME-7 messages %d", len(msgs))
	}
}

func TestCompact(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 4000)
	s.Update(context.Background(), func(tx Tx) error {
		for i := range 2000 {
			tx.AddMessage(&Message{Ticket: "ACME-1", Text: big + fmt.Sprint(i)})
		}
		return nil
	})
	// Retention empties the texts: the file keeps its pages until compacted.
	s.Update(context.Background(), func(tx Tx) error {
		msgs, _ := tx.TicketMessages("ACME-1")
		for _, m := range msgs {
			m.Text = ""
			tx.PutMessage(m)
		}
		return nil
	})
	s.Close()
	before, after, err := Compact(dir)
	if err != nil {
		t.Fatal(err)
	}
	if after >= before/2 {
		t.Fatalf("compact: %d → %d bytes", before, after)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var msgs []*Message
	s.View(func(tx Tx) error { msgs, _ = tx.TicketMessages("ACME-1"); return nil })
	if len(msgs) != 2000 {
		t.Fatalf("%d messages after compact", len(msgs))
	}
}
