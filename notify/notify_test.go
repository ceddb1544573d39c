package notify

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/templates"
	"github.com/ticketgate/ticketgate/ticket"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	reporter    = "carl@customer.example"
	participant = "dana@customer.example"
	added       = "erin@customer.example"
	approver    = "fred@customer.example"
	agent       = "alice@example.com"
	agent2      = "bob@example.com"
	admin       = "carol@example.com"
)

func testConfig(t *testing.T, edit func(*config.Notifications)) *config.Config {
	t.Helper()
	c := config.Default()
	c.DataDir = t.TempDir()
	n := config.DefaultNotifications()
	if edit != nil {
		edit(&n)
	}
	c.Projects = []config.Project{{Key: "ACME", Name: "Acme Support", Address: "acme@support.example.com",
		Agents: []string{agent, agent2}, Admins: []string{admin}, Notifications: n}}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	return c
}

func testTicket() *store.Ticket {
	return &store.Ticket{Key: "ACME-7", Project: "ACME", Number: 7, Subject: "Printer on fire", Status: "open",
		Reporter: reporter, ReporterName: "Carl Customer", Assignee: agent,
		Participants: []store.Participant{{Address: participant, Name: "Dana"}}}
}

func notifier(c *config.Config) *Notifier {
	return New(func() *config.Config { return c }, func() *templates.Set { return templates.New("") },
		func() time.Time { return time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC) }, nil)
}

// TestEventAudienceToggle covers every event × audience with its toggle on
// and off, proving the recipients and that customers never get internal
// mail.
func TestEventAudienceToggle(t *testing.T) {
	type want struct{ customer, internal []string }
	staffBut := func(actor string) []string {
		var out []string
		for _, a := range []string{agent, agent2, admin} {
			if a != actor {
				out = append(out, a)
			}
		}
		return out
	}
	cases := []struct {
		event    store.EventKind
		actor    string
		ev       func(*ticket.Event)
		customer func(*config.Notifications) *config.Toggle
		internal func(*config.Notifications) *config.Toggle
		want     want
	}{
		{ticket.EvRequestCreated, reporter, nil,
			func(n *config.Notifications) *config.Toggle { return &n.Customer.RequestCreated },
			func(n *config.Notifications) *config.Toggle { return &n.Internal.RequestCreated },
			want{[]string{reporter}, staffBut("")}},
		{ticket.EvCustomerCommentAdded, reporter, nil,
			func(n *config.Notifications) *config.Toggle { return &n.Customer.PublicCommentAdded },
			func(n *config.Notifications) *config.Toggle { return &n.Internal.CustomerCommentAdded },
			want{[]string{participant}, staffBut("")}},
		{ticket.EvAgentCommentAdded, agent, nil,
			func(n *config.Notifications) *config.Toggle { return &n.Customer.PublicCommentAdded },
			func(n *config.Notifications) *config.Toggle { return &n.Internal.AgentCommentAdded },
			want{[]string{reporter, participant}, staffBut(agent)}},
		{ticket.EvInternalNoteAdded, agent2, nil,
			nil,
			func(n *config.Notifications) *config.Toggle { return &n.Internal.InternalNoteAdded },
			want{nil, staffBut(agent2)}},
		{ticket.EvPublicCommentEdited, agent, nil,
			func(n *config.Notifications) *config.Toggle { return &n.Customer.PublicCommentEdited },
			nil,
			want{[]string{reporter, participant}, nil}},
		{ticket.EvRequestResolved, agent, nil,
			func(n *config.Notifications) *config.Toggle { return &n.Customer.RequestResolved },
			func(n *config.Notifications) *config.Toggle { return &n.Internal.RequestResolved },
			want{[]string{reporter, participant}, staffBut(agent)}},
		{ticket.EvRequestReopened, reporter, nil,
			func(n *config.Notifications) *config.Toggle { return &n.Customer.RequestReopened },
			func(n *config.Notifications) *config.Toggle { return &n.Internal.RequestReopened },
			want{[]string{participant}, staffBut("")}},
		{ticket.EvParticipantAdded, reporter, func(e *ticket.Event) { e.Added = []string{added} },
			func(n *config.Notifications) *config.Toggle { return &n.Customer.ParticipantAdded },
			func(n *config.Notifications) *config.Toggle { return &n.Internal.ParticipantAdded },
			want{[]string{added}, staffBut("")}},
		{ticket.EvOrganizationAdded, agent, func(e *ticket.Event) { e.Recipients = []string{added, approver} },
			func(n *config.Notifications) *config.Toggle { return &n.Customer.OrganizationAdded },
			nil,
			want{[]string{added, approver}, nil}},
		{ticket.EvApprovalRequired, agent, func(e *ticket.Event) { e.Recipients = []string{approver} },
			func(n *config.Notifications) *config.Toggle { return &n.Customer.ApprovalRequired },
			nil,
			want{[]string{approver}, nil}},
		{ticket.EvCustomerInvited, agent, func(e *ticket.Event) { e.Recipients = []string{added} },
			func(n *config.Notifications) *config.Toggle { return &n.Customer.CustomerInvited },
			nil,
			want{[]string{added}, nil}},
		{ticket.EvStatusChanged, agent, func(e *ticket.Event) { e.Status, e.OldStatus, e.StatusCustomerVisible = "in_progress", "open", true },
			func(n *config.Notifications) *config.Toggle { return &n.Customer.CustomerVisibleStatusChanged },
			func(n *config.Notifications) *config.Toggle { return &n.Internal.StatusChanged },
			want{[]string{reporter, participant}, staffBut(agent)}},
		{ticket.EvAssigned, admin, nil,
			nil,
			func(n *config.Notifications) *config.Toggle { return &n.Internal.Assigned },
			want{nil, []string{agent}}},
		{ticket.EvDeliveryFailed, "", func(e *ticket.Event) { e.Recipients = []string{participant}; e.Detail = "550 no such user" },
			nil,
			func(n *config.Notifications) *config.Toggle { return &n.Internal.DeliveryFailed },
			want{nil, staffBut("")}},
	}
	for _, c := range cases {
		for _, on := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/on=%v", c.event, on), func(t *testing.T) {
				cfg := testConfig(t, func(n *config.Notifications) {
					if c.customer != nil {
						c.customer(n).Enabled = on
					}
					if c.internal != nil {
						c.internal(n).Enabled = on
					}
				})
				ev := &ticket.Event{Type: c.event, Project: cfg.Project("ACME"), Ticket: testTicket(), Actor: c.actor}
				if c.ev != nil {
					c.ev(ev)
				}
				var gotC, gotI []string
				for _, pl := range notifier(cfg).Plan(ev) {
					if pl.Audience == Customer {
						gotC = append(gotC, pl.Recipient)
					} else {
						gotI = append(gotI, pl.Recipient)
						if !cfg.Project("ACME").IsStaff(pl.Recipient) {
							t.Errorf("internal mail to non-staff %s", pl.Recipient)
						}
					}
				}
				wantC, wantI := c.want.customer, c.want.internal
				if !on {
					wantC, wantI = nil, nil
				}
				if !slices.Equal(gotC, wantC) || !slices.Equal(gotI, wantI) {
					t.Errorf("customer %v internal %v; want %v %v", gotC, gotI, wantC, wantI)
				}
			})
		}
	}
}

