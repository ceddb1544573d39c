package mailout

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// testMessage has a line starting with a dot to prove dot-stuffing round
// trips and a non-ASCII body to prove 8-bit data passes unchanged.
func testMessage(n int) []byte {
	return []byte(fmt.Sprintf("From: ACME Support <acme@support.example.com>\r\n"+
		"To: alice@customer.example\r\n"+
		"Subject: [ACME-%d] Your request\r\n"+
		"Message-ID: <msg-%d@support.example.com>\r\n"+
		"\r\n"+
		"Grüße from ticket %d.\r\n"+
		".a line that starts with a dot\r\n"+
		"..and one with two\r\n", n, n, n))
}

func testEnvelope(n int, to ...string) Envelope {
	if len(to) == 0 {
		to = []string{"alice@customer.example"}
	}
	return Envelope{From: "bounces+acme@support.example.com", To: to, MessageID: fmt.Sprintf("msg-%d@support.example.com", n)}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newRelay points an SMTP transport at sink, trusting its certificate.
func newRelay(t *testing.T, sink *mailouttest.Sink, mode mailouttest.TLSMode, edit func(*SMTPOptions)) *SMTP {
	t.Helper()
	opts := SMTPOptions{
		Host:      sink.Host(),
		Port:      sink.Port(),
		TLS:       mode.String(),
		HelloName: "gateway.test",
		Timeout:   5 * time.Second,
	}
	if roots := sink.RootCAs(); roots != nil {
		opts.TLSConfig = &tls.Config{RootCAs: roots}
	}
	if edit != nil {
		edit(&opts)
	}
	s := NewSMTP(opts, testLogger(t))
	t.Cleanup(func() { s.Close() })
	return s
}

func send(t *testing.T, s *SMTP, n int, to ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return s.Send(ctx, testEnvelope(n, to...), bytes.NewReader(testMessage(n)))
}

func mustSend(t *testing.T, s *SMTP, n int, to ...string) {
	t.Helper()
	if err := send(t, s, n, to...); err != nil {
		t.Fatalf("Send #%d: %v", n, err)
	}
}

func wantSMTPCode(t *testing.T, err error, code int, temporary bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("Send succeeded, want SMTP %d", code)
	}
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("error %v does not carry an *smtp.SMTPError", err)
	}
	if se.Code != code {
		t.Errorf("SMTP code = %d, want %d (%v)", se.Code, code, err)
	}
	if got := fault.IsTemporary(err); got != temporary {
		t.Errorf("IsTemporary = %v, want %v (%v)", got, temporary, err)
	}
}

func TestSMTPPlainSend(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	s := newRelay(t, sink, mailouttest.NoTLS, nil)

	mustSend(t, s, 1)

	msgs := sink.Messages()
	if len(msgs) != 1 {
		t.Fatalf("sink got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "bounces+acme@support.example.com" || !slices.Equal(m.To, []string{"alice@customer.example"}) {
		t.Errorf("envelope = %q → %q", m.From, m.To)
	}
	if !bytes.Equal(m.Data, testMessage(1)) {
		t.Errorf("data differs:\n got %q\nwant %q", m.Data, testMessage(1))
	}
	if m.Hello != "gateway.test" {
		t.Errorf("EHLO name = %q, want gateway.test", m.Hello)
	}
	if m.TLS {
		t.Error("plain relay reported TLS")
	}
}

func TestSMTPStartTLS(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{TLS: mailouttest.StartTLS})
	s := newRelay(t, sink, mailouttest.StartTLS, nil)

	mustSend(t, s, 1)

	msgs := sink.Messages()
	if len(msgs) != 1 {
		t.Fatalf("sink got %d messages, want 1", len(msgs))
	}
	if !msgs[0].TLS {
		t.Error("message did not travel over TLS")
	}
	if msgs[0].Hello != "gateway.test" {
		t.Errorf("EHLO name after STARTTLS = %q, want gateway.test", msgs[0].Hello)
	}
	if !bytes.Equal(msgs[0].Data, testMessage(1)) {
		t.Errorf("data differs:\n got %q\nwant %q", msgs[0].Data, testMessage(1))
	}
	if !strings.Contains(sink.Transcript(), "STARTTLS") {
		t.Error("transcript has no STARTTLS")
	}
}

