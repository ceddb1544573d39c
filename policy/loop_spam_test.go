package policy

import (
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/message"
)

type fakeOwn struct {
	addrs map[string]bool
	ids   map[string]bool
}

func (f fakeOwn) IsOwnAddress(a string) bool     { return f.addrs[strings.ToLower(a)] }
func (f fakeOwn) MintedMessageID(id string) bool { return f.ids[id] }

func TestOwnLoop(t *testing.T) {
	own := fakeOwn{
		addrs: map[string]bool{"acme@support.example.com": true},
		ids:   map[string]bool{"tg.1a2b3c@support.example.com": true},
	}
	cases := []struct {
		name string
		m    *message.Message
		want string
	}{
		{"loop header with our address", msg("X-Ticketgate-Loop", "acme@support.example.com"), "x-ticketgate-loop: acme@support.example.com"},
		{"loop header name in other case, bracketed address", msg("x-ticketgate-loop", "<ACME@support.example.com>"), "x-ticketgate-loop: ACME@support.example.com"},
		{"loop header listing several addresses", msg("X-Ticketgate-Loop", "Other <other@elsewhere.example>, ACME Support <acme@support.example.com>"), "x-ticketgate-loop: acme@support.example.com"},
		{"loop header of another gateway", msg("X-Ticketgate-Loop", "help@other-company.example"), ""},
		{"second loop header names us", msg("X-Ticketgate-Loop", "help@other-company.example", "X-Ticketgate-Loop", "acme@support.example.com"), "x-ticketgate-loop: acme@support.example.com"},
		{"x-loop naming us", msg("X-Loop", "acme@support.example.com"), "x-loop: acme@support.example.com"},
		{"x-loop of a mailing list", msg("X-Loop", "FreeBSD.org"), ""},
		{"x-loop yes", msg("X-Loop", "yes"), ""},
		{"minted message-id", &message.Message{MessageID: "tg.1a2b3c@support.example.com"}, "message-id minted by us"},
		{"minted message-id, raw header only", msg("Message-ID", " <tg.1a2b3c@support.example.com> "), "message-id minted by us"},
		// A customer's reply references our Message-ID; that is a reply,
		// not a loop.
		{"our id in References", &message.Message{MessageID: "abc@customer.example", References: []string{"tg.1a2b3c@support.example.com"}, InReplyTo: []string{"tg.1a2b3c@support.example.com"}}, ""},
		{"ordinary mail", msg("From", "alice@customer.example", "Message-ID", "<abc@customer.example>"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := OwnLoop(c.m, own); got != c.want {
				t.Errorf("OwnLoop() = %q, want %q", got, c.want)
			}
		})
	}
	if got := OwnLoop(msg("X-Ticketgate-Loop", "acme@support.example.com"), nil); got != "" {
		t.Errorf("OwnLoop(nil OwnMail) = %q, want \"\"", got)
	}
}

func TestSpamFlagged(t *testing.T) {
	cases := []struct {
		name   string
		header []string
		want   string
	}{
		{"spamassassin flag YES", []string{"X-Spam-Flag", "YES"}, "x-spam-flag: yes"},
		{"spamassassin flag yes", []string{"X-Spam-Flag", " yes"}, "x-spam-flag: yes"},
		{"spamassassin flag NO", []string{"X-Spam-Flag", "NO"}, ""},
		{"spamassassin status Yes", []string{"X-Spam-Status", "Yes, score=9.4 required=5.0 tests=HELO_DYNAMIC_IPADDR"}, "x-spam-status: yes"},
		{"status Yes alone", []string{"X-Spam-Status", "Yes"}, "x-spam-status: yes"},
		{"status No", []string{"X-Spam-Status", "No, score=-4.2 required=5.0 tests=ALL_TRUSTED"}, ""},
		{"status word only starting with yes", []string{"X-Spam-Status", "Yesterday's news"}, ""},
		{"rspamd x-spam", []string{"X-Spam", "Yes"}, "x-spam: yes"},
		{"rspamd x-spam no", []string{"X-Spam", "No"}, ""},
		{"rspamd spamd-result true", []string{"X-Spamd-Result", "default: True [16.20 / 15.00]; BAYES_SPAM(5.10)[99.99%]"}, "x-spamd-result: default: true"},
		{"rspamd spamd-result false", []string{"X-Spamd-Result", "default: False [1.20 / 15.00]; MIME_GOOD(-0.10)[text/plain]"}, ""},
		{"score-only headers are not read", []string{"X-Spam-Level", "**********", "X-Spam-Score", "22.4"}, ""},
		{"NO flag then YES status", []string{"X-Spam-Flag", "NO", "X-Spam-Status", "Yes, score=6"}, "x-spam-status: yes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := SpamFlagged(msg(c.header...)); got != c.want {
				t.Errorf("SpamFlagged() = %q, want %q", got, c.want)
			}
		})
	}
}
