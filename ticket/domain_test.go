package ticket_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

const dana = "dana@customer.example"

// mail sends a mail from from into ACME (subject [key]) and returns the
// result; proven: the receiving MTA vouched for From.
func (e *testEngine) mail(t *testing.T, from, key, id, text string, proven bool) *ticket.Result {
	t.Helper()
	return e.reply(t, from, key, "", id, text, proven)
}

// reply is mail that also names the Message-ID ref in In-Reply-To (as
// anyone on the thread can).
func (e *testEngine) reply(t *testing.T, from, key, ref, id, text string, proven bool) *ticket.Result {
	t.Helper()
	var irt []string
	if ref != "" {
		irt = []string{ref}
	}
	res, err := e.Ingest(context.Background(), &ticket.Mail{Project: "ACME", Source: "smtp", From: from, SenderProven: proven, InReplyTo: irt,
		To: []string{"acme@support.example.com"}, Subject: "Re: [" + key + "] Printer on fire", MessageID: id, Text: text, Raw: "hash-" + id})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// answered returns the lines of the last commands_answered event.
func (e *testEngine) answered(t *testing.T, key string) []string {
	t.Helper()
	evs := only(e.events(t, key), store.EvCommandsAnswered)
	if len(evs) == 0 {
		t.Fatalf("%s: no commands answered", key)
	}
	return evs[len(evs)-1].Lines
}

func hasLine(lines []string, prefix string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, prefix) })
}

// TestMailCommands: an agent's commands by mail change the ticket and are
// answered line by line; a customer may use only the customer commands,
// and only with proof.
func TestMailCommands(t *testing.T) {
	e := newTestEngine(t)
	key := e.request(t, "req1@customer.example").Ticket
	ctx := context.Background()
	if err := e.PutOrganization(ctx, "ACME", "Customer", []string{"customer.example"}, nil, agent); err != nil {
		t.Fatal(err)
	}

	e.mail(t, agent, key, "a1@example.com", "#priority high\n#assign me\n#participant add <"+dana+">\n#status working\n#frobnicate\n#priority weird\n#status\n#assign\n\nOn it.", true)
	tk := e.ticket(t, key)
	if tk.Priority != "high" || tk.Assignee != agent || tk.Status != "working" || len(tk.Participants) != 1 || tk.Participants[0].Address != dana {
		t.Fatalf("after the agent's commands: %+v", tk)
	}
	lines := e.answered(t, key)
	for _, want := range []string{"done: #priority high", "done: #assign me", "done: #participant add", "done: #status working",
		"refused: #frobnicate — unknown command", "refused: #priority weird", "refused: #status — which status", "refused: #assign — assign to whom"} {
		if !hasLine(lines, want) {
			t.Errorf("no line %q in %q", want, lines)
		}
	}

	e.mail(t, agent, key, "a2@example.com", "#resolve\n", true)
	if st := e.ticket(t, key).Status; st != "solved" {
		t.Errorf("after #resolve: %s", st)
	}
	e.mail(t, agent, key, "a3@example.com", "#reopen\n#reopen\n#participant remove "+dana+"\n#participant bogus x\n#participant\n#organization Nope\n#organization\n", true)
	tk = e.ticket(t, key)
	if tk.Status != "working" || len(tk.Participants) != 0 {
		t.Errorf("after #reopen and #participant remove: %+v", tk)
	}
	lines = e.answered(t, key)
	for _, want := range []string{"done: #reopen", "refused: #reopen — " + key + " is not resolved", "done: #participant remove",
		"refused: #participant bogus", "refused: #participant — use", "refused: #organization Nope — no organization", "refused: #organization — which"} {
		if !hasLine(lines, want) {
			t.Errorf("no line %q in %q", want, lines)
		}
	}
	e.mail(t, agent, key, "a4@example.com", "#organization Customer\n#private\n", true)
	if tk := e.ticket(t, key); tk.Organization != "" || !tk.Private {
		t.Errorf("after #organization and #private: %+v", tk)
	}
	if !slices.Contains(kinds(e.events(t, key)), store.EvUnshared) {
		t.Errorf("no unshared event: %v", kinds(e.events(t, key)))
	}

	// A customer without proof runs nothing; with proof only theirs.
	e.mail(t, customer, key, "c1@customer.example", "#close\n\nThanks", false)
	if st := e.ticket(t, key).Status; st != "working" {
		t.Errorf("an unproven #close changed the status to %s", st)
	}
	if lines := e.answered(t, key); !hasLine(lines, "refused: #close — we could not verify") {
		t.Errorf("unproven customer: %q", lines)
	}
	e.mail(t, customer, key, "c2@customer.example", "#priority urgent\n#private\n#close\n", true)
	if tk := e.ticket(t, key); tk.Status != "done" || tk.Priority != "high" {
		t.Errorf("after the customer's commands: %+v", tk)
	}
	lines = e.answered(t, key)
	for _, want := range []string{"refused: #priority urgent — only agents", "refused: #private — #private works on a new request", "done: #close"} {
		if !hasLine(lines, want) {
			t.Errorf("no line %q in %q", want, lines)
		}
	}
	// A stranger's commands are held and not answered by mail.
	if res := e.reply(t, "eve@elsewhere.example", key, "req1@customer.example", "s1@elsewhere.example", "#close\n", true); res.Ticket != key {
		t.Fatalf("the stranger's reply went to %s", res.Ticket)
	}
	if lines := e.answered(t, key); !hasLine(lines, "No command was run: held: eve@elsewhere.example") {
		t.Errorf("stranger: %q", lines)
	}
}