func TestSMTPStartTLSUntrustedCertificate(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{TLS: mailouttest.StartTLS})
	// A private pool without the sink's certificate: verification must
	// fail instead of silently sending.
	s := newRelay(t, sink, mailouttest.StartTLS, func(o *SMTPOptions) {
		o.TLSConfig = &tls.Config{RootCAs: x509.NewCertPool()}
	})

	err := send(t, s, 1)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("Send error = %v, want x509.UnknownAuthorityError", err)
	}
	if !fault.IsTemporary(err) {
		t.Errorf("TLS handshake failure is not temporary: %v", err)
	}
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("sink got %d messages over an unverified connection", n)
	}
}

func TestSMTPStartTLSNotOffered(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{TLS: mailouttest.NoTLS})
	s := newRelay(t, sink, mailouttest.StartTLS, nil)

	err := send(t, s, 1)
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send error = %v, want a STARTTLS failure", err)
	}
	if !fault.IsTemporary(err) {
		t.Errorf("missing STARTTLS is not temporary: %v", err)
	}
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("sink got %d messages in the clear although starttls was required", n)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{TLS: mailouttest.ImplicitTLS})
	s := newRelay(t, sink, mailouttest.ImplicitTLS, nil)

	mustSend(t, s, 1)

	msgs := sink.Messages()
	if len(msgs) != 1 || !msgs[0].TLS {
		t.Fatalf("messages = %+v, want one over TLS", msgs)
	}
	if !bytes.Equal(msgs[0].Data, testMessage(1)) {
		t.Errorf("data differs:\n got %q\nwant %q", msgs[0].Data, testMessage(1))
	}
	if strings.Contains(sink.Transcript(), "STARTTLS") {
		t.Error("implicit TLS connection used STARTTLS")
	}
}

func TestSMTPAuth(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{TLS: mailouttest.StartTLS, Username: "gateway", Password: "s3cret pass"})

	t.Run("right password", func(t *testing.T) {
		s := newRelay(t, sink, mailouttest.StartTLS, func(o *SMTPOptions) {
			o.Username, o.Password = "gateway", "s3cret pass"
		})
		mustSend(t, s, 1)
		msgs := sink.Messages()
		if len(msgs) != 1 || msgs[0].User != "gateway" || !msgs[0].TLS {
			t.Fatalf("messages = %+v, want one from user gateway over TLS", msgs)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		s := newRelay(t, sink, mailouttest.StartTLS, func(o *SMTPOptions) {
			o.Username, o.Password = "gateway", "guess"
		})
		err := send(t, s, 2)
		wantSMTPCode(t, err, 535, false)
		if n := len(sink.Messages()); n != 1 {
			t.Errorf("sink has %d messages, want still 1", n)
		}
	})

	t.Run("no credentials", func(t *testing.T) {
		s := newRelay(t, sink, mailouttest.StartTLS, nil)
		err := send(t, s, 3)
		wantSMTPCode(t, err, 530, false)
	})
}

func TestSMTPAuthPlaintextLoopback(t *testing.T) {
	// The one place credentials may go in the clear: a relay on this host.
	sink := mailouttest.NewSink(t, mailouttest.Options{Username: "gateway", Password: "pw"})
	s := newRelay(t, sink, mailouttest.NoTLS, func(o *SMTPOptions) {
		o.Username, o.Password = "gateway", "pw"
	})
	mustSend(t, s, 1)
	if msgs := sink.Messages(); len(msgs) != 1 || msgs[0].User != "gateway" {
		t.Fatalf("messages = %+v, want one from user gateway", msgs)
	}
}

