package policy

import (
	"testing"

	"github.com/ticketgate/ticketgate/message"
)

// msg builds a message from name/value pairs in header order, filling From
// the way the parser would.
func msg(pairs ...string) *message.Message {
	m := &message.Message{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m.Header = append(m.Header, message.HeaderField{Name: pairs[i], Value: pairs[i+1]})
	}
	if m.From == "" {
		m.From = message.BareAddress(m.Get("From"))
	}
	return m
}

var humanEnv = Envelope{MailFrom: "alice@customer.example", Source: SourceSMTP}

func TestAutomaticHeaderRules(t *testing.T) {
	from := []string{"From", "Alice <alice@customer.example>", "Subject", "printer on fire"}
	with := func(pairs ...string) []string { return append(append([]string{}, from...), pairs...) }

	cases := []struct {
		name   string
		header []string
		opt    Options
		want   string
	}{
		{"plain human mail", from, Options{}, ""},

		// RFC 3834: "no" is the one value that means a human sent it.
		{"auto-submitted no", with("Auto-Submitted", "no"), Options{}, ""},
		{"auto-submitted No lower-case name", with("auto-submitted", "No"), Options{}, ""},
		{"auto-submitted NO with comment", with("Auto-Submitted", "No (sent by a person)"), Options{}, ""},
		{"auto-submitted no with spaces and parameter", with("Auto-Submitted", "  no ; owner-email=x@y"), Options{}, ""},
		{"auto-submitted auto-replied", with("Auto-Submitted", "auto-replied"), Options{}, "auto-submitted: auto-replied"},
		{"auto-submitted with parameter", with("Auto-Submitted", "auto-generated; comment"), Options{}, "auto-submitted: auto-generated"},
		{"auto-submitted with comment", with("Auto-Submitted", "Auto-Generated (failure)"), Options{}, "auto-submitted: auto-generated"},
		{"auto-submitted comment before keyword", with("Auto-Submitted", "(vacation) auto-replied"), Options{}, "auto-submitted: auto-replied"},
		{"auto-submitted auto-notified", with("Auto-Submitted", "auto-notified"), Options{}, "auto-submitted: auto-notified"},
		{"auto-submitted unknown keyword", with("Auto-Submitted", "yes"), Options{}, "auto-submitted: yes"},
		{"auto-submitted empty", with("Auto-Submitted", ""), Options{}, "auto-submitted: (empty)"},
		{"noreply-looking no is still human", with("Auto-Submitted", "no", "Precedence", "first-class"), Options{}, ""},

		{"precedence bulk", with("Precedence", "bulk"), Options{}, "precedence: bulk"},
		{"precedence BULK", with("Precedence", "BULK"), Options{}, "precedence: bulk"},
		{"precedence Bulk", with("Precedence", "Bulk"), Options{}, "precedence: bulk"},
		{"precedence junk", with("Precedence", "junk"), Options{}, "precedence: junk"},
		{"precedence list with comment", with("Precedence", "list (mailman)"), Options{}, "precedence: list"},
		{"precedence auto_reply", with("Precedence", "auto_reply"), Options{}, "precedence: auto_reply"},
		{"precedence first-class", with("Precedence", "first-class"), Options{}, ""},
		{"precedence normal", with("Precedence", "normal"), Options{}, ""},
		{"precedence urgent", with("Precedence", "urgent"), Options{}, ""},

		{"x-autoreply yes", with("X-Autoreply", "yes"), Options{}, "x-autoreply"},
		{"x-autoreply empty", with("X-Autoreply", ""), Options{}, "x-autoreply"},
		{"x-autoreply no", with("X-Autoreply", "no"), Options{}, ""},
		{"x-autoreply False", with("X-AutoReply", "False"), Options{}, ""},
		{"x-autorespond address", with("X-Autorespond", "alice@customer.example"), Options{}, "x-autorespond"},
		{"x-autorespond 0", with("X-Autorespond", "0"), Options{}, ""},

		{"suppress All", with("X-Auto-Response-Suppress", "All"), Options{}, "x-auto-response-suppress: All"},
		{"suppress oof lower-case", with("X-Auto-Response-Suppress", "oof"), Options{}, "x-auto-response-suppress: OOF"},
		{"suppress OOF in list", with("X-Auto-Response-Suppress", "DR, OOF, AutoReply"), Options{}, "x-auto-response-suppress: OOF"},
		{"suppress autoreply first, no spaces", with("X-Auto-Response-Suppress", "autoreply,dr"), Options{}, "x-auto-response-suppress: AutoReply"},
		{"suppress all last, odd spacing", with("X-Auto-Response-Suppress", "NRN ,   all"), Options{}, "x-auto-response-suppress: All"},
		{"suppress receipts only (Outlook default)", with("X-Auto-Response-Suppress", "DR, RN, NRN"), Options{}, ""},
		{"suppress receipts only, other order and case", with("X-Auto-Response-Suppress", "nrn,NDR , rn;dr"), Options{}, ""},
		{"suppress None", with("X-Auto-Response-Suppress", "None"), Options{}, ""},

		{"list-id", with("List-Id", "Product users <users.lists.example.org>"), Options{}, "list-id: <users.lists.example.org>"},
		{"list-id upper-case id", with("List-Id", "<Users.Lists.Example.org>"), Options{}, "list-id: <users.lists.example.org>"},
		{"list-id without brackets", with("List-Id", "users.lists.example.org"), Options{}, "list-id: <users.lists.example.org>"},
		{"list-id in intake lists", with("List-Id", "Support <help.groups.example.com>"),
			Options{IntakeLists: []string{"help.groups.example.com"}}, ""},
		{"list-id in intake lists, brackets and case differ", with("List-Id", "Support <help.groups.example.com>"),
			Options{IntakeLists: []string{"<HELP.Groups.example.com>"}}, ""},
		{"list-id not in intake lists", with("List-Id", "Announce <news.example.com>"),
			Options{IntakeLists: []string{"help.groups.example.com"}}, "list-id: <news.example.com>"},
		{"intake list's own precedence is ignored", with("List-Id", "<help.groups.example.com>", "Precedence", "list"),
			Options{IntakeLists: []string{"help.groups.example.com"}}, ""},
		{"intake list with precedence bulk", with("List-Id", "<help.groups.example.com>", "Precedence", "bulk"),
			Options{IntakeLists: []string{"help.groups.example.com"}}, ""},
		{"intake list does not excuse junk", with("List-Id", "<help.groups.example.com>", "Precedence", "junk"),
			Options{IntakeLists: []string{"help.groups.example.com"}}, "precedence: junk"},
		{"intake list does not excuse an auto-reply", with("List-Id", "<help.groups.example.com>", "Auto-Submitted", "auto-replied"),
			Options{IntakeLists: []string{"help.groups.example.com"}}, "auto-submitted: auto-replied"},
		{"precedence without intake list", with("Precedence", "list", "List-Id", "<help.groups.example.com>"), Options{}, "precedence: list"},

		{"from MAILER-DAEMON", []string{"From", "Mail Delivery System <MAILER-DAEMON@mx.example.net>"}, Options{}, "from mailer-daemon"},
		{"from mailer-daemon lower-case", []string{"From", "mailer-daemon@googlemail.com"}, Options{}, "from mailer-daemon"},
		{"from Postmaster", []string{"From", "Postmaster@ci.example"}, Options{}, "from postmaster"},
		{"from postmaster-team is a person", []string{"From", "postmaster-team@example.org"}, Options{}, ""},
		{"from a person named postmaster elsewhere", []string{"From", "\"postmaster\" <bob@example.org>"}, Options{}, ""},

		{"several rules: first one wins", with("Precedence", "bulk", "Auto-Submitted", "auto-generated"), Options{}, "auto-submitted: auto-generated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Automatic(msg(c.header...), humanEnv, c.opt)
			if got != c.want {
				t.Errorf("Automatic() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestAutomaticFromWithoutParsedAddress(t *testing.T) {
	// Postfix writes the daemon without a domain; the parser may then leave
	// From empty, but the raw field still names the daemon.
	m := &message.Message{Header: []message.HeaderField{{Name: "From", Value: "MAILER-DAEMON (Mail Delivery System)"}}}
	if got := Automatic(m, humanEnv, Options{}); got != "from mailer-daemon" {
		t.Errorf("Automatic() = %q, want %q", got, "from mailer-daemon")
	}
}

func TestAutomaticEnvelope(t *testing.T) {
	cases := []struct {
		name   string
		header []string
		env    Envelope
		want   string
	}{
		{"smtp null sender", nil, Envelope{MailFrom: "", Source: SourceSMTP}, "empty envelope sender"},
		{"smtp <> spelled out", nil, Envelope{MailFrom: "<>", Source: SourceSMTP}, "empty envelope sender"},
		{"lmtp null sender", nil, Envelope{MailFrom: "", Source: SourceLMTP}, "empty envelope sender"},
		{"smtp upper-case source", nil, Envelope{MailFrom: "", Source: "SMTP"}, "empty envelope sender"},
		{"smtp real sender", nil, Envelope{MailFrom: "alice@customer.example", Source: SourceSMTP}, ""},
		// Over SMTP the envelope is known; a Return-Path in the content is
		// whatever an earlier hop left there.
		{"smtp ignores stale Return-Path", []string{"Return-Path", "<>"}, Envelope{MailFrom: "alice@customer.example", Source: SourceSMTP}, ""},
		{"imap Return-Path <>", []string{"Return-Path", "<>"}, Envelope{Source: SourceIMAP}, "empty envelope sender"},
		{"imap Return-Path with spaces", []string{"Return-Path", " < > "}, Envelope{Source: SourceIMAP}, "empty envelope sender"},
		{"pipe Return-Path <MAILER-DAEMON>", []string{"Return-Path", "<MAILER-DAEMON>"}, Envelope{Source: SourcePipe}, "empty envelope sender"},
		{"imap real Return-Path", []string{"Return-Path", "<alice@customer.example>"}, Envelope{Source: SourceIMAP}, ""},
		{"imap ignores MailFrom", nil, Envelope{MailFrom: "", Source: SourceIMAP}, ""},
		{"imap only the topmost Return-Path counts", []string{"Return-Path", "<alice@customer.example>", "Return-Path", "<>"}, Envelope{Source: SourceIMAP}, ""},
		{"unknown source uses the header", []string{"Return-Path", "<>"}, Envelope{}, "empty envelope sender"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := append([]string{"From", "alice@customer.example"}, c.header...)
			if got := Automatic(msg(h...), c.env, Options{}); got != c.want {
				t.Errorf("Automatic() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestAutomaticReports(t *testing.T) {
	cases := []struct {
		name string
		m    *message.Message
		want string
	}{
		{"dsn by content type", &message.Message{ContentType: "multipart/report", ReportType: "delivery-status"}, "delivery status notification"},
		{"dsn by content type, odd case", &message.Message{ContentType: "Multipart/Report", ReportType: "Delivery-Status"}, "delivery status notification"},
		{"delivery-status part inside multipart/mixed", &message.Message{ContentType: "multipart/mixed", DeliveryStatus: "Action: failed\n"}, "delivery status notification"},
		{"read receipt", &message.Message{ContentType: "multipart/report", ReportType: "disposition-notification"}, "read receipt"},
		{"abuse report", &message.Message{ContentType: "multipart/report", ReportType: "feedback-report"}, "report: feedback-report"},
		{"report without type", &message.Message{ContentType: "multipart/report"}, "report"},
		{"report beats other rules", &message.Message{
			ContentType: "multipart/report", ReportType: "delivery-status",
			Header: []message.HeaderField{{Name: "Auto-Submitted", Value: "auto-replied"}},
		}, "delivery status notification"},
		{"ordinary multipart", &message.Message{ContentType: "multipart/mixed"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Automatic(c.m, humanEnv, Options{}); got != c.want {
				t.Errorf("Automatic() = %q, want %q", got, c.want)
			}
		})
	}
	if got := Automatic(nil, humanEnv, Options{}); got != "" {
		t.Errorf("Automatic(nil) = %q, want \"\"", got)
	}
}