func TestRoleRuleAndMuting(t *testing.T) {
	cfg := testConfig(t, nil)
	p := cfg.Project("ACME")
	tk := testTicket()
	// Mistakes in the data: a customer as assignee never gets internal mail.
	tk.Assignee = participant
	for _, pl := range notifier(cfg).Plan(&ticket.Event{Type: ticket.EvCustomerCommentAdded, Project: p, Ticket: tk, Actor: reporter}) {
		if pl.Audience == Internal && pl.Recipient == participant {
			t.Fatal("a customer listed as assignee got an internal notification")
		}
	}
	// An agent who reported the ticket gets its customer mail, once.
	tk = testTicket()
	tk.Reporter = agent2
	plan := notifier(cfg).Plan(&ticket.Event{Type: ticket.EvAgentCommentAdded, Project: p, Ticket: tk, Actor: agent})
	n := 0
	for _, pl := range plan {
		if pl.Recipient == agent2 {
			n++
			if pl.Audience != Customer {
				t.Errorf("agent-reporter got %s mail", pl.Audience)
			}
		}
	}
	if n != 1 {
		t.Errorf("agent-reporter mailed %d times for one event", n)
	}
	// Muting stops everything but request_resolved.
	tk = testTicket()
	tk.Muted = []string{reporter}
	for _, typ := range []store.EventKind{ticket.EvAgentCommentAdded, ticket.EvRequestResolved} {
		got := false
		for _, pl := range notifier(cfg).Plan(&ticket.Event{Type: typ, Project: p, Ticket: tk, Actor: agent}) {
			got = got || pl.Recipient == reporter
		}
		if got != (typ == ticket.EvRequestResolved) {
			t.Errorf("%s to a muted reporter: %v", typ, got)
		}
	}
	// Automatic mail reaches no customer.
	for _, pl := range notifier(cfg).Plan(&ticket.Event{Type: ticket.EvRequestCreated, Project: p, Ticket: testTicket(), Actor: reporter, Automatic: true}) {
		if pl.Audience == Customer {
			t.Errorf("automatic request answered: %+v", pl)
		}
	}
	// Whoever received the causing mail directly gets no copy of it.
	for _, pl := range notifier(cfg).Plan(&ticket.Event{Type: ticket.EvAgentCommentAdded, Project: p, Ticket: testTicket(), Actor: agent, Already: []string{"Dana@Customer.example"}}) {
		if pl.Recipient == participant {
			t.Error("participant who was Cc'd on the answer got it twice")
		}
	}
}

