package storecopy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	bolt "go.etcd.io/bbolt"

	"github.com/ticketgate/ticketgate/internal/pgtest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/postgres"
	"github.com/ticketgate/ticketgate/store/storecopy"
)

// fill writes records of every kind the neutral form knows into s, and
// one outbox item and one message that are gone again (their ids must
// not be handed out twice after a copy).
func fill(t *testing.T, s store.DB) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	att, _, err := s.PutBlob(strings.NewReader("%PDF attachment shared by every ticket"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		raw, _, err := s.PutBlob(strings.NewReader(fmt.Sprintf("Message-ID: <m%d@customer.example>\r\n\r\nbody %d\r\n", i, i)))
		if err != nil {
			t.Fatal(err)
		}
		project := []string{"ACME", "BETA"}[i%2]
		err = s.Update(ctx, func(tx store.Tx) error {
			n, err := tx.NextTicketNumber(project)
			if err != nil {
				return err
			}
			key := store.TicketKey(project, n)
			if err := tx.PutTicket(&store.Ticket{Key: key, Project: project, Number: n, Subject: fmt.Sprintf("question %d", i), Status: "new",
				Reporter: fmt.Sprintf("c%d@customer.example", i), Created: now, Updated: now, Messages: 1}); err != nil {
				return err
			}
			m := &store.Message{Ticket: key, Project: project, Direction: "in", Kind: "request", From: fmt.Sprintf("c%d@customer.example", i),
				MessageID: fmt.Sprintf("m%d@customer.example", i), Received: now, Text: "body", Raw: raw,
				Attach: []store.Attachment{{Filename: "a.pdf", ContentType: "application/pdf", Size: 38, Blob: att}}}
			if err := tx.AddMessage(m); err != nil {
				return err
			}
			if err := tx.IndexMessageID(project, m.MessageID, "hash", store.MessageRef{Ticket: key, Message: m.ID}); err != nil {
				return err
			}
			if err := tx.IndexMessageID(project, fmt.Sprintf("out%d@support.example", i), "", store.MessageRef{Ticket: key, Outbound: true}); err != nil {
				return err
			}
			if err := tx.AddEvent(&store.Event{Ticket: key, Time: now, Kind: store.EvRequestCreated, Actor: m.From, Message: m.ID}); err != nil {
				return err
			}
			if err := tx.PutToken(&store.Token{Token: fmt.Sprintf("tok%d", i), Kind: store.TokenLink, Project: project, Ticket: key, Recipient: m.From, Created: now}); err != nil {
				return err
			}
			if err := tx.Enqueue(&store.OutboxItem{Project: project, Ticket: key, Event: "customer/request_created", Recipient: m.From,
				MessageID: fmt.Sprintf("out%d@support.example", i), Created: now, NextAttempt: now.Add(time.Duration(i) * time.Minute)}); err != nil {
				return err
			}
			if err := tx.AddAudit(&store.AuditEvent{MessageID: m.MessageID, Time: now, Type: store.AuditReceived, Project: project, Ticket: key}); err != nil {
				return err
			}
			if i != 5 {
				return nil
			}
			// On bbolt one record (a group) holds both.
			return tx.AddAudit(&store.AuditEvent{MessageID: m.MessageID, Time: now, Type: store.AuditNewTicket, Project: project, Ticket: key, Rule: "new"})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	err = s.Update(ctx, func(tx store.Tx) error {
		if err := tx.SetMeta("web_secret", []byte("0123456789abcdef0123456789abcdef")); err != nil {
			return err
		}
		if err := tx.SetState("imported", map[string]int{"n": 3}); err != nil {
			return err
		}
		if err := tx.Suppress(&store.Suppression{Address: "bounce@customer.example", Until: now.Add(time.Hour), Reason: "bounced", Created: now}); err != nil {
			return err
		}
		for range 3 {
			if err := tx.RateAdd("new-ticket ACME envelope c1@customer.example", time.Hour, now); err != nil {
				return err
			}
		}
		if err := tx.Block(&store.Block{Project: "ACME", Address: "spam@evil.example", By: "alice@example.com", Created: now}); err != nil {
			return err
		}
		if err := tx.PutOrganization(&store.Organization{Project: "ACME", Name: "Customer Inc", Domains: []string{"customer.example"}, Created: now}); err != nil {
			return err
		}
		if err := tx.SetIMAPCursor("ACME imap.example alice INBOX", store.IMAPCursor{UIDValidity: 7, LastUID: 40}); err != nil {
			return err
		}
		if err := tx.PutIMAPAttempt("ACME imap.example alice INBOX", 7, 42, store.IMAPAttempt{Attempts: 2, Done: true}); err != nil {
			return err
		}
		// Issue 17: a draft with its own number (and a blob of its held
		// mail), issue 22: a sign-in link and a session (not copied), the
		// search cursor of a node (not copied).
		dn, err := tx.NextDraftNumber("ACME")
		if err != nil {
			return err
		}
		if err := tx.PutDraft(&store.Draft{Key: fmt.Sprintf("ACME-D%d", dn), Project: "ACME", Number: dn, Sender: "new@customer.example",
			Subject: "held", Missing: "organization", Created: now, Expires: now.Add(24 * time.Hour),
			Mails: []store.Message{{Project: "ACME", Direction: "in", Kind: "request", From: "new@customer.example", Received: now, Raw: att}}}); err != nil {
			return err
		}
		// An accepted draft: gone, but the ticket it became is kept.
		if err := tx.MarkDraftAccepted("BETA-D7", "ACME-1"); err != nil {
			return err
		}
		if err := tx.PutSignIn(&store.SignIn{Hash: "signin-hash", Agent: "alice@example.com", Browser: "browser-hash", Created: now, Expires: now.Add(15 * time.Minute)}); err != nil {
			return err
		}
		if err := tx.PutSession(&store.Session{Hash: "session-hash", Agent: "alice@example.com", Created: now, LastSeen: now}); err != nil {
			return err
		}
		if err := tx.SetSearchCursor("node-a", 5); err != nil {
			return err
		}
		// Issue 18: an offer waiting for its agents (in the due order),
		// one that ended, a rating, webhook deliveries.
		if err := tx.PutOffer(&store.Offer{Ticket: "ACME-1", Project: "ACME", Round: 1, Started: now, Due: now.Add(10 * time.Minute),
			Agents: []store.OfferAgent{{Address: "alice@example.com", State: store.OfferOpen, Offered: now, Due: now.Add(10 * time.Minute)}}}); err != nil {
			return err
		}
		if err := tx.PutOffer(&store.Offer{Ticket: "BETA-2", Project: "BETA", Round: 1, Started: now, TakenBy: "bob@example.com", Ended: now, End: "taken",
			Agents: []store.OfferAgent{{Address: "bob@example.com", State: store.OfferTaken, Offered: now, Answered: now}}}); err != nil {
			return err
		}
		if err := tx.PutRating(&store.Rating{Project: "ACME", Ticket: "ACME-1", Customer: "c0@customer.example", Score: 4, Scale: 5, Comment: "quick", Created: now, Updated: now.Add(time.Minute)}); err != nil {
			return err
		}
		for i := range 3 {
			if err := tx.EnqueueHook(&store.HookItem{EventID: fmt.Sprintf("ev%d", i), Project: "ACME", Ticket: "ACME-1", Hook: "chat", Format: "json",
				Kind: store.EvRequestCreated, Time: now, Created: now, NextAttempt: now.Add(time.Duration(i+1) * time.Minute)}); err != nil {
				return err
			}
		}
		// The last delivery was made: its id stays used.
		if _, err := tx.DequeueHook(3); err != nil {
			return err
		}
		// Issue 19: a project's key and an address's keys.
		if err := tx.PutPGPProjectKey(&store.PGPProjectKey{Project: "ACME", Armored: "-----BEGIN PGP PRIVATE KEY BLOCK-----\nx\n-----END PGP PRIVATE KEY BLOCK-----\n", Fingerprint: "ABCD", Created: now}); err != nil {
			return err
		}
		if err := tx.PutPGPKey(&store.PGPKey{Address: "c0@customer.example", Verified: &store.PGPPublicKey{Armored: "pub", Fingerprint: "EF01", Source: "autocrypt", Seen: now},
			Updated: now}); err != nil {
			return err
		}
		// Issue 21: an agent's digest choice and the day of their last
		// digest.
		if err := tx.PutDigestPref(&store.DigestPref{Agent: "alice@example.com", Mode: store.DigestOn, At: "07:30", Updated: now}); err != nil {
			return err
		}
		if err := tx.PutDigestMark(&store.DigestMark{Agent: "alice@example.com", Day: "2026-12-03", At: now}); err != nil {
			return err
		}
		// The last outbox item was sent: its id stays used.
		ids, _, err := tx.DueIDs(now.Add(time.Hour), 100)
		if err != nil {
			return err
		}
		_, err = tx.Dequeue(ids[len(ids)-1])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// export lists a store's records as digests, sorted.
func export(t *testing.T, s store.DB) [][32]byte {
	t.Helper()
	var out [][32]byte
	var last store.RecordKind
	err := s.(store.Copier).ExportRecords(func(r *store.Record) error {
		if r.Kind < last {
			t.Errorf("%T exports %s after %s: not in the order of RecordKinds", s, r.Kind, last)
		}
		last = r.Kind
		if r.Kind == store.RecMeta && r.Key != "web_secret" {
			return nil // the target's own values (schema …) are not copied
		}
		out = append(out, r.Digest())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b [32]byte) int { return strings.Compare(string(a[:]), string(b[:])) })
	return out
}

func check(t *testing.T, s store.DB) {
	t.Helper()
	var problems []string
	if err := s.Check(context.Background(), func(p store.Problem) { problems = append(problems, p.String()) }); err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Errorf("check after the copy: %v", problems)
	}
}

// TestCopyRoundTrip: a bbolt store with records of every kind goes to
// PostgreSQL and back to a new bbolt store; all three export the same
// records, both copies pass their consistency check, every blob is there
// with its content, and ids keep counting where the source stopped (an
// outbox item sent before the copy does not get its id reused).
func TestCopyRoundTrip(t *testing.T) {
	srv := pgtest.Start(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	a, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	fill(t, a)
	pg, err := postgres.Open(ctx, srv.Database(t, "copy"), t.TempDir(), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	var stages []storecopy.Stage
	rep, err := storecopy.Copy(ctx, a, pg, storecopy.Options{Batch: 7, Progress: func(s storecopy.Stage, done, total int64) {
		if len(stages) == 0 || stages[len(stages)-1] != s {
			stages = append(stages, s)
		}
		if total > 0 && done > total {
			t.Errorf("%s: %d of %d", s, done, total)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []storecopy.Stage{storecopy.StageCount, storecopy.StageRecords, storecopy.StageBlobs, storecopy.StageVerify}; !slices.Equal(stages, want) {
		t.Errorf("stages %v, want %v", stages, want)
	}
	if rep.Records[store.RecTicket].Count != 12 || rep.Blobs != 13 {
		t.Errorf("report: %d tickets, %d blobs; want 12 and 13", rep.Records[store.RecTicket].Count, rep.Blobs)
	}
	for _, k := range store.RecordKinds() {
		if rep.Records[k].Count == 0 {
			t.Errorf("no %s in the source: the test does not cover the kind", k)
		}
	}
	c, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := storecopy.Copy(ctx, pg, c, storecopy.Options{}); err != nil {
		t.Fatal(err)
	}
	want := export(t, a)
	for name, s := range map[string]store.DB{"postgres": pg, "bbolt again": c} {
		if got := export(t, s); !slices.Equal(got, want) {
			t.Errorf("%s: %d records differ from the source's %d", name, len(got), len(want))
		}
		check(t, s)
	}
	// Content, not just presence: a raw mail read back from the end of
	// the round trip.
	var m *store.Message
	c.View(func(tx store.Tx) error { m, err = tx.Message(1); return err })
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.OpenBlob(m.Raw)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if !strings.Contains(string(b), "body 0") {
		t.Errorf("raw mail after the round trip: %q", b)
	}
	// Ids go on from the source's sequences, not from the highest row.
	for name, s := range map[string]store.DB{"postgres": pg, "bbolt again": c} {
		var id uint64
		err := s.Update(ctx, func(tx store.Tx) error {
			it := &store.OutboxItem{Project: "ACME", Event: "x", Recipient: "x@example.com", MessageID: "x@support.example", NextAttempt: time.Now()}
			if err := tx.Enqueue(it); err != nil {
				return err
			}
			id = it.ID
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// PostgreSQL sequences are not transactional: a rehearsed run
		// (RunTwice) uses up an id, so only "above 12" is certain.
		if id <= 12 {
			t.Errorf("%s: next outbox id %d, want above 12 (12 were handed out, the 12th already sent)", name, id)
		}
	}
	// What the copy derives and what it leaves behind, on both targets.
	if len(rep.NotCopied) != 2 || rep.NotCopied[0].Name != "desk_sessions" || rep.NotCopied[1].Name != "search_cursor" {
		t.Errorf("not copied: %+v, want desk_sessions and search_cursor", rep.NotCopied)
	}
	for name, s := range map[string]store.DB{"postgres": pg, "bbolt again": c} {
		err := s.Update(ctx, func(tx store.Tx) error {
			due, _, err := tx.DueOffers(now.Add(time.Hour), 10)
			if err != nil {
				return err
			}
			if !slices.Equal(due, []string{"ACME-1"}) {
				t.Errorf("%s: due offers %v, want [ACME-1]", name, due)
			}
			hooks, _, err := tx.DueHookIDs(now.Add(time.Hour), 10)
			if err != nil {
				return err
			}
			if !slices.Equal(hooks, []uint64{1, 2}) {
				t.Errorf("%s: due webhook deliveries %v, want [1 2]", name, hooks)
			}
			evs, err := tx.EventsAfter(0, 100)
			if err != nil {
				return err
			}
			if len(evs) != 12 {
				t.Errorf("%s: the search feed has %d events, want 12", name, len(evs))
			}
			// bbolt writes audit bodies in their compact form,
			// PostgreSQL JSON; each reads what the copy brought.
			ev, err := tx.Audit("<m3@Customer.Example>")
			if err != nil || len(ev) != 1 || ev[0].Type != store.AuditReceived || ev[0].MessageID != "m3@customer.example" ||
				ev[0].Ticket != "BETA-2" || !ev[0].Time.Equal(now) || ev[0].Seq == 0 {
				t.Errorf("%s: audit of m3 after the copy: %+v %v", name, ev, err)
			}
			ev, err = tx.Audit("m5@customer.example")
			if err != nil || len(ev) != 2 || ev[0].Type != store.AuditReceived || ev[1].Type != store.AuditNewTicket || ev[1].Rule != "new" ||
				ev[1].Ticket != "BETA-3" || ev[1].Seq <= ev[0].Seq {
				t.Errorf("%s: audit of m5 (a group on bbolt) after the copy: %+v %v", name, ev, err)
			}
			if _, err := tx.Session("session-hash"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: session after the copy: %v, want ErrNotFound (agents sign in again)", name, err)
			}
			if _, ok, err := tx.SearchCursor("node-a"); err != nil || ok {
				t.Errorf("%s: search cursor after the copy: %v %v, want none (per node)", name, ok, err)
			}
			si, err := tx.TakeSignIn("signin-hash")
			if err != nil || si.Agent != "alice@example.com" {
				t.Errorf("%s: sign-in link after the copy: %+v %v", name, si, err)
			}
			if d, err := tx.DraftOf("ACME", "new@customer.example"); err != nil || d == nil || d.Number != 1 {
				t.Errorf("%s: the sender's draft after the copy: %+v %v", name, d, err)
			}
			// Numbers go on where the source stopped.
			dn, err := tx.NextDraftNumber("ACME")
			if err != nil {
				return err
			}
			if dn != 2 {
				t.Errorf("%s: next draft number %d, want 2", name, dn)
			}
			it := &store.HookItem{EventID: "x", Project: "ACME", Hook: "chat", Format: "json", Kind: store.EvRequestCreated, Time: now, Created: now, NextAttempt: now}
			if err := tx.EnqueueHook(it); err != nil {
				return err
			}
			if it.ID <= 3 {
				t.Errorf("%s: next webhook delivery id %d, want above 3 (3 were handed out, the 3rd already made)", name, it.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A copy goes into an empty store only.
	if _, err := storecopy.Copy(ctx, a, c, storecopy.Options{}); !errors.Is(err, storecopy.ErrNotEmpty) {
		t.Errorf("copy into a store with records: %v, want ErrNotEmpty", err)
	}
}

// TestCopyRefusesUnknown: a source with rows in a bucket or table that
// store.CopyCoverage does not know (a newer version's, or one someone
// forgot to classify) is refused by name before anything is written.
func TestCopyRefusesUnknown(t *testing.T) {
	srv := pgtest.Start(t)
	ctx := context.Background()
	dir := t.TempDir()
	a, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, a)
	a.Close()
	bdb, err := bolt.Open(filepath.Join(dir, "ticketgate.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(btx *bolt.Tx) error {
		b, err := btx.CreateBucket([]byte("mystery"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	a, err = store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	dsn := srv.Database(t, "unknown")
	pg, err := postgres.Open(ctx, dsn, t.TempDir(), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	_, err = storecopy.Copy(ctx, a, pg, storecopy.Options{})
	if !errors.Is(err, storecopy.ErrUnknown) || !strings.Contains(err.Error(), "mystery") {
		t.Fatalf("copy of a source with an unknown bucket: %v, want ErrUnknown naming it", err)
	}
	if got := export(t, pg); len(got) != 0 {
		t.Errorf("the refused copy wrote %d records", len(got))
	}

	// The same from PostgreSQL: a table of its own.
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE mystery_pg (k text); INSERT INTO mystery_pg VALUES ('x')"); err != nil {
		t.Fatal(err)
	}
	c, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = storecopy.Copy(ctx, pg, c, storecopy.Options{})
	if !errors.Is(err, storecopy.ErrUnknown) || !strings.Contains(err.Error(), "mystery_pg") {
		t.Fatalf("copy of a source with an unknown table: %v, want ErrUnknown naming it", err)
	}
}
