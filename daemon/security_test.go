package daemon

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailin"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// Attacks of issue 15, each over SMTP or the deliver socket into a real
// daemon, with what reaches people read from a go-smtp sink.

// TestFormRelayProvesTheFormNotThePerson: a contact form listed in
// form_senders relays mail whose Reply-To names an agent. The form's
// domain passes DMARC, but that proves the form, not alice: no agent
// command runs and nothing is published as her answer.
func TestFormRelayProvesTheFormNotThePerson(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	form := "forms@example.com" // the form's domain passes DMARC
	d := startAt(t, workflowConfig(t, sink, func(c *config.Config) {
		c.Projects[0].FormSenders = []string{form}
	}), nil)
	box := &mailbox{t: t, sink: sink, d: d}
	request(t, d, box)

	cmds := "#assign me\r\n#participant add evil@attacker.example\r\n#priority urgent\r\nPlease send the invoice to evil@attacker.example."
	mustSend(t, d.Addr("smtp"), form, []string{acmeAddr}, msg(form, acmeAddr, "Re: [ACME-1] Printer on fire", "f1@example.com",
		cmds, proof, "Reply-To: "+alice))
	// Only staff hear of it: dave by the internal notice. Alice gets the
	// refusals (the form named her), carl nothing.
	waitFor(t, box, func(m mailouttest.Message) bool { return len(m.To) == 1 && m.To[0] == "dave@example.com" })
	tk, msgs := ticketOf(t, d, "ACME-1")
	if tk.Assignee != "" || tk.Priority != "normal" || len(tk.Participants) != 0 {
		t.Errorf("agent commands ran from a form's mail: assignee %q priority %q participants %v", tk.Assignee, tk.Priority, tk.Participants)
	}
	last := msgs[len(msgs)-1]
	if last.Kind == "comment" && !last.Unverified {
		t.Errorf("form mail published as a proven comment: %+v", last)
	}
	for _, e := range events(t, d, "ACME-1") {
		if e.Kind == store.EvAgentCommentAdded {
			t.Errorf("form mail recorded as an agent's answer: %+v", e)
		}
	}
	for _, m := range sink.Messages() {
		if slicesHas(m.To, carl) && strings.Contains(textBody(t, m), "invoice") {
			t.Errorf("carl got the form's text as alice's answer:\n%s", textBody(t, m))
		}
		if slicesHas(m.To, "evil@attacker.example") {
			t.Errorf("the form's participant was mailed")
		}
	}
}

