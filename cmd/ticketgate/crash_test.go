package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/internal/waitfor"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/storetest"
)

// TestCrashExactlyOnce kills the daemon (SIGKILL) at random moments while
// messages stream in over SMTP, restarts it, and checks that every message
// the client saw acknowledged sits in exactly one ticket and that every one
// of those tickets' auto-replies reached the relay at least once, a resent
// copy keeping its Message-ID. Like an MTA, the client retries what was not
// acknowledged.
func TestCrashExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary; skipped with -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "ticketgate")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	smtpPort := freePort(t)
	cfgPath := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`data_dir: ./data
log: { level: warn }
web: { listen: "127.0.0.1:%d", base_url: "http://127.0.0.1" }
inbound:
  smtp: { listen: "127.0.0.1:%d" }
outbound:
  transport: smtp
  smtp: { host: 127.0.0.1, port: %d, tls: none }
  retry: { initial: 100ms, max: 500ms }
projects:
  - key: ACME
    address: acme@support.example.com
    agents: [alice@example.com]
    notifications: { internal: { request_created: false } }
`, freePort(t), smtpPort, sink.Port())), 0o600)
	addr := fmt.Sprintf("127.0.0.1:%d", smtpPort)

	logs := &waitfor.Log{}
	startDaemon := func() *exec.Cmd { return startServe(t, bin, cfgPath, addr, logs) }

	const total = 300
	var mu sync.Mutex
	acked := map[int]bool{}
	next := 0
	take := func() int {
		mu.Lock()
		defer mu.Unlock()
		for next < total {
			n := next
			next++
			return n
		}
		return -1
	}
	// ackedSig is told of every acknowledgement: the daemon is killed
	// after a random number of them, at whatever it is doing then.
	ackedSig := &waitfor.Signal{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := take(); n >= 0; n = take() {
				raw := fmt.Sprintf("From: c%d@customer.example\r\nTo: acme@support.example.com\r\nSubject: crash %d\r\nMessage-ID: <crash-%d@customer.example>\r\n\r\nmessage %d\r\n", n, n, n, n)
				// Retry until acknowledged, as a sending MTA would.
				for {
					err := sendOnce(addr, fmt.Sprintf("c%d@customer.example", n), raw)
					if err == nil {
						mu.Lock()
						acked[n] = true
						mu.Unlock()
						ackedSig.Notify()
						break
					}
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
					}
				}
			}
		}()
	}

	cmd := startDaemon()
	kills := 0
	for kills < 8 {
		// A random moment to kill at, counted in acknowledged messages
		// (1–12 more: four senders keep others in flight meanwhile).
		mu.Lock()
		until := min(len(acked)+1+rand.IntN(12), total)
		mu.Unlock()
		ackedSig.Wait(t, 60*time.Second, "more acknowledged messages", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(acked) >= until
		})
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		kills++
		cmd = startDaemon()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		close(stop)
		wg.Wait()
	}
	if len(acked) != total {
		t.Fatalf("only %d of %d messages acknowledged", len(acked), total)
	}

	// Every acknowledged message's auto-reply reaches the relay: looked
	// at again with every mail the sink accepts.
	var byReq map[string][]string
	repliesByRequest := func(msgs []mailouttest.Message) map[string][]string {
		out := map[string][]string{}
		for _, m := range msgs {
			r, err := mail.CreateReader(bytes.NewReader(m.Data))
			if err != nil {
				continue
			}
			irt, _ := r.Header.MsgIDList("In-Reply-To")
			id, _ := r.Header.MessageID()
			if len(irt) == 1 {
				out[irt[0]] = append(out[irt[0]], id)
			}
		}
		return out
	}
	msgs, _ := sink.WaitUntil(func(m []mailouttest.Message) bool { return len(repliesByRequest(m)) >= total }, 30*time.Second)
	byReq = repliesByRequest(msgs)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("daemon exit after SIGTERM: %v", err)
	}

	st, err := store.Open(filepath.Join(dir, "data"), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tickets, perID := storetest.MessageIDs(t, st, "ACME")
	resent := 0
	for n := range total {
		id := fmt.Sprintf("crash-%d@customer.example", n)
		if perID[id] != 1 {
			t.Errorf("%s stored %d times, want exactly once", id, perID[id])
		}
		replies := byReq[id]
		if len(replies) == 0 {
			t.Errorf("%s: auto-reply never delivered", id)
			continue
		}
		for _, r := range replies[1:] {
			if r != replies[0] {
				t.Errorf("%s: resent auto-reply changed Message-ID: %v", id, replies)
			}
		}
		resent += len(replies) - 1
	}
	if tickets != total {
		t.Errorf("%d tickets, want %d", tickets, total)
	}
	t.Logf("crash test: %d kills, %d messages acknowledged, %d tickets, %d auto-replies sent twice (a kill between the relay's 250 and the outbox update)", kills, len(acked), tickets, resent)
	if t.Failed() {
		t.Logf("daemon log:\n%s", lastLines(logs.String(), 60))
	}
}

func sendOnce(addr, from, raw string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(from, []string{"acme@support.example.com"}, strings.NewReader(raw)); err != nil {
		return err
	}
	c.Quit()
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