// TestApprovalByMail: a ticket waiting in an approval status moves on only
// by an approver's #approve or #decline.
func TestApprovalByMail(t *testing.T) {
	e := newTestEngine(t, func(p *config.Project) {
		p.Statuses = append(p.Statuses, config.StatusDef{Name: "approval", Category: config.CatPending,
			Approval: &config.Approval{Approvers: []string{"boss@customer.example"}}},
			config.StatusDef{Name: "dropped", Category: config.CatCancelled})
	})
	ctx := context.Background()
	for i, c := range []struct{ cmd, want string }{{"#approve", "working"}, {"#decline", "dropped"}} {
		req := "req" + c.cmd + "@customer.example"
		key := e.request(t, req).Ticket
		if _, err := e.SetStatus(ctx, key, "approval", agent); err != nil {
			t.Fatal(err)
		}
		// The customer's own mail does not move it on.
		e.mail(t, customer, key, "c"+c.cmd+"@customer.example", "Any news?", true)
		if st := e.ticket(t, key).Status; st != "approval" {
			t.Fatalf("a customer's mail moved an approval to %s", st)
		}
		e.mail(t, customer, key, "c2"+c.cmd+"@customer.example", c.cmd+"\n", true)
		if lines := e.answered(t, key); !hasLine(lines, "refused: "+c.cmd+" — carl@customer.example is not an approver") {
			t.Errorf("not an approver: %q", lines)
		}
		e.reply(t, "boss@customer.example", key, req, "b"+c.cmd+"@customer.example", c.cmd+"\n", true)
		if st := e.ticket(t, key).Status; st != c.want {
			t.Errorf("%d: after %s: %s, want %s", i, c.cmd, st, c.want)
		}
		e.reply(t, "boss@customer.example", key, req, "b2"+c.cmd+"@customer.example", c.cmd+"\n", true)
		// Once answered, the approver is nobody on the ticket: held.
		if lines := e.answered(t, key); !hasLine(lines, "No command was run: held: boss@customer.example is not the reporter") {
			t.Errorf("twice: %q", lines)
		}
	}
}

