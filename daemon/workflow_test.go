package daemon

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/internal/waitfor"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// Mail by agents and commands: every case goes over SMTP into a real
// daemon, and what customers and agents receive is read from a go-smtp
// sink.

const (
	acmeAddr = "acme@support.example.com"
	acmeInt  = "acme+internal@support.example.com"
	carl     = "carl@customer.example"
	alice    = "alice@example.com"
	// proof is what the organization's MTA (authserv-id mx.example.com)
	// adds for mail from example.com that passed DMARC.
	proof = "Authentication-Results: mx.example.com; dmarc=pass header.from=example.com"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func workflowConfig(t *testing.T, sink *mailouttest.Sink, edit func(*config.Config)) *config.Config {
	t.Helper()
	c := benchConfig(t.TempDir(), sink)
	c.TrustedAuthservIDs = []string{"mx.example.com"}
	// The test sends as the organization's MTA would, over loopback TCP:
	// it is configured as the one whose Authentication-Results count.
	c.Inbound.AuthResultsFrom = []string{"127.0.0.1"}
	// These tests count every mail of a busy ticket; the rate limits have
	// their own tests.
	c.Limits.AutoPerRecipient.Count = 1000
	c.Projects[0].Agents = []string{alice, "dave@example.com"}
	if edit != nil {
		edit(c)
	}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	return c
}

func startAt(t *testing.T, c *config.Config, clk *clock) *Daemon {
	t.Helper()
	opts := Options{Changes: new(waitfor.Signal)}
	if clk != nil {
		opts.Now = clk.Now
	}
	d, err := Start(c, testLogger(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	return d
}

// mailbox follows what the sink received since the last look.
type mailbox struct {
	t    *testing.T
	sink *mailouttest.Sink
	seen int
	d    *Daemon
}

// next waits until n more messages arrived — and, with a daemon, until
// everything it queued so far arrived, so that extra mail shows — and
// returns the new ones.
func (b *mailbox) next(n int) []mailouttest.Message {
	b.t.Helper()
	want := b.seen + n
	if b.d != nil {
		want = max(want, queuedSoFar(b.t, b.d))
	}
	b.sink.WaitFor(want, 10*time.Second)
	msgs := b.sink.Messages()
	out := msgs[b.seen:]
	b.seen = len(msgs)
	if len(out) != n {
		var who []string
		for _, m := range out {
			who = append(who, strings.Join(m.To, ",")+": "+hget(b.t, m, "Subject"))
		}
		var queued []string
		if b.d != nil {
			b.d.Store().View(func(tx store.Tx) error {
				return tx.ForEachTicket("", func(tk *store.Ticket) bool {
					evs, _ := tx.Events(tk.Key)
					for _, e := range evs {
						if e.Kind == store.EvQueued {
							queued = append(queued, tk.Key+" "+e.Template+" to "+e.Recipient)
						}
					}
					return true
				})
			})
		}
		b.t.Fatalf("want %d new messages, got %d: %v\nall queued:\n%s", n, len(out), who, strings.Join(queued, "\n"))
	}
	return out
}

func hget(t *testing.T, m mailouttest.Message, name string) string {
	t.Helper()
	h := header(t, m)
	return h.Get(name)
}

func only(t *testing.T, msgs []mailouttest.Message, rcpt string) mailouttest.Message {
	t.Helper()
	got := to(msgs, rcpt)
	if len(got) != 1 {
		t.Fatalf("%s got %d of %d messages", rcpt, len(got), len(msgs))
	}
	return got[0]
}

func msgID(t *testing.T, m mailouttest.Message) string {
	t.Helper()
	h := header(t, m)
	id, err := h.MessageID()
	if err != nil || id == "" {
		t.Fatalf("no Message-ID: %v", err)
	}
	return id
}

func lastMessage(t *testing.T, d *Daemon, key string) *store.Message {
	t.Helper()
	_, msgs := ticketOf(t, d, key)
	return msgs[len(msgs)-1]
}

// request opens ACME-1 for carl and returns the internal notification
// alice got about it.
func request(t *testing.T, d *Daemon, box *mailbox) mailouttest.Message {
	t.Helper()
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Printer on fire", "r1@customer.example", "It is on fire."))
	msgs := box.next(3) // auto-reply, alice, dave
	return only(t, msgs, alice)
}

func TestAgentReplyReachesCustomerInternalNoteNever(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := startAt(t, workflowConfig(t, sink, nil), nil)
	box := &mailbox{t: t, sink: sink, d: d}
	note := request(t, d, box)
	if !strings.Contains(textBody(t, note), "Reply above this line") {
		t.Fatalf("internal notification without marker:\n%s", textBody(t, note))
	}

	// Alice answers the internal notification in her mail client: that is
	// a public answer, cut at the marker.
	reply := "Please unplug it first.\r\n\r\nAlice\r\n\r\n" + strings.ReplaceAll(textBody(t, note), "\n", "\r\n> ")
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1] Printer on fire", "a1@example.com",
		reply, proof, "In-Reply-To: <"+msgID(t, note)+">"))
	msgs := box.next(2) // carl, dave
	c := only(t, msgs, carl)
	if from := hget(t, c, "From"); !strings.Contains(from, "via Acme Support") || !strings.Contains(from, acmeAddr) {
		t.Errorf("From of the agent's answer: %q", from)
	}
	if body := textBody(t, c); !strings.Contains(body, "Please unplug it first.") || strings.Contains(body, "Reply above this line") || strings.Contains(body, "It is on fire") {
		t.Errorf("customer got:\n%s", body)
	}
	tk, _ := ticketOf(t, d, "ACME-1")
	if tk.Status != "waiting_for_customer" {
		t.Errorf("status after the agent's answer: %s", tk.Status)
	}
	if m := lastMessage(t, d, "ACME-1"); m.Internal || m.Kind != "comment" || strings.Contains(m.Text, "It is on fire") {
		t.Errorf("stored answer: %+v", m)
	}

	// An internal note by mail to the internal address reaches dave only.
	secret := "Customer is on the legacy plan, do not offer the upgrade"
	mustSend(t, d.Addr("smtp"), alice, []string{acmeInt}, msg(alice, acmeInt, "[ACME-1] note", "a2@example.com", secret, proof))
	n := only(t, box.next(1), "dave@example.com")
	if h := header(t, n); !strings.Contains(h.Get("Reply-To"), acmeInt) {
		t.Errorf("a note's notification must be answered internally, Reply-To %q", h.Get("Reply-To"))
	}
	// A note by #internal to the normal address: also only dave.
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1]", "a3@example.com", "#internal\r\nCalled the vendor.", proof))
	only(t, box.next(1), "dave@example.com")
	if m := lastMessage(t, d, "ACME-1"); !m.Internal || m.Text != "Called the vendor." {
		t.Errorf("#internal note stored as %+v", m)
	}

	// A public reply that pastes the note's text without our marker is
	// held: the customer gets nothing, alice is told.
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1] Printer on fire", "a4@example.com",
		"We will fix it.\r\n"+secret+"\r\n", proof))
	msgs = box.next(2) // alice's notice, dave's internal note
	if body := textBody(t, only(t, msgs, alice)); !strings.Contains(body, "NOT sent to the customers") {
		t.Errorf("alice's notice:\n%s", body)
	}
	only(t, msgs, "dave@example.com")
	if m := lastMessage(t, d, "ACME-1"); !m.Internal || m.Held == "" {
		t.Errorf("leaking reply stored as %+v", m)
	}

	// Alice Cc's carl directly: he does not get it twice.
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1] Printer on fire", "a5@example.com",
		"Try the other outlet.", proof, "Cc: "+carl))
	only(t, box.next(1), "dave@example.com")

	// What the agent attaches reaches the customer with the text.
	att := strings.Replace(withAttachments(alice, "Re: [ACME-1] Printer on fire", "a6@example.com", 1),
		"MIME-Version: 1.0\r\n", "MIME-Version: 1.0\r\n"+proof+"\r\n", 1)
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, att)
	c = only(t, box.next(2), carl)
	if raw := string(c.Data); !strings.Contains(raw, `filename=f0.bin`) && !strings.Contains(raw, `filename="f0.bin"`) ||
		!strings.Contains(raw, "ZGF0YSAw") { // base64 of "data 0"
		t.Errorf("customer's copy lacks the attachment:\n%s", raw)
	}

	// Without proof no agent rights: forged From, a trusted id's header
	// from an untrusted authserv-id, and one injected below our MTA's
	// Received line are all an unverified internal note with no command run.
	for i, extra := range [][]string{
		nil,
		{"Authentication-Results: evil.example; dmarc=pass header.from=example.com"},
		{"Received: from mx.example.com by ticketgate; Mon, 02 Nov 2026 10:00:00 +0000", proof},
	} {
		id := "forged" + string(rune('a'+i)) + "@example.com"
		mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1] Printer on fire", id,
			"#resolve\r\nDone, closing.", extra...))
		msgs := box.next(2) // the note, flagged, to dave; alice hears that nothing ran
		only(t, msgs, "dave@example.com")
		if body := textBody(t, only(t, msgs, alice)); !strings.Contains(body, "No command was run") {
			t.Errorf("case %d: alice's notice:\n%s", i, body)
		}
		m := lastMessage(t, d, "ACME-1")
		if !m.Internal || !m.Unverified || !strings.Contains(m.Held, "not verified") {
			t.Errorf("case %d: unproven agent mail stored as %+v", i, m)
		}
		if tk, _ := ticketOf(t, d, "ACME-1"); tk.Status == "resolved" {
			t.Fatalf("case %d: an unproven #resolve ran", i)
		}
	}
}

