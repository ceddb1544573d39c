package daemon

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// Forwarded on a customer's behalf (issue 20): every shape goes over SMTP
// into a real daemon, with and without the agent's proof.

const agentNote = "Carl called about this, please handle it today."

// forwardShapes are an agent's mails forwarding Carl's request, one per
// shape, each with a subject and body for the agent's header block.
func forwardShapes() map[string]func(hdr string) string {
	top := func(hdr, ctype string) string {
		return "From: Alice Agent <alice@example.com>\r\nTo: acme@support.example.com\r\nSubject: Fwd: Printer on fire\r\n" +
			"Date: Mon, 02 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n" + hdr + "Content-Type: " + ctype + "\r\n\r\n"
	}
	return map[string]func(string) string{
		"gmail inline": func(hdr string) string {
			return top(hdr+"Message-ID: <fw-gmail@example.com>\r\n", "text/plain; charset=utf-8") + agentNote + "\r\n\r\n" +
				"---------- Forwarded message ---------\r\nFrom: Carl Customer <carl@customer.example>\r\nDate: Mon, 2 Nov 2026 at 09:12\r\n" +
				"Subject: Printer on fire\r\nTo: Alice Agent <alice@example.com>\r\n\r\nThe printer in room 4 is on fire.\r\n"
		},
		"outlook": func(hdr string) string {
			return top(hdr+"Message-ID: <fw-outlook@example.com>\r\n", "text/plain; charset=utf-8") + agentNote + "\r\n\r\n" +
				"From: Carl Customer [mailto:carl@customer.example]\r\nSent: Monday, November 2, 2026 9:12 AM\r\n" +
				"To: Alice Agent <alice@example.com>\r\nSubject: Printer on fire\r\n\r\nThe printer in room 4 is on fire.\r\n"
		},
		"outlook german": func(hdr string) string {
			return top(hdr+"Message-ID: <fw-outlook-de@example.com>\r\n", "text/plain; charset=utf-8") + agentNote + "\r\n\r\n" +
				"Von: Carl Customer <carl@customer.example>\r\nGesendet: Montag, 2. November 2026 09:12\r\n" +
				"An: Alice Agent <alice@example.com>\r\nBetreff: Printer on fire\r\n\r\nThe printer in room 4 is on fire.\r\n"
		},
		"attached message/rfc822": func(hdr string) string {
			return top(hdr+"Message-ID: <fw-rfc822@example.com>\r\n", "multipart/mixed; boundary=fw") +
				"--fw\r\nContent-Type: text/plain\r\n\r\n" + agentNote + "\r\n--fw\r\nContent-Type: message/rfc822\r\n\r\n" +
				"From: Carl Customer <carl@customer.example>\r\nTo: alice@example.com\r\nSubject: Printer on fire\r\n" +
				"Message-ID: <carl-orig@customer.example>\r\n\r\nThe printer in room 4 is on fire.\r\n--fw--\r\n"
		},
		"#requester": func(hdr string) string {
			return top(hdr+"Message-ID: <fw-requester@example.com>\r\n", "text/plain") +
				"#requester carl@customer.example\r\n\r\nThe printer in room 4 is on fire.\r\n"
		},
	}
}

// TestForwardedOnBehalf: a proven agent's forward opens the ticket in the
// customer's name: Carl is the reporter and gets the auto-reply, the
// request holds his words, and the agent's own text is an internal note.
// Without proof the same mail is an ordinary request of the agent's
// address: Carl hears nothing.
func TestForwardedOnBehalf(t *testing.T) {
	for name, shape := range forwardShapes() {
		t.Run(name, func(t *testing.T) {
			sink := mailouttest.NewSink(t, mailouttest.Options{})
			d := startAt(t, workflowConfig(t, sink, nil), nil)
			mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, shape(proof+"\r\n"))
			tk, msgs := ticketOf(t, d, "ACME-1")
			if tk.Reporter != carl {
				t.Fatalf("reporter %q, want %q", tk.Reporter, carl)
			}
			if len(msgs) < 1 || msgs[0].From != carl || msgs[0].Kind != "request" || msgs[0].Internal || msgs[0].ForwardedBy != alice ||
				!strings.Contains(msgs[0].Text, "The printer in room 4 is on fire.") || strings.Contains(msgs[0].Text, agentNote) {
				t.Fatalf("request %+v", msgs[0])
			}
			if name == "#requester" {
				if len(msgs) != 1 {
					t.Errorf("%d messages, want the request only", len(msgs))
				}
			} else if len(msgs) != 2 || !msgs[1].Internal || msgs[1].Kind != "note" || msgs[1].From != alice || strings.TrimSpace(msgs[1].Text) != agentNote {
				t.Errorf("agent's note: %d messages, %+v", len(msgs), msgs[len(msgs)-1])
			}
			ar := waitMailTo(t, sink, carl, "ACME-1")
			if h := header(t, ar); h.Get("Auto-Submitted") != "auto-replied" {
				t.Errorf("Carl's mail is not the auto-reply: %q", h.Get("Auto-Submitted"))
			}
			if strings.Contains(string(ar.Data), agentNote) {
				t.Error("the agent's note reached the customer")
			}
			for _, m := range settle(t, d, sink) {
				if strings.Contains(string(m.Data), agentNote) && !strings.Contains(strings.Join(m.To, ","), "example.com") {
					t.Errorf("the note went to %v", m.To)
				}
			}
		})
		t.Run(name+" without proof", func(t *testing.T) {
			sink := mailouttest.NewSink(t, mailouttest.Options{})
			d := startAt(t, workflowConfig(t, sink, nil), nil)
			mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, shape(""))
			tk, msgs := ticketOf(t, d, "ACME-1")
			if tk.Reporter != alice || len(msgs) != 1 || msgs[0].ForwardedBy != "" || msgs[0].From != alice {
				t.Errorf("an unproven forward: reporter %q, %d messages, %+v", tk.Reporter, len(msgs), msgs[0])
			}
			if got := to(settle(t, d, sink), carl); len(got) != 0 {
				t.Errorf("Carl got %d mails from an unproven forward", len(got))
			}
		})
	}
}

