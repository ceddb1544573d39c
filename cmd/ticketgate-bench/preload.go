package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// PreloadOptions say what to build.
type PreloadOptions struct {
	DataDir string
	N       int
	Project string
	Address string // the project's address (its domain goes into our Message-IDs)
	Agent   string
	// Batch is how many tickets share one transaction.
	Batch    int
	Progress func(done int, elapsed time.Duration)
}

// PreloadResult is what was built.
type PreloadResult struct {
	Tickets        int     `json:"tickets"`
	Messages       int     `json:"messages"`
	ElapsedSec     float64 `json:"elapsed_s"`
	TicketsPerSec  float64 `json:"tickets_per_s"`
	DBBytes        int64   `json:"db_bytes"`
	BytesPerTicket float64 `json:"db_bytes_per_ticket"`
	First          string  `json:"first_ticket,omitempty"`
	Last           string  `json:"last_ticket,omitempty"`
}

// PreloadMessageID is the Message-ID of ticket n's request (the tests and a
// user can reply to it).
func PreloadMessageID(project string, n uint64) string {
	return fmt.Sprintf("preload-%s-%d@customer.example", strings.ToLower(project), n)
}

// PreloadSender is the reporter of ticket n.
func PreloadSender(n uint64) string {
	return fmt.Sprintf("p%d@customer-%d.example", n, n%977)
}

// newToken makes a reply/link token as the daemon would have at t.
func newToken(t time.Time) string { return notify.TokenAt(t) }

// Preload builds tickets offline (the daemon must be stopped: bbolt holds
// an exclusive lock) through the store's own API, so every record and index
// is what the daemon writes: per ticket the ticket, its request message, the
// Message-ID index entry (with a content hash), the request_created event,
// a reply and a link token for the reporter with our Message-ID in the
// index; every third ticket also an agent's answer (outbound message, its
// Message-ID, an event) and status open, every sixth closed two hours
// later; every ticket has response-target clocks (paused while open, done
// when answered or closed: what `ticketgate report` reads). Raw blobs are not written (the
// messages look as after retention removed them), which keeps the tool
// fast and the figure about the bbolt file. fsync happens once, at the
// end: a crash midway leaves a store to throw away.
func Preload(ctx context.Context, o PreloadOptions) (*PreloadResult, error) {
	if o.Batch <= 0 {
		o.Batch = 5000
	}
	s, err := store.Open(o.DataDir, store.Options{NoSync: true, MaxBatch: 1})
	if err != nil {
		return nil, err
	}
	domain := o.Address[strings.LastIndexByte(o.Address, '@')+1:]
	res := &PreloadResult{}
	start := time.Now()
	base := start.Add(-time.Duration(o.N) * time.Minute).UTC()
	for done := 0; done < o.N; {
		if err := ctx.Err(); err != nil {
			s.Close()
			return nil, err
		}
		count := min(o.Batch, o.N-done)
		var msgs int
		var first, last string
		err := s.Update(ctx, func(tx store.Tx) error {
			msgs, first, last = 0, "", ""
			for i := range count {
				prev, err := tx.LastTicketNumber(o.Project)
				if err != nil {
					return err
				}
				n := prev + 1
				k, err := preloadTicket(tx, o, domain, n, base.Add(time.Duration(done+i)*time.Minute))
				if err != nil {
					return err
				}
				msgs += k
				if first == "" {
					first = store.TicketKey(o.Project, n)
				}
				last = store.TicketKey(o.Project, n)
			}
			return nil
		})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("preload: %w", err)
		}
		if res.First == "" {
			res.First = first
		}
		res.Last = last
		done += count
		res.Tickets += count
		res.Messages += msgs
		if o.Progress != nil {
			o.Progress(done, time.Since(start))
		}
	}
	if err := s.Close(); err != nil {
		return nil, err
	}
	// NoSync skipped every fsync: make the whole file durable once.
	db := filepath.Join(o.DataDir, "ticketgate.db")
	if f, err := os.OpenFile(db, os.O_RDWR, 0); err == nil {
		err = f.Sync()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("preload: sync: %w", err)
		}
	}
	res.ElapsedSec = time.Since(start).Seconds()
	res.TicketsPerSec = float64(res.Tickets) / res.ElapsedSec
	if fi, err := os.Stat(db); err == nil {
		res.DBBytes = fi.Size()
		res.BytesPerTicket = float64(res.DBBytes) / float64(res.Tickets)
	}
	return res, nil
}