func TestStatusRules(t *testing.T) {
	// "Mail the customer, the technicians and the admins when a ticket
	// enters Open or Closed, also when it is created in that status."
	cfg := testConfig(t, func(n *config.Notifications) {
		n.Customer.CustomerVisibleStatusChanged = config.Toggle{Enabled: true, Statuses: []string{"open", "closed"}, To: []string{"customers", "agents", "admins"}}
		n.Internal.StatusChanged = config.Toggle{Enabled: true, Statuses: []string{"closed"}, To: []string{"admins"}}
		n.Customer.RequestCreated.Enabled = false
		n.Internal.RequestCreated.Enabled = false
	})
	p := cfg.Project("ACME")
	plan := func(ev *ticket.Event) []string {
		var out []string
		for _, pl := range notifier(cfg).Plan(ev) {
			out = append(out, string(pl.Audience)+":"+pl.Recipient)
		}
		return out
	}
	got := plan(&ticket.Event{Type: ticket.EvStatusChanged, Project: p, Ticket: testTicket(), Actor: "", Status: "open", StatusCustomerVisible: true})
	want := []string{"customer:" + reporter, "customer:" + participant, "customer:" + agent, "customer:" + agent2, "customer:" + admin}
	if !slices.Equal(got, want) {
		t.Errorf("entering open: %v, want %v", got, want)
	}
	if got := plan(&ticket.Event{Type: ticket.EvStatusChanged, Project: p, Ticket: testTicket(), Status: "in_progress", StatusCustomerVisible: true}); len(got) != 0 {
		t.Errorf("entering a status no rule names: %v", got)
	}
	got = plan(&ticket.Event{Type: ticket.EvStatusChanged, Project: p, Ticket: testTicket(), Status: "closed", StatusCustomerVisible: true})
	if len(got) != 5 || got[4] != "customer:"+admin {
		t.Errorf("entering closed: %v (the admin is mailed once)", got)
	}
	got = plan(&ticket.Event{Type: ticket.EvRequestCreated, Project: p, Ticket: testTicket(), Actor: reporter, Status: "open", StatusCustomerVisible: true})
	if len(got) != 4 {
		t.Errorf("created in open: %v", got)
	}
	if got := plan(&ticket.Event{Type: ticket.EvStatusChanged, Project: p, Ticket: testTicket(), Status: "open", StatusCustomerVisible: false}); len(got) != 0 {
		t.Errorf("a status customers don't see: %v", got)
	}
}

// details are the Detail texts the templates that show one get from the
// domain.
var details = map[string]string{
	"internal/delivery_failed":     "550 5.1.1 no such user",
	"customer/message_refused":     "the message is 31457280 bytes; at most 26214400 are accepted",
	"customer/command_result":      "done: #close",
	"internal/command_result":      "done: #assign me\nrefused: #status bogus — unknown status \"bogus\"",
	"customer/auto_close_reminder": "3",
	"internal/internal_note_added": "",
	"internal/rating_received":     "★★★★☆",
	"internal/rating_low":          "★★☆☆☆",
}

