package daemon

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// Issue 17: request types and internal tickets, end to end over SMTP.

const dave = "dave@example.com"

func pageStatus(t *testing.T, d *Daemon, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + d.Addr("web") + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRequestTypesEndToEnd(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	tmpl := t.TempDir()
	dir := filepath.Join(tmpl, "en", "customer", "incident")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "request_created.txt"), []byte("Our incident team is on {{.Ticket.Key}} now.\n{{.Link}}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "request_created.html"), []byte(`{{define "body"}}<p>Our incident team is on {{.Ticket.Key}} now.</p>{{end}}`), 0o644)
	c := workflowConfig(t, sink, func(c *config.Config) {
		c.TemplatesDir = tmpl
		p := &c.Projects[0]
		p.RequestTypes = []config.RequestType{
			{Name: "incident", Match: config.RequestTypeMatch{Subaddress: "incident", Keywords: []string{"outage"}}, Agents: []string{dave}, Priority: "high", Templates: "incident"},
			{Name: "billing", Match: config.RequestTypeMatch{Subaddress: "billing"}},
			{Name: "question", Default: true},
		}
		// A rule naming types: the agents hear of new incidents and
		// billing questions only.
		p.Notifications.Internal.RequestCreated = config.Toggle{Enabled: true, Types: []string{"incident", "billing"}}
	})
	d := startAt(t, c, nil)
	box := &mailbox{t: t, sink: sink, d: d}
	typeOf := func(key string) *store.Ticket { tk, _ := ticketOf(t, d, key); return tk }

	// Sub-address: the type's agent (dave) is told, alice is not; the
	// customer gets the type's own auto-reply.
	mustSend(t, d.Addr("smtp"), carl, []string{"acme+incident@support.example.com"},
		msg(carl, "acme+incident@support.example.com", "Printer on fire", "t1@customer.example", "Help."))
	msgs := box.next(2)
	only(t, msgs, dave)
	ar := only(t, msgs, carl)
	body := textBody(t, ar)
	if !strings.Contains(body, "Our incident team is on ACME-1 now.") {
		t.Errorf("the incident auto-reply:\n%s", body)
	}
	if tk := typeOf("ACME-1"); tk.Type != "incident" || tk.Priority != "high" {
		t.Errorf("ACME-1: type %q priority %q", tk.Type, tk.Priority)
	}
	// The customer page shows the type.
	lm := linkRE.FindStringSubmatch(body)
	if lm == nil {
		t.Fatalf("no link in:\n%s", body)
	}
	if code, page := pageStatus(t, d, lm[1]); code != 200 || !strings.Contains(page, "<dd>incident</dd>") {
		t.Errorf("customer page %d without the type:\n%s", code, page)
	}

	// A keyword in the subject.
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Total outage since 9:00", "t2@customer.example", "Nothing works."))
	msgs = box.next(2)
	only(t, msgs, dave)
	if body := textBody(t, only(t, msgs, carl)); !strings.Contains(body, "incident team") {
		t.Errorf("keyword incident auto-reply:\n%s", body)
	}
	if tk := typeOf("ACME-2"); tk.Type != "incident" {
		t.Errorf("ACME-2: type %q", tk.Type)
	}

	// The customer's #type on a new request: billing has no agents of its
	// own, so every agent hears of it; the default auto-reply, and no
	// answer about the command.
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "A question", "t3@customer.example", "#type billing\r\nWhy two invoices?"))
	msgs = box.next(3)
	only(t, msgs, alice)
	only(t, msgs, dave)
	if body := textBody(t, only(t, msgs, carl)); !strings.Contains(body, "we have received your request") || strings.Contains(body, "incident") {
		t.Errorf("billing auto-reply:\n%s", body)
	}
	if tk := typeOf("ACME-3"); tk.Type != "billing" || tk.Priority != "normal" {
		t.Errorf("ACME-3: type %q priority %q", tk.Type, tk.Priority)
	}

	// Nothing matches: the default type, which the rule does not name,
	// so no agent is told.
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "How do I print?", "t4@customer.example", "Asking."))
	only(t, box.next(1), carl)
	if tk := typeOf("ACME-4"); tk.Type != "question" {
		t.Errorf("ACME-4: type %q", tk.Type)
	}

	// An agent changes the type by mail; a customer may not.
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Re: [ACME-4] How do I print?", "t5@customer.example", "#type incident\r\nIt is urgent."))
	msgs = box.next(3) // the comment to alice and dave, the answer to carl
	only(t, msgs, alice)
	only(t, msgs, dave)
	if body := textBody(t, only(t, msgs, carl)); !strings.Contains(body, "refused: #type incident") {
		t.Errorf("carl's answer:\n%s", body)
	}
	if tk := typeOf("ACME-4"); tk.Type != "question" {
		t.Errorf("a customer changed the type to %q", tk.Type)
	}
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-4] How do I print?", "t6@example.com", "#type incident", proof))
	if body := textBody(t, only(t, box.next(1), alice)); !strings.Contains(body, "done: #type incident") {
		t.Errorf("alice's answer:\n%s", body)
	}
	if tk := typeOf("ACME-4"); tk.Type != "incident" {
		t.Errorf("after the agent's #type: %q", tk.Type)
	}
	// From now on the incident's agents alone hear of the customer.
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Re: [ACME-4] How do I print?", "t7@customer.example", "Still broken."))
	only(t, box.next(1), dave)
}

