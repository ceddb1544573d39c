package desk

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// twin opens ACME-2 as carl's request through the engine: a ticket to do
// by mail what the test does on the desk to ACME-1.
func (e *env) twin() string {
	e.t.Helper()
	res, err := e.eng.Ingest(context.Background(), &ticket.Mail{Project: "ACME", Source: "smtp", From: "carl@customer.example",
		To: []string{"acme@support.example.com"}, Subject: "Invoice wrong", MessageID: "twin@customer.example", Text: "The total is off.", Raw: "hash-twin"})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Ticket
}

// mail delivers a mail on ticket key replying to the Message-ID ref;
// proven: the receiving MTA vouched for from.
func (e *env) mail(from, key, ref, id, text string, proven bool) {
	e.t.Helper()
	_, err := e.eng.Ingest(context.Background(), &ticket.Mail{Project: "ACME", Source: "smtp", From: from, SenderProven: proven,
		InReplyTo: []string{ref}, To: []string{"acme@support.example.com"}, Subject: "Re: [" + key + "] Invoice wrong",
		MessageID: id, Text: text, Raw: "hash-" + id})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) events(key string) []*store.Event {
	e.t.Helper()
	var evs []*store.Event
	if err := e.db.View(func(tx store.Tx) (err error) { evs, err = tx.Events(key); return err }); err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// customerMail lists "template → recipient" of the mail queued on key
// after its first skip events to anyone but the agents.
func (e *env) customerMail(key string, skip int) []string {
	var out []string
	for _, ev := range e.events(key)[skip:] {
		if ev.Kind == store.EvQueued && !e.cfg.Load().Project("ACME").IsStaff(ev.Recipient) {
			out = append(out, ev.Template+" → "+ev.Recipient)
		}
	}
	return out
}

func (e *env) lastHeld(key string) *store.Message {
	e.t.Helper()
	_, msgs := e.ticket(key)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Held != "" {
			return msgs[i]
		}
	}
	e.t.Fatalf("%s: no held message", key)
	return nil
}

