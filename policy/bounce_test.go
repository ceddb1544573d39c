package policy

import (
	"reflect"
	"testing"

	"github.com/ticketgate/ticketgate/message"
)

func dsnMessage(status string) *message.Message {
	return &message.Message{
		From:           "MAILER-DAEMON@mx.example.net",
		ContentType:    "multipart/report",
		ReportType:     "delivery-status",
		DeliveryStatus: status,
	}
}

func TestParseBounceDSN(t *testing.T) {
	cases := []struct {
		name   string
		status string
		want   []BounceRecipient
		delay  bool
		origID string
	}{
		{
			name: "postfix user unknown, folded diagnostic",
			status: "Reporting-MTA: dns; mx.example.net\r\nX-Postfix-Queue-ID: 1234\r\n" +
				"X-Original-Message-ID: <tg.42@support.example.com>\r\n\r\n" +
				"Final-Recipient: rfc822; bob@customer.example\r\nOriginal-Recipient: rfc822;bob@customer.example\r\n" +
				"Action: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.customer.example\r\n" +
				"Diagnostic-Code: smtp; 550 5.1.1 <bob@customer.example>: Recipient address\r\n    rejected: User unknown\r\n",
			want: []BounceRecipient{{Address: "bob@customer.example", Action: "failed", Status: "5.1.1", Permanent: true,
				Diagnostic: "550 5.1.1 <bob@customer.example>: Recipient address rejected: User unknown"}},
			origID: "tg.42@support.example.com",
		},
		{
			name: "original recipient wins over final recipient after forwarding",
			status: "Reporting-MTA: dns; mx.example.net\n\n" +
				"Original-Recipient: rfc822;sales@customer.example\nFinal-Recipient: RFC822; <bob@gmail.example>\n" +
				"Action: Failed\nStatus: 5.2.2 (mailbox full)\n",
			want: []BounceRecipient{{Address: "sales@customer.example", Action: "failed", Status: "5.2.2", Permanent: true}},
		},
		{
			name: "mixed: failed, delayed, failed with status comment",
			status: "Reporting-MTA: dns; cs.example.edu\n\n" +
				"Final-Recipient: rfc822;a@one.example\nAction: failed\nStatus: 5.0.0 (permanent failure)\nDiagnostic-Code: smtp; 550 'a@one.example' is not a\n  registered gateway user\n\n" +
				"Final-Recipient: rfc822;b@two.example\nAction: delayed\nStatus: 4.0.0 (host name lookup failure)\n\n" +
				"Final-Recipient: rfc822;c@three.example\nAction: failed\nStatus: 5.0.0\nDiagnostic-Code: smtp; 550 user unknown\n",
			want: []BounceRecipient{
				{Address: "a@one.example", Action: "failed", Status: "5.0.0", Permanent: true, Diagnostic: "550 'a@one.example' is not a registered gateway user"},
				{Address: "b@two.example", Action: "delayed", Status: "4.0.0"},
				{Address: "c@three.example", Action: "failed", Status: "5.0.0", Permanent: true, Diagnostic: "550 user unknown"},
			},
		},
		{
			name:   "delay notice only",
			status: "Reporting-MTA: dns; relay.example.ac.uk\n\nFinal-Recipient: rfc822;thomas@uni.example\nStatus: 4.0.0 (unknown temporary failure)\nAction: delayed\n",
			want:   []BounceRecipient{{Address: "thomas@uni.example", Action: "delayed", Status: "4.0.0"}},
			delay:  true,
		},
		{
			name:   "gave up after a temporary problem is not permanent",
			status: "Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822;louis@slow.example\nAction: failed\nStatus: 4.4.1\nDiagnostic-Code: smtp; 426 connection timed out\n",
			want:   []BounceRecipient{{Address: "louis@slow.example", Action: "failed", Status: "4.4.1", Diagnostic: "426 connection timed out"}},
		},
		{
			name:   "no status: taken from the diagnostic",
			status: "Original-Recipient: <abc@customer.example>\nAction: failed\nDiagnostic-Code: smtp; 550 5.1.1 unknown or illegal alias: abc@customer.example\nRemote-MTA: 192.0.2.9\n",
			want:   []BounceRecipient{{Address: "abc@customer.example", Action: "failed", Status: "5.1.1", Permanent: true, Diagnostic: "550 5.1.1 unknown or illegal alias: abc@customer.example"}},
		},
		{
			name:   "no status and no code: failed is permanent",
			status: "Final-Recipient: rfc822; gone@customer.example\nAction: failed\nDiagnostic-Code: x-unix; user unknown\n",
			want:   []BounceRecipient{{Address: "gone@customer.example", Action: "failed", Permanent: true, Diagnostic: "user unknown"}},
		},
		{
			name: "missing blank line between recipients",
			status: "Reporting-MTA: dns; mx.example.net\n\n" +
				"Final-Recipient: rfc822; a@one.example\nAction: failed\nStatus: 5.1.1\n" +
				"Final-Recipient: rfc822; b@two.example\nAction: failed\nStatus: 5.7.1\n",
			want: []BounceRecipient{
				{Address: "a@one.example", Action: "failed", Status: "5.1.1", Permanent: true},
				{Address: "b@two.example", Action: "failed", Status: "5.7.1", Permanent: true},
			},
		},
		{
			name:   "success notification is no failure",
			status: "Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; ok@customer.example\nAction: delivered\nStatus: 2.0.0\n",
			want:   []BounceRecipient{{Address: "ok@customer.example", Action: "delivered", Status: "2.0.0"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := ParseBounce(dsnMessage(c.status))
			if b == nil {
				t.Fatal("ParseBounce() = nil")
			}
			if !reflect.DeepEqual(b.Recipients, c.want) {
				t.Errorf("Recipients =\n%+v\nwant\n%+v", b.Recipients, c.want)
			}
			if b.Delayed != c.delay {
				t.Errorf("Delayed = %v, want %v", b.Delayed, c.delay)
			}
			if b.Format != "dsn" {
				t.Errorf("Format = %q, want dsn", b.Format)
			}
			if b.OriginalMessageID != c.origID {
				t.Errorf("OriginalMessageID = %q, want %q", b.OriginalMessageID, c.origID)
			}
		})
	}
}

func TestParseBounceOriginalMessageID(t *testing.T) {
	status := "Final-Recipient: rfc822; bob@customer.example\nAction: failed\nStatus: 5.1.1\n"
	m := dsnMessage(status)
	m.OriginalHeaders = []message.HeaderField{{Name: "From", Value: "acme@support.example.com"}, {Name: "Message-Id", Value: " <tg.7@support.example.com>"}}
	m.Text = "Message-ID: <wrong@example.com>\n"
	m.InReplyTo = []string{"also-wrong@example.com"}
	if got := ParseBounce(m).OriginalMessageID; got != "tg.7@support.example.com" {
		t.Errorf("from OriginalHeaders: got %q", got)
	}

	m = dsnMessage(status)
	m.Text = "This report relates to a message you sent with the following header fields:\n\n  Message-id: <tg.8@support.example.com>\n  Subject: [ACME-8] hello\n"
	m.InReplyTo = []string{"wrong@example.com"}
	if got := ParseBounce(m).OriginalMessageID; got != "tg.8@support.example.com" {
		t.Errorf("from body: got %q", got)
	}

	m = dsnMessage(status)
	m.InReplyTo = []string{"tg.9@support.example.com"}
	if got := ParseBounce(m).OriginalMessageID; got != "tg.9@support.example.com" {
		t.Errorf("from In-Reply-To: got %q", got)
	}

	if got := ParseBounce(dsnMessage(status)).OriginalMessageID; got != "" {
		t.Errorf("nothing to go on: got %q", got)
	}
}

func TestParseBounceDSNFallbacks(t *testing.T) {
	t.Run("prose status part, fields quoted in the text", func(t *testing.T) {
		m := dsnMessage("This Message was undeliverable due to the following reason:\n\n<u@ci.example> has restricted SMS e-mail\n")
		m.Text = "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; u@ci.example\nAction: failed\nStatus: 5.3.0\n"
		b := ParseBounce(m)
		want := []BounceRecipient{{Address: "u@ci.example", Action: "failed", Status: "5.3.0", Permanent: true}}
		if b == nil || !reflect.DeepEqual(b.Recipients, want) {
			t.Fatalf("got %+v, want recipients %+v", b, want)
		}
	})
	t.Run("report type without status part, sendmail text", func(t *testing.T) {
		m := dsnMessage("")
		m.Subject = "Returned mail: see transcript for details"
		m.To = []message.Address{{Address: "acme@support.example.com"}}
		m.Text = "The original message was received at Mon, 24 Dec 2007 10:03:47 +1100\n\n" +
			"   ----- The following addresses had permanent fatal errors -----\n<edwin@customer.example>\n" +
			"    (reason: 553 5.3.0 <edwin@customer.example>... Unknown E-Mail Address)\n\n" +
			"   ----- Transcript of session follows -----\n... while talking to mail.customer.example.:\n" +
			">>> RCPT To:<edwin@customer.example>\n<<< 553 5.3.0 <edwin@customer.example>... Unknown E-Mail Address\n"
		b := ParseBounce(m)
		want := []BounceRecipient{{Address: "edwin@customer.example", Action: "failed", Status: "5.3.0", Permanent: true,
			Diagnostic: "(reason: 553 5.3.0 <edwin@customer.example>... Unknown E-Mail Address)"}}
		if b == nil || !reflect.DeepEqual(b.Recipients, want) {
			t.Fatalf("got %+v, want recipients %+v", b, want)
		}
	})
	t.Run("report type and nothing readable", func(t *testing.T) {
		b := ParseBounce(dsnMessage(""))
		if b == nil || len(b.Recipients) != 0 || b.Delayed {
			t.Fatalf("got %+v, want an empty bounce", b)
		}
	})
}
