package mailout

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// dotStuffed is what net/textproto's DotWriter makes of data written in
// the given chunks: the reference dotWriter is held to.
func dotStuffed(chunks ...[]byte) []byte {
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	dw := textproto.NewWriter(bw).DotWriter()
	for _, c := range chunks {
		dw.Write(c)
	}
	dw.Close()
	return buf.Bytes()
}

// ourStuffed is what dotWriter makes of the same chunks.
func ourStuffed(t testing.TB, chunks ...[]byte) []byte {
	var buf bytes.Buffer
	// A small buffer, so runs are cut by flushes too.
	bw := bufio.NewWriterSize(&buf, 16)
	d := dotWriter{w: bw}
	for _, c := range chunks {
		if n, err := d.Write(c); n != len(c) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", c, n, err)
		}
	}
	d.close()
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDotWriter(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "\r\n.\r\n"},
		{"a\r\n", "a\r\n.\r\n"},
		{"no final line break", "no final line break\r\n.\r\n"},
		{"ends in CR\r", "ends in CR\r\n.\r\n"},
		{".\r\n", "..\r\n.\r\n"},
		{".starts\r\n..two\r\nmid.dle\r\n.", "..starts\r\n...two\r\nmid.dle\r\n..\r\n.\r\n"},
		{"bare\nLF\n.dot\n", "bare\r\nLF\r\n..dot\r\n.\r\n"},
		{"CR\rin the middle\r\n", "CR\rin the middle\r\n.\r\n"},
		{"CR\r.not a line start\r\n", "CR\r.not a line start\r\n.\r\n"},
		// As net/textproto: the byte after a CR is taken as it is, so a
		// CR CR LF gets another CR before its LF.
		{"a\r\r\nb", "a\r\r\r\nb\r\n.\r\n"},
		{"a\r\r\r\nb", "a\r\r\r\nb\r\n.\r\n"},
		{"\r\r\n.x", "\r\r\r\n..x\r\n.\r\n"},
		{"Grüße\r\n", "Grüße\r\n.\r\n"},
	} {
		if ref := string(dotStuffed([]byte(tc.in))); ref != tc.want {
			t.Fatalf("net/textproto makes %q of %q, the table says %q", ref, tc.in, tc.want)
		}
		if got := string(ourStuffed(t, []byte(tc.in))); got != tc.want {
			t.Errorf("dotWriter(%q) = %q, want %q", tc.in, got, tc.want)
		}
		// Byte by byte, every state crosses a Write.
		var chunks [][]byte
		for i := range len(tc.in) {
			chunks = append(chunks, []byte(tc.in[i:i+1]))
		}
		if got := string(ourStuffed(t, chunks...)); got != tc.want {
			t.Errorf("dotWriter(%q) a byte at a time = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzDotWriter: for any data cut into any chunks, dotWriter writes the
// bytes net/textproto's DotWriter (go-smtp's, before) writes.
func FuzzDotWriter(f *testing.F) {
	f.Add(testMessage(1), []byte{3, 200, 7})
	f.Add([]byte("a\r\r\n.b\n\r.\r\n..\r"), []byte{1})
	f.Add([]byte(".\r\n.\n\r\r\n"), []byte{0, 1, 2})
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		var chunks [][]byte
		rest := data
		for i := 0; len(rest) > 0; i++ {
			n := len(rest)
			if len(cuts) > 0 {
				n = min(int(cuts[i%len(cuts)])+1, len(rest))
			}
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		want := dotStuffed(chunks...)
		if got := ourStuffed(t, chunks...); !bytes.Equal(got, want) {
			t.Fatalf("dotWriter(%q in %d chunks)\n got %q\nwant %q", data, len(chunks), got, want)
		}
	})
}

func TestParseReplyLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		code int
		more bool
		text string
		ok   bool
	}{
		{"250 OK", 250, false, "OK", true},
		{"250-PIPELINING", 250, true, "PIPELINING", true},
		{"250", 250, false, "", true},
		{"250 ", 250, false, "", true},
		{"25", 0, false, "", false},
		{"2x0 OK", 0, false, "", false},
		{"250_OK", 0, false, "", false},
		{"099 low", 0, false, "", false},
	} {
		code, more, text, ok := parseReplyLine([]byte(tc.line))
		if code != tc.code || more != tc.more || string(text) != tc.text || ok != tc.ok {
			t.Errorf("parseReplyLine(%q) = %d %v %q %v, want %d %v %q %v", tc.line, code, more, text, ok, tc.code, tc.more, tc.text, tc.ok)
		}
	}
}

