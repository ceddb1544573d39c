package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/daemon"
	"github.com/ticketgate/ticketgate/internal/waitfor"
	"github.com/ticketgate/ticketgate/store"
)

// seedStore makes a store in dir with n tickets whose raw mail is in blobs
// and returns how many blob files there are.
func seedStore(t *testing.T, dir string, n int) int {
	t.Helper()
	st, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range n {
		// Above store.InlineBlobMax: mail files, which the refusals
		// must keep (smaller mail lives inside ticketgate.db).
		h, _, err := st.PutBlob(strings.NewReader(fmt.Sprintf("mail %d %s", i, strings.Repeat("x", store.InlineBlobMax))))
		if err != nil {
			t.Fatal(err)
		}
		err = st.Update(context.Background(), func(tx store.Tx) error {
			num, err := tx.NextTicketNumber("ACME")
			if err != nil {
				return err
			}
			key := store.TicketKey("ACME", num)
			if err := tx.PutTicket(&store.Ticket{Key: key, Project: "ACME", Number: num, Subject: strings.Repeat("s", 400)}); err != nil {
				return err
			}
			return tx.AddMessage(&store.Message{Ticket: key, Project: "ACME", Raw: h, Text: strings.Repeat("t", 3000)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return countBlobs(t, dir)
}

func countBlobs(t *testing.T, dir string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "blobs", "??", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return len(files)
}

// TestServeRefusesADamagedStore reproduces issue 15 item 11 through
// `serve`: an emptied database next to the mail files, and one cut in
// half, end with exit 3 (not a new store, not a panic's exit 2), a message
// saying how to restore, and every mail file kept.
func TestServeRefusesADamagedStore(t *testing.T) {
	for _, c := range []struct {
		name string
		cut  func(size int64) int64
		want string
	}{
		{"zero-length", func(int64) int64 { return 0 }, "empty (0 bytes)"},
		{"half-truncated", func(size int64) int64 { return size / 2 }, "truncated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeConfig(t, dir, "")
			data := filepath.Join(dir, "data")
			blobs := seedStore(t, data, 40)
			db := filepath.Join(data, "ticketgate.db")
			// What the database uses, by its header: the file itself is
			// longer (bbolt extends it 16 MiB at a time, sparse).
			bdb, err := bolt.Open(db, 0o600, &bolt.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			var used int64
			bdb.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
			bdb.Close()
			if err := os.Truncate(db, c.cut(used)); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runCmd([]string{"serve", "-c", path}, "")
			if code != exitDamagedStore {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitDamagedStore, stderr)
			}
			for _, want := range []string{c.want, "ticketgate restore"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not say %q:\n%s", want, stderr)
				}
			}
			if got := countBlobs(t, data); got != blobs {
				t.Fatalf("%d of %d mail files left", got, blobs)
			}
			code, _, stderr = runCmd([]string{"check-store", "-c", path}, "")
			if code != exitDamagedStore {
				t.Fatalf("check-store exit %d, want %d:\n%s", code, exitDamagedStore, stderr)
			}
		})
	}
}

// TestCheckStoreReportsACorruptRecord: check-store names a record that
// does not decode and exits 3; a sound store passes with 0.
func TestCheckStoreReportsACorruptRecord(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, "")
	data := filepath.Join(dir, "data")
	seedStore(t, data, 3)
	code, stdout, stderr := runCmd([]string{"check-store", "-c", path}, "")
	if code != exitOK || !strings.Contains(stdout, ": ok (installation ") {
		t.Fatalf("sound store: exit %d\n%s%s", code, stdout, stderr)
	}
	b, err := bolt.Open(filepath.Join(data, "ticketgate.db"), 0o640, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := binary.BigEndian.AppendUint64(nil, 2)
	b.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("messages")).Put(key, []byte(`{"ticket":`)) })
	b.Close()
	code, stdout, stderr = runCmd([]string{"check-store", "--dir", data}, "")
	if code != exitDamagedStore || !strings.Contains(stdout, "messages/2: does not decode") || !strings.Contains(stderr, "1 problem(s)") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestCheckStoreAfterRealMail: a store the daemon wrote (a request with an
// attachment, the customer's reply, the notifications sent) passes the
// full check: check-store has no false alarms on what the code writes.
func TestCheckStoreAfterRealMail(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, "")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ev := new(waitfor.Signal)
	d, err := daemon.Start(cfg, slog.New(slog.DiscardHandler), daemon.Options{Changes: ev})
	if err != nil {
		t.Fatal(err)
	}
	first := "From: Carl <carl@customer.example>\nTo: acme@support.example.com\nSubject: printer\n" +
		"Message-ID: <first@customer.example>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n" +
		"--b\nContent-Type: text/plain\n\nit is broken\n--b\nContent-Type: application/pdf\n" +
		"Content-Disposition: attachment; filename=scan.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--\n"
	reply := "From: carl@customer.example\nTo: acme@support.example.com\nSubject: Re: printer\n" +
		"Message-ID: <second@customer.example>\nIn-Reply-To: <first@customer.example>\n\nstill broken\n"
	for _, raw := range []string{first, reply} {
		if code, _, e := runCmd([]string{"deliver", "-c", path}, raw); code != 0 {
			d.Shutdown(context.Background())
			t.Fatalf("deliver: %d %s", code, e)
		}
	}
	waitOutbox(t, ev, dir, 3)
	d.Shutdown(context.Background())
	code, stdout, stderr := runCmd([]string{"check-store", "-c", path}, "")
	if code != exitOK {
		t.Fatalf("check-store on the daemon's own store: exit %d\n%s%s", code, stdout, stderr)
	}
}
