package policy

import (
	"reflect"
	"testing"

	"github.com/ticketgate/ticketgate/message"
)

// The plain-text bounces below follow the fixed wording of each MTA; the
// corpus has none of these layouts (all its bounces are RFC 3464 reports),
// so they are written here from the MTAs' templates.
func TestParseBounceText(t *testing.T) {
	us := []message.Address{{Name: "ACME Support", Address: "acme@support.example.com"}}
	cases := []struct {
		name    string
		from    string
		subject string
		text    string
		format  string
		want    []BounceRecipient
		delayed bool
		origID  string
	}{
		{
			name: "qmail", from: "MAILER-DAEMON@mx.example.net", subject: "failure notice", format: "qmail",
			text: "Hi. This is the qmail-send program at mx.example.net.\n" +
				"I'm afraid I wasn't able to deliver your message to the following addresses.\n" +
				"This is a permanent error; I've given up. Sorry it didn't work out.\n\n" +
				"<bob@customer.example>:\n192.0.2.1 does not like recipient.\n" +
				"Remote host said: 550 5.1.1 <bob@customer.example>... User unknown\nGiving up on 192.0.2.1.\n\n" +
				"--- Below this line is a copy of the message.\n\nReturn-Path: <acme@support.example.com>\n" +
				"Message-ID: <tg.11@support.example.com>\nTo: bob@customer.example\nFrom: acme@support.example.com\n",
			want: []BounceRecipient{{Address: "bob@customer.example", Action: "failed", Status: "5.1.1", Permanent: true,
				Diagnostic: "192.0.2.1 does not like recipient. Remote host said: 550 5.1.1 <bob@customer.example>... User unknown Giving up on 192.0.2.1."}},
			origID: "tg.11@support.example.com",
		},
		{
			name: "qmail without a code", from: "MAILER-DAEMON@mx.example.net", subject: "failure notice", format: "qmail",
			text: "Hi. This is the qmail-send program at mx.example.net.\n" +
				"I'm afraid I wasn't able to deliver your message to the following addresses.\n" +
				"This is a permanent error; I've given up. Sorry it didn't work out.\n\n" +
				"<nobody@customer.example>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n" +
				"--- Below this line is a copy of the message.\n",
			want: []BounceRecipient{{Address: "nobody@customer.example", Action: "failed", Status: "5.1.1", Permanent: true,
				Diagnostic: "Sorry, no mailbox here by that name. (#5.1.1)"}},
		},
		{
			name: "yahoo", from: "MAILER-DAEMON@yahoo.example", subject: "Failure Notice", format: "yahoo",
			text: "Sorry, we were unable to deliver your message to the following address.\n\n" +
				"<carol@yahoo.example>:\nRemote host said: 554 delivery error: dd This user doesn't have a yahoo.example account (carol@yahoo.example) [0] - mta1 [RCPT_TO]\n\n" +
				"--- Below this line is a copy of the message.\n",
			want: []BounceRecipient{{Address: "carol@yahoo.example", Action: "failed", Status: "5.0.0", Permanent: true,
				Diagnostic: "Remote host said: 554 delivery error: dd This user doesn't have a yahoo.example account (carol@yahoo.example) [0] - mta1 [RCPT_TO]"}},
		},
		{
			name: "exim failure", from: "Mail Delivery System <Mailer-Daemon@mx.example.org>", subject: "Mail delivery failed: returning message to sender", format: "exim",
			text: "This message was created automatically by mail delivery software.\n\n" +
				"A message that you sent could not be delivered to one or more of its\n" +
				"recipients. This is a permanent error. The following address(es) failed:\n\n" +
				"  dave@customer.example\n    SMTP error from remote mail server after RCPT TO:<dave@customer.example>:\n" +
				"    host mx.customer.example [192.0.2.7]: 550 5.1.1 <dave@customer.example>: Recipient address rejected: User unknown\n" +
				"  erin@customer.example\n    Unrouteable address\n\n" +
				"------ This is a copy of the message, including all the headers. ------\n\n" +
				"Return-path: <acme@support.example.com>\nReceived: from acme by mx.example.org\nMessage-Id: <tg.12@support.example.com>\n",
			want: []BounceRecipient{
				{Address: "dave@customer.example", Action: "failed", Status: "5.1.1", Permanent: true,
					Diagnostic: "SMTP error from remote mail server after RCPT TO:<dave@customer.example>: host mx.customer.example [192.0.2.7]: 550 5.1.1 <dave@customer.example>: Recipient address rejected: User unknown"},
				{Address: "erin@customer.example", Action: "failed", Permanent: true, Diagnostic: "Unrouteable address"},
			},
			origID: "tg.12@support.example.com",
		},
		{
			name: "exim delay", from: "Mail Delivery System <Mailer-Daemon@mx.example.org>", subject: "Warning: message 1abcDE-000123-AB delayed 24 hours", format: "exim",
			text: "This message was created automatically by mail delivery software.\n\n" +
				"A message that you sent has not yet been delivered to one or more of its\n" +
				"recipients after more than 24 hours on the queue on mx.example.org.\n\n" +
				"The message identifier is:     1abcDE-000123-AB\nThe subject of the message is: Re: [ACME-42] printer\n\n" +
				"The address to which the message has not yet been delivered is:\n\n" +
				"  frank@slow.example\n    host mx.slow.example [192.0.2.8]: Connection timed out\n\n" +
				"No action is required on your part. Delivery attempts will continue for\nsome time.\n",
			want: []BounceRecipient{{Address: "frank@slow.example", Action: "delayed",
				Diagnostic: "host mx.slow.example [192.0.2.8]: Connection timed out"}},
			delayed: true,
		},
		{
			name: "postfix without a report part", from: "MAILER-DAEMON@mx.example.org (Mail Delivery System)", subject: "Undelivered Mail Returned to Sender", format: "postfix",
			text: "This is the mail system at host mx.example.org.\n\n" +
				"I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients. It's attached below.\n\n" +
				"For further assistance, please send mail to postmaster.\n\n                   The mail system\n\n" +
				"<gina@customer.example>: host mx.customer.example[192.0.2.9] said: 550 5.1.1\n" +
				"    <gina@customer.example>: Recipient address rejected: User unknown (in reply to\n    RCPT TO command)\n",
			want: []BounceRecipient{{Address: "gina@customer.example", Action: "failed", Status: "5.1.1", Permanent: true,
				Diagnostic: "host mx.customer.example[192.0.2.9] said: 550 5.1.1 <gina@customer.example>: Recipient address rejected: User unknown (in reply to RCPT TO command)"}},
		},
		{
			name: "postfix delay warning", from: "MAILER-DAEMON@mx.example.org", subject: "Delayed Mail (still being retried)", format: "postfix",
			text: "This is the mail system at host mx.example.org.\n\n" +
				"####################################################################\n" +
				"# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n" +
				"####################################################################\n\n" +
				"Your message could not be delivered for more than 4 hour(s).\nIt will be retried until it is 5 day(s) old.\n\n" +
				"                   The mail system\n\n" +
				"<hank@slow.example>: connect to mx.slow.example[192.0.2.10]:25: Connection timed out\n",
			want: []BounceRecipient{{Address: "hank@slow.example", Action: "delayed",
				Diagnostic: "connect to mx.slow.example[192.0.2.10]:25: Connection timed out"}},
			delayed: true,
		},
		{
			name: "gmail permanent failure", from: "Mail Delivery Subsystem <mailer-daemon@googlemail.com>", subject: "Delivery Status Notification (Failure)", format: "gmail",
			text: "Delivery to the following recipient failed permanently:\n\n     ivy@customer.example\n\n" +
				"Technical details of permanent failure:\nGoogle tried to deliver your message, but it was rejected by the server for the recipient domain customer.example by mx.customer.example. [192.0.2.11].\n\n" +
				"The error that the other server returned was:\n550 5.1.1 <ivy@customer.example>: Recipient address rejected: User unknown\n\n" +
				"----- Original message -----\n\nMessage-ID: <tg.13@support.example.com>\n",
			want: []BounceRecipient{{Address: "ivy@customer.example", Action: "failed", Status: "5.1.1", Permanent: true,
				Diagnostic: "550 5.1.1 <ivy@customer.example>: Recipient address rejected: User unknown"}},
			origID: "tg.13@support.example.com",
		},
		{
			name: "gmail delay", from: "Mail Delivery Subsystem <mailer-daemon@googlemail.com>", subject: "Delivery Status Notification (Delay)", format: "gmail",
			text: "This is an automatically generated Delivery Status Notification\n\nTHIS IS A WARNING MESSAGE ONLY.\n\nYOU DO NOT NEED TO RESEND YOUR MESSAGE.\n\n" +
				"Delivery to the following recipient has been delayed:\n\n     jack@slow.example\n\nMessage will be retried for 2 more day(s)\n",
			want:    []BounceRecipient{{Address: "jack@slow.example", Action: "delayed"}},
			delayed: true,
		},
		{
			name: "exchange ndr", from: "postmaster@corp.example", subject: "Undeliverable: [ACME-42] printer", format: "exchange",
			text: "Delivery has failed to these recipients or groups:\n\n" +
				"kate@corp.example (kate@corp.example)\nThe e-mail address you entered couldn't be found. Please check the recipient's e-mail address and try to resend the message.\n\n" +
				"Diagnostic information for administrators:\n\nGenerating server: ex1.corp.example\n\n" +
				"kate@corp.example\n#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##\n\n" +
				"Original message headers:\n\nReceived: from mx by ex1\nMessage-ID: <tg.14@support.example.com>\nFrom: ACME Support <acme@support.example.com>\n",
			want: []BounceRecipient{{Address: "kate@corp.example", Action: "failed", Status: "5.1.1", Permanent: true,
				Diagnostic: "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##"}},
			origID: "tg.14@support.example.com",
		},
		{
			name: "exchange 2003 ndr", from: "System Administrator <postmaster@corp.example>", subject: "Undeliverable: printer", format: "exchange",
			text: "Your message did not reach some or all of the intended recipients.\n\n      Subject:\tprinter\n      Sent:\t1/1/2010 10:00 AM\n\n" +
				"The following recipient(s) cannot be reached:\n\n" +
				"      leo@corp.example on 1/1/2010 10:00 AM\n" +
				"            The e-mail account does not exist at the organization this message was sent to.\n" +
				"            <ex1.corp.example #5.1.1>\n",
			want: []BounceRecipient{{Address: "leo@corp.example", Action: "failed", Status: "5.1.1", Permanent: true,
				Diagnostic: "The e-mail account does not exist at the organization this message was sent to. <ex1.corp.example #5.1.1>"}},
		},
		{
			name: "office 365 ndr", from: "Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@corp.example>", subject: "Undeliverable: [ACME-42] printer", format: "exchange",
			text: "Your message to mia@corp.example couldn't be delivered.\nmia wasn't found at corp.example.\n\n" +
				"Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'\n",
			want: []BounceRecipient{{Address: "mia@corp.example", Action: "failed", Status: "5.1.10", Permanent: true,
				Diagnostic: "Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'"}},
		},
		{
			name: "bounce subject, unreadable text", from: "MAILER-DAEMON@example.com (Mail Delivery System)", subject: "Undelivered Mail Returned to Sender", format: "unknown",
			text: "some test\n",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := &message.Message{Subject: c.subject, To: us, Text: c.text,
				Header: []message.HeaderField{{Name: "From", Value: c.from}}}
			m.From = message.BareAddress(c.from)
			b := ParseBounce(m)
			if b == nil {
				t.Fatal("ParseBounce() = nil")
			}
			if b.Format != c.format {
				t.Errorf("Format = %q, want %q", b.Format, c.format)
			}
			if !reflect.DeepEqual(b.Recipients, c.want) {
				t.Errorf("Recipients =\n%+v\nwant\n%+v", b.Recipients, c.want)
			}
			if b.Delayed != c.delayed {
				t.Errorf("Delayed = %v, want %v", b.Delayed, c.delayed)
			}
			if b.OriginalMessageID != c.origID {
				t.Errorf("OriginalMessageID = %q, want %q", b.OriginalMessageID, c.origID)
			}
			var perm []BounceRecipient
			for _, r := range c.want {
				if r.Permanent {
					perm = append(perm, r)
				}
			}
			if got := b.PermanentFailures(); !reflect.DeepEqual(got, perm) {
				t.Errorf("PermanentFailures() = %+v, want %+v", got, perm)
			}
		})
	}
}