// TestSMTPPipelined: against a relay that offers PIPELINING and answers
// MAIL and RCPT only once DATA arrived, MAIL, every RCPT and DATA go in
// one batch (a client waiting for each reply would time out), and two
// mails share the connection.
func TestSMTPPipelined(t *testing.T) {
	f := newFakeRelay(t, "PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES")
	s := f.transport(t, nil)

	mustSend(t, s, 1, "alice@customer.example", "bob@customer.example")
	mustSend(t, s, 2)

	msgs := f.messages()
	if len(msgs) != 2 {
		t.Fatalf("relay got %d messages, want 2", len(msgs))
	}
	for i, m := range msgs {
		if !bytes.Equal(m.data, testMessage(i+1)) {
			t.Errorf("message %d: data %q, want %q", i+1, m.data, testMessage(i+1))
		}
		if want := dotStuffed(testMessage(i + 1)); !bytes.Equal(m.wire, want) {
			t.Errorf("message %d on the wire: %q, want %q", i+1, m.wire, want)
		}
		if m.conn != 1 {
			t.Errorf("message %d came on connection %d", i+1, m.conn)
		}
	}
	if !slices.Equal(msgs[0].to, []string{"alice@customer.example", "bob@customer.example"}) {
		t.Errorf("recipients %q", msgs[0].to)
	}
	want := []string{
		"EHLO gateway.test",
		"MAIL FROM:<bounces+acme@support.example.com> BODY=8BITMIME",
		"RCPT TO:<alice@customer.example>",
		"RCPT TO:<bob@customer.example>",
		"DATA",
		"MAIL FROM:<bounces+acme@support.example.com> BODY=8BITMIME",
		"RCPT TO:<alice@customer.example>",
		"DATA",
	}
	if got := f.commands(1); !slices.Equal(got, want) {
		t.Errorf("commands\n got %q\nwant %q", got, want)
	}
}

// TestSMTPWithoutPipelining: a relay that does not offer PIPELINING gets
// one command at a time (the fake relay fails the test when a command
// comes before the reply to the one before), with the same outcome.
func TestSMTPWithoutPipelining(t *testing.T) {
	f := newFakeRelay(t, "8BITMIME", "SMTPUTF8")
	s := f.transport(t, nil)

	mustSend(t, s, 1, "alice@customer.example", "bob@customer.example")
	mustSend(t, s, 2, "jörg@müller.example")

	msgs := f.messages()
	if len(msgs) != 2 || !bytes.Equal(msgs[0].data, testMessage(1)) || !bytes.Equal(msgs[1].data, testMessage(2)) {
		t.Fatalf("relay got %+v", msgs)
	}
	if !slices.Equal(msgs[1].to, []string{"jörg@müller.example"}) {
		t.Errorf("recipients %q", msgs[1].to)
	}
	cmds := f.commands(1)
	if !slices.Contains(cmds, "MAIL FROM:<bounces+acme@support.example.com> BODY=8BITMIME SMTPUTF8") {
		t.Errorf("no MAIL with SMTPUTF8 among %q", cmds)
	}
	if f.connections() != 1 {
		t.Errorf("connections = %d, want 1", f.connections())
	}
}

// TestSMTPPipelineRecipientLimit: up to maxPipelinedRcpts recipients go
// in one batch; a larger envelope goes one command at a time, so the
// relay's replies never pile up unread while the client still writes.
func TestSMTPPipelineRecipientLimit(t *testing.T) {
	rcpts := func(n int) []string {
		var to []string
		for i := range n {
			to = append(to, fmt.Sprintf("r%d@customer.example", i))
		}
		return to
	}
	for _, n := range []int{maxPipelinedRcpts, maxPipelinedRcpts + 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := newFakeRelay(t, "PIPELINING")
			f.sequential = n > maxPipelinedRcpts
			s := f.transport(t, nil)
			mustSend(t, s, 1, rcpts(n)...)
			msgs := f.messages()
			if len(msgs) != 1 || !slices.Equal(msgs[0].to, rcpts(n)) {
				t.Fatalf("relay got %d messages", len(msgs))
			}
		})
	}
}