// TestAgentActions: the agents' own actions through the engine.
func TestAgentActions(t *testing.T) {
	e := newTestEngine(t)
	ctx := context.Background()
	one := e.request(t, "r1@customer.example").Ticket
	two := e.request(t, "r2@customer.example").Ticket

	if _, err := e.Assign(ctx, one, "me", agent); err != nil {
		t.Fatal(err)
	}
	if n, err := e.Comment(ctx, one, agent, "We are on it.", false); err != nil || n == 0 {
		t.Fatalf("public comment: %d queued, %v", n, err)
	}
	if st := e.ticket(t, one).Status; st != "waiting" {
		t.Errorf("after an agent's public comment: %s", st)
	}
	if _, err := e.Comment(ctx, one, agent, "  ", true); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("empty comment: %v", err)
	}
	if _, err := e.AddParticipant(ctx, one, dana, agent); err != nil {
		t.Fatal(err)
	}
	if _, err := e.AddParticipant(ctx, one, agent, agent); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("staff as participant: %v", err)
	}
	if _, err := e.Invite(ctx, one, "erin@customer.example", agent); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Invite(ctx, one, "acme@support.example.com", agent); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("inviting our own address: %v", err)
	}
	if _, err := e.RemoveParticipant(ctx, one, dana, agent); err != nil {
		t.Fatal(err)
	}
	tk := e.ticket(t, one)
	if tk.Assignee != agent || len(tk.Participants) != 1 || tk.Participants[0].Address != "erin@customer.example" || !tk.Participants[0].ByAgent {
		t.Errorf("after the agent's actions: %+v", tk)
	}

	// Merge two into one: its mail threads into one from then on.
	if _, err := e.Merge(ctx, one, one, agent); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("merge into itself: %v", err)
	}
	if _, err := e.Merge(ctx, two, one, agent); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Merge(ctx, two, one, agent); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("merged twice: %v", err)
	}
	if src := e.ticket(t, two); src.MergedInto != one || src.Status != "done" {
		t.Errorf("merged ticket: %+v", src)
	}
	res := e.mail(t, customer, two, "r3@customer.example", "About the second one", true)
	if res.Ticket != one {
		t.Errorf("mail to a merged ticket went to %s, want %s", res.Ticket, one)
	}

	// Spam: cancelled and its reporter blocked.
	spam, err := e.Ingest(ctx, &ticket.Mail{Project: "ACME", Source: "smtp", From: "spammer@spam.example", Subject: "buy", MessageID: "s1@spam.example", Text: "buy", Raw: "hash-s1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.MarkSpam(ctx, spam.Ticket, agent); err != nil {
		t.Fatal(err)
	}
	if err := e.BlockSender(ctx, "ACME", "other@spam.example", agent); err != nil {
		t.Fatal(err)
	}
	if err := e.BlockSender(ctx, "ACME", "x@spam.example", customer); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("a customer blocking: %v", err)
	}
	if err := e.BlockSender(ctx, "NOPE", "x@spam.example", agent); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("unknown project: %v", err)
	}
	e.st.View(func(tx store.Tx) error {
		for _, a := range []string{"spammer@spam.example", "other@spam.example"} {
			if b, err := tx.Blocked("ACME", a); b == nil || err != nil {
				t.Errorf("%s not blocked: %v", a, err)
			}
		}
		return nil
	})

	// The history reads in words from the typed fields.
	var said []string
	for _, key := range []string{one, two, spam.Ticket} {
		for _, ev := range e.events(t, key) {
			said = append(said, ticket.Describe(ev))
		}
	}
	for _, want := range []string{"assigned to alice@example.com", "new → waiting", "merged into " + one, "spammer@spam.example"} {
		if !slices.ContainsFunc(said, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("no history line with %q in %q", want, said)
		}
	}
}

