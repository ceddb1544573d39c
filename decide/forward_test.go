package decide

import (
	"testing"

	"github.com/ticketgate/ticketgate/store"
)

func TestFindForward(t *testing.T) {
	for _, c := range []struct {
		name, text               string
		shape, from, fname, note string
		body, id                 string
	}{
		{"gmail", "Please handle.\n\n---------- Forwarded message ---------\nFrom: Carl Customer <Carl@Customer.example>\nDate: Mon, 2 Nov 2026\nSubject: Printer\nTo: <alice@example.com>\n\nIt burns.\n",
			ForwardInline, customer, "Carl Customer", "Please handle.", "It burns.", ""},
		{"thunderbird", "-------- Forwarded Message --------\nSubject: \tPrinter\nDate: \tMon, 2 Nov 2026\nFrom: \tcarl@customer.example\nTo: \talice@example.com\nMessage-ID: <Orig@Customer.example>\n\nIt burns.",
			ForwardInline, customer, "", "", "It burns.", "Orig@customer.example"},
		{"apple mail", "FYI\n\nBegin forwarded message:\n\nFrom: Carl <carl@customer.example>\nSubject: Printer\n\nIt burns.",
			ForwardInline, customer, "Carl", "FYI", "It burns.", ""},
		{"gmail german", "---------- Weitergeleitete Nachricht ---------\nVon: Carl <carl@customer.example>\nDate: Mo., 2. Nov. 2026\nSubject: Drucker\n\nEs brennt.",
			ForwardInline, customer, "Carl", "", "Es brennt.", ""},
		{"outlook", "Note.\n\nFrom: Carl Customer [mailto:carl@customer.example]\nSent: Monday, November 2, 2026 9:12 AM\nTo: Alice\nSubject: Printer\n\nIt burns.",
			ForwardOutlook, customer, "Carl Customer", "Note.", "It burns.", ""},
		{"outlook html as text", "*From:* Carl <carl@customer.example>\n*Sent:* Monday\n*To:* Alice\n*Subject:* Printer\n\nIt burns.",
			ForwardOutlook, customer, "Carl", "", "It burns.", ""},
		{"outlook original message", "-----Original Message-----\nFrom: carl@customer.example\nSent: Monday\nSubject: Printer\n\nIt burns.",
			ForwardOutlook, customer, "", "", "It burns.", ""},
		{"outlook french", "De : Carl <carl@customer.example>\nEnvoyé : lundi 2 novembre 2026\nÀ : Alice\nObjet : Imprimante\n\nElle brûle.",
			ForwardOutlook, customer, "Carl", "", "Elle brûle.", ""},
		{"outlook spanish", "De: Carl <carl@customer.example>\nEnviado: lunes\nPara: Alice\nAsunto: Impresora\n\nSe quema.",
			ForwardOutlook, customer, "Carl", "", "Se quema.", ""},
	} {
		f := FindForward(c.text)
		if f == nil {
			t.Errorf("%s: no forward found", c.name)
			continue
		}
		if f.Shape != c.shape || f.From != c.from || f.Name != c.fname || f.Note != c.note || f.Text != c.body || f.MessageID != c.id {
			t.Errorf("%s: %+v", c.name, *f)
		}
	}
	for _, text := range []string{
		"Just a mail.\nFrom: me, with love\n",
		"From: Carl <carl@customer.example>\nis what the customer wrote; nothing more.",
		"---------- Forwarded message ---------\nno header here\n",
		"From: carl@customer.example\nSent: Monday\n\nOnly two lines: no block.",
	} {
		if f := FindForward(text); f != nil {
			t.Errorf("%q: found %+v", text, *f)
		}
	}
}

func TestRequester(t *testing.T) {
	for _, c := range []struct {
		line          string
		addr, problem string
		found         bool
	}{
		{"#requester Carl@Customer.example", customer, "", true},
		{"#requester <carl@customer.example>", customer, "", true},
		{"#REQUESTER carl@customer.example", customer, "", true},
		// The wording is RequesterArg's, the one parser of the argument.
		{"#requester", "", "#requester needs an address: not one mail address", true},
		{"#requester carl", "", `#requester "carl": not one mail address`, true},
		{"#requester a@b.example c@d.example", "", `#requester "a@b.example c@d.example": not one mail address`, true},
		{"#status open", "", "", false},
	} {
		cmds, _ := ParseCommands(c.line + "\n\ntext")
		addr, found, problem := Requester(cmds)
		if addr != c.addr || found != c.found || problem != c.problem {
			t.Errorf("%q: %q %v %q", c.line, addr, found, problem)
		}
	}
}

func TestOnBehalf(t *testing.T) {
	_, p := testConfig(t)
	own := func(a string) bool { return a == "acme@support.example.com" }
	fw := &Forwarded{Shape: ForwardInline, From: customer, Name: "Carl", Text: "It burns.", Note: "Please."}
	known := &Forwarded{Shape: ForwardRFC822, From: customer, MessageID: "orig@customer.example", Text: "It burns.", Note: "Please.", Attach: []store.Attachment{}}
	for _, c := range []struct {
		name string
		f    BehalfFacts
		want Behalf
	}{
		{"proven agent forwards", BehalfFacts{Agent: true, Forward: fw}, Behalf{Kind: BehalfOpen, Reporter: customer, Name: "Carl", Text: "It burns.", Note: "Please."}},
		{"unproven", BehalfFacts{Forward: fw}, Behalf{}},
		{"into a ticket", BehalfFacts{Agent: true, Threaded: true, Forward: fw}, Behalf{}},
		{"to the internal address", BehalfFacts{Agent: true, ToInternal: true, Forward: fw}, Behalf{}},
		{"an agent's mail forwarded", BehalfFacts{Agent: true, Forward: &Forwarded{From: agent, Text: "x"}}, Behalf{}},
		{"our own mail forwarded", BehalfFacts{Agent: true, Forward: &Forwarded{From: "acme@support.example.com", Text: "x"}}, Behalf{}},
		{"no address in the block", BehalfFacts{Agent: true, Forward: &Forwarded{Text: "x"}}, Behalf{}},
		{"known Message-ID", BehalfFacts{Agent: true, Forward: known, Known: "ACME-3"}, Behalf{Kind: BehalfThread, Ticket: "ACME-3", Note: "Please."}},
		{"unknown Message-ID", BehalfFacts{Agent: true, Forward: known}, Behalf{Kind: BehalfOpen, Reporter: customer, Text: "It burns.", Note: "Please.", Attach: []store.Attachment{}}},
		{"#requester", BehalfFacts{Agent: true, Requester: "dana@customer.example", Text: "For Dana."}, Behalf{Kind: BehalfOpen, Reporter: "dana@customer.example", Text: "For Dana."}},
		{"#requester with a forward", BehalfFacts{Agent: true, Requester: "dana@customer.example", Forward: fw, Text: "all"}, Behalf{Kind: BehalfOpen, Reporter: "dana@customer.example", Text: "It burns.", Note: "Please."}},
		{"#requester an agent", BehalfFacts{Agent: true, Requester: agent, Forward: fw}, Behalf{}},
		{"#requester unproven", BehalfFacts{Requester: "dana@customer.example"}, Behalf{}},
	} {
		got := OnBehalf(p, own, c.f)
		if got.Kind != c.want.Kind || got.Reporter != c.want.Reporter || got.Name != c.want.Name || got.Text != c.want.Text ||
			got.Note != c.want.Note || got.Ticket != c.want.Ticket || (got.Attach == nil) != (c.want.Attach == nil) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}