// TestSMTPHeloFallback: a relay that knows no EHLO is greeted with HELO
// and gets plain commands (no BODY=8BITMIME, nothing pipelined).
func TestSMTPHeloFallback(t *testing.T) {
	f := newFakeRelay(t)
	f.reply = func(_ int, line string) string {
		if strings.HasPrefix(line, "EHLO") {
			return "502 5.5.2 Error: command not recognized\r\n"
		}
		return ""
	}
	s := f.transport(t, nil)
	mustSend(t, s, 1)
	want := []string{"EHLO gateway.test", "HELO gateway.test", "MAIL FROM:<bounces+acme@support.example.com>", "RCPT TO:<alice@customer.example>", "DATA"}
	if got := f.commands(1); !slices.Equal(got, want) {
		t.Errorf("commands\n got %q\nwant %q", got, want)
	}
	if n := len(f.messages()); n != 1 {
		t.Errorf("relay got %d messages", n)
	}
}

// replyAt answers the nth (from 1) command line of a connection that
// starts with prefix with reply.
func replyAt(prefix string, nth int, reply string) func(int, string) string {
	seen := 0
	return func(_ int, line string) string {
		if !strings.HasPrefix(line, prefix) {
			return ""
		}
		seen++
		if seen == nth {
			return reply
		}
		return ""
	}
}

// replies asks each of rs in turn (each sees every line) and takes the
// first answer.
func replies(rs ...func(int, string) string) func(int, string) string {
	return func(conn int, line string) string {
		answer := ""
		for _, r := range rs {
			if a := r(conn, line); answer == "" {
				answer = a
			}
		}
		return answer
	}
}

func wantSMTPError(t *testing.T, err error, code int, enh smtp.EnhancedCode, msg string, temporary bool) {
	t.Helper()
	wantSMTPCode(t, err, code, temporary)
	var se *smtp.SMTPError
	if errors.As(err, &se) && (se.EnhancedCode != enh || se.Message != msg) {
		t.Errorf("reply %v %q, want %v %q", se.EnhancedCode, se.Message, enh, msg)
	}
}

// TestSMTPPipelinedRecipientRefused: a RCPT refused in the middle of a
// batch leaves the others: the message goes to them, the refusal is
// reported for its recipient, with its multi-line text.
func TestSMTPPipelinedRecipientRefused(t *testing.T) {
	for _, pipelining := range []bool{true, false} {
		t.Run(fmt.Sprint("pipelining=", pipelining), func(t *testing.T) {
			var f *fakeRelay
			if pipelining {
				f = newFakeRelay(t, "PIPELINING")
			} else {
				f = newFakeRelay(t)
			}
			f.reply = func(_ int, line string) string {
				if line == "RCPT TO:<gone@customer.example>" {
					return "550-5.1.1 The email account that you tried to reach does not exist.\r\n550-5.1.1 Please try double-checking the recipient's email\r\n550 5.1.1 address for typos.\r\n"
				}
				return ""
			}
			s := f.transport(t, nil)
			err := send(t, s, 1, "alice@customer.example", "gone@customer.example", "bob@customer.example")
			var re *RecipientErrors
			if !errors.As(err, &re) {
				t.Fatalf("Send = %v, want *RecipientErrors", err)
			}
			if !slices.Equal(re.Accepted, []string{"alice@customer.example", "bob@customer.example"}) || len(re.Refused) != 1 || re.Refused[0].Recipient != "gone@customer.example" {
				t.Fatalf("accepted %q refused %+v", re.Accepted, re.Refused)
			}
			wantSMTPError(t, re.Refused[0].Err, 550, smtp.EnhancedCode{5, 1, 1},
				"The email account that you tried to reach does not exist.\nPlease try double-checking the recipient's email\naddress for typos.", false)
			msgs := f.messages()
			if len(msgs) != 1 || !slices.Equal(msgs[0].to, re.Accepted) || !bytes.Equal(msgs[0].data, testMessage(1)) {
				t.Fatalf("relay got %+v", msgs)
			}
			mustSend(t, s, 2)
			if f.connections() != 1 {
				t.Errorf("connections = %d, want 1", f.connections())
			}
		})
	}
}