func TestCommandsByMail(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := startAt(t, workflowConfig(t, sink, nil), nil)
	box := &mailbox{t: t, sink: sink, d: d}
	request(t, d, box)

	cmds := "#assign me\r\n#priority high\r\n#participant add dana@customer.example\r\n#status in_progress\r\n#status bogus\r\n"
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1] Printer on fire", "c1@example.com", cmds, proof))
	// alice: the result; dana: participant_added; dave: participant_added
	// and status_changed ("assigned" goes to the assignee, who did it).
	msgs := box.next(5)
	res := textBody(t, only(t, msgs, alice))
	for _, want := range []string{"done: #assign me", "done: #priority high", "done: #participant add dana@customer.example", "done: #status in_progress", "refused: #status bogus"} {
		if !strings.Contains(res, want) {
			t.Errorf("result lacks %q:\n%s", want, res)
		}
	}
	only(t, msgs, "dana@customer.example")
	if len(to(msgs, carl)) != 0 {
		t.Errorf("carl was told of internal steps")
	}
	tk, msgsStored := ticketOf(t, d, "ACME-1")
	if tk.Assignee != alice || tk.Priority != "high" || tk.Status != "in_progress" || len(tk.Participants) != 1 {
		t.Errorf("ticket after commands: %+v", tk)
	}
	if m := msgsStored[len(msgsStored)-1]; !m.Internal || m.Kind != "command" {
		t.Errorf("a commands-only mail must not become a public comment: %+v", m)
	}
	// Carl's page shows the status he may see: in_progress is internal,
	// so "Open".
	l := linkRE.FindStringSubmatch(textBody(t, to(sink.Messages(), carl)[0]))
	if l == nil {
		t.Fatal("no link in the auto-reply")
	}
	if _, page := get(t, "http://"+d.Addr("web")+l[1]); !strings.Contains(page, `<span class="badge">Open</span>`) || strings.Contains(strings.ToLower(page), "in progress") {
		t.Errorf("customer page shows an internal status:\n%s", page)
	}

	// #resolve: the customers are told.
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1]", "c2@example.com", "#resolve\r\n", proof))
	msgs = box.next(4) // alice's result; carl, dana, dave: resolved
	resolved := only(t, msgs, carl)
	only(t, msgs, "dana@customer.example")

	// A customer may not run agent commands, even proven by our token.
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Re: [ACME-1]", "c3@customer.example",
		"#assign me\r\nstill broken", "In-Reply-To: <"+msgID(t, resolved)+">"))
	msgs = box.next(4) // carl's result; dana, alice, dave: the comment (for alice and dave: it reopened ACME-1)
	if body := textBody(t, only(t, msgs, "dave@example.com")); !strings.Contains(body, "reopened") {
		t.Errorf("dave is not told the comment reopened ACME-1:\n%s", body)
	}
	if body := textBody(t, only(t, msgs, carl)); !strings.Contains(body, "refused: #assign me") || !strings.Contains(body, "only agents") {
		t.Errorf("carl's result:\n%s", body)
	}
	if tk, _ := ticketOf(t, d, "ACME-1"); tk.Status != "open" || tk.Assignee != alice {
		t.Errorf("after carl's reply: status %s assignee %s", tk.Status, tk.Assignee)
	}

	// #close from the customer, proven by the token we sent him: runs.
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1]", "c4@example.com", "Fixed now?\r\n", proof))
	msgs = box.next(3) // carl, dana, dave
	answer := only(t, msgs, carl)
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Re: [ACME-1]", "c5@customer.example",
		"#close\r\nThanks, works.", "In-Reply-To: <"+msgID(t, answer)+">"))
	box.next(7) // carl's result; dana, alice, dave: the comment and the closing
	if tk, _ := ticketOf(t, d, "ACME-1"); tk.Status != "closed" {
		t.Errorf("carl's proven #close: status %s", tk.Status)
	}

	// The same from a mail threaded only by the subject token: unverified,
	// refused with a reason.
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1]", "c6@example.com", "#reopen\r\n", proof))
	box.next(4)
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "[ACME-1] again", "c7@customer.example", "#close\r\nplease close"))
	msgs = box.next(3) // carl result, alice+dave comment; held from dana (unverified)
	if len(to(msgs, "dana@customer.example")) != 0 {
		t.Errorf("an unverified comment reached dana")
	}
	if body := textBody(t, only(t, msgs, carl)); !strings.Contains(body, "refused: #close") || !strings.Contains(body, "could not verify") {
		t.Errorf("unverified #close result:\n%s", body)
	}
	if m := lastMessage(t, d, "ACME-1"); !m.Unverified {
		t.Errorf("subject-token-only mail not marked unverified: %+v", m)
	}
	if tk, _ := ticketOf(t, d, "ACME-1"); tk.Status == "closed" {
		t.Errorf("unverified #close ran")
	}
}

