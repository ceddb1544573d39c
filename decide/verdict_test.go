package decide

import "testing"

func TestDecide(t *testing.T) {
	for _, c := range []struct {
		name      string
		s         Signals
		kind      Kind
		auto      string
		person    bool
		tellStaff bool
		human     bool
		quiet     bool
		recorded  string
	}{
		{name: "person", s: Signals{}, kind: Person, person: true, human: true},
		{name: "automatic", s: Signals{Automatic: "Auto-Submitted: auto-replied"}, kind: Automatic,
			auto: "Auto-Submitted: auto-replied", recorded: "Auto-Submitted: auto-replied"},
		{name: "automatic and refused keeps its own reason but tells staff", s: Signals{Automatic: "Precedence: bulk", Refusal: "Too many attachments"},
			kind: Automatic, auto: "Precedence: bulk", tellStaff: true, recorded: "Precedence: bulk"},
		{name: "refused", s: Signals{Refusal: "Too many attachments (9, at most 8)"}, kind: Refused,
			auto: "refused: Too many attachments (9, at most 8)", tellStaff: true, human: true, recorded: "refused: Too many attachments (9, at most 8)"},
		{name: "refused beats spam, but spam is nobody waiting", s: Signals{Refusal: "big", Spam: "X-Spam-Flag: YES"}, kind: Refused,
			auto: "refused: big", tellStaff: true, recorded: "refused: big"},
		{name: "spam", s: Signals{Spam: "X-Spam-Flag: YES"}, kind: Spam,
			auto: "marked as spam by the receiving MTA: X-Spam-Flag: YES", recorded: "marked as spam by the receiving MTA: X-Spam-Flag: YES"},
		{name: "forged", s: Signals{DMARCFail: true}, kind: Forged, auto: "dmarc=fail: the From address is forged", recorded: "dmarc=fail: the From address is forged"},
		{name: "blocked person", s: Signals{BlockedSender: true, Blocked: "spam"}, kind: Blocked,
			auto: "sender blocked: spam", quiet: true, human: true, recorded: "sender blocked: spam"},
		{name: "blocked and refused tells nobody", s: Signals{BlockedSender: true, Blocked: "x", Refusal: "big"}, kind: Blocked,
			auto: "sender blocked: x", quiet: true, human: true, recorded: "sender blocked: x"},
		{name: "loop", s: Signals{Loop: "X-Ticketgate-Loop"}, kind: Loop, recorded: "X-Ticketgate-Loop"},
		{name: "loop that is also automatic records the automatic reason", s: Signals{Loop: "ours", Automatic: "Auto-Submitted"}, kind: Loop,
			auto: "Auto-Submitted", recorded: "Auto-Submitted"},
		{name: "loop and refused does not tell staff", s: Signals{Loop: "ours", Refusal: "big"}, kind: Loop, auto: "refused: big", recorded: "refused: big"},
		{name: "quiet person", s: Signals{Quiet: true}, kind: Person, person: true, human: true, quiet: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := Decide(c.s)
			if v.Kind != c.kind || v.Auto != c.auto || v.Person() != c.person || v.TellStaff() != c.tellStaff ||
				v.Human() != c.human || v.Quiet != c.quiet || v.Recorded() != c.recorded || v.Loop != c.s.Loop {
				t.Errorf("Decide(%+v) = %+v (person %v, tell staff %v, human %v, recorded %q)", c.s, v, v.Person(), v.TellStaff(), v.Human(), v.Recorded())
			}
		})
	}
}

func TestKindString(t *testing.T) {
	want := map[Kind]string{Person: "person", Loop: "loop", Blocked: "blocked", Automatic: "automatic",
		Refused: "refused", Spam: "spam", Forged: "forged", Kind(99): "unknown"}
	for k, s := range want {
		if k.String() != s {
			t.Errorf("%d.String() = %q, want %q", int(k), k.String(), s)
		}
	}
}