// TestForwardOfKnownMessageThreads: when the forwarded mail's own
// Message-ID is already on a ticket, the forward adds the agent's text
// there as an internal note instead of opening another ticket; and a
// customer cannot open a ticket for someone else by forwarding.
func TestForwardOfKnownMessageThreads(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := startAt(t, workflowConfig(t, sink, nil), nil)
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr},
		msg("Carl Customer <carl@customer.example>", acmeAddr, "Printer on fire", "carl-orig@customer.example", "The printer in room 4 is on fire."))
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, forwardShapes()["attached message/rfc822"](proof+"\r\n"))
	_, msgs := ticketOf(t, d, "ACME-1")
	if len(msgs) != 2 || !msgs[1].Internal || msgs[1].Kind != "note" || msgs[1].From != alice || !strings.Contains(msgs[1].Text, agentNote) {
		t.Fatalf("ACME-1: %d messages, last %+v", len(msgs), msgs[len(msgs)-1])
	}
	err := d.Store().View(func(tx store.Tx) error {
		_, err := tx.Ticket("ACME-2")
		return err
	})
	if err == nil {
		t.Error("the forward of a known mail opened ACME-2")
	}

	// A customer forwarding Dana's mail opens an ordinary request of
	// their own, proven or not.
	dana := "dana@customer.example"
	fwd := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: Fwd: VPN\r\nMessage-ID: <carl-fwd@customer.example>\r\n"+
		"Authentication-Results: mx.example.com; dmarc=pass header.from=customer.example\r\n\r\nSee below.\r\n\r\n"+
		"---------- Forwarded message ---------\r\nFrom: Dana <%s>\r\nSubject: VPN\r\n\r\nThe VPN is down.\r\n", carl, acmeAddr, dana)
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, fwd)
	tk, msgs := ticketOf(t, d, "ACME-2")
	if tk.Reporter != carl || msgs[0].ForwardedBy != "" || !strings.Contains(msgs[0].Text, "See below.") {
		t.Errorf("a customer's forward: reporter %q, %+v", tk.Reporter, msgs[0])
	}
	if got := to(settle(t, d, sink), dana); len(got) != 0 {
		t.Errorf("Dana got %d mails", len(got))
	}
}

// TestRequesterCommandRefused: #requester naming an agent, or in a mail
// into an existing ticket, changes nothing and is answered with why.
func TestRequesterCommandRefused(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := startAt(t, workflowConfig(t, sink, nil), nil)
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr},
		msg(alice, acmeAddr, "For Dave", "req-dave@example.com", "#requester dave@example.com\n\nSomething for Dave.", proof))
	tk, _ := ticketOf(t, d, "ACME-1")
	if tk.Reporter != alice {
		t.Errorf("reporter %q: #requester named an agent", tk.Reporter)
	}
	// Not opened on Dave's behalf (an agent), so the command itself ran
	// and was refused: #requester on a ticket names the requester of an
	// internal ticket only (issue 17).
	answer := waitMailTo(t, sink, alice, "refused: #requester dave@example.com")
	if !strings.Contains(textBody(t, answer), "internal ticket") {
		t.Errorf("answer:\n%s", textBody(t, answer))
	}
}