func TestStrangerHeldUntilAdmitted(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := startAt(t, workflowConfig(t, sink, nil), nil)
	box := &mailbox{t: t, sink: sink, d: d}
	request(t, d, box)
	eve := "eve@elsewhere.example"
	// Eve got hold of carl's message and answers it.
	mustSend(t, d.Addr("smtp"), eve, []string{acmeAddr}, msg(eve, acmeAddr, "Re: Printer on fire", "e1@elsewhere.example",
		"I know more about this.", "In-Reply-To: <r1@customer.example>", "Cc: mallory@elsewhere.example"))
	msgs := box.next(2) // alice, dave: held note
	if body := textBody(t, only(t, msgs, alice)); !strings.Contains(body, "not the reporter, a participant or an agent") {
		t.Errorf("agents' notice of held mail:\n%s", body)
	}
	tk, _ := ticketOf(t, d, "ACME-1")
	if m := lastMessage(t, d, "ACME-1"); !m.Internal || m.Held == "" || len(tk.Participants) != 0 {
		t.Errorf("stranger's mail: %+v participants %v", m, tk.Participants)
	}
	// Alice admits her; eve's next mail is a comment carl sees.
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1]", "e2@example.com", "#participant add "+eve, proof))
	added := only(t, box.next(3), eve) // alice result, eve participant_added, dave participant_added
	// She answers the mail that told her (her reply token proves her):
	// threaded by carl's Message-ID alone it would prove nothing.
	mustSend(t, d.Addr("smtp"), eve, []string{acmeAddr}, msg(eve, acmeAddr, "Re: Printer on fire", "e3@elsewhere.example",
		"Here is what I know.", "In-Reply-To: <"+msgID(t, added)+">"))
	msgs = box.next(3) // carl, alice, dave
	only(t, msgs, carl)
}