// TestSMTPPipelinedFailures: a refusal or a hang-up at every step of a
// pipelined transaction is reported as the step's, temporary or
// permanent as the relay said, and the next mail goes through: on the
// same connection after a refusal, on a new one after a 421 or a close.
func TestSMTPPipelinedFailures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		reply     func(int, string) string
		code      int // 0: not an SMTP reply
		enh       smtp.EnhancedCode
		text      string
		temporary bool
		newConn   bool
	}{
		{"MAIL 451", replyAt("MAIL", 1, "451 4.3.0 try later\r\n"), 451, smtp.EnhancedCode{4, 3, 0}, "try later", true, false},
		{"MAIL 550", replyAt("MAIL", 1, "550 5.7.1 sender rejected\r\n"), 550, smtp.EnhancedCode{5, 7, 1}, "sender rejected", false, false},
		{"MAIL 421", replyAt("MAIL", 1, "421 4.3.2 shutting down\r\n"), 421, smtp.EnhancedCode{4, 3, 2}, "shutting down", true, true},
		{"RCPT 421", replyAt("RCPT", 2, "421 4.3.2 shutting down\r\n"), 421, smtp.EnhancedCode{4, 3, 2}, "shutting down", true, true},
		{"DATA 451", replyAt("DATA", 1, "451 4.3.0 no space\r\n"), 451, smtp.EnhancedCode{4, 3, 0}, "no space", true, false},
		{"DATA 554", replyAt("DATA", 1, "554 5.7.1 not from you\r\n"), 554, smtp.EnhancedCode{5, 7, 1}, "not from you", false, false},
		{"DATA 421", replyAt("DATA", 1, "421 4.3.2 shutting down\r\n"), 421, smtp.EnhancedCode{4, 3, 2}, "shutting down", true, true},
		{"end of data 452", replyAt(".", 1, "452 4.3.1 insufficient storage\r\n"), 452, smtp.EnhancedCode{4, 3, 1}, "insufficient storage", true, false},
		{"end of data 554", replyAt(".", 1, "554-5.6.0 content\r\n554 5.6.0 rejected\r\n"), 554, smtp.EnhancedCode{5, 6, 0}, "content\nrejected", false, false},
		{"end of data 421", replyAt(".", 1, "421 4.3.2 shutting down\r\n"), 421, smtp.EnhancedCode{4, 3, 2}, "shutting down", true, true},
		{"closed after MAIL's reply", replyAt("RCPT", 1, "CLOSE"), 0, smtp.EnhancedCode{}, "", true, true},
		{"closed after DATA", replyAt("DATA", 1, "CLOSE"), 0, smtp.EnhancedCode{}, "", true, true},
		{"closed after the data", replyAt(".", 1, "CLOSE"), 0, smtp.EnhancedCode{}, "", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeRelay(t, "PIPELINING", "ENHANCEDSTATUSCODES")
			f.reply = tc.reply
			s := f.transport(t, nil)

			err := send(t, s, 1, "alice@customer.example", "bob@customer.example")
			if tc.code != 0 {
				wantSMTPError(t, err, tc.code, tc.enh, tc.text, tc.temporary)
			} else {
				var se *smtp.SMTPError
				if err == nil || errors.As(err, &se) || !fault.IsTemporary(err) {
					t.Fatalf("Send = %v, want a temporary error that is no relay reply", err)
				}
			}
			if n := len(f.messages()); n != 0 {
				t.Fatalf("relay recorded %d messages", n)
			}

			mustSend(t, s, 2, "alice@customer.example", "bob@customer.example")
			msgs := f.messages()
			if len(msgs) != 1 || !bytes.Equal(msgs[0].data, testMessage(2)) {
				t.Fatalf("after the failure the relay got %+v", msgs)
			}
			wantConns := 1
			if tc.newConn {
				wantConns = 2
			}
			if got := f.connections(); got != wantConns {
				t.Errorf("connections = %d, want %d", got, wantConns)
			}
		})
	}
}

// TestSMTPPipelinedMailRefusedDataAccepted: a relay that refuses MAIL yet
// answers the pipelined DATA with 354 gets an empty message (the final
// dot alone) and no data; the connection stays in step.
func TestSMTPPipelinedMailRefusedDataAccepted(t *testing.T) {
	f := newFakeRelay(t, "PIPELINING")
	f.reply = replies(
		replyAt("MAIL", 1, "451 4.3.0 try later\r\n"),
		replyAt("DATA", 1, "354 go ahead anyway\r\n"),
		replyAt(".", 1, "554 5.5.1 no valid recipients\r\n"))
	s := f.transport(t, nil)
	wantSMTPCode(t, send(t, s, 1), 451, true)
	mustSend(t, s, 2)
	msgs := f.messages()
	if len(msgs) != 1 || !bytes.Equal(msgs[0].data, testMessage(2)) {
		t.Fatalf("relay got %+v", msgs)
	}
	if f.connections() != 1 {
		t.Errorf("connections = %d, want 1", f.connections())
	}
	cmds := f.commands(1)
	if !slices.Contains(cmds, "RSET") {
		t.Errorf("no RSET before the second transaction: %q", cmds)
	}
}

