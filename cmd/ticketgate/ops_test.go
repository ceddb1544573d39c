package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/storetest"
)

func TestAgentOperationsCLI(t *testing.T) {
	dir := t.TempDir()
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	path := writeConfig(t, dir, "")
	raw, _ := os.ReadFile(path)
	y := strings.Replace(string(raw), "  transport: maildir\n  maildir: { path: ./outbox }\n",
		fmt.Sprintf("  transport: smtp\n  smtp: { host: 127.0.0.1, port: %d, tls: none }\n", sink.Port()), 1)
	y = strings.Replace(y, "agents: [alice@example.com]", "agents: [alice@example.com, bob@example.com]", 1)
	os.WriteFile(path, []byte(y), 0o600)
	d := serveInProcess(t, path)

	deliver := func(from, subject, id string, extra ...string) {
		t.Helper()
		raw := fmt.Sprintf("From: %s\r\nTo: acme@support.example.com\r\nSubject: %s\r\nMessage-ID: <%s>\r\n%s\r\nbody of %s\r\n", from, subject, id, strings.Join(extra, ""), id)
		if code, _, e := runCmd([]string{"deliver", "-c", path}, raw); code != 0 {
			t.Fatalf("deliver %s: %s", id, e)
		}
	}
	op := func(want int, args ...string) string {
		t.Helper()
		code, out, stderr := runCmd(append([]string{args[0], "-c", path, "--as", "alice@example.com"}, args[1:]...), "")
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, stderr)
		}
		return out + stderr
	}
	to := func(msgs []mailouttest.Message, addr string) []mailouttest.Message {
		var got []mailouttest.Message
		for _, m := range msgs {
			if m.To[0] == addr {
				got = append(got, m)
			}
		}
		return got
	}
	mailsTo := func(addr string, n int) []mailouttest.Message {
		t.Helper()
		msgs, _ := sink.WaitUntil(func(m []mailouttest.Message) bool { return len(to(m, addr)) >= n }, waitLimit)
		if got := to(msgs, addr); len(got) != n {
			t.Fatalf("%s got %d mails, want %d", addr, len(got), n)
		}
		return to(msgs, addr)
	}
	// settle waits until the sink holds every mail queued so far (one
	// queued event each, written in the transaction that queued it): what
	// was wrongly queued is then at the sink.
	settle := func() []mailouttest.Message {
		t.Helper()
		n := storetest.Queued(t, d.Store())
		msgs, err := sink.WaitFor(n, waitLimit)
		if err != nil {
			t.Fatalf("waiting for the %d mails queued: %v", n, err)
		}
		return msgs
	}
	ticket := func(key string) *store.Ticket {
		var tk *store.Ticket
		d.Store().View(func(tx store.Tx) error { tk, _ = tx.Ticket(key); return nil })
		return tk
	}

	deliver("carl@customer.example", "Printer on fire", "p1@customer.example")
	mailsTo("carl@customer.example", 1) // the auto-reply

	// On admin.sock the caller is the Unix user (admin.users maps this
	// test's user to alice): claiming to be bob changes nothing.
	if code, _, stderr := runCmd([]string{"status", "-c", path, "--as", "bob@example.com", "ACME-1", "open"}, ""); code == 0 || !strings.Contains(stderr, "not accepted") {
		t.Fatalf("status --as another agent: %d %s", code, stderr)
	}
	if out := op(exitFailure, "status", "ACME-1", "sleeping"); !strings.Contains(out, "unknown status") {
		t.Fatalf("unknown status: %s", out)
	}
	op(0, "status", "ACME-1", "in_progress")
	op(0, "assign", "ACME-1", "me")
	if tk := ticket("ACME-1"); tk.Assignee != "alice@example.com" || tk.Status != "assigned" {
		t.Fatalf("after assign: %s %s", tk.Assignee, tk.Status)
	}
	if out := op(exitFailure, "assign", "ACME-1", "carl@customer.example"); !strings.Contains(out, "not an agent") {
		t.Fatalf("assign to a customer: %s", out)
	}

	// A public reply reaches the customer, written by a person.
	op(0, "reply", "ACME-1", "We replaced the printer.")
	got := mailsTo("carl@customer.example", 2)
	if !strings.Contains(string(got[1].Data), "We replaced the printer.") || !strings.Contains(string(got[1].Data), "alice@example.com via") {
		t.Fatalf("customer's copy of the reply:\n%s", got[1].Data)
	}
	if tk := ticket("ACME-1"); tk.Status != "waiting_for_customer" {
		t.Fatalf("after a public reply: %s", tk.Status)
	}
	// An internal note never reaches the customer; the other agent sees it.
	op(0, "note", "ACME-1", "He owes us money.")
	// Bob gets the note. (Mail is delivered at least once and the
	// sender's workers deliver in any order, so the test looks for it
	// rather than counting.)
	if _, err := sink.WaitMessage(func(m mailouttest.Message) bool {
		return m.To[0] == "bob@example.com" && strings.Contains(string(m.Data), "He owes us money.")
	}, waitLimit); err != nil {
		t.Fatalf("the other agent did not get the note: %v", err)
	}
	for _, m := range sink.Messages() {
		if m.To[0] == "carl@customer.example" && strings.Contains(string(m.Data), "owes us money") {
			t.Fatal("internal note reached the customer")
		}
	}

	// The customer answers by mail: the ticket reopens.
	deliver("carl@customer.example", "Re: [ACME-1] Printer on fire", "p2@customer.example", "In-Reply-To: <p1@customer.example>\r\n")
	if tk := ticket("ACME-1"); tk.Status != "open" {
		t.Fatalf("customer reply to a waiting ticket: %s", tk.Status)
	}

	op(0, "invite", "ACME-1", "dana@customer.example")
	inv := mailsTo("dana@customer.example", 1)
	if !strings.Contains(string(inv[0].Data), "invited you") {
		t.Fatalf("invitation:\n%s", inv[0].Data)
	}
	op(0, "participant", "add", "ACME-1", "erin@customer.example")
	mailsTo("erin@customer.example", 1)
	op(0, "participant", "remove", "ACME-1", "erin@customer.example")
	if tk := ticket("ACME-1"); len(tk.Participants) != 1 || tk.Participants[0].Address != "dana@customer.example" {
		t.Fatalf("participants %+v", tk.Participants)
	}

	op(0, "status", "ACME-1", "resolved")
	res := mailsTo("carl@customer.example", 3)
	if !strings.Contains(string(res[2].Data), "has been resolved") {
		t.Fatalf("resolution mail:\n%s", res[2].Data)
	}
	if tk := ticket("ACME-1"); tk.Closed.IsZero() == false {
		t.Fatal("resolved is not closed")
	}

	// Merge: a duplicate request joins the first; its mail follows.
	deliver("carl@customer.example", "Printer still on fire", "p3@customer.example")
	op(0, "merge", "ACME-2", "ACME-1")
	if tk := ticket("ACME-2"); tk.MergedInto != "ACME-1" || tk.Status != "closed" {
		t.Fatalf("merged ticket: %+v", tk)
	}
	deliver("carl@customer.example", "Re: Printer still on fire", "p4@customer.example", "In-Reply-To: <p3@customer.example>\r\n")
	var msgs []*store.Message
	d.Store().View(func(tx store.Tx) error { msgs, _ = tx.TicketMessages("ACME-1"); return nil })
	if last := msgs[len(msgs)-1]; last.MessageID != "p4@customer.example" {
		t.Fatalf("reply to the merged ticket landed elsewhere: %+v", last)
	}

	// Spam: cancelled, reporter blocked, their next mail answers nobody.
	deliver("spammer@evil.example", "Cheap pills", "s1@evil.example")
	mailsTo("spammer@evil.example", 1) // its auto-reply went out before anyone knew
	before := len(settle())
	op(0, "spam", "ACME-3")
	if tk := ticket("ACME-3"); tk.Status != "cancelled" {
		t.Fatalf("spam ticket: %s", tk.Status)
	}
	deliver("spammer@evil.example", "More pills", "s2@evil.example")
	for _, m := range settle()[before:] {
		if m.To[0] == "spammer@evil.example" || strings.Contains(string(m.Data), "More pills") {
			t.Fatalf("blocked sender answered or announced: %v", m.To)
		}
	}
	if out := op(exitFailure, "org", "set", "ACME", "Customers", "gmail.com", "-"); !strings.Contains(out, "free-mail") {
		t.Fatalf("free-mail domain: %s", out)
	}
	op(0, "org", "set", "ACME", "Customer Corp", "customer.example", "frank@partner.example")
	if out := op(0, "orgs", "--project", "acme"); !strings.Contains(out, "Customer Corp") || !strings.Contains(out, "customer.example") {
		t.Fatalf("orgs: %s", out)
	}
	op(0, "share", "ACME-1", "Customer Corp")
	if tk := ticket("ACME-1"); tk.Organization != "Customer Corp" {
		t.Fatalf("shared: %q", tk.Organization)
	}
	mailsTo("frank@partner.example", 1)
	op(0, "org", "delete", "ACME", "Customer Corp")
	if out := op(0, "orgs", "--json"); strings.Contains(out, "Customer Corp") {
		t.Fatalf("deleted org still listed: %s", out)
	}
	op(0, "block", "ACME", "other@evil.example")
	if out := op(0, "show", "ACME-4"); !strings.Contains(out, "sender blocked") {
		t.Fatalf("blocked mail not recorded as such:\n%s", out)
	}
}