func TestReopenWithinAndAfterWindow(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	clk := &clock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)} // in the past: the sender schedules by the real clock
	d := startAt(t, workflowConfig(t, sink, func(c *config.Config) {
		days := 30
		c.Projects[0].ReopenDays = &days
	}), clk)
	box := &mailbox{t: t, sink: sink, d: d}
	request(t, d, box)
	closeIt := func(id string) mailouttest.Message {
		mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1]", id, "#close\r\n", proof))
		return only(t, box.next(3), carl) // alice result, carl closed, dave closed
	}
	closed := closeIt("x1@example.com")
	clk.Add(10 * 24 * time.Hour)
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Re: [ACME-1]", "x2@customer.example", "It is burning again.",
		"In-Reply-To: <"+msgID(t, closed)+">"))
	box.next(2) // alice, dave: the comment, saying it reopened ACME-1 (one mail each)
	if tk, _ := ticketOf(t, d, "ACME-1"); tk.Status != "open" {
		t.Fatalf("reply within the window: status %s", tk.Status)
	}
	closed = closeIt("x3@example.com")
	clk.Add(31 * 24 * time.Hour)
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Re: [ACME-1]", "x4@customer.example", "Again, a month later.",
		"In-Reply-To: <"+msgID(t, closed)+">"))
	msgs := box.next(3) // auto-reply for ACME-2, alice, dave
	if s := hget(t, only(t, msgs, carl), "Subject"); !strings.Contains(s, "ACME-2") {
		t.Errorf("after the window: %q", s)
	}
	old, _ := ticketOf(t, d, "ACME-1")
	nw, _ := ticketOf(t, d, "ACME-2")
	if old.Status != "closed" || nw.Follows != "ACME-1" || nw.Reporter != carl {
		t.Errorf("old %s, new follows %q reporter %q", old.Status, nw.Follows, nw.Reporter)
	}
}

