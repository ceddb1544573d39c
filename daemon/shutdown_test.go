package daemon

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// TestShutdownWithSilentRelay: a relay that accepts the connection and
// never answers holds a send in flight; a stop whose deadline has passed
// returns at once instead of waiting out the transport's timeout (an hour
// here, 60 s per SMTP step by default: longer than systemd's stop timeout),
// and the mail stays queued for the next start.
func TestShutdownWithSilentRelay(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	accepted := make(chan struct{}, 1)
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // never a greeting
			mu.Unlock()
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-acceptDone
		for _, c := range conns {
			c.Close()
		}
	})
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := testConfig(t, t.TempDir(), sink)
	c.Outbound.SMTP.Host, c.Outbound.SMTP.Port = "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
	c.Outbound.SMTP.Timeout = time.Hour
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	d, err := Start(c, testLogger(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		msg("carl@customer.example", "acme@support.example.com", "Printer on fire", "s1@customer.example", "hi"))
	select {
	case <-accepted: // a send is in flight, waiting for the greeting
	case <-time.After(30 * time.Second):
		t.Fatal("the sender never connected to the relay")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the stop's grace is over
	done := make(chan struct{})
	go func() {
		d.Shutdown(ctx)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Shutdown still waits for the silent relay")
	}

	// Nothing was lost: started again with a relay that answers, the
	// auto-reply goes out.
	start(t, testConfig(t, c.DataDir, sink))
	waitMailTo(t, sink, "carl@customer.example", "Printer on fire")
}