func renderData(lang, name string) *data {
	detail, ok := details[name]
	if !ok {
		detail = "550 5.1.1 no such user"
	}
	d := &data{Link: "https://help.example.com/t/abc", AgentLink: "https://help.example.com/a/xyz",
		ActorDisplay: "Alice Agent <alice@example.com>", Added: []string{added}, Recipients: []string{participant},
		Status: "In progress", OldStatus: "Open", Detail: detail}
	d.Project.Key, d.Project.Name, d.Project.Address = "ACME", "Acme Support", "acme@support.example.com"
	d.Ticket.Key, d.Ticket.Subject, d.Ticket.Status, d.Ticket.Reporter, d.Ticket.Assignee = "ACME-7", "Printer on fire", "Open", reporter, agent
	d.Recipient.Address, d.Recipient.Name = reporter, "Carl"
	d.Message = &msgData{FromDisplay: "Carl Customer <carl@customer.example>", Text: "It is on fire.\nPlease help.", Attachments: []string{"photo.jpg"}}
	if !strings.HasPrefix(d.Link, "") {
		return nil
	}
	d.Marker = templates.ReplyMarker(lang)
	// Issue 21: a warning about the first response, a breach of the
	// resolution, a snooze's end.
	d.Target, d.Due = "first_response", "2026-12-04 15:00 CET"
	if name == "internal/target_breached" {
		d.Target = "resolution"
	}
	// issue 18: the offer page, the rating links, a rating's comment.
	d.OfferLink, d.RatingScale, d.Comment = "https://help.example.com/o/off", 5, "Quick and friendly."
	for s := 5; s >= 1; s-- {
		d.Ratings = append(d.Ratings, RatingChoice{Score: s, URL: fmt.Sprintf("https://help.example.com/r/rat?s=%d", s)})
	}
	return d
}

// TestGoldenTemplates renders every template the rules use, text and
// HTML, in English and German.
func TestGoldenTemplates(t *testing.T) {
	set := templates.New("")
	for _, lang := range []string{"en", "de"} {
		for _, name := range Templates() {
			text, html, err := set.Render(lang, name, renderData(lang, name))
			if err != nil {
				t.Fatalf("%s %s: %v", lang, name, err)
			}
			for ext, got := range map[string]string{"txt": text, "html": html} {
				path := filepath.Join("testdata", "golden", lang, name+"."+ext)
				if *update {
					os.MkdirAll(filepath.Dir(path), 0o755)
					os.WriteFile(path, []byte(got), 0o644)
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./notify -update)", err)
				}
				if got != string(want) {
					t.Errorf("%s differs from golden:\n%s", path, got)
				}
			}
			if !strings.Contains(text, "ACME-7") {
				t.Errorf("%s %s: text without the ticket key", lang, name)
			}
		}
	}
}

