package decide

import (
	"slices"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/templates"
)

func TestHasMarker(t *testing.T) {
	mk := templates.AllReplyMarkers()[0]
	if !HasMarker("Thanks\n\n" + mk + "\n> old") {
		t.Errorf("marker %q not found", mk)
	}
}

func TestClassify(t *testing.T) {
	person := Verdict{}
	cmds, _ := ParseCommands("#close\n")
	internal, _ := ParseCommands("#internal\n")
	customerW := Who{Author: customer, Member: true, Proven: true}
	agentW := Who{Author: agent, Staff: true, Agent: true, Proven: true, Member: true}
	for _, c := range []struct {
		name    string
		m       Mail
		w       Who
		created bool
		want    Outcome
		told    string // a word the sender is told
	}{
		{"a loop", Mail{Verdict: Decide(Signals{Loop: "ours"})}, customerW, false,
			Outcome{Kind: "loop", Internal: true, Event: store.EvAutomaticRecorded}, ""},
		{"automatic on a ticket", Mail{Verdict: Decide(Signals{Automatic: "Auto-Submitted"})}, customerW, false,
			Outcome{Kind: "auto", Event: store.EvAutomaticRecorded}, ""},
		{"automatic opening a ticket", Mail{Verdict: Decide(Signals{Automatic: "Auto-Submitted"})}, customerW, true,
			Outcome{Kind: "request", Event: store.EvAutomaticRecorded}, ""},
		{"refused on a ticket tells staff", Mail{Verdict: Decide(Signals{Refusal: "big"})}, customerW, false,
			Outcome{Kind: "auto", Event: store.EvCustomerCommentAdded}, ""},
		{"refused opening a ticket tells staff", Mail{Verdict: Decide(Signals{Refusal: "big"})}, customerW, true,
			Outcome{Kind: "request", Event: store.EvRequestCreated}, ""},
		{"to the internal address, not an agent", Mail{Verdict: person, ToInternal: true}, Who{Author: "eve@x.example"}, false,
			Outcome{Kind: "note", Internal: true, Event: store.EvInternalNoteAdded, Unverified: true,
				Held: "eve@x.example wrote to the internal address but is not a verified agent"}, ""},
		{"to the internal address, an agent", Mail{Verdict: person, ToInternal: true, Text: "note\n> q", Stripped: "note"}, agentW, false,
			Outcome{Kind: "note", Internal: true, Event: store.EvInternalNoteAdded, Text: "note"}, ""},
		{"#internal from an agent", Mail{Verdict: person, Commands: internal, Text: "note", Stripped: "note"}, agentW, false,
			Outcome{Kind: "note", Internal: true, Event: store.EvInternalNoteAdded, Text: "note"}, ""},
		{"a request", Mail{Verdict: person, Text: "help"}, customerW, true,
			Outcome{Kind: "request", Event: store.EvRequestCreated, Text: "help"}, ""},
		{"an agent's address without proof", Mail{Verdict: person, Text: "answer"}, Who{Author: agent, Staff: true, Member: true}, false,
			Outcome{Kind: "note", Internal: true, Event: store.EvInternalNoteAdded, Unverified: true, Text: "answer",
				Held: "sender not verified: mail from an agent's address without proof (Authentication-Results) that the agent sent it"}, "ACME-1"},
		{"an agent's commands only", Mail{Verdict: person, Commands: cmds, Text: "\n> quoted", Stripped: ""}, agentW, false,
			Outcome{Kind: "command", Internal: true, Event: NoEvent}, ""},
		{"an agent's reply quoting a note", Mail{Verdict: person, Text: "answer\n> secret", Stripped: "answer secret", QuotesNote: true}, agentW, false,
			Outcome{Kind: "note", Internal: true, Event: store.EvInternalNoteAdded, Text: "answer secret",
				Held: "held as an internal note: the reply contains the text of an internal note and no \"reply above this line\" marker"}, "internal note of ACME-1"},
		{"an agent's public answer", Mail{Verdict: person, Text: "answer\n> old", Stripped: "answer"}, agentW, false,
			Outcome{Kind: "comment", Event: store.EvAgentCommentAdded, Public: true, Text: "answer"}, ""},
		{"a stranger", Mail{Verdict: person, Text: "hi"}, Who{Author: "eve@x.example"}, false,
			Outcome{Kind: "note", Internal: true, Event: store.EvInternalNoteAdded, Unverified: true, Text: "hi",
				Held: "held: eve@x.example is not the reporter, a participant or an agent of ACME-1; an agent may admit them with #participant add eve@x.example"}, ""},
		{"a proven stranger is held but not unverified", Mail{Verdict: person, Text: "hi"}, Who{Author: "eve@x.example", Proven: true}, false,
			Outcome{Kind: "note", Internal: true, Event: store.EvInternalNoteAdded, Text: "hi",
				Held: "held: eve@x.example is not the reporter, a participant or an agent of ACME-1; an agent may admit them with #participant add eve@x.example"}, ""},
		{"a proven customer's comment", Mail{Verdict: person, Text: "more"}, customerW, false,
			Outcome{Kind: "comment", Event: store.EvCustomerCommentAdded, Text: "more"}, ""},
		{"an unproven customer's comment", Mail{Verdict: person, Text: "more"}, Who{Author: customer, Member: true}, false,
			Outcome{Kind: "comment", Event: store.EvCustomerCommentAdded, Text: "more", Unverified: true}, ""},
		{"a misleading display name", Mail{Verdict: person, Text: "more", FromNameAddress: true}, customerW, false,
			Outcome{Kind: "comment", Event: store.EvCustomerCommentAdded, Text: "more", Unverified: true}, ""},
		{"a form's comment", Mail{Verdict: person, Text: "more"}, Who{Author: customer, Member: true, Proven: true, Relayed: true}, false,
			Outcome{Kind: "comment", Event: store.EvCustomerCommentAdded, Text: "more", Unverified: true}, ""},
		{"a customer's commands only", Mail{Verdict: person, Commands: cmds, Text: " "}, customerW, false,
			Outcome{Kind: "command", Internal: true, Event: NoEvent, Text: " "}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Classify(c.m, c.w, "ACME-1", c.created)
			told := got.Told
			got.Told = nil
			if !equalOutcome(got, c.want) {
				t.Errorf("Classify =\n %+v, want\n %+v", got, c.want)
			}
			if (c.told == "") != (len(told) == 0) || c.told != "" && !strings.Contains(told[0], c.told) {
				t.Errorf("told %q, want a line with %q", told, c.told)
			}
		})
	}
}

