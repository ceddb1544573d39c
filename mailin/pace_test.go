package mailin

import (
	"context"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// TestPaceHoldsMail: a message waits at MAIL while Pace holds it, then
// goes through; nothing is refused for it.
func TestPaceHoldsMail(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	recv := &slowReceiver{}
	_, addr := startServerWith(t, recv, ServerOptions{Pace: func(context.Context) {
		entered <- struct{}{}
		<-release
	}})
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	mailed := make(chan error, 1)
	go func() { mailed <- c.Mail("a@b.example", nil) }()
	<-entered
	select {
	case err := <-mailed:
		t.Fatalf("MAIL answered (%v) while Pace held it", err)
	default:
	}
	close(release)
	if err := <-mailed; err != nil {
		t.Fatalf("MAIL after pacing: %v", err)
	}
	if err := c.Rcpt("acme@support.example.com", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("Subject: x\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("DATA after pacing: %v", err)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if len(recv.got) != 1 || !strings.Contains(recv.got[0], "hi") {
		t.Fatalf("stored %q", recv.got)
	}
}
