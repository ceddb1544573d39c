package mailin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/fault"
)

// slowReceiver stores nothing and takes as long as told, so shutdown can be
// observed with a delivery in flight.
type slowReceiver struct {
	delay   time.Duration
	mu      sync.Mutex
	got     []string
	failNow error
	// started, when set, is sent to once a delivery's body is read and
	// the receiver holds it for delay (the delivery is in flight).
	started chan struct{}
}

func (r *slowReceiver) CheckRecipient(_ context.Context, rcpt string) error {
	if !strings.HasSuffix(rcpt, "@support.example.com") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox here"}
	}
	return nil
}

func (r *slowReceiver) Receive(ctx context.Context, env *Envelope, body io.Reader) []error {
	b, rerr := io.ReadAll(body)
	errs := make([]error, len(env.Rcpts))
	if rerr != nil {
		for i := range errs {
			errs[i] = fmt.Errorf("reading the message: %w", rerr)
		}
		return errs
	}
	if r.started != nil {
		r.started <- struct{}{}
	}
	select {
	case <-time.After(r.delay):
	case <-ctx.Done():
		for i := range errs {
			errs[i] = ctx.Err()
		}
		return errs
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failNow != nil {
		for i := range errs {
			errs[i] = r.failNow
		}
		return errs
	}
	r.got = append(r.got, string(b))
	return errs
}

func startServer(t *testing.T, recv Receiver, trusted func(net.IP) bool) (*Server, string) {
	t.Helper()
	return startServerWith(t, recv, ServerOptions{Trusted: trusted})
}

// startServerWith starts a listener on 127.0.0.1:0 with opts (domain,
// source and a 1 MiB size limit filled in when unset).
func startServerWith(t *testing.T, recv Receiver, opts ServerOptions) (*Server, string) {
	t.Helper()
	opts.Domain, opts.Source = "test", "smtp"
	if opts.MaxMessageBytes == 0 {
		opts.MaxMessageBytes = 1 << 20
	}
	s := NewServer(opts, recv, slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return s, ln.Addr().String()
}

func sendMsg(addr string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SendMail("a@b.example", []string{"acme@support.example.com"}, strings.NewReader("Subject: x\r\n\r\nhi\r\n"))
}

func TestStorageErrorsAreTemporary(t *testing.T) {
	recv := &slowReceiver{failNow: fault.Temporaryf("disk full")}
	_, addr := startServer(t, recv, nil)
	var se *smtp.SMTPError
	if err := sendMsg(addr); !errors.As(err, &se) || se.Code != 451 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 0}) {
		t.Fatalf("storage error: %v, want 451 4.3.0", err)
	}
	// Even a permanent internal failure must not bounce a customer's mail.
	recv.failNow = errors.New("bug")
	if err := sendMsg(addr); !errors.As(err, &se) || se.Code != 451 {
		t.Fatalf("internal error: %v, want 451", err)
	}
}

func TestUntrustedRelayRefused(t *testing.T) {
	_, addr := startServer(t, &slowReceiver{}, func(net.IP) bool { return false })
	err := sendMsg(addr)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 554 {
		t.Fatalf("untrusted relay: %v, want 554", err)
	}
}

func TestShutdownWaitsThenAborts(t *testing.T) {
	recv := &slowReceiver{delay: 100 * time.Millisecond, started: make(chan struct{}, 1)}
	s, addr := startServer(t, recv, nil)

	// An idle connection, as an MTA keeps for reuse.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	br := bufio.NewReader(idle)
	br.ReadString('\n') // greeting

	// A delivery that finishes within the grace period is acknowledged.
	done := make(chan error, 1)
	go func() { done <- sendMsg(addr) }()
	inFlight(t, recv)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("in-flight delivery within the grace period: %v", err)
	}
	if len(recv.got) != 1 {
		t.Fatalf("stored %d", len(recv.got))
	}
	line, _ := br.ReadString('\n')
	if !strings.HasPrefix(line, "421") {
		t.Fatalf("idle connection told %q, want 421", line)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

func TestShutdownAbortsSlowDeliveryWith421(t *testing.T) {
	recv := &slowReceiver{delay: 10 * time.Second, started: make(chan struct{}, 1)}
	s, addr := startServer(t, recv, nil)
	done := make(chan error, 1)
	go func() { done <- sendMsg(addr) }()
	inFlight(t, recv)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	s.Shutdown(ctx)
	err := <-done
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 421 {
		t.Fatalf("aborted delivery: %v, want 421 so the sender retries", err)
	}
}

// inFlight waits until recv holds a delivery (its body read, the
// receiver's delay begun), so Shutdown meets it in flight.
func inFlight(t *testing.T, recv *slowReceiver) {
	t.Helper()
	select {
	case <-recv.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the delivery never reached the receiver")
	}
}
