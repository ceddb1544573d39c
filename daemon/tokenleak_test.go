package daemon

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// copyIDs returns the Message-ID, In-Reply-To and References of a copy.
func copyIDs(t *testing.T, m mailouttest.Message) (own string, refs []string) {
	t.Helper()
	h := header(t, m)
	own, _ = h.MessageID()
	irt, _ := h.MsgIDList("In-Reply-To")
	r, _ := h.MsgIDList("References")
	return own, append(irt, r...)
}

// tokenOwner returns whom the reply token inside a Message-ID of ours was
// minted for ("" when it is not one of ours).
func tokenOwner(t *testing.T, d *Daemon, id string) string {
	t.Helper()
	tok, ok := ticket.TokenFromMessageID(id)
	if !ok {
		return ""
	}
	var owner string
	d.Store().View(func(tx store.Tx) error {
		if tk, err := tx.Token(tok); err == nil {
			owner = tk.Recipient
		}
		return nil
	})
	return owner
}

func waitSink(t *testing.T, sink *mailouttest.Sink, what string, cond func([]mailouttest.Message) bool) []mailouttest.Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		msgs := sink.Messages()
		if cond(msgs) {
			return msgs
		}
		changed := make(chan struct{})
		go func() { sink.WaitFor(len(msgs)+1, 2*time.Second); close(changed) }()
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("waiting for %s: %d messages at the sink", what, len(msgs))
		}
	}
}

// TestReferencesLeakNoTokens is the attack of issue 15 item 4: a
// participant read the reporter's reply token in the References of her
// own copy, wrote with the reporter's From and that token, and closed the
// ticket. Each copy now carries only ids its recipient has seen, so the
// participant has no token but her own, which proves nothing for a mail
// From the reporter.
func TestReferencesLeakNoTokens(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := start(t, testConfig(t, t.TempDir(), sink))
	addr := d.Addr("smtp")
	proj := "acme@support.example.com"
	carl, dana := "carl@customer.example", "dana@customer.example"
	mustSend(t, addr, carl, []string{proj}, msg(carl, proj, "Shared problem", "m1@customer.example", "printer broken", "Cc: "+dana))
	ar := to(waitMessages(t, sink, 2), carl)[0]
	carlID, _ := copyIDs(t, ar)

	// Carl answers his auto-reply: Dana gets his comment.
	mustSend(t, addr, carl, []string{proj}, msg(carl, proj, "Re: [ACME-1] Shared problem", "m2@customer.example", "still broken",
		"In-Reply-To: <"+carlID+">", "References: <m1@customer.example> <"+carlID+">"))
	msgs := waitSink(t, sink, "Dana's copy of Carl's comment", func(m []mailouttest.Message) bool { return len(to(m, dana)) > 0 })
	for _, m := range msgs {
		rcpt := m.To[0]
		_, refs := copyIDs(t, m)
		for _, id := range refs {
			if owner := tokenOwner(t, d, id); owner != "" && owner != rcpt {
				t.Errorf("the copy to %s refers to %s, the token minted for %s", rcpt, id, owner)
			}
		}
	}
	// Dana, the attacker, uses every id of ours her copy shows.
	var stolen []string
	for _, m := range to(msgs, dana) {
		_, refs := copyIDs(t, m)
		stolen = append(stolen, refs...)
	}
	attack := msg(carl, proj, "Re: [ACME-1] Shared problem", "evil1@partner.example", "#close\r\n#participant add evil@attacker.example",
		"In-Reply-To: <"+strings.Join(stolen, "> <")+">", "References: <"+strings.Join(stolen, "> <")+">")
	mustSend(t, addr, dana, []string{proj}, attack)
	waitUntil(t, d, "the forged mail stored", func() bool { _, m := ticketOf(t, d, "ACME-1"); return len(m) == 3 })
	tk, stored := ticketOf(t, d, "ACME-1")
	t.Logf("the forged mail: threaded by %s, kind %s, held %q", stored[2].ThreadedBy, stored[2].Kind, stored[2].Held)
	if st, _ := d.Config().Project("ACME").Status(tk.Status); st.Category == "closed" || st.Category == "resolved" {
		t.Errorf("a participant forging the reporter's From closed the ticket (status %s)", tk.Status)
	}
	for _, p := range tk.Participants {
		if p.Address == "evil@attacker.example" {
			t.Error("a participant forging the reporter's From added a participant")
		}
	}
}

// TestOldTokensThreadButProveNothing: a reply token minted before this
// release (it may sit in other people's References) still threads a
// reply, but a mail with it runs no customer command.
func TestOldTokensThreadButProveNothing(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := start(t, testConfig(t, t.TempDir(), sink))
	addr := d.Addr("smtp")
	proj := "acme@support.example.com"
	carl := "carl@customer.example"
	mustSend(t, addr, carl, []string{proj}, msg(carl, proj, "Printer", "o1@customer.example", "broken"))
	waitMessages(t, sink, 2)
	old := &store.Token{Token: "0000000000oldtoken00000000", Kind: store.TokenReply, Project: "ACME", Ticket: "ACME-1", Recipient: carl, Created: time.Now().Add(-24 * time.Hour)}
	if err := d.Store().Update(context.Background(), func(tx store.Tx) error { return tx.PutToken(old) }); err != nil {
		t.Fatal(err)
	}
	oldID := ticket.MessageIDPrefix + old.Token + "@support.example.com"
	mustSend(t, addr, carl, []string{proj}, msg(carl, proj, "Re: something", "o2@customer.example", "#close\r\nthanks", "In-Reply-To: <"+oldID+">"))
	waitUntil(t, d, "the reply stored", func() bool { _, m := ticketOf(t, d, "ACME-1"); return len(m) == 2 })
	tk, msgs := ticketOf(t, d, "ACME-1")
	if len(msgs) != 2 || msgs[1].ThreadedBy != ticket.ByReplyToken {
		t.Fatalf("the old token no longer threads: %d messages, %+v", len(msgs), msgs[len(msgs)-1])
	}
	if st, _ := d.Config().Project("ACME").Status(tk.Status); st.Category == "closed" {
		t.Errorf("an old token proved its recipient: ticket closed")
	}
}