// TestSMTPPipelinedAllRefusedDataAccepted: every RCPT refused, and the
// relay still answers DATA with 354: the client sends no data, only the
// final dot, and reports the recipients.
func TestSMTPPipelinedAllRefusedDataAccepted(t *testing.T) {
	f := newFakeRelay(t, "PIPELINING")
	f.reply = replies(
		replyAt("RCPT TO:<gone@customer.example>", 1, "550 5.1.1 no such user\r\n"),
		replyAt("DATA", 1, "354 go ahead\r\n"),
		replyAt(".", 1, "554 5.5.1 no valid recipients\r\n"))
	s := f.transport(t, nil)
	err := send(t, s, 1, "gone@customer.example")
	var re *RecipientErrors
	if !errors.As(err, &re) || len(re.Accepted) != 0 || len(re.Refused) != 1 {
		t.Fatalf("Send = %v, want every recipient refused", err)
	}
	wantSMTPCode(t, err, 550, false)
	mustSend(t, s, 2)
	if msgs := f.messages(); len(msgs) != 1 || !bytes.Equal(msgs[0].data, testMessage(2)) {
		t.Fatalf("relay got %+v", msgs)
	}
}

// TestSMTPCachedConnectionClosedAtMail: a cached connection the relay
// closes when MAIL arrives (idle timeout) got nothing of the pipelined
// batch's message: it is sent once on a new connection.
func TestSMTPCachedConnectionClosedAtMail(t *testing.T) {
	f := newFakeRelay(t, "PIPELINING")
	f.reply = replyAt("MAIL", 2, "CLOSE")
	s := f.transport(t, nil)
	mustSend(t, s, 1)
	mustSend(t, s, 2)
	msgs := f.messages()
	if len(msgs) != 2 || msgs[1].conn != 2 || !bytes.Equal(msgs[1].data, testMessage(2)) {
		t.Fatalf("relay got %+v", msgs)
	}
}

// TestSMTPGreeting421: a relay that is busy from the start.
func TestSMTPGreeting421(t *testing.T) {
	f := newFakeRelay(t, "PIPELINING")
	f.greeting = "421 4.3.2 too busy\r\n"
	s := f.transport(t, nil)
	wantSMTPCode(t, send(t, s, 1), 421, true)
}

// TestSMTPBodyEdges: the data goes out dot-stuffed, a missing final line
// break added, exactly as net/textproto wrote it for go-smtp.
func TestSMTPBodyEdges(t *testing.T) {
	f := newFakeRelay(t, "PIPELINING")
	s := f.transport(t, nil)
	for i, body := range []string{
		"Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\n",
		"Subject: no final line break\r\n\r\nlast line",
		"Subject: bare LF\n\n.line\nend\n",
		"Subject: empty body\r\n\r\n",
	} {
		if err := s.Send(t.Context(), testEnvelope(i), strings.NewReader(body)); err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		msgs := f.messages()
		if len(msgs) != i+1 {
			t.Fatalf("relay has %d messages, want %d", len(msgs), i+1)
		}
		if want := dotStuffed([]byte(body)); !bytes.Equal(msgs[i].wire, want) {
			t.Errorf("%q on the wire: %q, want %q", body, msgs[i].wire, want)
		}
	}
}

