package mailin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// dialer returns a dialer whose connections come from the loopback
// address local (any 127.x.y.z works on Linux).
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", local, err)
	}
	return c
}

func onlyLocalhost(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) }

// TestLongLineAccepted is issue 14 item 6: an HTML mail with its inline
// data: image on one line longer than the old 1 MiB line limit was
// answered 451 (retried for days, never seen). Within the size limit it is
// stored as sent.
func TestLongLineAccepted(t *testing.T) {
	recv := &slowReceiver{}
	_, addr := startServerWith(t, recv, ServerOptions{MaxMessageBytes: 4 << 20})
	img := strings.Repeat("QUJD", (3<<20)/4)
	body := "Subject: photo\r\nContent-Type: text/html\r\n\r\n<img src=\"data:image/png;base64," + img + "\">\r\n"
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("a@b.example", []string{"acme@support.example.com"}, strings.NewReader(body)); err != nil {
		t.Fatalf("a 3 MiB line within max_message_bytes: %v, want it stored", err)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if len(recv.got) != 1 || recv.got[0] != body {
		t.Fatalf("stored %d messages, first intact: %v", len(recv.got), len(recv.got) == 1 && recv.got[0] == body)
	}
}

// TestLongCommandLineRefused: before DATA a line is a command, and a small
// limit keeps a peer from making us buffer a megabyte per connection: 500
// 5.5.2 and the connection closes.
func TestLongCommandLineRefused(t *testing.T) {
	_, addr := startServerWith(t, &slowReceiver{}, ServerOptions{Limits: Limits{MaxCommandLine: 512}})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	br.ReadString('\n') // greeting
	go io.WriteString(c, "EHLO "+strings.Repeat("a", 1<<20)+"\r\n")
	line, _ := br.ReadString('\n')
	if !strings.HasPrefix(line, "500 5.5.2") {
		t.Fatalf("a 1 MiB command line: %q, want 500 5.5.2", line)
	}
	if _, err := br.ReadString('\n'); err == nil {
		t.Fatal("connection still open after the refusal")
	}
}

// TestStrayCRBeforeEndOfData: "\r\r\n.\r\n" ends the message (it holds
// <CRLF>.<CRLF>); go-smtp's reader alone never saw the end and the session
// hung until its timeout.
func TestStrayCRBeforeEndOfData(t *testing.T) {
	recv := &slowReceiver{}
	_, addr := startServer(t, recv, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	expect := func(code string) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %s: %v", code, err)
			}
			if !strings.HasPrefix(line, code) {
				t.Fatalf("got %q, want %s", line, code)
			}
			if line[3] == ' ' {
				return
			}
		}
	}
	expect("220")
	for _, step := range []struct{ send, want string }{
		{"EHLO x\r\n", "250"}, {"MAIL FROM:<a@b.example>\r\n", "250"}, {"RCPT TO:<acme@support.example.com>\r\n", "250"},
		{"DATA\r\n", "354"}, {"Subject: cr\r\n\r\nhello\r\r\n.\r\n", "250"}, {"QUIT\r\n", "221"},
	} {
		io.WriteString(c, step.send)
		expect(step.want)
	}
	if len(recv.got) != 1 || !strings.Contains(recv.got[0], "hello") {
		t.Fatalf("stored %q", recv.got)
	}
}

// TestNoopDoesNotKeepSessionAlive: 2,000 idle connections were kept alive
// with NOOP. Only moving a message along resets the idle limit.
func TestNoopDoesNotKeepSessionAlive(t *testing.T) {
	_, addr := startServerWith(t, &slowReceiver{}, ServerOptions{Limits: Limits{IdleTimeout: 300 * time.Millisecond}})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	br.ReadString('\n')
	// Keep sending NOOP until the server hangs up; a server that lets NOOP
	// reset the limit answers forever (the test's own timeout ends it).
	closed := make(chan string, 1)
	go func() {
		for {
			line, err := br.ReadString('\n')
			if err != nil || strings.HasPrefix(line, "421") {
				closed <- line
				return
			}
		}
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case line := <-closed:
			if line != "" && !strings.HasPrefix(line, "421 4.4.2") {
				t.Fatalf("closed with %q", line)
			}
			return
		case <-tick.C:
			io.WriteString(c, "NOOP\r\n")
		}
	}
}