// dsnTo is a delivery report saying rcpt failed permanently.
func dsnTo(bounceAddr, rcpt, id string) string {
	return "From: MAILER-DAEMON@mx.example.net\r\nTo: " + bounceAddr + "\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
		"Message-ID: <" + id + ">\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n" +
		"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n" +
		"Final-Recipient: rfc822; " + rcpt + "\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n" +
		"--b--\r\n"
}

// TestForgedBounceSuppressesNobody: the bounce address of a copy is a
// secret of its own, in no header. A forged report to the reply token an
// agent's copy shows (the attack suppressed the agent for 60 days) counts
// for nothing; a real report about an agent's copy tells the agents and
// suppresses nobody; a customer's report suppresses that customer.
func TestForgedBounceSuppressesNobody(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := start(t, testConfig(t, t.TempDir(), sink))
	addr := d.Addr("smtp")
	proj := "acme@support.example.com"
	carl, alice := "carl@customer.example", "alice@example.com"
	mustSend(t, addr, carl, []string{proj}, msg(carl, proj, "Printer", "f1@customer.example", "broken"))
	msgs := waitMessages(t, sink, 2)
	agentCopy, carlCopy := to(msgs, alice)[0], to(msgs, carl)[0]

	// No header of any copy shows a bounce secret.
	for _, m := range msgs {
		secret := strings.TrimSuffix(strings.TrimPrefix(m.From, "acme+bounce-"), "@support.example.com")
		if secret == m.From || secret == "" {
			t.Fatalf("envelope sender %q is not a bounce address", m.From)
		}
		for _, other := range msgs {
			if strings.Contains(string(other.Data), secret) {
				t.Errorf("the bounce secret of the copy to %v appears in the copy to %v", m.To, other.To)
			}
		}
	}

	suppressed := func(a string) bool {
		var s *store.Suppression
		d.Store().View(func(tx store.Tx) (err error) { s, err = tx.Suppressed(a, time.Now()); return err })
		return s != nil
	}
	// The forged report: to the agent's reply token seen in a header.
	agentID, _ := copyIDs(t, agentCopy)
	tok, _ := ticket.TokenFromMessageID(agentID)
	mustSend(t, addr, "", []string{"acme+bounce-" + tok + "@support.example.com"}, dsnTo("acme+bounce-"+tok+"@support.example.com", alice, "forged1@mx.example.net"))
	// A real report about the agent's copy, at its secret address.
	mustSend(t, addr, "", []string{agentCopy.From}, dsnTo(agentCopy.From, alice, "real1@mx.example.net"))
	waitSink(t, sink, "the agents told of their bounce", func(m []mailouttest.Message) bool { return len(to(m, alice)) >= 2 })
	if suppressed(alice) {
		t.Fatal("a bounce suppressed an agent")
	}
	evs := events(t, d, "ACME-1")
	if !hasEvent(evs, store.EvDeliveryFailed, func(e *store.Event) bool {
		return e.Recipient == alice && strings.Contains(e.Reason, "is staff and stays unsuppressed")
	}) {
		t.Errorf("the agents' bounce is not recorded: %+v", evs)
	}
	for _, e := range evs {
		if e.Kind != store.EvDeliveryFailed || e.Message == 0 {
			continue
		}
		var report *store.Message
		d.Store().View(func(tx store.Tx) (err error) { report, err = tx.Message(e.Message); return err })
		if report == nil || strings.Contains(report.MessageID, "forged1") {
			t.Errorf("the forged report counted: %+v (report %+v)", e, report)
		}
	}
	// A report naming Carl's mail by its Message-ID (reply token), at
	// the bounce address of that token, counts for nothing either.
	carlID, _ := copyIDs(t, carlCopy)
	carlTok, _ := ticket.TokenFromMessageID(carlID)
	forged := strings.Replace(dsnTo("acme+bounce-"+carlTok+"@support.example.com", carl, "forged2@mx.example.net"),
		"MIME-Version", "References: <"+carlID+">\r\nMIME-Version", 1)
	mustSend(t, addr, "", []string{"acme+bounce-" + carlTok + "@support.example.com"}, forged)
	if suppressed(carl) {
		t.Fatal("a report without the copy's secret suppressed the customer")
	}
	// Carl's real report suppresses Carl, and only him.
	mustSend(t, addr, "", []string{carlCopy.From}, dsnTo(carlCopy.From, carl, "real2@mx.example.net"))
	waitSink(t, sink, "the agents told of Carl's bounce", func(m []mailouttest.Message) bool { return len(to(m, alice)) >= 3 })
	if !suppressed(carl) || suppressed(alice) {
		t.Errorf("after Carl's bounce: carl suppressed %v, alice %v", suppressed(carl), suppressed(alice))
	}
}