func TestParseBounceNotABounce(t *testing.T) {
	qmail := "Hi. This is the qmail-send program at mx.example.net.\n" +
		"I'm afraid I wasn't able to deliver your message to the following addresses.\n" +
		"This is a permanent error; I've given up. Sorry it didn't work out.\n\n<bob@customer.example>:\nUser unknown\n"
	cases := []struct {
		name string
		m    *message.Message
	}{
		// A customer forwarding a bounce to the helpdesk must not get
		// anyone suppressed.
		{"forwarded bounce from a person", &message.Message{From: "alice@customer.example", Subject: "Fwd: failure notice", Text: "Why did this fail?\n\n" + qmail}},
		{"daemon mail that is no bounce", &message.Message{From: "MAILER-DAEMON@mx.example.net", Subject: "Weekly queue summary", Text: "12 messages delivered.\n"}},
		{"ordinary mail", &message.Message{From: "alice@customer.example", Subject: "printer", Text: "It does not print.\n"}},
		{"null sender spam", &message.Message{From: "", Subject: "cheap loans", Text: "Apply now!\n",
			Header: []message.HeaderField{{Name: "Return-Path", Value: "<>"}}}},
		{"read receipt", &message.Message{From: "alice@customer.example", ContentType: "multipart/report", ReportType: "disposition-notification"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if b := ParseBounce(c.m); b != nil {
				t.Errorf("ParseBounce() = %+v, want nil", b)
			}
		})
	}
	if ParseBounce(nil) != nil {
		t.Error("ParseBounce(nil) != nil")
	}
}