func equalOutcome(a, b Outcome) bool {
	return a.Kind == b.Kind && a.Internal == b.Internal && a.Unverified == b.Unverified && a.Held == b.Held &&
		a.Text == b.Text && a.Event == b.Event && a.Public == b.Public && slices.Equal(a.Told, b.Told)
}

func TestStartsAnew(t *testing.T) {
	_, p := testConfig(t)
	now := t0
	closed := func(status string, ago int) *store.Ticket {
		return &store.Ticket{Status: status, Closed: now.Add(-time24(ago))}
	}
	for _, c := range []struct {
		name                      string
		t                         *store.Ticket
		person, staff, toInternal bool
		want                      bool
	}{
		{"closed past the window", closed("done", 8), true, false, false, true},
		{"cancelled past the window", closed("dropped", 8), true, false, false, true},
		{"closed within the window", closed("done", 6), true, false, false, false},
		{"resolved is not closed", closed("solved", 30), true, false, false, false},
		{"never closed", &store.Ticket{Status: "done"}, true, false, false, false},
		{"staff write into it", closed("done", 30), true, true, false, false},
		{"an internal note", closed("done", 30), true, false, true, false},
		{"automatic mail", closed("done", 30), false, false, false, false},
		{"a status the project no longer has", closed("gone", 30), true, false, false, false},
	} {
		if got := StartsAnew(p, c.t, c.person, c.staff, c.toInternal, now); got != c.want {
			t.Errorf("%s: StartsAnew = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestParticipation(t *testing.T) {
	comment := Outcome{Kind: "comment"}
	for _, c := range []struct {
		name    string
		person  bool
		o       Outcome
		w       Who
		created bool
		want    Join
	}{
		{"a request", true, comment, Who{}, true, JoinAdd},
		{"a proven comment", true, comment, Who{Proven: true}, false, JoinAdd},
		{"an unproven comment waits", true, comment, Who{}, false, JoinPending},
		{"an unverified request waits", true, Outcome{Kind: "request", Unverified: true}, Who{}, true, JoinPending},
		{"an agent's mail", true, Outcome{Kind: "comment", Unverified: true}, Who{Agent: true}, false, JoinAdd},
		{"commands only", true, Outcome{Kind: "command", Internal: true}, Who{Proven: true}, false, JoinAdd},
		{"held", true, Outcome{Kind: "note", Internal: true, Held: "x"}, Who{Proven: true}, false, JoinNone},
		{"an internal note", true, Outcome{Kind: "note", Internal: true}, Who{Agent: true}, false, JoinNone},
		{"automatic", false, comment, Who{Proven: true}, true, JoinNone},
	} {
		if got := Participation(c.person, c.o, c.w, c.created); got != c.want {
			t.Errorf("%s: Participation = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCandidates(t *testing.T) {
	cfg, p := testConfig(t) // at most 2 per mail, 3 per ticket
	tk := &store.Ticket{Reporter: customer, Participants: []store.Participant{{Address: "dana@customer.example"}}}
	out, over := Candidates(cfg, p, tk, []string{"acme@support.example.com", agent, "Carl@Customer.example", "DANA@customer.example",
		"", "erin@customer.example", "erin@customer.example", "fred@customer.example", "gina@customer.example"})
	if !slices.Equal(out, []string{"erin@customer.example", "fred@customer.example"}) || !slices.Equal(over, []string{"gina@customer.example"}) {
		t.Errorf("Candidates = %q, over %q", out, over)
	}
	// Room on the ticket, but only two per mail: the rest wait for
	// another mail, they are not refused.
	out, over = Candidates(cfg, p, &store.Ticket{Reporter: customer}, []string{"a@x.example", "b@x.example", "c@x.example"})
	if len(out) != 2 || over != nil {
		t.Errorf("per mail: %q, over %q", out, over)
	}
}

func TestFollow(t *testing.T) {
	_, p := testConfig(t)
	status := func(name string) config.StatusDef {
		s, ok := p.Status(name)
		if !ok {
			t.Fatalf("no status %s", name)
		}
		return s
	}
	comment := Outcome{Kind: "comment", Event: store.EvCustomerCommentAdded}
	customerW := Who{Author: customer, Member: true}
	for _, c := range []struct {
		name string
		f    FollowFacts
		want Follows
	}{
		{"a loop is silent", FollowFacts{Verdict: Decide(Signals{Loop: "x"}), Outcome: comment}, Follows{Silent: true}},
		{"a blocked sender is silent", FollowFacts{Verdict: Decide(Signals{BlockedSender: true}), Outcome: comment}, Follows{Silent: true}},
		{"a customer's reply to a waiting ticket reopens it", FollowFacts{Outcome: comment, Who: customerW, Status: status("waiting")},
			Follows{Reopen: true, Announce: true, Relayed: true, Answer: true}},
		{"to a solved one too", FollowFacts{Outcome: comment, Who: customerW, Status: status("solved")},
			Follows{Reopen: true, Announce: true, Relayed: true, Answer: true}},
		{"and a closed one", FollowFacts{Outcome: comment, Who: customerW, Status: status("done")},
			Follows{Reopen: true, Announce: true, Relayed: true, Answer: true}},
		{"not one waiting for an approval", FollowFacts{Outcome: comment, Who: customerW, Status: status("approval")},
			Follows{Announce: true, Relayed: true, Answer: true}},
		{"not an open one", FollowFacts{Outcome: comment, Who: customerW, Status: status("working")},
			Follows{Announce: true, Relayed: true, Answer: true}},
		{"staff do not reopen", FollowFacts{Outcome: Outcome{Kind: "comment", Event: store.EvAgentCommentAdded, Public: true},
			Who: Who{Author: agent, Staff: true, Agent: true, Member: true}, Status: status("solved")},
			Follows{Announce: true, Pending: true, Answer: true}},
		{"automatic mail tells staff unrelayed", FollowFacts{Verdict: Decide(Signals{Refusal: "big"}), Outcome: comment, Who: customerW, Status: status("waiting")},
			Follows{Announce: true, Answer: true}},
		{"a held stranger is not answered", FollowFacts{Outcome: Outcome{Kind: "note", Internal: true, Event: store.EvInternalNoteAdded, Held: "held"},
			Who: Who{Author: "eve@x.example"}, Status: status("waiting")}, Follows{Announce: true}},
		{"commands only announce nothing", FollowFacts{Outcome: Outcome{Kind: "command", Internal: true, Event: NoEvent}, Who: customerW, Status: status("working")},
			Follows{Answer: true}},
		{"a new request is shared", FollowFacts{Outcome: Outcome{Kind: "request", Event: store.EvRequestCreated}, Who: customerW, Created: true, Status: status("new"), Added: 2},
			Follows{Announce: true, Share: true, Answer: true}},
		{"a private one is not", FollowFacts{Outcome: Outcome{Kind: "request", Event: store.EvRequestCreated}, Who: customerW, Created: true, Status: status("new"), Private: true},
			Follows{Announce: true, Answer: true}},
		{"who joined later is announced", FollowFacts{Outcome: comment, Who: customerW, Status: status("working"), Added: 1},
			Follows{Announce: true, Relayed: true, AnnounceAdded: true, Answer: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Follow(c.f); got != c.want {
				t.Errorf("Follow =\n %+v, want\n %+v", got, c.want)
			}
		})
	}
}
