package decide

import "testing"

func TestFallbackFrom(t *testing.T) {
	for _, c := range []struct {
		replyTo          []string
		sender, mailFrom string
		addr, via        string
	}{
		{[]string{"Dana@Customer.example"}, "sam@customer.example", "env@customer.example", "dana@customer.example", FromReplyTo},
		{[]string{"", "nobody", "erin@customer.example"}, "sam@customer.example", "", "erin@customer.example", FromReplyTo},
		{nil, "Sam@Customer.example", "env@customer.example", "sam@customer.example", FromSender},
		{[]string{"@customer.example"}, "root", "env@customer.example", "env@customer.example", FromEnvelope},
		{nil, "", "", "", ""},
		{nil, "", "MAILER-DAEMON", "", ""},
	} {
		addr, via := FallbackFrom(c.replyTo, c.sender, c.mailFrom)
		if addr != c.addr || via != c.via {
			t.Errorf("FallbackFrom(%q, %q, %q) = %q, %q; want %q, %q", c.replyTo, c.sender, c.mailFrom, addr, via, c.addr, c.via)
		}
	}
	for from, want := range map[string]bool{"carl@customer.example": true, "": false, "x": false, "@customer.example": false, "carl@": false} {
		if UsableFrom(from) != want {
			t.Errorf("UsableFrom(%q) = %v", from, !want)
		}
	}
}

// TestFallbackIdentity: an author found by FallbackFrom is never staff,
// never an agent, never proven (not by the MTA, not by a reply token),
// and runs no command.
func TestFallbackIdentity(t *testing.T) {
	for _, f := range []WhoFacts{
		{Author: agent, From: agent, Staff: true, SenderProven: true, Fallback: true},
		{Author: customer, From: customer, SenderProven: true, Fallback: true},
		{Author: customer, From: customer, Fallback: true, Threading: Threading{Key: "ACME-1", Rule: ByReplyToken, TokenFor: customer}},
	} {
		w := Identify(f)
		if w.Staff || w.Agent || w.Proven {
			t.Errorf("Identify(%+v) = %+v", f, w)
		}
		f.Fallback = false
		if w := Identify(f); !w.Proven {
			t.Errorf("without the fallback %+v is proven", f)
		}
	}
	for _, c := range []struct {
		person   bool
		fallback string
		want     bool
	}{{true, "", true}, {true, FromReplyTo, false}, {true, FromEnvelope, false}, {false, "", false}} {
		if RunsCommands(c.person, c.fallback) != c.want {
			t.Errorf("RunsCommands(%v, %q) = %v", c.person, c.fallback, !c.want)
		}
	}
}