// TestOrganizations: a new request from a member of an organization is
// shared with it, its members may write into it; #private keeps it
// unshared.
func TestOrganizations(t *testing.T) {
	e := newTestEngine(t)
	ctx := context.Background()
	if err := e.PutOrganization(ctx, "ACME", "Customer", []string{"customer.example"}, nil, agent); err != nil {
		t.Fatal(err)
	}
	if err := e.PutOrganization(ctx, "ACME", "Other", nil, []string{"x@other.example"}, agent); err != nil {
		t.Fatal(err)
	}
	key := e.request(t, "r1@customer.example").Ticket
	if tk := e.ticket(t, key); tk.Organization != "Customer" {
		t.Fatalf("not shared: %+v", tk)
	}
	// A colleague may write in: a comment, not held.
	res := e.mail(t, dana, key, "d1@customer.example", "Same here.", true)
	var msg *store.Message
	e.st.View(func(tx store.Tx) error { msg, _ = tx.Message(res.Message); return nil })
	if res.Ticket != key || msg.Held != "" || msg.Kind != "comment" {
		t.Errorf("colleague's mail: %+v / %+v", res, msg)
	}
	priv, err := e.Ingest(ctx, &ticket.Mail{Project: "ACME", Source: "smtp", From: customer, Subject: "secret", MessageID: "p1@customer.example",
		Text: "#private\n\nKeep this to me.", Raw: "hash-p1"})
	if err != nil {
		t.Fatal(err)
	}
	if tk := e.ticket(t, priv.Ticket); tk.Organization != "" || !tk.Private {
		t.Errorf("private request: %+v", tk)
	}
	if _, err := e.Share(ctx, priv.Ticket, "Other", agent); err != nil {
		t.Fatal(err)
	}
	if tk := e.ticket(t, priv.Ticket); tk.Organization != "Other" {
		t.Errorf("after Share: %+v", tk)
	}
	if err := e.DeleteOrganization(ctx, "ACME", "Other", agent); err != nil {
		t.Fatal(err)
	}
	if err := e.SyncOrganizations(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestAutoCloseAndReopenWindow: a resolved ticket is reminded, then
// closed, by the days configured; a customer writing into it long after
// opens a new ticket that follows it.
func TestAutoCloseAndReopenWindow(t *testing.T) {
	e := newTestEngine(t, func(p *config.Project) {
		p.AutoCloseDays, p.AutoCloseReminderDays, p.ReopenDays = new(5), 2, new(10)
	})
	ctx := context.Background()
	key := e.request(t, "r1@customer.example").Ticket
	if _, err := e.SetStatus(ctx, key, "solved", agent); err != nil {
		t.Fatal(err)
	}
	*e.clock = t0.Add(3 * 24 * time.Hour)
	if closed, reminded, err := e.AutoClose(ctx); closed != 0 || reminded != 1 || err != nil {
		t.Errorf("day 3: closed %d, reminded %d, %v", closed, reminded, err)
	}
	*e.clock = t0.Add(6 * 24 * time.Hour)
	if closed, reminded, err := e.AutoClose(ctx); closed != 1 || reminded != 0 || err != nil {
		t.Errorf("day 6: closed %d, reminded %d, %v", closed, reminded, err)
	}
	if st := e.ticket(t, key).Status; st != "done" {
		t.Fatalf("auto-closed to %s", st)
	}
	// Within the reopen window the customer reopens it.
	*e.clock = t0.Add(8 * 24 * time.Hour)
	if res := e.mail(t, customer, key, "c1@customer.example", "Not fixed after all.", true); res.Ticket != key || e.ticket(t, key).Status != "working" {
		t.Fatalf("within the window: %+v, status %s", res, e.ticket(t, key).Status)
	}
	if _, err := e.SetStatus(ctx, key, "done", agent); err != nil {
		t.Fatal(err)
	}
	*e.clock = t0.Add(30 * 24 * time.Hour)
	res := e.mail(t, customer, key, "c2@customer.example", "It broke again.", true)
	if res.Ticket == key || !res.Created {
		t.Fatalf("past the window: %+v", res)
	}
	if tk := e.ticket(t, res.Ticket); tk.Follows != key {
		t.Errorf("new ticket follows %q, want %s", tk.Follows, key)
	}
	if !slices.Contains(kinds(e.events(t, key)), store.EvFollowedUp) {
		t.Errorf("no followed-up event on %s", key)
	}
}

// TestHeldAndQuietMail: an agent's address without proof is held as a
// note and the agent told; a reply quoting an internal note is held;
// quiet and looping mail is recorded and sends nothing.
func TestHeldAndQuietMail(t *testing.T) {
	e := newTestEngine(t)
	ctx := context.Background()
	key := e.request(t, "r1@customer.example").Ticket
	if _, err := e.Comment(ctx, key, agent, "Customer is on the legacy plan, no refund possible.", true); err != nil {
		t.Fatal(err)
	}
	e.mail(t, agent, key, "a1@example.com", "Answer without proof", false)
	if lines := e.answered(t, key); !hasLine(lines, "Your mail was NOT sent to the customers: nothing proved") {
		t.Errorf("unproven agent: %q", lines)
	}
	e.mail(t, agent, key, "a2@example.com", "Sorry.\n\nCustomer is on the legacy plan, no refund possible.", true)
	if lines := e.answered(t, key); !hasLine(lines, "Your reply was NOT sent to the customers: it contains the text of an internal note") {
		t.Errorf("quoted note: %q", lines)
	}
	before := len(e.events(t, key))
	for i, v := range []decide.Verdict{decide.Decide(decide.Signals{Quiet: true}), decide.Decide(decide.Signals{Loop: "X-Ticketgate-Loop"})} {
		res, err := e.Ingest(ctx, &ticket.Mail{Project: "ACME", Source: "imap", From: customer, Subject: "Re: [" + key + "] x",
			MessageID: "q" + string(rune('0'+i)) + "@customer.example", Text: "quiet", Raw: "hash-q" + string(rune('0'+i)), Verdict: v})
		if err != nil || res.Queued != 0 || res.Ticket != key {
			t.Errorf("%v: %+v, %v", v.Kind, res, err)
		}
	}
	if evs := e.events(t, key)[before:]; len(only(evs, store.EvQueued)) != 0 || len(evs) != 2 {
		t.Errorf("quiet mail: %v", kinds(evs))
	}
	if _, err := e.Ingest(ctx, &ticket.Mail{Project: "NOPE"}); err == nil {
		t.Error("unknown project accepted")
	}
}

// TestRefusedNoticeAndDeliveryFailure: the refusal notice of IMAP mail is
// queued for the sender; a delivery failure is recorded on its ticket.
func TestRefusedNoticeAndDeliveryFailure(t *testing.T) {
	e := newTestEngine(t)
	ctx := context.Background()
	res := e.request(t, "r1@customer.example")
	key := res.Ticket
	if err := e.MessageRefused(ctx, res, dana, "Too many attachments"); err != nil {
		t.Fatal(err)
	}
	if c := res.Caused(); len(c) == 0 || c[len(c)-1].Template != "customer/message_refused" || c[len(c)-1].Recipient != dana {
		t.Errorf("caused after the refusal notice: %+v", c)
	}
	if err := e.MessageRefused(ctx, res, "", "x"); err != nil {
		t.Fatal(err)
	}
	var items []*store.OutboxItem
	e.st.View(func(tx store.Tx) error { items, _, _ = tx.DueOutbox(t0.Add(time.Hour), 100); return nil })
	if !slices.ContainsFunc(items, func(it *store.OutboxItem) bool { return it.Event == "customer/message_refused" && it.Recipient == dana }) {
		t.Fatalf("no refusal notice queued: %d items", len(items))
	}
	if err := e.st.Update(ctx, func(tx store.Tx) error { return e.DeliveryFailed(tx, items[0], "550 no such user") }); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(kinds(e.events(t, key)), store.EvDeliveryFailed) {
		t.Errorf("no delivery failure recorded: %v", kinds(e.events(t, key)))
	}
	if !ticket.CustomerMayClose(e.cfg.Project("ACME"), "working") {
		t.Error("a customer may not close an open request")
	}
}
