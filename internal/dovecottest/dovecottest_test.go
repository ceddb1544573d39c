package dovecottest

import (
	"net"
	"testing"
	"time"
)

func TestStartAppendCount(t *testing.T) {
	start := time.Now()
	s := Start(t)
	t.Logf("dovecot listening on %s after %v", s.Addr(), time.Since(start))
	c := s.Client(t)
	uid := Append(t, c, "INBOX", []byte("From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n"))
	if uid == 0 {
		t.Error("APPEND returned no UID (UIDPLUS)")
	}
	if n := Count(t, c, "INBOX"); n != 1 {
		t.Errorf("INBOX has %d messages, want 1", n)
	}
}

// Stop does not wait for a client idling in a mailbox.
func TestStopWithIdlingClient(t *testing.T) {
	s := Start(t)
	c := s.Client(t)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Idle(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s.Stop()
	t.Logf("dovecot stopped with a client in IDLE in %v", time.Since(start))
	if conn, err := net.Dial("tcp", s.Addr()); err == nil {
		conn.Close()
		t.Error("still listening after Stop")
	}
}
