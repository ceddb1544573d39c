package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/admin"
	"github.com/ticketgate/ticketgate/internal/pgtest"
	"github.com/ticketgate/ticketgate/store"
)

// copyTickets is the size of the store copy round trip (the issue's
// done-when: 10,000 tickets with attachments).
const copyTickets = 10000

// buildCopySource writes n tickets straight through the store API: each
// with its raw mail (a blob of its own) and an attachment (one of 20
// shared blobs), every tenth with an agent's reply, every thousandth
// with a 2.5 MiB attachment (three chunks on PostgreSQL). It returns the
// contents of the large attachments by blob hash.
func buildCopySource(t *testing.T, dir string, n int) map[string][]byte {
	t.Helper()
	s, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	shared := make([]string, 20)
	for i := range shared {
		if shared[i], _, err = s.PutBlob(strings.NewReader(fmt.Sprintf("%%PDF-1.4 shared document %d\n", i))); err != nil {
			t.Fatal(err)
		}
	}
	large := map[string][]byte{}
	const batch = 500
	for first := 0; first < n; first += batch {
		type prepared struct {
			raw, big string
			bigSize  int64
		}
		ps := make([]prepared, min(batch, n-first))
		for j := range ps {
			i := first + j
			if ps[j].raw, _, err = s.PutBlob(strings.NewReader(fmt.Sprintf("Message-ID: <q%d@customer.example>\r\nSubject: question %d\r\n\r\nPlease help with %d.\r\n", i, i, i))); err != nil {
				t.Fatal(err)
			}
			if i%1000 == 999 {
				b := bytes.Repeat([]byte(fmt.Sprintf("large attachment %d;", i)), (5<<19)/20)
				if ps[j].big, ps[j].bigSize, err = s.PutBlob(bytes.NewReader(b)); err != nil {
					t.Fatal(err)
				}
				large[ps[j].big] = b
			}
		}
		err := s.Update(ctx, func(tx store.Tx) error {
			for j, p := range ps {
				i := first + j
				num, err := tx.NextTicketNumber("ACME")
				if err != nil {
					return err
				}
				key := store.TicketKey("ACME", num)
				at := base.Add(time.Duration(i) * time.Minute)
				from := fmt.Sprintf("customer%d@customer.example", i%700)
				tk := &store.Ticket{Key: key, Project: "ACME", Number: num, Subject: fmt.Sprintf("question %d", i), Status: "new",
					Reporter: from, Created: at, Updated: at, Messages: 1,
					Participants: []store.Participant{{Address: from, Added: at}}}
				m := &store.Message{Ticket: key, Project: "ACME", Direction: "in", Kind: "request", Source: "smtp", From: from,
					MessageID: fmt.Sprintf("q%d@customer.example", i), Received: at, Text: fmt.Sprintf("Please help with %d.", i), Raw: p.raw,
					Attach: []store.Attachment{{Filename: fmt.Sprintf("doc%d.pdf", i%20), ContentType: "application/pdf", Size: 30, Blob: shared[i%20]}}}
				if p.big != "" {
					m.Attach = append(m.Attach, store.Attachment{Filename: "scan.tiff", ContentType: "image/tiff", Size: p.bigSize, Blob: p.big})
				}
				if err := tx.AddMessage(m); err != nil {
					return err
				}
				if err := tx.IndexMessageID("ACME", m.MessageID, fmt.Sprintf("h%d", i), store.MessageRef{Ticket: key, Message: m.ID}); err != nil {
					return err
				}
				if err := tx.AddEvent(&store.Event{Ticket: key, Time: at, Kind: store.EvRequestCreated, Actor: from, Message: m.ID}); err != nil {
					return err
				}
				if err := tx.PutToken(&store.Token{Token: fmt.Sprintf("link%d", i), Kind: store.TokenLink, Project: "ACME", Ticket: key, Recipient: from, Created: at}); err != nil {
					return err
				}
				if i%10 == 0 {
					r := &store.Message{Ticket: key, Project: "ACME", Direction: "out", Kind: "comment", Source: "smtp", From: "alice@example.com",
						Received: at.Add(time.Hour), Text: "Fixed it.", Attach: []store.Attachment{{Filename: "fix.pdf", ContentType: "application/pdf", Size: 30, Blob: shared[(i+1)%20]}}}
					if err := tx.AddMessage(r); err != nil {
						return err
					}
					if err := tx.AddEvent(&store.Event{Ticket: key, Time: at.Add(time.Hour), Kind: store.EvAgentCommentAdded, Actor: "alice@example.com", Message: r.ID}); err != nil {
						return err
					}
					if err := tx.AddEvent(&store.Event{Ticket: key, Time: at.Add(time.Hour), Kind: store.EvStatusChanged, Actor: "alice@example.com", OldStatus: "new", NewStatus: "resolved"}); err != nil {
						return err
					}
					tk.Status, tk.Messages, tk.Assignee = "resolved", 2, "alice@example.com"
				}
				if err := tx.PutTicket(tk); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return large
}

// showAll renders `ticketgate show` (printTicket, the command's own text
// form) for every ticket of the store in dir or of the PostgreSQL
// database.
func showAll(t *testing.T, s store.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := s.View(func(tx store.Tx) error {
		var keys []string
		if err := tx.ForEachTicket("", func(tk *store.Ticket) bool { keys = append(keys, tk.Key); return true }); err != nil {
			return err
		}
		for _, k := range keys {
			d := &admin.TicketDetail{}
			var err error
			if d.Ticket, err = tx.Ticket(k); err != nil {
				return err
			}
			if d.Messages, err = tx.TicketMessages(k); err != nil {
				return err
			}
			if d.Events, err = tx.Events(k); err != nil {
				return err
			}
			var b strings.Builder
			printTicket(&b, d)
			out[k] = b.String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// addNewerKinds writes one record of each kind added after the copy was
// first written (drafts, desk, offers, ratings, PGP keys, webhook
// deliveries), and a session, which the copy leaves behind.
func addNewerKinds(t *testing.T, dir string) {
	t.Helper()
	s, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	err = s.Update(context.Background(), func(tx store.Tx) error {
		n, err := tx.NextDraftNumber("ACME")
		if err != nil {
			return err
		}
		for _, e := range []error{
			tx.PutDraft(&store.Draft{Key: fmt.Sprintf("ACME-D%d", n), Project: "ACME", Number: n, Sender: "new@customer.example", Subject: "held", Created: now, Expires: now.Add(time.Hour)}),
			tx.PutSignIn(&store.SignIn{Hash: "signin", Agent: "alice@example.com", Created: now, Expires: now.Add(time.Hour)}),
			tx.PutSession(&store.Session{Hash: "session", Agent: "alice@example.com", Created: now, LastSeen: now}),
			tx.PutOffer(&store.Offer{Ticket: "ACME-1", Project: "ACME", Round: 1, Started: now, Due: now.Add(time.Minute)}),
			tx.PutRating(&store.Rating{Project: "ACME", Ticket: "ACME-1", Customer: "c@customer.example", Score: 5, Scale: 5, Created: now, Updated: now}),
			tx.PutPGPProjectKey(&store.PGPProjectKey{Project: "ACME", Armored: "secret", Fingerprint: "AB", Created: now}),
			tx.PutPGPKey(&store.PGPKey{Address: "c@customer.example", Updated: now}),
			tx.EnqueueHook(&store.HookItem{EventID: "e1", Project: "ACME", Ticket: "ACME-1", Hook: "chat", Format: "json", Kind: store.EvRequestCreated,
				Time: now, Created: now, NextAttempt: now}),
		} {
			if e != nil {
				return e
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStoreCopyRoundTrip: `ticketgate store copy` moves a bbolt store of
// 10,000 tickets with attachments to PostgreSQL and from there to a new
// bbolt store; `show` prints the same for every ticket at the end as at
// the start, the large attachments come back byte for byte, check-store
// passes on both copies, and a second copy into a store that is no longer
// empty is refused.
func TestStoreCopyRoundTrip(t *testing.T) {
	srv := pgtest.Start(t)
	root := t.TempDir()
	dirs := map[string]string{}
	for _, name := range []string{"a", "pg", "c"} {
		dirs[name] = filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Join(dirs[name], "data"), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	dsnFile := filepath.Join(root, "pg.dsn")
	if err := os.WriteFile(dsnFile, []byte(srv.Database(t, "copy")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgA := writeConfig(t, dirs["a"], "")
	cfgPG := writeConfig(t, dirs["pg"], "store:\n  driver: postgres\n  postgres:\n    dsn_file: "+dsnFile+"\n")
	cfgC := writeConfig(t, dirs["c"], "")
	large := buildCopySource(t, filepath.Join(dirs["a"], "data"), copyTickets)
	addNewerKinds(t, filepath.Join(dirs["a"], "data"))

	a, err := store.Open(filepath.Join(dirs["a"], "data"), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	want := showAll(t, a)
	a.Close()
	if len(want) != copyTickets {
		t.Fatalf("%d tickets in the source", len(want))
	}

	for _, step := range [][2]string{{cfgA, cfgPG}, {cfgPG, cfgC}} {
		code, stdout, stderr := runCmd([]string{"store", "copy", "--from", step[0], "--to", step[1]}, "")
		if code != exitOK {
			t.Fatalf("store copy %s → %s: exit %d\n%s%s", step[0], step[1], code, stdout, stderr)
		}
		t.Logf("store copy:\n%s", stdout)
		wants := []string{"copying records", "copying blobs", "verifying", fmt.Sprintf("tickets:         %d", copyTickets), "every hash checked"}
		for _, k := range []store.RecordKind{store.RecDraftSeq, store.RecDraft, store.RecDeskSignIn, store.RecOffer, store.RecRating,
			store.RecPGPProjectKey, store.RecPGPKey, store.RecHook} {
			wants = append(wants, fmt.Sprintf("  %-16s 1\n", k.String()+":"))
		}
		if step[0] == cfgA {
			// The source's session stays behind, and the command says so.
			wants = append(wants, "not copied: desk_sessions (desk sessions are not copied: agents sign in again)")
		}
		for _, w := range wants {
			if !strings.Contains(stdout, w) {
				t.Errorf("store copy output lacks %q:\n%s", w, stdout)
			}
		}
		if code, stdout, stderr := runCmd([]string{"check-store", "-c", step[1]}, ""); code != exitOK {
			t.Errorf("check-store on the copy: exit %d\n%s%s", code, stdout, stderr)
		}
	}

	c, err := store.Open(filepath.Join(dirs["c"], "data"), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	got := showAll(t, c)
	differ := 0
	for k, w := range want {
		if got[k] != w {
			if differ++; differ <= 3 {
				t.Errorf("show %s after bbolt → PostgreSQL → bbolt:\n%s\nwant:\n%s", k, got[k], w)
			}
		}
	}
	if differ > 0 || len(got) != len(want) {
		t.Fatalf("%d of %d tickets show differently; %d tickets after the round trip", differ, len(want), len(got))
	}
	for h, b := range large {
		f, err := c.OpenBlob(h)
		if err != nil {
			t.Fatal(err)
		}
		back, _ := io.ReadAll(f)
		f.Close()
		if !bytes.Equal(back, b) {
			t.Errorf("large attachment %s: %d bytes back, want %d", h, len(back), len(b))
		}
	}
	c.Close()

	code, _, stderr := runCmd([]string{"store", "copy", "--from", cfgA, "--to", cfgC}, "")
	if code != exitConfig || !strings.Contains(stderr, "not empty") {
		t.Errorf("copy into a store with tickets: exit %d: %s", code, stderr)
	}
}