func TestApprovalByMail(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	boss := "boss@customer.example"
	d := startAt(t, workflowConfig(t, sink, func(c *config.Config) {
		st := config.DefaultStatuses()
		st = append(st[:5], append([]config.StatusDef{{Name: "waiting_for_approval", Category: config.CatPending,
			Approval: &config.Approval{Approvers: []string{boss}, Approved: "in_progress"}}}, st[5:]...)...)
		c.Projects[0].Statuses = st
	}), nil)
	box := &mailbox{t: t, sink: sink, d: d}
	request(t, d, box)
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1]", "p1@example.com", "#status waiting_for_approval\r\n", proof))
	msgs := box.next(4) // alice result, carl status, dave status, boss approval_required
	ask := only(t, msgs, boss)
	if body := textBody(t, ask); !strings.Contains(body, "#approve") {
		t.Fatalf("approval mail:\n%s", body)
	}
	// Carl is no approver.
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Re: [ACME-1]", "p2@customer.example", "#approve\r\n",
		"In-Reply-To: <"+msgID(t, only(t, msgs, carl))+">"))
	if body := textBody(t, only(t, box.next(1), carl)); !strings.Contains(body, "not an approver") {
		t.Errorf("carl's #approve:\n%s", body)
	}
	// The boss answers the approval mail.
	mustSend(t, d.Addr("smtp"), boss, []string{acmeAddr}, msg(boss, acmeAddr, "Re: [ACME-1]", "p3@customer.example", "#approve\r\nGo ahead.",
		"In-Reply-To: <"+msgID(t, ask)+">"))
	box.next(6) // boss result; carl comment; alice + dave comment; alice + dave status
	tk, _ := ticketOf(t, d, "ACME-1")
	if tk.Status != "in_progress" {
		t.Errorf("after #approve: %s", tk.Status)
	}
	if !hasEvent(events(t, d, "ACME-1"), store.EvApprovalAnswered, func(e *store.Event) bool { return e.Actor == boss && e.Approved }) {
		t.Errorf("approval not recorded")
	}
}

