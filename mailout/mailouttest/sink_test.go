package mailouttest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// dial opens a go-smtp client to the sink the way its users would.
func dial(t *testing.T, s *Sink) *smtp.Client {
	t.Helper()
	var (
		c   *smtp.Client
		err error
	)
	switch s.opts.TLS {
	case StartTLS:
		c, err = smtp.DialStartTLS(s.Addr(), &tls.Config{RootCAs: s.RootCAs()})
	case ImplicitTLS:
		c, err = smtp.DialTLS(s.Addr(), &tls.Config{RootCAs: s.RootCAs()})
	default:
		c, err = smtp.Dial(s.Addr())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestSinkRecordsMessages(t *testing.T) {
	for _, mode := range []TLSMode{NoTLS, StartTLS, ImplicitTLS} {
		t.Run(mode.String(), func(t *testing.T) {
			s := NewSink(t, Options{TLS: mode})
			c := dial(t, s)
			if err := c.Hello("client.test"); err != nil {
				t.Fatal(err)
			}
			body := "Subject: hi\r\n\r\n.dot\r\n"
			if err := c.SendMail("a@example.com", []string{"b@example.com", "c@example.com"}, strings.NewReader(body)); err != nil {
				t.Fatal(err)
			}
			msgs, err := s.WaitFor(1, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			m := msgs[0]
			if m.From != "a@example.com" || strings.Join(m.To, ",") != "b@example.com,c@example.com" {
				t.Errorf("envelope %q → %q", m.From, m.To)
			}
			if string(m.Data) != body {
				t.Errorf("data %q, want %q", m.Data, body)
			}
			if m.TLS != (mode != NoTLS) || m.Hello != "client.test" || m.Conn != 1 {
				t.Errorf("TLS=%v Hello=%q Conn=%d", m.TLS, m.Hello, m.Conn)
			}
			if (s.RootCAs() == nil) != (mode == NoTLS) {
				t.Errorf("RootCAs nil = %v for %v", s.RootCAs() == nil, mode)
			}
		})
	}
}

func TestSinkFailNext(t *testing.T) {
	s := NewSink(t, Options{})
	c := dial(t, s)
	s.FailNext(AtRcpt, 2, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "later"})
	s.FailNext(AtData, 1, &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "no"})

	if err := c.Mail("a@example.com", nil); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{451, 451, 0} {
		if got := smtpCode(c.Rcpt("b@example.com", nil)); got != want {
			t.Errorf("RCPT %d: code %d, want %d", i+1, got, want)
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("Subject: x\r\n\r\nx\r\n"))
	if got := smtpCode(w.Close()); got != 554 {
		t.Errorf("DATA: code %d, want 554", got)
	}
	// The injections are used up.
	if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader("x\r\n")); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("%d messages recorded, want 1 (the refused one is not)", n)
	}

	s.RejectRecipient("Gone@Example.com", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "gone"})
	c.Reset()
	if err := c.Mail("a@example.com", nil); err != nil {
		t.Fatal(err)
	}
	if got := smtpCode(c.Rcpt("gone@example.com", nil)); got != 550 {
		t.Errorf("rejected recipient: code %d, want 550", got)
	}
	s.RejectRecipient("gone@example.com", nil)
	if err := c.Rcpt("gone@example.com", nil); err != nil {
		t.Errorf("after lifting the rejection: %v", err)
	}
}

func TestSinkAuth(t *testing.T) {
	s := NewSink(t, Options{TLS: StartTLS, Username: "user", Password: "pass"})

	c := dial(t, s)
	if got := smtpCode(c.Mail("a@example.com", nil)); got != 530 {
		t.Errorf("MAIL without AUTH: code %d, want 530", got)
	}
	c = dial(t, s)
	if got := smtpCode(c.Auth(sasl.NewPlainClient("", "user", "wrong"))); got != 535 {
		t.Errorf("wrong password: code %d, want 535", got)
	}
	c = dial(t, s)
	if err := c.Auth(sasl.NewPlainClient("", "user", "pass")); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader("x\r\n")); err != nil {
		t.Fatal(err)
	}
	if msgs := s.Messages(); len(msgs) != 1 || msgs[0].User != "user" || msgs[0].Conn != 3 {
		t.Errorf("messages = %+v, want one by user on connection 3", msgs)
	}
	if got := s.Connections(); got != 3 {
		t.Errorf("Connections = %d, want 3", got)
	}
}

func TestSinkSizeLimit(t *testing.T) {
	s := NewSink(t, Options{MaxMessageBytes: 100})
	c := dial(t, s)
	big := "Subject: x\r\n\r\n" + strings.Repeat("0123456789\r\n", 20)
	if got := smtpCode(c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(big))); got != 552 {
		t.Errorf("oversized message: code %d, want 552", got)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d messages recorded", n)
	}
}

func TestSinkWaitForTimeout(t *testing.T) {
	s := NewSink(t, Options{})
	go func() {
		c, err := smtp.Dial(s.Addr())
		if err != nil {
			return
		}
		defer c.Close()
		c.SendMail("a@example.com", []string{"b@example.com"}, bytes.NewReader([]byte("x\r\n")))
	}()
	msgs, err := s.WaitFor(1, 5*time.Second)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("WaitFor(1) = %d messages, %v", len(msgs), err)
	}
	start := time.Now()
	msgs, err = s.WaitFor(2, 100*time.Millisecond)
	if err == nil || len(msgs) != 1 {
		t.Errorf("WaitFor(2) = %d messages, %v; want the 1 so far and an error", len(msgs), err)
	}
	if time.Since(start) < 100*time.Millisecond {
		t.Error("WaitFor returned before its timeout")
	}
}

func TestSinkRestartAndClose(t *testing.T) {
	s := NewSink(t, Options{})
	c := dial(t, s)
	if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader("one\r\n")); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.Addr() != addr {
		t.Errorf("address changed from %s to %s", addr, s.Addr())
	}
	// The old connection is gone.
	if err := c.Noop(); err == nil {
		t.Error("connection survived the restart")
	}
	c = dial(t, s)
	if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader("two\r\n")); err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages()
	if len(msgs) != 2 || msgs[1].Conn != 2 {
		t.Fatalf("messages after restart = %+v", msgs)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Error("sink still accepts connections after Close")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Restart(); err == nil {
		t.Error("Restart after Close succeeded")
	}
}

// TestSinkHold: a held recipient's transaction waits after the final dot
// while other connections are answered at once; Release lets it through.
func TestSinkHold(t *testing.T) {
	s := NewSink(t, Options{})
	s.Hold("Stuck@example.com")
	done := make(chan error, 1)
	hc := dial(t, s)
	go func() {
		done <- hc.SendMail("a@example.com", []string{"stuck@example.com"}, strings.NewReader("held\r\n"))
	}()
	if err := s.WaitHeld(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	c := dial(t, s)
	defer c.Close()
	if err := c.SendMail("a@example.com", []string{"free@example.com"}, strings.NewReader("free\r\n")); err != nil {
		t.Fatalf("other recipient: %v", err)
	}
	if got := s.Messages(); len(got) != 1 || got[0].To[0] != "free@example.com" {
		t.Fatalf("messages while held: %+v", got)
	}
	s.Release("stuck@example.com")
	if err := <-done; err != nil {
		t.Fatalf("held send: %v", err)
	}
	if _, err := s.WaitFor(2, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if s.Held() != 0 {
		t.Errorf("still held: %d", s.Held())
	}
}
