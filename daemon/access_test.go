package daemon

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
