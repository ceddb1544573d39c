package dovecottest

import (
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