func preloadTicket(tx store.Tx, o PreloadOptions, domain string, n uint64, at time.Time) (int, error) {
	key := store.TicketKey(o.Project, n)
	sender := PreloadSender(n)
	subject := fmt.Sprintf("Preloaded request %d: %s", n, strings.TrimSuffix(sentences[n%uint64(len(sentences))], "."))
	text := fmt.Sprintf("Hello,\n\n%s\n%s\n%s\n\nTicket %d of the preload.\n\nRegards\nCustomer %d\n",
		sentences[n%7], sentences[(n/7)%uint64(len(sentences))], sentences[(n/3)%uint64(len(sentences))], n, n)
	t := &store.Ticket{Key: key, Project: o.Project, Number: n, Subject: subject, Status: "new", Priority: "normal",
		Reporter: sender, ReporterName: fmt.Sprintf("Customer %d", n), Language: "en", Created: at, Updated: at, Messages: 1,
		// Response-target clocks (issue 21), kept paused on open tickets
		// so that a daemon started on the store announces no breaches.
		FirstResponse: &store.Clock{Budget: 4 * time.Hour}, Resolution: &store.Clock{Budget: 30 * time.Hour}}
	msgID := PreloadMessageID(o.Project, n)
	sum := sha256.Sum256([]byte(msgID + text))
	hash := hex.EncodeToString(sum[:])
	m := &store.Message{Ticket: key, Project: o.Project, Direction: "in", Kind: "request", Source: "smtp",
		MailFrom: sender, From: sender, FromName: t.ReporterName, To: []string{o.Address}, Subject: subject,
		MessageID: msgID, Date: at, Received: at, Text: text, ThreadedBy: "new", RawSize: int64(len(text) + 400)}
	msgs := []ticket.Imported{{Message: m, Hash: hash, Event: store.EvRequestCreated, Actor: sender}}
	reply := &store.Token{Token: newToken(at), Kind: store.TokenReply, Project: o.Project, Ticket: key, Recipient: sender, Created: at}
	link := &store.Token{Token: newToken(at), Kind: store.TokenLink, Project: o.Project, Ticket: key, Recipient: sender, Created: at, Expires: at.Add(180 * 24 * time.Hour)}
	for _, tok := range []*store.Token{reply, link} {
		if err := tx.PutToken(tok); err != nil {
			return 0, err
		}
	}
	replyID := "tg." + reply.Token + "@" + domain
	delivered := &store.Event{Time: at, Kind: store.EvDelivered, MessageID: replyID, Recipient: sender, Template: "customer/request_created", Attempt: 1}
	if n%3 == 0 && o.Agent != "" {
		later := at.Add(30 * time.Second)
		answer := &store.Message{Ticket: key, Project: o.Project, Direction: "out", Kind: "comment", Source: "smtp",
			From: o.Agent, To: []string{sender}, Subject: "Re: [" + key + "] " + subject,
			MessageID: "tg." + newToken(later) + "@" + domain, Date: later, Received: later,
			Text: "Hello,\n\nthank you, we are looking into it and will come back to you today.\n\nBest regards\nSupport\n"}
		msgs = append(msgs, ticket.Imported{Message: answer, Event: store.EvAgentCommentAdded, Actor: o.Agent})
		t.Status, t.Updated, t.Messages, t.Assignee = "open", later, 2, o.Agent
		t.FirstResponse.Done, t.FirstResponse.Took = later, later.Sub(at)
		if n%6 == 0 {
			// Closed two hours after the answer: a resolution to report.
			closed := later.Add(2 * time.Hour)
			t.Status, t.Closed, t.Updated = "closed", closed, closed
			t.Resolution.Done, t.Resolution.Took = closed, closed.Sub(at)
		}
	}
	return len(msgs), ticket.Import(tx, t, msgs, []string{replyID}, []*store.Event{delivered})
}
