package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/daemon"
	"github.com/ticketgate/ticketgate/store"
)

// benchDaemon starts an in-process daemon on loopback :0 ports configured
// like bench.yaml: outbound mail to sink, limits lifted, From believed.
func benchDaemon(t *testing.T, dataDir string, sink *Sink) *daemon.Daemon {
	t.Helper()
	c := config.Default()
	c.DataDir = dataDir
	c.Inbound.SMTP.Listen = "127.0.0.1:0"
	c.Inbound.LMTP.Listen = "127.0.0.1:0"
	c.Web.Listen = "127.0.0.1:0"
	c.Web.BaseURL = "http://ticketgate.test"
	c.Outbound.Transport = "smtp"
	c.Outbound.SMTP.Host = sink.Host()
	c.Outbound.SMTP.Port = sink.Port()
	c.Outbound.SMTP.Timeout = 5 * time.Second
	c.Outbound.Retry = config.RetryOptions{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond, GiveUpAfter: time.Hour}
	c.TrustFrom = true
	c.Limits.AutoPerRecipient.Count = 1 << 30
	c.Limits.AutoPerTicket.Count = 1 << 30
	c.Limits.AutoPerProject.Count = 1 << 30
	c.Limits.NewTicketsPerSender.Count = 1 << 30
	c.Projects = []config.Project{{Key: "ACME", Name: "Acme Support", Address: "acme@support.example.com",
		Agents: []string{"alice@example.com"}, Notifications: config.DefaultNotifications()}}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Start(c, slog.New(slog.DiscardHandler), daemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func startSink(t *testing.T) *Sink {
	t.Helper()
	s, err := StartSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openStore opens a stopped daemon's store read-only.
func openStore(t *testing.T, dir string) store.DB {
	t.Helper()
	s, err := store.Open(dir, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// threading counts the stored inbound messages by the rule that placed
// them, and the tickets.
func threading(t *testing.T, s store.DB) (map[string]int, int) {
	t.Helper()
	rules := map[string]int{}
	tickets := 0
	err := s.View(func(tx store.Tx) error {
		return tx.ForEachTicket("ACME", func(tk *store.Ticket) bool {
			tickets++
			msgs, err := tx.TicketMessages(tk.Key)
			if err != nil {
				t.Error(err)
				return false
			}
			for _, m := range msgs {
				if m.Direction == "in" {
					rules[m.ThreadedBy]++
				}
			}
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return rules, tickets
}

// A short run against a real daemon (SMTP and LMTP): every message is
// accepted, every new request's auto-reply reaches the sink and is matched,
// the figures are filled in, and the store shows the mix threaded as meant:
// one ticket per new request, replies in theirs.
func TestRunAgainstDaemon(t *testing.T) {
	dir := t.TempDir()
	sink := startSink(t)
	d := benchDaemon(t, dir, sink)
	mix, err := ParseMix("new=40,reply=15,subject=10,token=15,agent=10,auto=5,bounce=5")
	if err != nil {
		t.Fatal(err)
	}
	const n = 400
	rep, err := Run(t.Context(), Options{SMTP: d.Addr("smtp"), LMTP: d.Addr("lmtp"), Conns: 6, N: n, Mix: mix,
		Address: "acme@support.example.com", Agent: "alice@example.com", Sink: sink, Wait: 30 * time.Second,
		PID: os.Getpid(), DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("report: %+v", rep)
	if rep.Sent != n || rep.Accepted != n || rep.TempFailed+rep.PermFailed+rep.ConnErrors != 0 {
		t.Fatalf("sent %d, accepted %d, refused %d/%d, conn errors %d; errors: %v", rep.Sent, rep.Accepted, rep.TempFailed, rep.PermFailed, rep.ConnErrors, rep.Errors)
	}
	for _, k := range allKinds {
		if rep.SentByKind[k] == 0 {
			t.Errorf("no %s message in the mix: %v", k, rep.SentByKind)
		}
	}
	if rep.AutoExpected != rep.SentByKind[kindNew] || rep.AutoMatched != rep.AutoExpected {
		t.Errorf("auto-replies matched %d of %d, new requests sent %d; %v", rep.AutoMatched, rep.AutoExpected, rep.SentByKind[kindNew], rep.Errors)
	}
	if rep.DataTo250.N != n || rep.DataTo250.P50 <= 0 || rep.DataTo250.P99 < rep.DataTo250.P50 {
		t.Errorf("end-of-DATA→250 figures: %+v", rep.DataTo250)
	}
	if rep.ArrivalToAuto.N != rep.AutoMatched || rep.ArrivalToAuto.P50 <= 0 {
		t.Errorf("arrival→auto-reply figures: %+v", rep.ArrivalToAuto)
	}
	// Agent and customer notifications come on top of the auto-replies.
	if rep.Outbound <= rep.AutoMatched || rep.OutboundPerSec <= 0 {
		t.Errorf("outbound %d (%.0f/s) for %d auto-replies", rep.Outbound, rep.OutboundPerSec, rep.AutoMatched)
	}
	if rep.AcceptedPerSec <= 0 || rep.RSSAnonMaxMB <= 0 || rep.StoreBytesEnd <= rep.StoreBytesStart || rep.BytesPerNewTicket <= 0 {
		t.Errorf("rate %.0f/s, RssAnon max %.1f MB, store %d→%d bytes", rep.AcceptedPerSec, rep.RSSAnonMaxMB, rep.StoreBytesStart, rep.StoreBytesEnd)
	}
	var out strings.Builder
	printReport(&out, rep)
	if !strings.Contains(out.String(), "accepted msgs/s") || !strings.Contains(out.String(), "arrival→auto-reply") {
		t.Errorf("table lacks rows:\n%s", out.String())
	}

	rules, tickets := threading(t, openStore(t, dir))
	t.Logf("tickets %d, inbound messages by rule %v", tickets, rules)
	if tickets != rep.SentByKind[kindNew] || rules["new"] != tickets {
		t.Errorf("%d tickets, %d threaded as new, for %d new requests", tickets, rules["new"], rep.SentByKind[kindNew])
	}
	// reply → references; token, agent, auto → reply token; subject →
	// subject token. Bounces are not messages of their own.
	if rules["references"] != rep.SentByKind[kindReply] {
		t.Errorf("%d threaded by references, %d replies sent", rules["references"], rep.SentByKind[kindReply])
	}
	if want := rep.SentByKind[kindToken] + rep.SentByKind[kindAgent] + rep.SentByKind[kindAuto]; rules["reply-token"] != want {
		t.Errorf("%d threaded by reply token, want %d", rules["reply-token"], want)
	}
	if rules["subject-token"] != rep.SentByKind[kindSubject] {
		t.Errorf("%d threaded by subject token, %d sent", rules["subject-token"], rep.SentByKind[kindSubject])
	}
}

// Bodies sampled from the shared corpus go through as well.
func TestRunWithCorpus(t *testing.T) {
	corpusDir := filepath.Join("..", "..", "..", "shared", "corpus")
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("mail corpus not found at %s (it lives next to the repository, ../shared/corpus): %v", corpusDir, err)
	}
	corpus, err := LoadCorpus(corpusDir, 400, 512<<10)
	if err != nil {
		t.Fatal(err)
	}
	sink := startSink(t)
	dir := t.TempDir()
	d := benchDaemon(t, dir, sink)
	shutdown := sync.OnceFunc(func() { d.Shutdown(context.Background()) })
	defer shutdown()
	mix, _ := ParseMix("new=70,reply=30")
	rep, err := Run(t.Context(), Options{SMTP: d.Addr("smtp"), Conns: 4, N: 200, Mix: mix, Corpus: corpus,
		Address: "acme@support.example.com", Agent: "alice@example.com", Sink: sink, Wait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d corpus bodies; report %+v", corpus.Len(), rep)
	if rep.Accepted != 200 || rep.AutoMatched != rep.AutoExpected || rep.AutoExpected != rep.SentByKind[kindNew] {
		t.Errorf("accepted %d of 200, auto-replies %d of %d (new %d): %v", rep.Accepted, rep.AutoMatched, rep.AutoExpected, rep.SentByKind[kindNew], rep.Errors)
		// Say what the daemon made of the requests left unanswered.
		shutdown()
		openStore(t, dir).View(func(tx store.Tx) error {
			return tx.ForEachTicket("ACME", func(tk *store.Ticket) bool {
				msgs, _ := tx.TicketMessages(tk.Key)
				for _, e := range rep.Errors {
					if len(msgs) > 0 && strings.Contains(e, "<"+msgs[0].MessageID+">") {
						m := msgs[0]
						t.Logf("%s: kind %s auto %q problems %v text %.200q", m.MessageID, m.Kind, m.Auto, m.Problems, m.Text)
					}
				}
				return true
			})
		})
	}
}

// A preloaded store is one the daemon works with: replies thread into
// preloaded tickets by In-Reply-To and by subject token, and numbering goes
// on after the last preloaded ticket.
func TestPreloadThenThread(t *testing.T) {
	dir := t.TempDir()
	res, err := Preload(t.Context(), PreloadOptions{DataDir: dir, N: 60, Project: "ACME", Address: "acme@support.example.com", Agent: "alice@example.com", Batch: 25})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("preload: %+v", res)
	if res.Tickets != 60 || res.Messages != 80 || res.First != "ACME-1" || res.Last != "ACME-60" || res.DBBytes <= 0 {
		t.Fatalf("preload result %+v", res)
	}
	sink := startSink(t)
	d := benchDaemon(t, dir, sink)
	send := func(from, raw string) {
		t.Helper()
		c, err := smtp.Dial(d.Addr("smtp"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.SendMail(from, []string{"acme@support.example.com"}, strings.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
	}
	send(PreloadSender(7), "From: <"+PreloadSender(7)+">\r\nTo: acme@support.example.com\r\nSubject: Re: still broken\r\n"+
		"Message-ID: <r1@customer.example>\r\nIn-Reply-To: <"+PreloadMessageID("ACME", 7)+">\r\n\r\nStill broken.\r\n")
	send(PreloadSender(8), "From: <"+PreloadSender(8)+">\r\nTo: acme@support.example.com\r\nSubject: Re: [ACME-8] Preloaded\r\n"+
		"Message-ID: <r2@customer.example>\r\n\r\nAny news?\r\n")
	send("new@customer.example", "From: <new@customer.example>\r\nTo: acme@support.example.com\r\nSubject: Something new\r\n"+
		"Message-ID: <r3@customer.example>\r\n\r\nHello.\r\n")
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, dir)
	s.View(func(tx store.Tx) error {
		for key, want := range map[string]string{"ACME-7": "references", "ACME-8": "subject-token", "ACME-61": "new"} {
			msgs, err := tx.TicketMessages(key)
			if err != nil || len(msgs) == 0 {
				t.Errorf("%s: %v (%d messages)", key, err, len(msgs))
				continue
			}
			last := msgs[len(msgs)-1]
			if last.ThreadedBy != want || !strings.HasPrefix(last.MessageID, "r") {
				t.Errorf("%s: last message %q threaded by %q, want %q", key, last.MessageID, last.ThreadedBy, want)
			}
		}
		if n, err := tx.LastTicketNumber("ACME"); err != nil || n != 61 {
			t.Errorf("last ticket number %d, want 61", n)
		}
		return nil
	})
}

// `big` sends one message whose attachment the daemon stores whole (it is
// streamed on both sides, never built in memory by the tool).
func TestSendBig(t *testing.T) {
	dir := t.TempDir()
	sink := startSink(t)
	d := benchDaemon(t, dir, sink)
	res, err := SendBig(d.Addr("smtp"), "acme@support.example.com", BigOptions{Bytes: 3<<20 + 17}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.MessageBytes < 4<<20 || res.DataTo250Ms <= 0 {
		t.Errorf("result %+v", res)
	}
	s := openStore(t, dir)
	s.View(func(tx store.Tx) error {
		msgs, err := tx.TicketMessages("ACME-1")
		if err != nil || len(msgs) != 1 || len(msgs[0].Attach) != 1 {
			t.Fatalf("stored: %v %+v", err, msgs)
		}
		if a := msgs[0].Attach[0]; a.Size != 3<<20+17 || a.Filename != "big.bin" {
			t.Errorf("attachment %+v", a)
		}
		return nil
	})
}

// TestFanout runs the fanout case small: the agent's reply (its DATA
// written by sendPrepared, past largeMail bytes at lower priority) reaches
// all four customers both times, and the store keeps its attachment whole.
func TestFanout(t *testing.T) {
	dir := t.TempDir()
	sink := startSink(t)
	d := benchDaemon(t, dir, sink)
	const size = 2<<20 + 5
	res, err := Fanout(t.Context(), FanoutOptions{SMTP: d.Addr("smtp"), Address: "acme@support.example.com", Agent: "alice@example.com",
		Bytes: size, Rate: 40, Duration: 500 * time.Millisecond, Sink: sink, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.IdleCopies != 4 || res.LoadedCopies != 4 || res.MessageBytes < size*4/3 || res.IdleTo250Ms <= 0 || res.StoreGrowth < size {
		t.Errorf("result %+v", res)
	}
	if res.Baseline == nil || res.During == nil || res.Baseline.Accepted == 0 || res.During.Accepted == 0 {
		t.Errorf("small requests: %+v / %+v", res.Baseline, res.During)
	}
	s := openStore(t, dir)
	s.View(func(tx store.Tx) error {
		msgs, err := tx.TicketMessages(res.Ticket)
		if err != nil || len(msgs) != 3 {
			t.Fatalf("stored: %v, %d messages", err, len(msgs))
		}
		for _, m := range msgs[1:] {
			if len(m.Attach) != 1 || m.Attach[0].Size != size || m.Attach[0].Filename != "logs.bin" {
				t.Errorf("reply %d: attachments %+v", m.ID, m.Attach)
			}
		}
		return nil
	})
}

// The test binary doubles as a daemon for TestColdStart: with
// BENCH_FAKE_DAEMON=addr it greets on addr once the test lets it go (it
// reads the FIFO BENCH_FAKE_GATE to its end first, like a daemon opening
// its store), until killed.
func TestMain(m *testing.M) {
	if addr := os.Getenv("BENCH_FAKE_DAEMON"); addr != "" {
		gate, err := os.Open(os.Getenv("BENCH_FAKE_GATE"))
		if err != nil {
			os.Exit(4)
		}
		io.Copy(io.Discard, gate)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			os.Exit(3)
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				os.Exit(0)
			}
			c.Write([]byte("220 fake ready\r\n"))
			c.Close()
		}
	}
	os.Exit(m.Run())
}

// TestColdStart: coldstart counts until the daemon's 220, not until the
// first connection or the first greeting. A stand-in answers coldstart's
// first look with 421; only when coldstart looks again (so it went on) is
// the fake daemon let go, so the 220 it reports is the fake daemon's.
func TestColdStart(t *testing.T) {
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { probe.Close() })
	addr := probe.Addr().String()
	gate := filepath.Join(t.TempDir(), "gate")
	if err := syscall.Mkfifo(gate, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BENCH_FAKE_DAEMON", addr)
	t.Setenv("BENCH_FAKE_GATE", gate)
	var released atomic.Bool
	go func() {
		for range 2 { // coldstart's first look, and the look after the 421
			c, err := probe.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("421 not yet\r\n"))
			c.Close()
		}
		probe.Close()
		released.Store(true)
		w, err := os.OpenFile(gate, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		w.Close() // the fake daemon read the gate to its end: it listens now
	}()
	d, err := ColdStart(addr, []string{os.Args[0]}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fake daemon ready after %v", d)
	if !released.Load() || d <= 0 {
		t.Errorf("ready after %v, before the fake daemon was let go (released %v)", d, released.Load())
	}
}

// `big --kind flowed --concurrent 2` sends two large format=flowed texts at
// once; the daemon keeps the first inbound.max_text_bytes of each text, says
// it cut them, and keeps each raw message whole.
func TestSendBigFlowedConcurrent(t *testing.T) {
	dir := t.TempDir()
	sink := startSink(t)
	d := benchDaemon(t, dir, sink)
	res, err := SendBig(d.Addr("smtp"), "acme@support.example.com", BigOptions{Kind: "flowed", Bytes: 2 << 20, Concurrent: 2}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.Messages != 2 || res.MessageBytes < 2<<20 {
		t.Errorf("result %+v", res)
	}
	s := openStore(t, dir)
	s.View(func(tx store.Tx) error {
		for _, key := range []string{"ACME-1", "ACME-2"} {
			msgs, err := tx.TicketMessages(key)
			if err != nil || len(msgs) != 1 {
				t.Fatalf("%s stored: %v %d", key, err, len(msgs))
			}
			m := msgs[0]
			if !m.TextCut || len(m.Text) > 1<<20 || !strings.HasPrefix(m.Text, "Line 1 of the log") || m.RawSize != res.MessageBytes {
				t.Errorf("%s: cut %v, text %d bytes, raw %d of %d", key, m.TextCut, len(m.Text), m.RawSize, res.MessageBytes)
			}
		}
		return nil
	})
}
