package ticket_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/templates"
	"github.com/ticketgate/ticketgate/ticket"
)

// macroEngine is newTestEngine with templates_dir holding two English
// macros and a German one, and the notifier rendering macros.
func macroEngine(t *testing.T) *testEngine {
	t.Helper()
	dir := t.TempDir()
	write := func(rel, body string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("en/macros/refund-policy.txt", "#status waiting\n#priority high\nHello {{.Recipient.Address}},\n\nrefunds for {{.Ticket.Key}} ({{.Ticket.Subject}}) take 14 days.\n\n{{.Project.Name}}\n")
	write("en/macros/thanks.txt", "Thank you, we are on it.\n")
	write("en/macros/sneaky.txt", "#assign someone@else.example\nNo.\n")
	e := newTestEngine(t)
	e.cfg.TemplatesDir = dir
	cfg := func() *config.Config { return e.cfg }
	tmpl := templates.New(dir)
	now := func() time.Time { return *e.clock }
	n := notify.New(cfg, func() *templates.Set { return tmpl }, now, slog.New(slog.DiscardHandler))
	eng := ticket.NewEngine(e.st, cfg, n, now, slog.New(slog.DiscardHandler))
	eng.Macros = n
	e.Engine = eng
	return e
}

// customerCopy returns the text of the last public comment on key and
// whether the customer's copy of it was queued.
func (e *testEngine) lastComment(t *testing.T, key string) *store.Message {
	t.Helper()
	var msgs []*store.Message
	if err := e.st.View(func(tx store.Tx) error {
		var err error
		msgs, err = tx.TicketMessages(key)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Kind == "comment" && !msgs[i].Internal {
			return msgs[i]
		}
	}
	return nil
}

// TestMacros: "#macro NAME" sends the rendered macro, then the agent's
// own text, to the customer as the agent's answer, and runs the macro's
// commands; "#macro list" answers with the names; an unknown macro is
// refused in the answer and nothing is sent.
func TestMacros(t *testing.T) {
	e := macroEngine(t)
	key := e.request(t, "m1@customer.example").Ticket

	e.mail(t, agent, key, "a1@example.com", "#macro refund-policy\n\nSorry for the wait!\n", true)
	c := e.lastComment(t, key)
	if c == nil {
		t.Fatal("no public comment")
	}
	want := "Hello " + customer + ",\n\nrefunds for " + key + " (Printer on fire) take 14 days.\n\nAcme Support\n\nSorry for the wait!\n"
	if c.Text != want || c.From != agent {
		t.Errorf("comment from %s:\n%q\nwant\n%q", c.From, c.Text, want)
	}
	evs := e.events(t, key)
	if got := only(evs, store.EvAgentCommentAdded); len(got) != 1 || got[0].Actor != agent || got[0].Message != c.ID {
		t.Errorf("agent_comment_added = %+v", got)
	}
	if got := e.queuedTo(t, key, "customer/public_comment_added"); !slices.Equal(got, []string{"customer/public_comment_added→" + customer}) {
		t.Errorf("customer's copy = %v", got)
	}
	tk := e.ticket(t, key)
	if tk.Status != "waiting" || tk.Priority != "high" {
		t.Errorf("after the macro's commands: status %s priority %s", tk.Status, tk.Priority)
	}
	lines := e.answered(t, key)
	if !hasLine(lines, "done: #macro refund-policy") || !hasLine(lines, "done: #status waiting") || !hasLine(lines, "done: #priority high") {
		t.Errorf("answer = %v", lines)
	}

	// #macro list.
	e.mail(t, agent, key, "a2@example.com", "#macro list\n", true)
	if lines := e.answered(t, key); !hasLine(lines, "done: #macro list — refund-policy, sneaky, thanks") {
		t.Errorf("list answer = %v", lines)
	}
	// An unknown macro: refused, named in the answer, nothing sent.
	before := len(e.queuedTo(t, key, "customer/public_comment_added"))
	e.mail(t, agent, key, "a3@example.com", "#macro refnud-policy\n", true)
	lines = e.answered(t, key)
	if !hasLine(lines, "refused: #macro refnud-policy — no macro refnud-policy (known: refund-policy, sneaky, thanks)") {
		t.Errorf("unknown macro answer = %v", lines)
	}
	if n := len(e.queuedTo(t, key, "customer/public_comment_added")); n != before {
		t.Errorf("an unknown macro sent %d mails to the customer", n-before)
	}
	// A macro may not carry other commands, nor a path for a name.
	e.mail(t, agent, key, "a4@example.com", "#macro sneaky\n#macro ../../etc/passwd\n", true)
	lines = e.answered(t, key)
	if !hasLine(lines, "refused: #assign someone@else.example (in macro sneaky)") || !hasLine(lines, "refused: #macro ../../etc/passwd — no macro") {
		t.Errorf("answer = %v", lines)
	}
	if tk := e.ticket(t, key); tk.Assignee != "" {
		t.Errorf("a macro assigned %s", tk.Assignee)
	}
	// A customer cannot use macros.
	e.mail(t, customer, key, "c2@customer.example", "#macro thanks\n", true)
	if lines := e.answered(t, key); !slices.Contains(lines, "refused: #macro thanks — only agents may use #macro") {
		t.Errorf("customer's #macro answer = %v", lines)
	}
}