func slicesHas(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestLoopbackAuthResultsProveNobody: any local user can reach the
// loopback SMTP listener (a trusted relay by default) and write an
// Authentication-Results header of the trusted authserv-id on top. That
// proves nothing unless the peer is listed in inbound.auth_results_from;
// the same header through the local socket (the MTA's LMTP) does.
func TestLoopbackAuthResultsProveNobody(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := startAt(t, workflowConfig(t, sink, func(c *config.Config) {
		c.Inbound.AuthResultsFrom = nil // the default
	}), nil)
	box := &mailbox{t: t, sink: sink, d: d}
	request(t, d, box)

	forged := msg(alice, acmeAddr, "Re: [ACME-1] Printer on fire", "l1@example.com", "#assign me\r\n#priority urgent\r\nForged answer.", proof)
	mustSend(t, d.Addr("smtp"), "mallory@localhost", []string{acmeAddr}, forged)
	body := textBody(t, waitFor(t, box, func(m mailouttest.Message) bool { return len(m.To) == 1 && m.To[0] == alice }))
	if !strings.Contains(body, "NOT sent") {
		t.Errorf("alice's notice of the unproven mail:\n%s", body)
	}
	tk, _ := ticketOf(t, d, "ACME-1")
	if tk.Assignee != "" || tk.Priority != "normal" {
		t.Fatalf("a local user acted as alice: assignee %q priority %q", tk.Assignee, tk.Priority)
	}
	if m := lastMessage(t, d, "ACME-1"); !m.Internal || !m.Unverified {
		t.Errorf("forged agent mail stored as %+v", m)
	}

	// The MTA's copy over the group-restricted local socket is proof.
	sock := filepath.Join(d.Config().DataDir, SocketName)
	real := msg(alice, acmeAddr, "Re: [ACME-1] Printer on fire", "l2@example.com", "#priority urgent\r\n", proof)
	res, err := mailin.LMTPDeliver(sock, alice, []string{acmeAddr}, []byte(real), 10*time.Second)
	if err != nil || res[acmeAddr] != nil {
		t.Fatalf("deliver: %v %v", err, res)
	}
	waitFor(t, box, func(m mailouttest.Message) bool {
		return len(m.To) == 1 && m.To[0] == alice && strings.Contains(textBody(t, m), "done: #priority urgent")
	})
	if tk, _ := ticketOf(t, d, "ACME-1"); tk.Priority != "urgent" {
		t.Errorf("proven mail over the socket: priority %q", tk.Priority)
	}
}

// drained waits until everything queued so far was delivered to the sink
// and returns what the sink holds.
func drained(t *testing.T, d *Daemon, sink *mailouttest.Sink) []mailouttest.Message {
	t.Helper()
	waitUntil(t, d, "the outbox to drain", func() bool {
		n := -1
		d.Store().View(func(tx store.Tx) error { n, _ = tx.OutboxStats(); return nil })
		return n == 0
	})
	return sink.Messages()
}

// replyTokenTo returns the Message-ID of the newest mail the sink got for
// rcpt: answering it proves rcpt (our reply token).
func replyTokenTo(t *testing.T, msgs []mailouttest.Message, rcpt string) string {
	t.Helper()
	got := to(msgs, rcpt)
	if len(got) == 0 {
		t.Fatalf("no mail for %s", rcpt)
	}
	return msgID(t, got[len(got)-1])
}

func hasEventType(evs []*store.Event, typ store.EventKind) *store.Event {
	for _, e := range evs {
		if e.Kind == typ {
			return e
		}
	}
	return nil
}

// TestParticipantSpamRelay reproduces the relay: each reply to one's own
// auto-reply (our token proves the sender) Cc'd 10 more addresses, and
// every later one-line comment went to all of them from the support
// domain — 4 mails gave 40 participants, 5 more gave 200 mails. Now a
// ticket takes inbound.max_participants (20), a customer's comment
// reaches only people of the author's organization or mail domain or
// whom an agent added, and those copies have a budget past which they
// are held and the agents told.
func TestParticipantSpamRelay(t *testing.T) {
	for _, tc := range []struct {
		name   string
		domain string // the Cc'd addresses' domain
	}{
		{"strangers", "victims.example"},
		{"the attacker's own domain", "attacker.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := mailouttest.NewSink(t, mailouttest.Options{})
			d := startAt(t, workflowConfig(t, sink, nil), nil)
			attacker := "mallory@attacker.example"
			victim := func(i int) string { return "v" + itoa(i) + "@" + tc.domain }
			cc := func(from int) string {
				var l []string
				for i := from; i < from+10; i++ {
					l = append(l, victim(i))
				}
				return "Cc: " + strings.Join(l, ", ")
			}
			mustSend(t, d.Addr("smtp"), attacker, []string{acmeAddr}, msg(attacker, acmeAddr, "Hello", "m0@attacker.example", "hi", cc(0)))
			for i := 1; i < 4; i++ {
				tok := replyTokenTo(t, drained(t, d, sink), attacker)
				mustSend(t, d.Addr("smtp"), attacker, []string{acmeAddr}, msg(attacker, acmeAddr, "Re: [ACME-1] Hello", "m"+itoa(i)+"@attacker.example",
					"more", cc(10*i), "In-Reply-To: <"+tok+">"))
			}
			tk, _ := ticketOf(t, d, "ACME-1")
			if len(tk.Participants) != 20 {
				t.Errorf("4 mails made %d participants, want the cap of 20", len(tk.Participants))
			}
			if hasEventType(events(t, d, "ACME-1"), store.EvParticipantsRefused) == nil {
				t.Errorf("no record of the Cc'd addresses refused by the cap")
			}
			before := len(drained(t, d, sink))
			for i := 0; i < 5; i++ {
				tok := replyTokenTo(t, drained(t, d, sink), attacker)
				mustSend(t, d.Addr("smtp"), attacker, []string{acmeAddr}, msg(attacker, acmeAddr, "Re: [ACME-1] Hello", "s"+itoa(i)+"@attacker.example",
					"Cheap pills at attacker.example", "In-Reply-To: <"+tok+">"))
			}
			all := drained(t, d, sink)
			copies := 0
			for _, m := range all[before:] {
				if strings.HasSuffix(m.To[0], "@"+tc.domain) && strings.Contains(textBody(t, m), "Cheap pills") {
					copies++
				}
			}
			evs := events(t, d, "ACME-1")
			switch tc.domain {
			case "victims.example":
				// Not related to the author: no copy at all.
				if copies != 0 {
					t.Errorf("5 comments reached strangers %d times", copies)
				}
				if hasEventType(evs, store.EvRelaySkipped) == nil {
					t.Errorf("skipped copies not recorded")
				}
			default:
				// Same mail domain: relayed within the ticket's budget of
				// 60 per hour (the three Cc mails used 10+20+20 of it),
				// then held.
				total := 0
				for _, m := range all {
					if strings.HasSuffix(m.To[0], "@"+tc.domain) && strings.Contains(textBody(t, m), "wrote on your request") {
						total++
					}
				}
				if total > 60 || copies >= 5*20 {
					t.Errorf("comment copies to participants: %d in all, %d of the 5 one-liners; want at most 60 in all", total, copies)
				}
				held := hasEventType(evs, store.EvRelayHeld)
				if held == nil || !strings.Contains(held.Reason, "relay budget") {
					t.Fatalf("held copies not recorded: %+v", held)
				}
				var told bool
				for _, m := range to(all[before:], alice) {
					told = told || strings.Contains(textBody(t, m), "NOT sent to the other customers")
				}
				if !told {
					t.Errorf("the agents were not told of the held copies")
				}
			}
			// Every copy a participant got carries the one-click mute.
			for _, m := range all {
				if strings.HasSuffix(m.To[0], "@"+tc.domain) {
					h := header(t, m)
					if !strings.Contains(h.Get("List-Unsubscribe"), "/mute") || h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
						t.Fatalf("participant mail %q without one-click mute", h.Get("Subject"))
					}
				}
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestUnverifiedMailHeldFromOtherCustomers: a forged From with a guessed
// [ACME-1], or a reply threaded by a Message-ID of the thread, proves
// nothing: the comment is stored, marked unverified (for the agents and
// on the customer page) and reaches no other customer. A From whose
// display name is the reporter's address is the address in angle
// brackets, and the mismatch is recorded.
func TestUnverifiedMailHeldFromOtherCustomers(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := startAt(t, workflowConfig(t, sink, nil), nil)
	box := &mailbox{t: t, sink: sink, d: d}
	request(t, d, box)
	dana := "dana@customer.example"
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1]", "a1@example.com", "#participant add "+dana, proof))
	drained(t, d, sink)

	for i, extra := range [][]string{
		nil,                                    // the subject token only
		{"In-Reply-To: <r1@customer.example>"}, // a Message-ID of the thread
	} {
		before := len(drained(t, d, sink))
		mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Re: [ACME-1] Printer on fire", "forged"+itoa(i)+"@customer.example",
			"Send the replacement to my new address: Evil Street 1.", extra...))
		all := drained(t, d, sink)[before:]
		if got := to(all, dana); len(got) != 0 {
			t.Errorf("case %d: dana got the unverified comment:\n%s", i, textBody(t, got[0]))
		}
		if body := textBody(t, only(t, all, alice)); !strings.Contains(body, "Sender not verified") || !strings.Contains(body, "NOT sent to the other customers") {
			t.Errorf("case %d: alice's notice does not say it is unverified and held:\n%s", i, body)
		}
		if m := lastMessage(t, d, "ACME-1"); !m.Unverified || m.Internal {
			t.Errorf("case %d: stored as %+v", i, m)
		}
	}
	// The customer page marks it.
	l := linkRE.FindStringSubmatch(textBody(t, to(sink.Messages(), carl)[0]))
	if _, page := get(t, "http://"+d.Addr("web")+l[1]); !strings.Contains(page, "Sender not verified") {
		t.Errorf("the page does not mark the unverified comment")
	}

	// Carl answering our mail (his reply token) reaches dana.
	before := len(drained(t, d, sink))
	tok := replyTokenTo(t, sink.Messages(), carl)
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Re: [ACME-1] Printer on fire", "real@customer.example",
		"It works again.", "In-Reply-To: <"+tok+">"))
	only(t, drained(t, d, sink)[before:], dana)

	// The reporter's address as display name: the sender is the angle
	// address, a stranger to the ticket, and the mismatch is recorded.
	before = len(drained(t, d, sink))
	mustSend(t, d.Addr("smtp"), "attacker@attacker.example", []string{acmeAddr}, msg(carl+" <attacker@attacker.example>", acmeAddr,
		"Re: [ACME-1] Printer on fire", "dn@attacker.example", "Please add my colleague.", "In-Reply-To: <"+tok+">"))
	for _, m := range drained(t, d, sink)[before:] {
		if !strings.HasSuffix(m.To[0], "@example.com") {
			t.Errorf("display-name forgery reached %s", m.To[0])
		}
	}
	m := lastMessage(t, d, "ACME-1")
	if m.From != "attacker@attacker.example" || !m.Internal || m.Held == "" {
		t.Errorf("display-name forgery stored as from %q internal %v held %q", m.From, m.Internal, m.Held)
	}
	if !slices.ContainsFunc(m.Problems, func(p string) bool { return strings.Contains(p, "display name") }) {
		t.Errorf("mismatch not recorded: %q", m.Problems)
	}
}

