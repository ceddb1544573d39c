package imapin

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/ticketgate/ticketgate/config"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Stop ends IDLE with DONE and logs out.
func TestStopEndsIdleCleanly(t *testing.T) {
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("support", "secret")
	u.Create("INBOX", nil)
	mem.AddUser(u)
	var wire lockedBuffer
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps: capsRev2, InsecureAuth: true, Logger: discardLogger{}, DebugWriter: &wire,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	e := newEnv(t, ln.Addr().(*net.TCPAddr).Port, nil)
	m := NewManager(e.st, e.pipe, Options{Logger: testLogger(t), OnStatus: e.changes.Notify})
	m.Apply(e.cfg)
	e.eventually(t, "idling", func() bool { s := m.Status(); return len(s) == 1 && s[0].Idling })
	if err := m.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	w := wire.String()
	idle := strings.LastIndex(w, " IDLE\r\n")
	done := strings.LastIndex(w, "DONE\r\n")
	logout := strings.LastIndex(w, " LOGOUT\r\n")
	if idle < 0 || done < idle || logout < done {
		t.Errorf("want IDLE, DONE, LOGOUT in that order; wire ends:\n%s", w[max(0, len(w)-400):])
	}
	if len(m.Status()) != 0 {
		t.Error("status lists a stopped mailbox")
	}
	m.Apply(e.cfg) // after Stop, Apply starts nothing
	if len(m.Status()) != 0 {
		t.Error("Apply after Stop started a mailbox")
	}
}

// A server that accepts the connection and never answers cannot hold up a
// shutdown beyond Stop's context.
func TestStopWithHungServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	e := newEnv(t, ln.Addr().(*net.TCPAddr).Port, nil)
	m := NewManager(e.st, e.pipe, Options{Logger: testLogger(t), OnStatus: e.changes.Notify})
	m.Apply(e.cfg)
	c := <-accepted
	defer c.Close()
	// Wait until the fetcher holds the connection (it then waits for the
	// greeting, which never comes).
	f := m.fetchers["ACME"]
	e.eventually(t, "connected socket", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.conn != nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = m.Stop(ctx)
	t.Logf("Stop with a server that never greets returned after %v: %v", time.Since(start), err)
	if err == nil {
		t.Error("Stop reported a clean stop although it had to close the connection")
	}
}

// Mailboxes are independent: a server that hangs after accepting the
// connection does not delay another project's mail.
func TestHungServerDoesNotDelayOthers(t *testing.T) {
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	srv := startMem(t, capsRev2)
	srv.append(t, "INBOX", mail(1))
	e := newEnv(t, srv.port, nil)
	beta := *e.cfg.Projects[0].IMAP
	beta.Port = hung.Addr().(*net.TCPAddr).Port
	beta.Username = "beta"
	e.cfg.Projects = append(e.cfg.Projects, config.Project{Key: "BETA", Address: "beta@help.example.org", Notifications: config.DefaultNotifications(), IMAP: &beta})
	if err := e.cfg.Finalize(); err != nil {
		t.Fatal(err)
	}
	m := NewManager(e.st, e.pipe, Options{Logger: testLogger(t), OnStatus: e.changes.Notify})
	m.Apply(e.cfg)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		m.Stop(ctx)
	}()
	e.eventually(t, "ACME's mail ingested", func() bool { return srv.count("Processed") == 1 })
	st := m.Status()
	if len(st) != 2 || st[0].Project != "ACME" || st[1].Project != "BETA" || st[1].Connected {
		t.Errorf("status %+v", st)
	}
}