// TestNotifyComposes queues real mail in a store and reads it back.
func TestNotifyComposes(t *testing.T) {
	cfg := testConfig(t, nil)
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := notifier(cfg)
	p := cfg.Project("ACME")
	tk := testTicket()
	tk.Subject = `<script>alert(1)</script> broken`
	tk.ReporterName = `<script>x</script>Carl`
	note := &store.Message{From: agent2, FromName: "Bob", Text: "internal: customer owes us money", MessageID: "note1@example.com"}
	comment := &store.Message{From: agent, FromName: "Alice Agent", Text: "We replaced the printer.", MessageID: "a1@example.com"}
	request := &store.Message{From: reporter, FromName: tk.ReporterName, Text: "<b>help</b>", MessageID: "r1@customer.example"}
	var recorded []*store.Event
	err = st.Update(context.Background(), func(tx store.Tx) error {
		recorded = recorded[:0]
		rec := func(e *store.Event) error { recorded = append(recorded, e); return nil }
		for _, m := range []*store.Message{request, note, comment} {
			m.Ticket = tk.Key
			if err := tx.AddMessage(m); err != nil {
				return err
			}
		}
		if _, err := n.Notify(tx, &ticket.Event{Type: ticket.EvRequestCreated, Project: p, Ticket: tk, Actor: reporter, Message: request, Record: rec}); err != nil {
			return err
		}
		if _, err := n.Notify(tx, &ticket.Event{Type: ticket.EvInternalNoteAdded, Project: p, Ticket: tk, Actor: agent2, Message: note, Record: rec}); err != nil {
			return err
		}
		_, err := n.Notify(tx, &ticket.Event{Type: ticket.EvAgentCommentAdded, Project: p, Ticket: tk, Actor: agent, Message: comment, Record: rec})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var items []*store.OutboxItem
	st.View(func(tx store.Tx) error { items, _, err = tx.DueOutbox(time.Now().Add(time.Hour), 100); return err })
	byKey := map[string]*store.OutboxItem{}
	raw := map[*store.OutboxItem][]byte{}
	for _, it := range items {
		byKey[it.Event+" "+it.Recipient] = it
		raw[it] = build(t, st, n, it)
		if (it.Recipient == reporter || it.Recipient == participant) && strings.Contains(string(raw[it]), "owes us money") {
			t.Fatalf("internal note text reached customer %s", it.Recipient)
		}
	}
	// Each queued mail is recorded through the engine's recorder, with
	// its outbox id, recipient, template and Message-ID as fields.
	queuedEv := map[uint64]*store.Event{}
	for _, e := range recorded {
		if e.Kind == store.EvQueued {
			queuedEv[e.OutboxID] = e
		}
	}
	for _, it := range items {
		e := queuedEv[it.ID]
		if e == nil || e.Recipient != it.Recipient || e.Template != it.Event || e.MessageID != it.MessageID {
			t.Errorf("outbox item %d (%s to %s): recorded event %+v", it.ID, it.Event, it.Recipient, e)
		}
	}
	if len(queuedEv) != len(items) {
		t.Errorf("%d queued events recorded for %d items", len(queuedEv), len(items))
	}
	ar := byKey["customer/request_created "+reporter]
	if ar == nil {
		t.Fatalf("no auto-reply among %d items", len(items))
	}
	// Composed at send time, deterministically: a retry sends the same
	// bytes.
	for _, it := range items {
		if again := build(t, st, n, it); !bytes.Equal(again, raw[it]) {
			t.Errorf("%s composed twice differs:\n%s\n----\n%s", it.MessageID, raw[it], again)
		}
	}
	h, html := readMail(t, raw[ar])
	if strings.Contains(html, "<script>") || !strings.Contains(html, "&lt;script&gt;") {
		t.Errorf("HTML part does not escape the subject/name:\n%s", html)
	}
	if s, _ := h.Subject(); s != "[ACME-7] <script>alert(1)</script> broken" {
		t.Errorf("subject %q", s)
	}
	if h.Get("List-Unsubscribe") == "" || h.Get("Auto-Submitted") != "auto-replied" {
		t.Errorf("auto-reply headers: %v", h.Header)
	}
	noteMail := byKey["internal/internal_note_added "+agent]
	if noteMail == nil {
		t.Fatal("agent got no note notification")
	}
	h, _ = readMail(t, raw[noteMail])
	if rt, _ := h.AddressList("Reply-To"); len(rt) != 1 || rt[0].Address != "acme+internal@support.example.com" {
		t.Errorf("note notification Reply-To %v, want the internal address", rt)
	}
	if !strings.Contains(string(raw[noteMail]), templates.ReplyMarker("en")) {
		t.Error("internal notification lacks the reply marker")
	}
	relayed := byKey["customer/public_comment_added "+reporter]
	if relayed == nil {
		t.Fatal("customer got no copy of the agent's answer")
	}
	h, _ = readMail(t, raw[relayed])
	if from, _ := h.AddressList("From"); len(from) != 1 || from[0].Name != "Alice Agent via Acme Support" || from[0].Address != "acme@support.example.com" {
		t.Errorf("From %v", from)
	}
	if h.Get("Auto-Submitted") != "" || relayed.Automatic {
		t.Error("an agent's written answer is a person's message, not automatic")
	}
	if irt, _ := h.MsgIDList("In-Reply-To"); len(irt) != 1 || irt[0] != "a1@example.com" {
		t.Errorf("In-Reply-To %v", irt)
	}
}

// build composes a queued row as the sender would at send time.
func build(t *testing.T, st store.DB, n *Notifier, it *store.OutboxItem) []byte {
	t.Helper()
	var buf bytes.Buffer
	err := st.View(func(tx store.Tx) error {
		body, err := n.Render(tx, it)
		if err != nil {
			return err
		}
		m, err := mailout.Prepare(it, body, func(h string) (io.ReadCloser, error) { return st.OpenBlob(h) })
		if err != nil {
			return err
		}
		defer m.Close()
		_, err = m.WriteTo(&buf)
		return err
	})
	if err != nil {
		t.Fatalf("compose %s: %v", it.MessageID, err)
	}
	return buf.Bytes()
}

func readMail(t *testing.T, raw []byte) (mail.Header, string) {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var html string
	for {
		p, err := r.NextPart()
		if err != nil {
			break
		}
		if ct, _, _ := p.Header.(*mail.InlineHeader).ContentType(); ct == "text/html" {
			b, _ := io.ReadAll(p.Body)
			html = string(b)
		}
	}
	return r.Header, html
}

// TestThreadForKeepsOthersTokensOut: a copy refers only to ids its
// recipient has seen — ids minted for them and mail that is not ours —
// never to the Message-ID (reply token) minted for someone else.
func TestThreadForKeepsOthersTokensOut(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mine, theirs := NewToken(), NewToken()
	err = st.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.PutToken(&store.Token{Token: mine, Kind: store.TokenReply, Project: "ACME", Ticket: "ACME-7", Recipient: "dana@customer.example", Proof: true}); err != nil {
			return err
		}
		return tx.PutToken(&store.Token{Token: theirs, Kind: store.TokenReply, Project: "ACME", Ticket: "ACME-7", Recipient: "carl@customer.example", Proof: true})
	})
	if err != nil {
		t.Fatal(err)
	}
	id := func(tok string) string { return ticket.MessageIDPrefix + tok + "@support.example.com" }
	m := &store.Message{MessageID: "m2@customer.example",
		References: []string{"m1@customer.example", id(theirs), id(mine), "tg.unknown@support.example.com"}}
	st.View(func(tx store.Tx) error {
		irt, refs := threadFor(tx, "ACME", "dana@customer.example", m)
		if want := []string{"m1@customer.example", id(mine), "m2@customer.example"}; !slices.Equal(refs, want) {
			t.Errorf("References %v, want %v", refs, want)
		}
		if len(irt) != 1 || irt[0] != "m2@customer.example" {
			t.Errorf("In-Reply-To %v", irt)
		}
		// The cause itself can be a copy of ours for someone else.
		irt, refs = threadFor(tx, "ACME", "dana@customer.example", &store.Message{MessageID: id(theirs)})
		if len(irt) != 0 || len(refs) != 0 {
			t.Errorf("refers to another recipient's copy: %v %v", irt, refs)
		}
		return nil
	})
}

