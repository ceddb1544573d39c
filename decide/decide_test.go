package decide

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

const (
	customer = "carl@customer.example"
	agent    = "alice@example.com"
)

var t0 = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

// testConfig is project ACME with agent alice, a contact form, an
// approval status and renamed statuses (closed is "done").
func testConfig(t *testing.T) (*config.Config, *config.Project) {
	t.Helper()
	c := config.Default()
	c.DataDir = t.TempDir()
	c.Web.BaseURL = "http://ticketgate.test"
	c.Inbound.MaxCcParticipants = 2
	c.Inbound.MaxParticipants = 3
	c.Projects = []config.Project{{Key: "ACME", Name: "Acme Support", Address: "acme@support.example.com", Agents: []string{agent},
		FormSenders: []string{"form@www.example.com"}, ReopenDays: new(7),
		Notifications: config.DefaultNotifications(),
		Statuses: []config.StatusDef{
			{Name: "new", Category: config.CatNew},
			{Name: "working", Category: config.CatOpen},
			{Name: "waiting", Category: config.CatPending},
			{Name: "approval", Category: config.CatPending, Approval: &config.Approval{Approvers: []string{"boss@customer.example"}}},
			{Name: "solved", Category: config.CatResolved},
			{Name: "done", Category: config.CatClosed},
			{Name: "dropped", Category: config.CatCancelled},
		}}}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	return c, c.Project("ACME")
}

func TestAuthorOf(t *testing.T) {
	_, p := testConfig(t)
	for _, c := range []struct {
		s       Sender
		author  string
		relayed bool
	}{
		{Sender{From: "Carl@Customer.example"}, customer, false},
		{Sender{MailFrom: "Bounce@Customer.example"}, "bounce@customer.example", false},
		{Sender{From: customer, ReplyTo: []string{"other@customer.example"}}, customer, false},
		{Sender{From: "form@www.example.com", ReplyTo: []string{"Dana@Customer.example"}}, "dana@customer.example", true},
		{Sender{From: "form@www.example.com", ReplyTo: []string{""}}, "form@www.example.com", false},
		{Sender{From: "form@www.example.com", ReplyTo: []string{"FORM@www.example.com"}}, "form@www.example.com", false},
	} {
		a, r := AuthorOf(p, c.s)
		if a != c.author || r != c.relayed {
			t.Errorf("AuthorOf(%+v) = %q, %v; want %q, %v", c.s, a, r, c.author, c.relayed)
		}
	}
}