func TestPlaintextAuthAllowed(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost":        true,
		"LOCALHOST":        true,
		"127.0.0.1":        true,
		"127.1.2.3":        true,
		"::1":              true,
		"[::1]":            true,
		"smtp.example.com": false,
		"192.0.2.25":       false,
		"2001:db8::25":     false,
		"localhost.evil":   false,
		"":                 false,
	} {
		if got := plaintextAuthAllowed(host); got != want {
			t.Errorf("plaintextAuthAllowed(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestSMTPRefusesCredentialsInTheClear(t *testing.T) {
	// No network: the options are rejected before any connection.
	s := NewSMTP(SMTPOptions{Host: "smtp.example.com", TLS: TLSNone, Username: "gateway", Password: "pw"}, testLogger(t))
	err := s.Send(t.Context(), testEnvelope(1), strings.NewReader("Subject: x\r\n\r\nx\r\n"))
	if err == nil || !strings.Contains(err.Error(), "in the clear") {
		t.Fatalf("Send error = %v, want a refusal to send the password in the clear", err)
	}
	if fault.IsTemporary(err) {
		t.Errorf("config error is temporary: %v", err)
	}

	// With TLS the same options are fine.
	ok := NewSMTP(SMTPOptions{Host: "smtp.example.com", TLS: TLSStartTLS, Username: "gateway", Password: "pw"}, nil)
	if ok.configErr != nil {
		t.Errorf("starttls with credentials rejected: %v", ok.configErr)
	}
}

func TestSMTPBadOptions(t *testing.T) {
	s := NewSMTP(SMTPOptions{Host: "", TLS: "ssl"}, nil)
	err := s.Send(t.Context(), testEnvelope(1), strings.NewReader("x\r\n"))
	if err == nil || fault.IsTemporary(err) {
		t.Fatalf("Send error = %v, want a permanent config error", err)
	}
	for _, want := range []string{"outbound.smtp.host", "outbound.smtp.tls", `"ssl"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestSMTPReplies(t *testing.T) {
	cases := []struct {
		stage     mailouttest.Stage
		reply     *smtp.SMTPError
		temporary bool
	}{
		{mailouttest.AtMail, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "shutting down"}, true},
		{mailouttest.AtMail, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}, true},
		{mailouttest.AtMail, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "sender rejected"}, false},
		{mailouttest.AtRcpt, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "greylisted"}, true},
		{mailouttest.AtRcpt, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}, false},
		{mailouttest.AtData, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "disk full"}, true},
		{mailouttest.AtData, &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "content rejected"}, false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%v %d", tc.stage, tc.reply.Code), func(t *testing.T) {
			sink := mailouttest.NewSink(t, mailouttest.Options{})
			s := newRelay(t, sink, mailouttest.NoTLS, nil)
			sink.FailNext(tc.stage, 1, tc.reply)

			err := send(t, s, 1)
			wantSMTPCode(t, err, tc.reply.Code, tc.temporary)
			if !strings.Contains(err.Error(), tc.reply.Message) {
				t.Errorf("error %q lacks the relay's text %q", err, tc.reply.Message)
			}
			if n := len(sink.Messages()); n != 0 {
				t.Fatalf("sink recorded %d messages despite %d", n, tc.reply.Code)
			}

			// The retry goes through, on the same connection unless the
			// relay said 421 (closing).
			mustSend(t, s, 1)
			msgs := sink.Messages()
			if len(msgs) != 1 || !bytes.Equal(msgs[0].Data, testMessage(1)) {
				t.Fatalf("after retry sink has %+v", msgs)
			}
			wantConns := 1
			if tc.reply.Code == 421 {
				wantConns = 2
			}
			if got := sink.Connections(); got != wantConns {
				t.Errorf("connections = %d, want %d", got, wantConns)
			}
		})
	}
}

func TestSMTPConnectionRefused(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	s := newRelay(t, sink, mailouttest.NoTLS, nil)
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}

	err := send(t, s, 1)
	if err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
	if !fault.IsTemporary(err) {
		t.Errorf("connection refused is not temporary: %v", err)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) || opErr.Op != "dial" {
		t.Errorf("error %v does not carry the dial error", err)
	}
}

func TestSMTPTimeout(t *testing.T) {
	// A relay that accepts the connection and never greets.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(io.Discard, c) // returns when the client gives up
	})

	addr := ln.Addr().(*net.TCPAddr)
	s := NewSMTP(SMTPOptions{Host: "127.0.0.1", Port: addr.Port, TLS: TLSNone, Timeout: 300 * time.Millisecond}, testLogger(t))
	defer s.Close()

	start := time.Now()
	err = send(t, s, 1)
	if err == nil {
		t.Fatal("Send to a silent relay succeeded")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Send took %v with a 300ms timeout", took)
	}
	if !fault.IsTemporary(err) {
		t.Errorf("timeout is not temporary: %v", err)
	}
	// Either the read deadline or the connect budget fires first; both
	// are net.Errors that say Timeout.
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("error %v does not say it timed out", err)
	}
}

func TestSMTPCancelledContext(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	s := newRelay(t, sink, mailouttest.NoTLS, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	err := s.Send(ctx, testEnvelope(1), bytes.NewReader(testMessage(1)))
	if !errors.Is(err, context.Canceled) || !fault.IsTemporary(err) {
		t.Fatalf("Send error = %v, want a temporary context.Canceled", err)
	}
	if sink.Connections() != 0 {
		t.Error("a cancelled Send connected anyway")
	}
}

func TestSMTPConnectionReuse(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{TLS: mailouttest.StartTLS, Username: "u", Password: "p"})
	s := newRelay(t, sink, mailouttest.StartTLS, func(o *SMTPOptions) { o.Username, o.Password = "u", "p" })

	for i := 1; i <= 3; i++ {
		mustSend(t, s, i)
	}

	if got := sink.Connections(); got != 1 {
		t.Errorf("three sends used %d connections, want 1", got)
	}
	msgs := sink.Messages()
	if len(msgs) != 3 {
		t.Fatalf("sink got %d messages, want 3", len(msgs))
	}
	for i, m := range msgs {
		if !bytes.Equal(m.Data, testMessage(i+1)) {
			t.Errorf("message %d data differs", i+1)
		}
		if m.User != "u" || !m.TLS {
			t.Errorf("message %d: user %q tls %v, want u over TLS", i+1, m.User, m.TLS)
		}
	}
	tr := sink.Transcript()
	// Each transaction ended with the relay's 250, which leaves the
	// session at the start of the next: no RSET between them.
	if got := strings.Count(tr, "\r\nRSET\r\n"); got != 0 {
		t.Errorf("transcript has %d RSETs, want none between accepted messages", got)
	}
	if got := strings.Count(tr, "\r\nAUTH PLAIN "); got != 1 {
		t.Errorf("transcript has %d AUTH commands, want 1", got)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := sink.WaitTranscript("QUIT\r\n221", 10*time.Second); err != nil {
		t.Errorf("Close did not send QUIT: %v", err)
	}
	// A Send after Close opens a new connection.
	mustSend(t, s, 4)
	if got := sink.Connections(); got != 2 {
		t.Errorf("connections after Close and Send = %d, want 2", got)
	}
}

func TestSMTPDeadCachedConnection(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	s := newRelay(t, sink, mailouttest.NoTLS, nil)

	mustSend(t, s, 1)
	if err := sink.Restart(); err != nil {
		t.Fatal(err)
	}
	mustSend(t, s, 2)

	msgs := sink.Messages()
	if len(msgs) != 2 || !bytes.Equal(msgs[1].Data, testMessage(2)) {
		t.Fatalf("sink has %d messages, want both", len(msgs))
	}
	if got := sink.Connections(); got != 2 {
		t.Errorf("connections = %d, want 2 (one before, one after the restart)", got)
	}
	if msgs[0].Conn == msgs[1].Conn {
		t.Error("second message claims to have used the dead connection")
	}
}

// TestSMTPClosingCachedConnection: a relay that answers the MAIL of a
// cached connection with 421 (closing it, e.g. after an idle timeout) got
// nothing of the message: it is sent on a new connection, once.
func TestSMTPClosingCachedConnection(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	s := newRelay(t, sink, mailouttest.NoTLS, nil)

	mustSend(t, s, 1)
	sink.FailNext(mailouttest.AtMail, 1, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "idle timeout"})
	mustSend(t, s, 2)

	msgs := sink.Messages()
	if len(msgs) != 2 || !bytes.Equal(msgs[1].Data, testMessage(2)) {
		t.Fatalf("sink has %d messages, want both", len(msgs))
	}
	if got := sink.Connections(); got != 2 {
		t.Errorf("connections = %d, want 2", got)
	}
	// A relay that refuses MAIL otherwise (451) is answered as before:
	// the attempt fails, and the connection stays.
	sink.FailNext(mailouttest.AtMail, 1, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"})
	wantSMTPCode(t, send(t, s, 3), 451, true)
	mustSend(t, s, 3)
	if got := sink.Connections(); got != 2 {
		t.Errorf("connections = %d, want 2", got)
	}
	if n := len(sink.Messages()); n != 3 {
		t.Errorf("sink has %d messages, want 3", n)
	}
}

func TestSMTPRecipientErrors(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	s := newRelay(t, sink, mailouttest.NoTLS, nil)
	sink.RejectRecipient("gone@customer.example", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"})
	sink.RejectRecipient("full@customer.example", &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"})

	err := send(t, s, 1, "alice@customer.example", "gone@customer.example", "bob@customer.example", "full@customer.example")

	var re *RecipientErrors
	if !errors.As(err, &re) {
		t.Fatalf("Send error = %v, want *RecipientErrors", err)
	}
	if want := []string{"alice@customer.example", "bob@customer.example"}; !slices.Equal(re.Accepted, want) {
		t.Errorf("Accepted = %q, want %q", re.Accepted, want)
	}
	var refused []string
	for _, r := range re.Refused {
		refused = append(refused, r.Recipient)
	}
	if want := []string{"gone@customer.example", "full@customer.example"}; !slices.Equal(refused, want) {
		t.Errorf("Refused = %q, want %q", refused, want)
	}
	wantSMTPCode(t, re.Refused[0].Err, 550, false)
	wantSMTPCode(t, re.Refused[1].Err, 452, true)
	if !fault.IsTemporary(err) {
		t.Error("a 452 recipient should keep the message retryable")
	}
	if got := re.TemporaryRecipients(); !slices.Equal(got, []string{"full@customer.example"}) {
		t.Errorf("TemporaryRecipients = %q", got)
	}
	for _, want := range []string{"2 of 4 recipients refused", "gone@customer.example", "no such user", "mailbox full"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}

	msgs := sink.Messages()
	if len(msgs) != 1 {
		t.Fatalf("sink got %d messages, want 1 for the accepted recipients", len(msgs))
	}
	if want := []string{"alice@customer.example", "bob@customer.example"}; !slices.Equal(msgs[0].To, want) {
		t.Errorf("delivered to %q, want %q", msgs[0].To, want)
	}

	// Only permanent refusals: the error is permanent.
	err = send(t, s, 2, "alice@customer.example", "gone@customer.example")
	if !errors.As(err, &re) || fault.IsTemporary(err) {
		t.Errorf("Send with one 550 recipient = %v, want permanent *RecipientErrors", err)
	}

	// Everybody refused: nothing is sent, and the connection stays usable.
	err = send(t, s, 3, "gone@customer.example")
	if !errors.As(err, &re) || len(re.Accepted) != 0 || len(re.Refused) != 1 {
		t.Fatalf("Send to a refused recipient = %v, want *RecipientErrors with nobody accepted", err)
	}
	wantSMTPCode(t, err, 550, false)
	mustSend(t, s, 4)
	if n := len(sink.Messages()); n != 3 {
		t.Errorf("sink has %d messages, want 3", n)
	}
	if got := sink.Connections(); got != 1 {
		t.Errorf("connections = %d, want 1", got)
	}
}

func TestSMTPBadEnvelope(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	s := newRelay(t, sink, mailouttest.NoTLS, nil)

	for name, env := range map[string]Envelope{
		"no recipients":   {From: "a@example.com"},
		"CRLF in rcpt":    {From: "a@example.com", To: []string{"b@example.com>\r\nRCPT TO:<c@example.com"}},
		"CRLF in sender":  {From: "a@example.com\r\nRSET", To: []string{"b@example.com"}},
		"empty recipient": {From: "a@example.com", To: []string{""}},
	} {
		err := s.Send(t.Context(), env, strings.NewReader("Subject: x\r\n\r\nx\r\n"))
		if err == nil || fault.IsTemporary(err) {
			t.Errorf("%s: Send error = %v, want permanent", name, err)
		}
	}
	if sink.Connections() != 0 {
		t.Error("a bad envelope reached the relay")
	}
}

func TestSMTPUTF8Envelope(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	s := newRelay(t, sink, mailouttest.NoTLS, nil)

	if err := send(t, s, 1, "jörg@müller.example"); err != nil {
		t.Fatal(err)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || !slices.Equal(msgs[0].To, []string{"jörg@müller.example"}) {
		t.Fatalf("messages = %+v", msgs)
	}
	if !strings.Contains(sink.Transcript(), "SMTPUTF8") {
		t.Error("MAIL FROM lacked SMTPUTF8")
	}
}

func TestSMTPMessageReadError(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	s := newRelay(t, sink, mailouttest.NoTLS, nil)
	broken := errors.New("blob store unreadable")

	err := s.Send(t.Context(), testEnvelope(1), io.MultiReader(strings.NewReader("Subject: x\r\n"), &failingReader{err: broken}))
	if !errors.Is(err, broken) || !fault.IsTemporary(err) {
		t.Fatalf("Send error = %v, want temporary wrapping the read error", err)
	}
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("a half-read message was delivered (%d)", n)
	}
	// The half-written DATA poisoned the connection; the next send uses a
	// new one and succeeds.
	mustSend(t, s, 2)
	if got := sink.Connections(); got != 2 {
		t.Errorf("connections = %d, want 2", got)
	}
}

type failingReader struct{ err error }

func (r *failingReader) Read([]byte) (int, error) { return 0, r.err }