func TestAutoCloseFormSendersAndOrganizations(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	clk := &clock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)} // in the past: the sender schedules by the real clock
	d := startAt(t, workflowConfig(t, sink, func(c *config.Config) {
		c.Projects[0].AutoCloseReminderDays = 5
		c.Projects[0].FormSenders = []string{"forms@web.example"}
		c.Projects[0].Organizations = []config.OrgDef{{Name: "Customer Inc", Domains: []string{"customer.example"}, Members: []string{"dana@customer.example"}}}
	}), clk)
	box := &mailbox{t: t, sink: sink, d: d}
	// A contact form's mail: the reporter is Reply-To; shared with the
	// organization, whose listed member dana is told.
	mustSend(t, d.Addr("smtp"), "forms@web.example", []string{acmeAddr}, msg("forms@web.example", acmeAddr, "Contact form: help", "f1@web.example",
		"Name: Carl\r\nMy printer.", "Reply-To: "+carl))
	msgs := box.next(4) // carl auto-reply, alice, dave, dana organization_added
	only(t, msgs, carl)
	only(t, msgs, "dana@customer.example")
	tk, _ := ticketOf(t, d, "ACME-1")
	if tk.Reporter != carl || tk.Organization != "Customer Inc" {
		t.Fatalf("form mail: reporter %q organization %q", tk.Reporter, tk.Organization)
	}
	// #private keeps a request from the organization.
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Private matter", "f2@customer.example", "#private\r\nMy salary."))
	box.next(3) // auto-reply, alice, dave
	if tk, _ := ticketOf(t, d, "ACME-2"); tk.Organization != "" || !tk.Private {
		t.Errorf("#private request: %+v", tk)
	}

	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1]", "f3@example.com", "#resolve\r\n", proof))
	box.next(3) // alice result, carl resolved, dave resolved
	clk.Add(5*24*time.Hour + time.Minute)
	if closed, reminded, err := d.engine.AutoClose(context.Background()); err != nil || closed != 0 || reminded != 1 {
		t.Fatalf("day 5: closed %d reminded %d err %v", closed, reminded, err)
	}
	if body := textBody(t, only(t, box.next(1), carl)); !strings.Contains(body, "closed in 2 days") {
		t.Errorf("reminder:\n%s", body)
	}
	clk.Add(2 * 24 * time.Hour)
	if closed, reminded, err := d.engine.AutoClose(context.Background()); err != nil || closed != 1 || reminded != 0 {
		t.Fatalf("day 7: closed %d reminded %d err %v", closed, reminded, err)
	}
	box.next(3) // carl, alice, dave: closed
	if tk, _ := ticketOf(t, d, "ACME-1"); tk.Status != "closed" || tk.Closed.IsZero() {
		t.Errorf("auto-close: %+v", tk)
	}
}