func TestMayPost(t *testing.T) {
	_, p := testConfig(t)
	tk := &store.Ticket{Reporter: customer, Participants: []store.Participant{{Address: "dana@customer.example"}}}
	for addr, want := range map[string]bool{customer: true, "Dana@Customer.example": true, agent: true, "eve@customer.example": false, "": false} {
		if got := MayPost(p, tk, addr); got != want {
			t.Errorf("MayPost(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestIdentify(t *testing.T) {
	token := func(rcpt string) Threading { return Threading{Key: "ACME-1", Rule: ByReplyToken, TokenFor: rcpt} }
	for _, c := range []struct {
		name string
		f    WhoFacts
		want Who
	}{
		{"a stranger", WhoFacts{Author: "eve@x.example", From: "eve@x.example"}, Who{Author: "eve@x.example"}},
		{"an agent with proof", WhoFacts{Author: agent, From: agent, Staff: true, SenderProven: true},
			Who{Author: agent, Staff: true, Agent: true, Proven: true}},
		{"an agent's address without proof", WhoFacts{Author: agent, From: agent, Staff: true}, Who{Author: agent, Staff: true}},
		{"a form relaying an agent's address is nobody's proof", WhoFacts{Author: agent, From: "form@www.example.com", Staff: true, SenderProven: true, Relayed: true},
			Who{Author: agent, Relayed: true}},
		{"a reply token sent to the author proves them", WhoFacts{Author: customer, From: customer, Threading: token(customer), MayPost: true},
			Who{Author: customer, Proven: true, Member: true}},
		{"a reply token sent to someone else proves nothing", WhoFacts{Author: customer, From: customer, Threading: token("dana@customer.example")},
			Who{Author: customer}},
		{"a token proves only as From, not as a form's Reply-To", WhoFacts{Author: customer, From: "form@www.example.com", Relayed: true, Threading: token(customer)},
			Who{Author: customer, Relayed: true}},
		{"a token without proof", WhoFacts{Author: customer, From: customer, Threading: token("")}, Who{Author: customer}},
		{"the subject rule proves nothing", WhoFacts{Author: customer, From: customer, Threading: Threading{Key: "ACME-1", Rule: BySubjectToken, TokenFor: customer}},
			Who{Author: customer}},
		{"an organization member", WhoFacts{Author: customer, From: customer, OrgMember: true}, Who{Author: customer, Member: true}},
		{"an approver", WhoFacts{Author: customer, From: customer, Approver: true}, Who{Author: customer, Member: true}},
		{"whoever opens the ticket", WhoFacts{Author: customer, From: customer, Created: true}, Who{Author: customer, Member: true}},
		// Issue 19: a good signature by From's verified OpenPGP key.
		{"their verified key's signature proves a customer", WhoFacts{Author: customer, From: customer, KeySigned: true, MayPost: true},
			Who{Author: customer, Proven: true, Member: true}},
		{"a verified key's signature never makes an agent", WhoFacts{Author: agent, From: agent, Staff: true, KeySigned: true},
			Who{Author: agent, Staff: true, Proven: true}},
		{"a signature proves only From, not a form's Reply-To", WhoFacts{Author: customer, From: "form@www.example.com", Relayed: true, KeySigned: true},
			Who{Author: customer, Relayed: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Identify(c.f); got != c.want {
				t.Errorf("Identify = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestParseCommands(t *testing.T) {
	for _, c := range []struct {
		text  string
		names []string
		rest  string
	}{
		{"#status resolved\r\n#assign me\r\n\r\nThanks!\r\n", []string{"status", "assign"}, "Thanks!\n"},
		{"\n\n#Close\nbye", []string{"close"}, "bye"},
		{"#1 is broken\nsee above", nil, "#1 is broken\nsee above"},
		{"# Heading\ntext", nil, "# Heading\ntext"},
		{"#a1 x\ntext", nil, "#a1 x\ntext"},
		{"#" + strings.Repeat("x", 300), nil, "#" + strings.Repeat("x", 300)},
		{"Hello\n#close", nil, "Hello\n#close"},
		{"#frobnicate now\ntext", []string{"frobnicate"}, "text"},
		{"", nil, ""},
	} {
		cmds, rest := ParseCommands(c.text)
		var names []string
		for _, x := range cmds {
			names = append(names, x.Name)
		}
		if !slices.Equal(names, c.names) || rest != c.rest {
			t.Errorf("ParseCommands(%q) = %v, %q; want %v, %q", c.text, names, rest, c.names, c.rest)
		}
	}
	cmds, _ := ParseCommands("#participant add <dana@customer.example>\n")
	if len(cmds) != 1 || !slices.Equal(cmds[0].Args, []string{"add", "<dana@customer.example>"}) || cmds[0].Line != "#participant add <dana@customer.example>" {
		t.Errorf("args: %+v", cmds)
	}
	if !HasCommand(cmds, "participant") || HasCommand(cmds, "close") {
		t.Error("HasCommand")
	}
}

func TestCommands(t *testing.T) {
	cmds, _ := ParseCommands("#close\n#priority high\n")
	if run, told := Commands(nil, ""); run != nil || told != nil {
		t.Errorf("no commands: %v %v", run, told)
	}
	if run, told := Commands(cmds, ""); len(run) != 2 || told != nil {
		t.Errorf("a member's commands: %v %v", run, told)
	}
	run, told := Commands(cmds, "held: eve is not the reporter")
	if run != nil || !slices.Equal(told, []string{"No command was run: held: eve is not the reporter."}) {
		t.Errorf("a held mail's commands: %v %q", run, told)
	}
}

func TestQuotesNote(t *testing.T) {
	if got := normLines("> Customer is on the  Legacy plan\r\n\r\n>>  second\tline "); !slices.Equal(got, []string{"customer is on the legacy plan", "second line"}) {
		t.Errorf("normLines: %q", got)
	}
	msgs := []*store.Message{
		{Kind: "comment", Text: "The printer is on fire since this morning."},
		{Kind: "note", Internal: true, Text: "ok\nCustomer is on the Legacy plan, no refund."},
		{Kind: "command", Internal: true, Text: "Escalated to the vendor on Monday."},
	}
	for text, want := range map[string]bool{
		"Hello,\n> customer is on the legacy plan, NO refund.\nBye": true,
		"escalated to the vendor on monday.":                        true,
		"ok":                                                        false, // too short to count
		"the printer is on fire since this morning.":                false, // a public comment
		"Nothing of the kind.":                                      false,
	} {
		if got := QuotesNote(msgs, text); got != want {
			t.Errorf("QuotesNote(%q) = %v, want %v", text, got, want)
		}
	}
	if HasMarker("plain text") {
		t.Error("HasMarker on plain text")
	}
	if got := StripQuotes("Done.\n\n> old text\n"); got != "Done." {
		t.Errorf("StripQuotes: %q", got)
	}
}

func time24(days int) time.Duration { return time.Duration(days) * 24 * time.Hour }