func TestInternalTicketsEndToEnd(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := startAt(t, workflowConfig(t, sink, nil), nil)
	box := &mailbox{t: t, sink: sink, d: d}
	carlGot := func() int { return len(to(sink.Messages(), carl)) }

	// A proven agent's new mail to the internal address opens an internal
	// ticket for carl.
	mustSend(t, d.Addr("smtp"), alice, []string{acmeInt}, msg(alice, acmeInt, "Check carl's backups", "i1@example.com",
		"#requester Carl <carl@customer.example>\r\nHis nightly backup failed three times this week.", proof))
	msgs := box.next(2) // the note to dave, alice's answer
	only(t, msgs, dave)
	if body := textBody(t, only(t, msgs, alice)); !strings.Contains(body, "done: #requester") {
		t.Errorf("alice's answer:\n%s", body)
	}
	tk, _ := ticketOf(t, d, "ACME-1")
	if !tk.Internal() || tk.Reporter != carl {
		t.Fatalf("ACME-1: visibility %q reporter %q", tk.Visibility, tk.Reporter)
	}
	// A link to its page (minted by hand: no customer mail carries one)
	// answers 404.
	link := strings.Repeat("l", 26)
	err := d.Store().Update(t.Context(), func(tx store.Tx) error {
		return tx.PutToken(&store.Token{Token: link, Kind: store.TokenLink, Project: "ACME", Ticket: "ACME-1", Recipient: carl,
			Created: time.Now(), Expires: time.Now().Add(time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := pageStatus(t, d, "/t/"+link); code != 404 {
		t.Errorf("page of an internal ticket: %d", code)
	}

	// An agent's public answer, a status change by mail: still nothing to
	// the customer.
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1] Check carl's backups", "i2@example.com",
		"We restored the job.", proof))
	only(t, box.next(1), dave)
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1] Check carl's backups", "i3@example.com",
		"#status in_progress", proof))
	box.next(2) // alice's answer, the status change to dave
	if n := carlGot(); n != 0 {
		t.Fatalf("carl got %d mails about an internal ticket", n)
	}
	// The customer writing with the ticket's number in the subject gets
	// no answer either.
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Re: [ACME-1] backups", "i4@customer.example", "What about my backups?"))
	box.next(2) // alice, dave
	if n := carlGot(); n != 0 {
		t.Fatalf("carl got %d mails about an internal ticket", n)
	}

	// #publish: exactly one request-created mail to the requester, none
	// to the staff; the page opens.
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1] Check carl's backups", "i5@example.com", "#publish", proof))
	msgs = box.next(2) // carl's request-created mail, alice's answer
	created := only(t, msgs, carl)
	if s := hget(t, created, "Subject"); s != "[ACME-1] Check carl's backups" || !strings.Contains(textBody(t, created), "we have received your request") {
		t.Errorf("carl's mail %q:\n%s", s, textBody(t, created))
	}
	only(t, msgs, alice)
	if tk, _ := ticketOf(t, d, "ACME-1"); tk.Internal() {
		t.Error("still internal after #publish")
	}
	if code, page := pageStatus(t, d, "/t/"+link); code != 200 || strings.Contains(page, "nightly backup") || !strings.Contains(page, "We restored the job.") {
		t.Errorf("page after #publish %d:\n%s", code, page)
	}
	// A second #publish is refused and sends nothing to carl.
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1] Check carl's backups", "i6@example.com", "#publish", proof))
	if body := textBody(t, only(t, box.next(1), alice)); !strings.Contains(body, "already public") {
		t.Errorf("second #publish:\n%s", body)
	}
	if n := carlGot(); n != 1 {
		t.Errorf("carl got %d mails, want exactly the one request-created mail", n)
	}

	// "#internal" on an agent's new request to the public address; an
	// unproven one opens an ordinary ticket (held as an unverified note).
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Follow-up idea", "i7@example.com", "#internal\r\nWe should monitor disks.", proof))
	only(t, box.next(1), dave)
	if tk, _ := ticketOf(t, d, "ACME-2"); !tk.Internal() {
		t.Error("#internal on a new request: not internal")
	}
	mustSend(t, d.Addr("smtp"), alice, []string{acmeInt}, msg(alice, acmeInt, "Forged", "i8@example.com", "no proof"))
	box.next(1) // the held note to dave
	if tk, _ := ticketOf(t, d, "ACME-3"); tk.Internal() {
		t.Error("an unproven agent opened an internal ticket")
	}
	// #requester on a public ticket is refused (it names who an internal
	// ticket is for).
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1] x", "i9@example.com", "#requester eve@customer.example", proof))
	if body := textBody(t, only(t, box.next(1), alice)); !strings.Contains(body, "refused: #requester") {
		t.Errorf("#requester on a public ticket:\n%s", body)
	}
}
