package daemon

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// dataImage is an HTML body whose inline image is one line of n bytes.
func dataImage(n int) string {
	return "Content-Type: text/html\r\n\r\n<p>see</p><img src=\"data:image/png;base64," + strings.Repeat("QUJD", n/4) + "\">\r\n"
}

// TestLongLineStoredByDefault is issue 14 item 6: with the defaults, a
// 1.5 MiB line (an inline data: image) was answered 451 and retried for
// days. It is stored like any mail within max_message_bytes.
func TestLongLineStoredByDefault(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := start(t, testConfig(t, t.TempDir(), sink))
	raw := "From: carl@customer.example\r\nTo: acme@support.example.com\r\nSubject: photo\r\nMessage-ID: <img1@customer.example>\r\n" + dataImage(3<<19)
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"}, raw)
	tk, msgs := ticketOf(t, d, "ACME-1")
	if tk.Subject != "photo" || len(msgs) != 1 || msgs[0].Auto != "" {
		t.Fatalf("stored %+v %+v", tk, msgs)
	}
}

// TestLongLineRefusedForGood: where the sysadmin set max_line_length, a
// longer line is refused for good — 552 5.3.4 over SMTP and LMTP alike,
// never a 451 — and the message is kept for the agents, who are told.
func TestLongLineRefusedForGood(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := testConfig(t, t.TempDir(), sink)
	c.Inbound.MaxLineLength = 1000
	c.Inbound.LMTP.Listen = "127.0.0.1:0"
	d := start(t, c)
	raw := func(id string) string {
		return "From: carl@customer.example\r\nTo: acme@support.example.com\r\nSubject: long " + id + "\r\nMessage-ID: <" + id + "@customer.example>\r\n" + dataImage(5000)
	}
	err := send(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"}, raw("smtp1"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 552 || se.EnhancedCode != (smtp.EnhancedCode{5, 3, 4}) {
		t.Fatalf("SMTP: %v, want 552 5.3.4", err)
	}
	nc, err := net.Dial("tcp", d.Addr("lmtp"))
	if err != nil {
		t.Fatal(err)
	}
	lc := smtp.NewClientLMTP(nc)
	err = lc.SendMail("carl@customer.example", []string{"acme@support.example.com"}, strings.NewReader(raw("lmtp1")))
	lc.Close()
	var le smtp.LMTPDataError
	if errors.As(err, &le) {
		se = le["acme@support.example.com"]
	} else if !errors.As(err, &se) {
		se = nil
	}
	if se == nil || se.Code != 552 || se.EnhancedCode != (smtp.EnhancedCode{5, 3, 4}) {
		t.Fatalf("LMTP: %v, want 552 5.3.4", err)
	}
	for _, key := range []string{"ACME-1", "ACME-2"} {
		_, msgs := ticketOf(t, d, key)
		if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Auto, "refused: Message has a line of") || msgs[0].Raw == "" {
			t.Fatalf("%s: refused mail not kept for the agents: %+v", key, msgs)
		}
	}
	got := waitMessages(t, sink, 2)
	if len(to(got, "alice@example.com")) != 2 || len(to(got, "carl@customer.example")) != 0 {
		t.Fatalf("the agents must hear of both refusals, the sender only from the reply: %d mails", len(got))
	}
}