// TestSMTPStartTLSPipeliningAfterTLS: STARTTLS with a test certificate, to
// a relay that offers PIPELINING only after TLS: EHLO localhost in the
// clear, EHLO with the configured name over TLS, then the batch.
func TestSMTPStartTLSPipeliningAfterTLS(t *testing.T) {
	f := newFakeRelay(t)
	pool := f.withTLS(t)
	f.extTLS = []string{"PIPELINING", "8BITMIME"}
	s := f.transport(t, func(o *SMTPOptions) {
		o.TLS = TLSStartTLS
		o.TLSConfig = &tls.Config{RootCAs: pool}
	})
	mustSend(t, s, 1)
	mustSend(t, s, 2)
	msgs := f.messages()
	if len(msgs) != 2 || !msgs[0].tls || !msgs[1].tls || !bytes.Equal(msgs[1].data, testMessage(2)) {
		t.Fatalf("relay got %+v", msgs)
	}
	want := []string{"EHLO localhost", "STARTTLS", "EHLO gateway.test",
		"MAIL FROM:<bounces+acme@support.example.com> BODY=8BITMIME", "RCPT TO:<alice@customer.example>", "DATA",
		"MAIL FROM:<bounces+acme@support.example.com> BODY=8BITMIME", "RCPT TO:<alice@customer.example>", "DATA"}
	if got := f.commands(1); !slices.Equal(got, want) {
		t.Errorf("commands\n got %q\nwant %q", got, want)
	}
}

// TestSMTPStartTLSInjection: whatever follows the relay's 220 to STARTTLS
// in the clear would be read as if it came through TLS (CVE-2011-0411's
// kind): the client refuses the connection.
func TestSMTPStartTLSInjection(t *testing.T) {
	f := newFakeRelay(t)
	pool := f.withTLS(t)
	f.reply = replyAt("STARTTLS", 1, "220 2.0.0 ready\r\n250 2.1.0 injected\r\n")
	s := f.transport(t, func(o *SMTPOptions) {
		o.TLS = TLSStartTLS
		o.TLSConfig = &tls.Config{RootCAs: pool}
	})
	err := send(t, s, 1)
	if err == nil || !strings.Contains(err.Error(), "after its STARTTLS reply") || !fault.IsTemporary(err) {
		t.Fatalf("Send = %v, want a temporary refusal of data after STARTTLS's reply", err)
	}
	if n := len(f.messages()); n != 0 {
		t.Errorf("relay got %d messages", n)
	}
}

// TestSMTPTLSModesPipelined: STARTTLS and implicit TLS with the sink's
// test certificate carry pipelined mail (go-smtp's server offers
// PIPELINING) and dot-stuffed data intact.
func TestSMTPTLSModesPipelined(t *testing.T) {
	for _, mode := range []mailouttest.TLSMode{mailouttest.StartTLS, mailouttest.ImplicitTLS} {
		t.Run(mode.String(), func(t *testing.T) {
			sink := mailouttest.NewSink(t, mailouttest.Options{TLS: mode, Username: "u", Password: "p"})
			s := newRelay(t, sink, mode, func(o *SMTPOptions) { o.Username, o.Password = "u", "p" })
			for i := 1; i <= 3; i++ {
				mustSend(t, s, i, "alice@customer.example", "bob@customer.example")
			}
			msgs := sink.Messages()
			if len(msgs) != 3 || sink.Connections() != 1 {
				t.Fatalf("sink got %d messages on %d connections", len(msgs), sink.Connections())
			}
			for i, m := range msgs {
				if !m.TLS || m.User != "u" || !bytes.Equal(m.Data, testMessage(i+1)) || len(m.To) != 2 {
					t.Errorf("message %d: %+v", i+1, m)
				}
			}
		})
	}
}

// BenchmarkDotWriter is dot-stuffing a large attachment's base64 lines
// as the transport gets them (in smtpBodyBuffer pieces) into the
// connection's buffer over io.Discard.
//
//	go test -run '^$' -bench BenchmarkDotWriter -benchmem ./mailout
func BenchmarkDotWriter(b *testing.B) {
	var data bytes.Buffer
	e := newBase64Body()
	e.Reset(&data)
	if _, err := e.Write(bytes.Repeat([]byte("attachment"), 1<<20/10)); err != nil {
		b.Fatal(err)
	}
	if err := e.Close(); err != nil {
		b.Fatal(err)
	}
	d := dotWriter{w: bufio.NewWriterSize(io.Discard, smtpWriteBuffer)}
	b.SetBytes(int64(data.Len()))
	b.ReportAllocs()
	for b.Loop() {
		d.state = wstateBegin
		for p := data.Bytes(); len(p) > 0; {
			n := min(len(p), smtpBodyBuffer)
			if _, err := d.Write(p[:n]); err != nil {
				b.Fatal(err)
			}
			p = p[n:]
		}
		d.close()
	}
}