// TestUntrustedFloodDoesNotStarveTrusted: 1,100 connections from an
// untrusted address exhausted the file limit, so the trusted relay timed
// out. They are now answered 554 and closed at accept, before any EHLO,
// and count against no limit the trusted relay needs.
func TestUntrustedFloodDoesNotStarveTrusted(t *testing.T) {
	recv := &slowReceiver{}
	_, addr := startServerWith(t, recv, ServerOptions{Trusted: onlyLocalhost, Limits: Limits{MaxConnections: 100, MaxConnectionsPerIP: 10}})
	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			c.Close()
		}
	}()
	for range 1100 {
		flood = append(flood, dialFrom(t, "127.0.0.2", addr))
	}
	// Every one of them is told and closed without saying a word.
	for i, c := range flood {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil || !strings.HasPrefix(string(b), "554 5.7.1") {
			t.Fatalf("untrusted connection %d: %q %v, want 554 then closed", i, b, err)
		}
	}
	// The flood is still connected on its side; the relay gets through.
	if err := sendMsg(addr); err != nil {
		t.Fatalf("trusted relay during the flood: %v", err)
	}
}

// TestConnectionLimits: over the per-address limit a new connection is
// answered 421 at accept, while another address still gets in.
func TestConnectionLimits(t *testing.T) {
	_, addr := startServerWith(t, &slowReceiver{}, ServerOptions{Limits: Limits{MaxConnections: 3, MaxConnectionsPerIP: 2}})
	greet := func(c net.Conn) string {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		return line
	}
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for i := range 2 {
		c := dialFrom(t, "127.0.0.3", addr)
		open = append(open, c)
		if l := greet(c); !strings.HasPrefix(l, "220") {
			t.Fatalf("connection %d: %q", i, l)
		}
	}
	c := dialFrom(t, "127.0.0.3", addr)
	open = append(open, c)
	if l := greet(c); !strings.HasPrefix(l, "421 4.7.0") {
		t.Fatalf("third connection from one address: %q, want 421 4.7.0", l)
	}
	c = dialFrom(t, "127.0.0.4", addr)
	open = append(open, c)
	if l := greet(c); !strings.HasPrefix(l, "220") {
		t.Fatalf("another address: %q, want 220", l)
	}
	c = dialFrom(t, "127.0.0.5", addr)
	open = append(open, c)
	if l := greet(c); !strings.HasPrefix(l, "421 4.7.0") {
		t.Fatalf("over the listener's limit: %q, want 421 4.7.0", l)
	}
}

// gateReceiver holds every delivery until released.
type gateReceiver struct {
	entered chan struct{}
	release chan struct{}
}

func (g *gateReceiver) CheckRecipient(context.Context, string) error { return nil }

func (g *gateReceiver) Receive(_ context.Context, env *Envelope, r io.Reader) []error {
	io.Copy(io.Discard, r)
	g.entered <- struct{}{}
	<-g.release
	return make([]error, len(env.Rcpts))
}

// TestConcurrentDataBounded: with one transfer slot, a second DATA waits
// and then gets 451 4.3.2 instead of a second message in memory.
func TestConcurrentDataBounded(t *testing.T) {
	g := &gateReceiver{entered: make(chan struct{}, 2), release: make(chan struct{})}
	_, addr := startServerWith(t, g, ServerOptions{Limits: Limits{MaxConcurrentData: 1, DataSlotWait: 100 * time.Millisecond}})
	first := make(chan error, 1)
	go func() { first <- sendMsg(addr) }()
	<-g.entered
	err := sendMsg(addr)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 2}) {
		t.Errorf("second transfer while the slot is taken: %v, want 451 4.3.2", err)
	}
	close(g.release)
	if err := <-first; err != nil {
		t.Fatalf("first transfer: %v", err)
	}
	if err := sendMsg(addr); err != nil {
		t.Fatalf("after the slot was freed: %v", err)
	}
}

// TestBDATChunkNotACommandLine: a BDAT chunk is message data, so a long
// line inside it is no command line over the limit.
func TestBDATChunkNotACommandLine(t *testing.T) {
	recv := &slowReceiver{}
	_, addr := startServerWith(t, recv, ServerOptions{Limits: Limits{MaxCommandLine: 512}})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	expect := func(code string) {
		t.Helper()
		for {
			line, err := br.ReadString('\n')
			if err != nil || !strings.HasPrefix(line, code) {
				t.Fatalf("got %q %v, want %s", line, err, code)
			}
			if line[3] == ' ' {
				return
			}
		}
	}
	expect("220")
	body := "Subject: chunked\r\n\r\n" + strings.Repeat("y", 4000) + "\r\n"
	for _, step := range []struct{ send, want string }{
		{"EHLO x\r\n", "250"}, {"MAIL FROM:<a@b.example>\r\n", "250"}, {"RCPT TO:<acme@support.example.com>\r\n", "250"},
		{fmt.Sprintf("BDAT %d LAST\r\n%s", len(body), body), "250"}, {"NOOP\r\n", "250"},
	} {
		io.WriteString(c, step.send)
		expect(step.want)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if len(recv.got) != 1 || recv.got[0] != body {
		t.Fatalf("stored %d messages", len(recv.got))
	}
}