func kindsOf(evs []*store.Event, kind store.EventKind) []*store.Event {
	var out []*store.Event
	for _, ev := range evs {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// TestHeldMailOnDesk: a stranger's mail held on a ticket shows on the
// desk flagged with why, with "publish" and "discard". Publishing it from
// the desk queues exactly the customer mail "#held publish N" by mail
// queues on a twin ticket; discarding it queues nothing for anybody, and
// the event names the agent. BETA's agent gets 404 for either.
func TestHeldMailOnDesk(t *testing.T) {
	e := newEnv(t)
	twin := e.twin()
	alice := e.signIn("alice@example.com")
	e.mail("eve@stranger.example", "ACME-1", "ACME@customer.example", "eve1@stranger.example", "Same here, and my total is off too.", true)
	e.mail("eve@stranger.example", twin, "twin@customer.example", "eve2@stranger.example", "Same here, and my total is off too.", true)
	held := e.lastHeld("ACME-1")
	_, page := e.get(alice, "/desk/t/ACME-1")
	for _, want := range []string{`class="tag held"`, "eve@stranger.example is not the reporter, a participant or an agent of ACME-1",
		fmt.Sprintf(`value="held-publish"><input type="hidden" name="arg" value="%d">`, held.ID),
		fmt.Sprintf(`value="held-discard"><input type="hidden" name="arg" value="%d">`, held.ID)} {
		if !strings.Contains(page, want) {
			t.Fatalf("the ticket page lacks %q:\n%s", want, page)
		}
	}
	bob := e.signIn("bob@example.org")
	resp, _ := e.post(bob, "/desk/t/ACME-1/do", url.Values{"op": {"held-publish"}, "arg": {strconv.FormatUint(held.ID, 10)}, "csrf": {e.csrf(bob)}})
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("BETA's agent publishing ACME's held mail: %d", resp.StatusCode)
	}

	// Publish: on the desk and, for the twin, by mail.
	skipDesk, skipMail := len(e.events("ACME-1")), len(e.events(twin))
	resp, body := e.post(alice, "/desk/t/ACME-1/do", url.Values{"op": {"held-publish"}, "arg": {strconv.FormatUint(held.ID, 10)}, "csrf": {e.csrf(alice)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("publish: %d\n%s", resp.StatusCode, body)
	}
	e.mail("alice@example.com", twin, "twin@customer.example", "cmd1@example.com", fmt.Sprintf("#held publish %d", e.lastHeld(twin).ID), true)
	desk, byMail := e.customerMail("ACME-1", skipDesk), e.customerMail(twin, skipMail)
	if !slices.Equal(desk, byMail) || !slices.Equal(desk, []string{"customer/public_comment_added → carl@customer.example"}) {
		t.Fatalf("customer mail of publishing on the desk %v, by mail %v", desk, byMail)
	}
	if pub := kindsOf(e.events("ACME-1")[skipDesk:], store.EvHeldPublished); len(pub) != 1 || pub[0].Actor != "alice@example.com" || pub[0].Message != held.ID {
		t.Fatalf("held_published events %+v", pub)
	}
	_, page = e.get(alice, "/desk/t/ACME-1")
	if strings.Contains(page, `value="held-publish"`) || strings.Contains(page, `class="tag held"`) {
		t.Fatal("the published message is still offered as held")
	}

	// Discard: nobody is mailed, the event names alice, the page says so.
	e.mail("eve@stranger.example", "ACME-1", "ACME@customer.example", "eve3@stranger.example", "Cheap watches here.", true)
	spam := e.lastHeld("ACME-1")
	skip := len(e.events("ACME-1"))
	resp, _ = e.post(alice, "/desk/t/ACME-1/do", url.Values{"op": {"held-discard"}, "arg": {strconv.FormatUint(spam.ID, 10)}, "csrf": {e.csrf(alice)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("discard: %d", resp.StatusCode)
	}
	evs := e.events("ACME-1")[skip:]
	if q := kindsOf(evs, store.EvQueued); len(q) != 0 {
		t.Fatalf("discarding queued mail to %s", q[0].Recipient)
	}
	if dis := kindsOf(evs, store.EvHeldDiscarded); len(dis) != 1 || dis[0].Actor != "alice@example.com" || dis[0].Message != spam.ID {
		t.Fatalf("held_discarded events %+v", dis)
	}
	_, page = e.get(alice, "/desk/t/ACME-1")
	if !strings.Contains(page, `class="muted discarded"`) || strings.Contains(page, fmt.Sprintf(`name="arg" value="%d"`, spam.ID)) {
		t.Fatalf("the discarded message's page:\n%s", page)
	}
	// Discarded is for good: publishing it now is refused, and says why.
	resp, body = e.post(alice, "/desk/t/ACME-1/do", url.Values{"op": {"held-publish"}, "arg": {strconv.FormatUint(spam.ID, 10)}, "csrf": {e.csrf(alice)}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "was discarded") {
		t.Fatalf("publishing a discarded message: %d\n%s", resp.StatusCode, body)
	}
	if got := e.customerMail("ACME-1", skip); len(got) != 0 {
		t.Fatalf("the discarded message reached %v", got)
	}
}

// TestRemoveParticipantOnDesk: the ticket page offers each participant's
// removal; the desk's removal writes the same events and mail as
// "#participant remove" by mail does on a twin ticket.
func TestRemoveParticipantOnDesk(t *testing.T) {
	e := newEnv(t)
	twin := e.twin()
	ctx := context.Background()
	for _, key := range []string{"ACME-1", twin} {
		if _, err := e.eng.AddParticipant(ctx, key, "dana@customer.example", "alice@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	alice := e.signIn("alice@example.com")
	_, page := e.get(alice, "/desk/t/ACME-1")
	if !strings.Contains(page, `value="participant-remove"><input type="hidden" name="arg" value="dana@customer.example">`) {
		t.Fatalf("no removal of dana on the page:\n%s", page)
	}
	skipDesk, skipMail := len(e.events("ACME-1")), len(e.events(twin))
	resp, _ := e.post(alice, "/desk/t/ACME-1/do", url.Values{"op": {"participant-remove"}, "arg": {"dana@customer.example"}, "csrf": {e.csrf(alice)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: %d", resp.StatusCode)
	}
	e.mail("alice@example.com", twin, "twin@customer.example", "cmd2@example.com", "#participant remove dana@customer.example", true)
	for _, key := range []string{"ACME-1", twin} {
		if tk, _ := e.ticket(key); len(tk.Participants) != 0 {
			t.Fatalf("%s keeps %v", key, tk.Participants)
		}
	}
	rm := func(key string, skip int) []string {
		var out []string
		for _, ev := range kindsOf(e.events(key)[skip:], store.EvParticipantRemoved) {
			out = append(out, ev.Actor+" removed "+strings.Join(ev.Addresses, ","))
		}
		return out
	}
	if d, m := rm("ACME-1", skipDesk), rm(twin, skipMail); !slices.Equal(d, m) || len(d) != 1 {
		t.Fatalf("participant_removed on the desk %v, by mail %v", d, m)
	}
	if d, m := e.customerMail("ACME-1", skipDesk), e.customerMail(twin, skipMail); !slices.Equal(d, m) {
		t.Fatalf("customer mail of the removal on the desk %v, by mail %v", d, m)
	}
	_, page = e.get(alice, "/desk/t/ACME-1")
	if strings.Contains(page, `value="dana@customer.example"`) {
		t.Fatal("the removed participant is still offered")
	}
}
