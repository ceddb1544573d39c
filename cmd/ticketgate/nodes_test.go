package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-message/mail"

	"github.com/ticketgate/ticketgate/internal/pgtest"
	"github.com/ticketgate/ticketgate/internal/waitfor"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/postgres"
	"github.com/ticketgate/ticketgate/store/storetest"
)

// The two-node test's load (the done-when: 2,000 messages over
// SMTP; the daemons are built without -race whatever the test's flags, so
// the size stays the same under -race).
const (
	nodesSMTP       = 2000
	nodesIMAPBefore = 100 // in the mailbox when the nodes start
	nodesIMAPAfter  = 20  // appended once the reading node is killed
	nodesBoth       = 100 // delivered to both nodes at the same moment
	nodesClients    = 8
)

// node is one `ticketgate serve` process of the test, restartable.
type node struct {
	cfg, smtp string
	logs      *waitfor.Log
	cmd       *exec.Cmd
}

func (n *node) reads() bool {
	return strings.Contains(n.logs.String(), "imap: this node reads the mailbox")
}

// TestTwoNodesOneKilled: two real `ticketgate serve` processes share one
// PostgreSQL and one IMAP mailbox (Dovecot); 2,000 messages come in over
// SMTP spread over both, a client retrying on the other node what one did
// not acknowledge (as a sending MTA with two MX hosts does). At a random
// moment mid-load the node reading the mailbox is SIGKILLed, and
// restarted once the other took the mailbox over (within 30 s). Then the
// same message is delivered to both nodes at the same moment, 100 times.
// In the end every message answered 250 is stored exactly once, every
// IMAP message once and moved to Processed once, ticket numbers are 1…N
// without gaps or repeats, and every customer got exactly one auto-reply
// (counted by distinct Message-ID at the sink: a reply the killed node
// had sent but not yet recorded goes out again with the same id).
func TestTwoNodesOneKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary; skipped with -short")
	}
	srv := pgtest.Start(t)
	ev := new(waitfor.Signal)
	mbox := startMemIMAP(t, ev)
	for i := range nodesIMAPBefore {
		mbox.append(t, nodeIMAPMail(i))
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	sink := mailouttest.NewSink(t, mailouttest.Options{HeaderOnly: true})
	dsnFile := filepath.Join(dir, "pg.dsn")
	pwFile := filepath.Join(dir, "imap.pw")
	os.WriteFile(dsnFile, []byte(srv.Database(t, "nodes")+"\n"), 0o600)
	os.WriteFile(pwFile, []byte(memIMAPPassword+"\n"), 0o600)

	nodes := make([]*node, 2)
	for i := range nodes {
		nd := filepath.Join(dir, fmt.Sprintf("node%d", i))
		os.MkdirAll(nd, 0o750)
		smtpPort := freePort(t)
		n := &node{cfg: filepath.Join(nd, "config.yaml"), smtp: fmt.Sprintf("127.0.0.1:%d", smtpPort), logs: &waitfor.Log{OnWrite: ev.Notify}}
		os.WriteFile(n.cfg, fmt.Appendf(nil, `data_dir: ./data
log: { level: info }
web: { listen: "127.0.0.1:%d", base_url: "http://127.0.0.1" }
inbound:
  smtp: { listen: "127.0.0.1:%d" }
store:
  driver: postgres
  postgres: { dsn_file: %s, max_conns: 20 }
outbound:
  transport: smtp
  smtp: { host: 127.0.0.1, port: %d, tls: none }
  retry: { initial: 100ms, max: 500ms }
limits:
  auto_per_project: { count: 100000, per: 1h }
projects:
  - key: ACME
    address: acme@support.example.com
    agents: [alice@example.com]
    notifications: { internal: { request_created: false } }
    imap:
      host: 127.0.0.1
      port: %d
      tls: none
      username: %s
      password_file: %s
      processed_mailbox: Processed
      start: all
      idle: false
      poll_interval: 1s
`, freePort(t), smtpPort, dsnFile, sink.Port(), mbox.port, memIMAPUser, pwFile), 0o600)
		nodes[i] = n
	}
	start := func(n *node) { n.cmd = startServe(t, bin, n.cfg, n.smtp, n.logs) }
	for _, n := range nodes {
		start(n)
	}
	defer func() {
		for _, n := range nodes {
			if n.cmd != nil && n.cmd.ProcessState == nil {
				n.cmd.Process.Kill()
				n.cmd.Wait()
			}
		}
	}()

	// The load: message i goes to node i%2 first, to the other one after
	// a failure, until it is acknowledged.
	var acked atomic.Int64
	var next atomic.Int64
	next.Store(-1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range nodesClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)); i < nodesSMTP; i = int(next.Add(1)) {
				from := fmt.Sprintf("c%d@customer.example", i)
				raw := fmt.Sprintf("From: %s\r\nTo: acme@support.example.com\r\nSubject: node question %d\r\nMessage-ID: <node-%d@customer.example>\r\n\r\nmessage %d\r\n", from, i, i, i)
				for try := i; ; try++ {
					if sendOnce(nodes[try%2].smtp, from, raw) == nil {
						acked.Add(1)
						ev.Notify()
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

	ev.Wait(t, time.Minute, "a node reading the mailbox", func() bool { return nodes[0].reads() || nodes[1].reads() })
	victim := 0
	if nodes[1].reads() {
		victim = 1
	}
	other := nodes[1-victim]
	killAt := int64(200 + rand.IntN(nodesSMTP-700))
	ev.Wait(t, 3*time.Minute, fmt.Sprintf("%d messages acknowledged", killAt), func() bool { return acked.Load() >= killAt })
	nodes[victim].cmd.Process.Signal(syscall.SIGKILL)
	nodes[victim].cmd.Wait()
	killed := time.Now()
	ev.Wait(t, 30*time.Second, "the other node takes the mailbox over within 30 s", other.reads)
	takeover := time.Since(killed)
	for i := range nodesIMAPAfter {
		mbox.append(t, nodeIMAPMail(nodesIMAPBefore+i))
	}
	nodes[victim].logs = &waitfor.Log{OnWrite: ev.Notify}
	start(nodes[victim])

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		close(stop)
		wg.Wait()
		t.Fatalf("only %d of %d messages acknowledged", acked.Load(), nodesSMTP)
	}

	// The same message to both nodes at the same moment: both answer
	// 250, one stores it, the other finds the duplicate.
	for i := range nodesBoth {
		from := fmt.Sprintf("b%d@customer.example", i)
		raw := fmt.Sprintf("From: %s\r\nTo: acme@support.example.com\r\nSubject: both %d\r\nMessage-ID: <both-%d@customer.example>\r\n\r\nmessage %d\r\n", from, i, i, i)
		var bw sync.WaitGroup
		for _, n := range nodes {
			bw.Add(1)
			go func() {
				defer bw.Done()
				if err := sendOnce(n.smtp, from, raw); err != nil {
					t.Errorf("both-%d to %s: %v", i, n.smtp, err)
				}
			}()
		}
		bw.Wait()
	}

	imapTotal := nodesIMAPBefore + nodesIMAPAfter
	ev.Wait(t, 2*time.Minute, "the mailbox read to the end", func() bool {
		return mbox.count("INBOX") == 0 && mbox.count("Processed") == imapTotal
	})
	customers := nodesSMTP + imapTotal + nodesBoth
	// An auto-reply the killed node had claimed goes out once its lease
	// (60 s) ran out.
	msgs, err := sink.WaitUntil(func(m []mailouttest.Message) bool { return len(repliesByCustomer(m)) >= customers }, 4*time.Minute)
	replies := repliesByCustomer(msgs)
	if err != nil {
		kinds := map[byte]int{}
		for who := range replies {
			kinds[who[0]]++
		}
		for i, n := range nodes {
			t.Logf("node %d log:\n%s", i, lastLines(n.logs.String(), 30))
		}
		t.Fatalf("after 4 min %d of %d customers got an auto-reply (by first letter: %v)", len(replies), customers, kinds)
	}
	for _, n := range nodes {
		n.cmd.Process.Signal(syscall.SIGTERM)
		if err := n.cmd.Wait(); err != nil {
			t.Errorf("node exit after SIGTERM: %v", err)
		}
	}

	st, err := postgres.Open(context.Background(), srv.DSN("nodes"), t.TempDir(), postgres.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tickets, perID := storetest.MessageIDs(t, st, "ACME")
	check := func(format string, n int) {
		for i := range n {
			if id := fmt.Sprintf(format, i); perID[id] != 1 {
				t.Errorf("%s stored %d times, want exactly once", id, perID[id])
			}
		}
	}
	check("node-%d@customer.example", nodesSMTP)
	check("nimap-%d@customer.example", imapTotal)
	check("both-%d@customer.example", nodesBoth)
	if tickets != customers {
		t.Errorf("%d tickets, want %d", tickets, customers)
	}
	var numbers []uint64
	var last uint64
	err = st.View(func(tx store.Tx) error {
		var err error
		if last, err = tx.LastTicketNumber("ACME"); err != nil {
			return err
		}
		return tx.ForEachTicket("ACME", func(tk *store.Ticket) bool { numbers = append(numbers, tk.Number); return true })
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(numbers)
	for i, n := range numbers {
		if n != uint64(i+1) {
			t.Fatalf("ticket numbers have a gap or a repeat at position %d: %d (numbers %v…)", i, n, numbers[max(0, i-3):min(len(numbers), i+3)])
		}
	}
	if last != uint64(len(numbers)) {
		t.Errorf("last ticket number %d, %d tickets", last, len(numbers))
	}
	resent := 0
	for who, ids := range replies {
		if len(ids) != 1 {
			t.Errorf("%s got %d different auto-replies, want 1", who, len(ids))
		}
	}
	for _, m := range sink.Messages() {
		resent += len(m.To)
	}
	resent -= customers
	if len(replies) != customers {
		t.Errorf("%d customers got an auto-reply, want %d", len(replies), customers)
	}
	t.Logf("two nodes on PostgreSQL: node %d (the mailbox reader) killed after %d acknowledged messages, mailbox taken over after %v; %d tickets numbered 1…%d; %d auto-replies, %d of them sent again with the same Message-ID",
		victim, killAt, takeover.Round(time.Millisecond), tickets, last, len(replies), resent)
	if t.Failed() {
		for i, n := range nodes {
			t.Logf("node %d log:\n%s", i, lastLines(n.logs.String(), 40))
		}
	}
}

func nodeIMAPMail(i int) []byte {
	return fmt.Appendf(nil, "Return-Path: <i%d@customer.example>\r\nFrom: i%d@customer.example\r\nTo: acme@support.example.com\r\nSubject: imap node question %d\r\nMessage-ID: <nimap-%d@customer.example>\r\n\r\nmessage %d\r\n", i, i, i, i, i)
}

// repliesByCustomer maps each recipient at the sink to the distinct
// Message-IDs it was sent.
func repliesByCustomer(msgs []mailouttest.Message) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, m := range msgs {
		r, err := mail.CreateReader(bytes.NewReader(m.Data))
		if err != nil {
			continue
		}
		id, _ := r.Header.MessageID()
		for _, to := range m.To {
			if out[to] == nil {
				out[to] = map[string]bool{}
			}
			out[to][id] = true
		}
	}
	return out
}

// signalConn is a connection of the IMAP server that signals every answer.
type signalConn struct {
	net.Conn
	ev *waitfor.Signal
}

func (c signalConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.ev.Notify()
	return n, err
}

type signalListener struct {
	net.Listener
	ev *waitfor.Signal
}

func (l signalListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return signalConn{Conn: c, ev: l.ev}, nil
}

// The in-memory IMAP server's one user.
const (
	memIMAPUser     = "support"
	memIMAPPassword = "secret"
)

// memIMAP is go-imap's in-memory IMAP server on a loopback port, with
// one mailbox user.
type memIMAP struct {
	port int
	user *imapmemserver.User
}

func startMemIMAP(t *testing.T, ev *waitfor.Signal) *memIMAP {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(memIMAPUser, memIMAPPassword)
	for _, mb := range []string{"INBOX", "Processed"} {
		if err := u.Create(mb, nil); err != nil {
			t.Fatal(err)
		}
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(signalListener{Listener: ln, ev: ev})
	t.Cleanup(func() { srv.Close() })
	return &memIMAP{port: ln.Addr().(*net.TCPAddr).Port, user: u}
}

func (m *memIMAP) append(t *testing.T, raw []byte) {
	t.Helper()
	if _, err := m.user.Append("INBOX", bytes.NewReader(raw), &imap.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (m *memIMAP) count(mailbox string) int {
	sd, err := m.user.Status(mailbox, &imap.StatusOptions{NumMessages: true})
	if err != nil {
		return 0
	}
	return int(*sd.NumMessages)
}