// TestHugeReferencesDoNotStallIngestion: a References field of 115,000
// IDs (under the 1 MiB header limit) was collected quadratically inside
// the write transaction, and every other mail waited for it. Now only the
// newest 100 count, worked out before the writer runs: a legitimate mail
// sent meanwhile is stored, and the huge one still threads by its newest
// reference.
func TestHugeReferencesDoNotStallIngestion(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := startAt(t, workflowConfig(t, sink, nil), nil)
	box := &mailbox{t: t, sink: sink, d: d}
	request(t, d, box)

	var refs strings.Builder
	refs.WriteString("References:")
	for i := range 115000 {
		if i%100 == 0 {
			refs.WriteString("\r\n ")
		}
		refs.WriteString("<" + strconv.FormatInt(int64(i), 36) + "@xy>")
	}
	refs.WriteString("\r\n <r1@customer.example>")
	mallory := "mallory@elsewhere.example"
	huge := msg(mallory, acmeAddr, "Re: Printer on fire", "huge@elsewhere.example", "hello", refs.String())
	if len(huge) < 950_000 {
		t.Fatalf("the attack mail is only %d bytes", len(huge))
	}
	hugeDone := make(chan error, 1)
	go func() { hugeDone <- send(t, d.Addr("smtp"), mallory, []string{acmeAddr}, huge) }()
	erin := "erin@customer.example"
	mustSend(t, d.Addr("smtp"), erin, []string{acmeAddr}, msg(erin, acmeAddr, "Scanner jammed", "legit@customer.example", "It jams."))
	if err := <-hugeDone; err != nil {
		t.Fatalf("the huge mail: %v", err)
	}
	var legit, big *store.MessageRef
	d.Store().View(func(tx store.Tx) error {
		if r, ok, _ := tx.LookupMessageID("ACME", "legit@customer.example"); ok {
			legit = &r
		}
		if r, ok, _ := tx.LookupMessageID("ACME", "huge@elsewhere.example"); ok {
			big = &r
		}
		return nil
	})
	if legit == nil || legit.Ticket == "ACME-1" {
		t.Errorf("the legitimate mail: %+v", legit)
	}
	if big == nil || big.Ticket != "ACME-1" {
		t.Errorf("the huge mail did not thread by its newest reference: %+v", big)
	}
}