// TestHeldMailCountedOnce: the held-mail metric is told once per committed
// hold, however often the store runs the transaction function (it may run
// it more than once; RunTwice always does).
func TestHeldMailCountedOnce(t *testing.T) {
	cfg := testConfig(t, nil)
	st, err := store.Open(t.TempDir(), store.Options{RunTwice: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := notifier(cfg)
	var held []string
	var recorded []*store.Event
	n.OnHeld = func(project string, kind store.EventKind) { held = append(held, project+" "+kind.String()) }
	p := cfg.Project("ACME")
	tk := testTicket()
	now := time.Now().UTC()
	err = st.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.Suppress(&store.Suppression{Address: reporter, Until: now.Add(24 * time.Hour), Reason: "hard bounce", Created: now}); err != nil {
			return err
		}
		recorded = recorded[:0]
		_, err := n.Notify(tx, &ticket.Event{Type: ticket.EvRequestCreated, Project: p, Ticket: tk, Actor: reporter,
			Message: &store.Message{From: reporter, Text: "help", MessageID: "r1@customer.example"},
			Record:  func(e *store.Event) error { recorded = append(recorded, e); return nil }})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	suppressed := 0
	for _, e := range recorded {
		if e.Kind == store.EvSuppressed {
			suppressed++
		}
	}
	if suppressed != 1 {
		t.Errorf("%d suppressed events recorded, want 1", suppressed)
	}
	if len(held) != 1 || held[0] != "ACME suppressed" {
		t.Fatalf("held-mail metric told %q, want once [ACME suppressed]", held)
	}
}

// TestTokenOrder: tokens sort by their creation time down to the
// sixteen bits of a second's fraction (so a batch's tokens are appended
// to the store's indexes), and those made in the same instant still
// differ in their 72 random bits.
func TestTokenOrder(t *testing.T) {
	base := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	prev := TokenAt(base)
	for i := 1; i < 2000; i++ {
		at := base.Add(time.Duration(i) * 16 * time.Microsecond)
		tok := TokenAt(at)
		if len(tok) != 26 {
			t.Fatalf("token %q has %d characters, want 26", tok, len(tok))
		}
		if tok <= prev {
			t.Fatalf("token at %v (%s) does not sort after the one 16µs before it (%s)", at, tok, prev)
		}
		prev = tok
	}
	seen := map[string]bool{}
	for range 1000 {
		tok := TokenAt(base)
		if seen[tok] {
			t.Fatalf("token %s made twice", tok)
		}
		seen[tok] = true
	}
	// A later second sorts after every fraction of the one before.
	if TokenAt(base.Add(time.Second)) <= TokenAt(base.Add(999999999)) {
		t.Fatal("the next second's token sorts before the previous second's last")
	}
}