// TestEveryCommandWithAndWithoutProof runs each agent command once
// without proof (nothing changes) and once with it.
func TestEveryCommandWithAndWithoutProof(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	boss := "boss@customer.example"
	d := startAt(t, workflowConfig(t, sink, func(c *config.Config) {
		st := config.DefaultStatuses()
		st = append(st[:5], append([]config.StatusDef{{Name: "approval", Category: config.CatPending,
			Approval: &config.Approval{Approvers: []string{boss}}}}, st[5:]...)...)
		c.Projects[0].Statuses = st
		c.Projects[0].PrivateByDefault = true
		c.Projects[0].Organizations = []config.OrgDef{{Name: "Customer Inc", Domains: []string{"customer.example"}}}
	}), nil)
	box := &mailbox{t: t, sink: sink, d: d}
	request(t, d, box)
	snapshot := func() string {
		tk, _ := ticketOf(t, d, "ACME-1")
		return strings.Join([]string{tk.Status, tk.Assignee, tk.Priority, tk.Organization, fmtParticipants(tk)}, "|")
	}
	steps := []struct {
		cmd   string
		check func(tk *store.Ticket) bool
	}{
		{"#status in_progress", func(tk *store.Ticket) bool { return tk.Status == "in_progress" }},
		{"#assign dave@example.com", func(tk *store.Ticket) bool { return tk.Assignee == "dave@example.com" }},
		{"#priority urgent", func(tk *store.Ticket) bool { return tk.Priority == "urgent" }},
		{"#participant add dana@customer.example", func(tk *store.Ticket) bool { return fmtParticipants(tk) == "dana@customer.example" }},
		{"#participant remove dana@customer.example", func(tk *store.Ticket) bool { return fmtParticipants(tk) == "" }},
		{"#organization Customer Inc", func(tk *store.Ticket) bool { return tk.Organization == "Customer Inc" }},
		{"#private", func(tk *store.Ticket) bool { return tk.Organization == "" && tk.Private }},
		{"#resolve", func(tk *store.Ticket) bool { return tk.Status == "resolved" }},
		{"#reopen", func(tk *store.Ticket) bool { return tk.Status == "open" }},
		{"#close", func(tk *store.Ticket) bool { return tk.Status == "closed" }},
	}
	for i, s := range steps {
		before := snapshot()
		mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1]", "u"+string(rune('a'+i))+"@example.com", s.cmd))
		waitFor(t, box, func(m mailouttest.Message) bool { return strings.Contains(textBody(t, m), "No command was run") })
		if after := snapshot(); after != before {
			t.Errorf("unproven %s changed the ticket: %s → %s", s.cmd, before, after)
		}
		mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1]", "p"+string(rune('a'+i))+"@example.com", s.cmd, proof))
		waitFor(t, box, func(m mailouttest.Message) bool {
			return len(m.To) == 1 && m.To[0] == alice && strings.Contains(textBody(t, m), "done: "+s.cmd)
		})
		if tk, _ := ticketOf(t, d, "ACME-1"); !s.check(tk) {
			t.Errorf("proven %s: ticket %s", s.cmd, snapshot())
		}
	}
	// #decline by the approver.
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1]", "q1@example.com", "#reopen\r\n#status approval", proof))
	ask := waitFor(t, box, func(m mailouttest.Message) bool { return len(m.To) == 1 && m.To[0] == boss })
	mustSend(t, d.Addr("smtp"), boss, []string{acmeAddr}, msg(boss, acmeAddr, "Re: [ACME-1]", "q2@customer.example", "#decline",
		"In-Reply-To: <"+msgID(t, ask)+">"))
	waitFor(t, box, func(m mailouttest.Message) bool {
		return len(m.To) == 1 && m.To[0] == boss && strings.Contains(textBody(t, m), "done: #decline")
	})
	if tk, _ := ticketOf(t, d, "ACME-1"); tk.Status != "cancelled" {
		t.Errorf("after #decline: %s", tk.Status)
	}
}

func fmtParticipants(tk *store.Ticket) string {
	var out []string
	for _, p := range tk.Participants {
		out = append(out, p.Address)
	}
	return strings.Join(out, ",")
}

// waitFor waits for a new message matching ok and moves the mailbox past
// everything that arrived until then.
func waitFor(t *testing.T, b *mailbox, ok func(mailouttest.Message) bool) mailouttest.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs := b.sink.Messages()
		for i := b.seen; i < len(msgs); i++ {
			if ok(msgs[i]) {
				b.seen = i + 1
				return msgs[i]
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("no matching message among %d new", len(msgs)-b.seen)
		}
		b.sink.WaitFor(len(msgs)+1, left) // woken by the next message
	}
}
