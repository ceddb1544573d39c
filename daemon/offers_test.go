package daemon

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// Offers (issue 18), over SMTP into a real daemon, the mail read from a
// go-smtp sink: three agents, two at a time.

const (
	bob  = "bob@example.com"
	erin = "erin@example.com" // the admin
)

var (
	offerLinkRE = regexp.MustCompile(`http://ticketgate\.test(/o/[a-z0-9]+)`)
	offerFormRE = regexp.MustCompile(`action="([^"]+/(?:take|pass))">\s*<input type="hidden" name="csrf" value="([^"]+)"`)
)

func offerConfig(t *testing.T, sink *mailouttest.Sink) *config.Config {
	return workflowConfig(t, sink, func(c *config.Config) {
		p := &c.Projects[0]
		p.Agents = []string{alice, bob, dave}
		p.Admins = []string{erin}
		p.Offers = config.Offers{To: []string{alice, bob, dave}, AtOnce: 2, Timeout: 30 * time.Minute}
	})
}

func offerOf(t *testing.T, d *Daemon, key string) *store.Offer {
	t.Helper()
	var o *store.Offer
	if err := d.Store().View(func(tx store.Tx) error {
		var err error
		o, err = tx.Offer(key)
		return err
	}); err != nil {
		t.Fatalf("offer of %s: %v", key, err)
	}
	return o
}

func countEvents(evs []*store.Event, k store.EventKind) int {
	n := 0
	for _, e := range evs {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// TestOfferFirstTakeWins: a new request is offered to alice and bob (not
// yet dave); both reply "#take" at the same moment. Exactly one is
// assigned, the ticket moves to "assigned", the other is told (the
// answer to their command and one "taken by" mail) and their take link
// says it is taken and offers no button.
func TestOfferFirstTakeWins(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	clk := &clock{t: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}
	d := startAt(t, offerConfig(t, sink), clk)
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Printer on fire", "r1@customer.example", "It is on fire."))
	offers := map[string]string{} // agent → Message-ID of their offer mail
	links := map[string]string{}
	for _, a := range []string{alice, bob} {
		m := waitMailTo(t, sink, a, "is offered to you")
		offers[a] = msgID(t, m)
		l := offerLinkRE.FindStringSubmatch(textBody(t, m))
		if l == nil {
			t.Fatalf("no take link in %s's offer:\n%s", a, textBody(t, m))
		}
		links[a] = l[1]
		if !strings.Contains(textBody(t, m), "It is on fire.") {
			t.Errorf("the offer does not show the request:\n%s", textBody(t, m))
		}
	}
	for _, m := range to(settle(t, d, sink), dave) {
		if strings.Contains(textBody(t, m), "is offered to you") {
			t.Fatal("dave was offered the ticket in the first round of two")
		}
	}

	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, a := range []string{alice, bob} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			raw := msg(a, acmeAddr, "Re: [ACME-1] Printer on fire", "take"+string(rune('a'+i))+"@example.com", "#take\r\n", proof, "In-Reply-To: <"+offers[a]+">")
			if err := send(t, d.Addr("smtp"), a, []string{acmeAddr}, raw); err != nil {
				t.Errorf("%s's #take: %v", a, err)
			}
		}()
	}
	close(start)
	wg.Wait()

	tk, _ := ticketOf(t, d, "ACME-1")
	winner, loser := tk.Assignee, ""
	switch winner {
	case alice:
		loser = bob
	case bob:
		loser = alice
	default:
		t.Fatalf("assignee %q after two takes, want alice or bob", winner)
	}
	if tk.Status != "assigned" {
		t.Errorf("status %q after the take, want assigned", tk.Status)
	}
	evs := events(t, d, "ACME-1")
	if n := countEvents(evs, store.EvOfferTaken); n != 1 {
		t.Fatalf("%d offer_taken events, want exactly 1", n)
	}
	if !hasEvent(evs, store.EvOfferTaken, func(e *store.Event) bool { return e.Assignee == winner && e.Actor == winner }) {
		t.Errorf("the take is not recorded for %s", winner)
	}
	o := offerOf(t, d, "ACME-1")
	if o.TakenBy != winner || o.End != "taken" || !o.Due.IsZero() {
		t.Errorf("offer after the take: %+v", o)
	}
	if a := o.Agent(loser); a == nil || a.Seen.IsZero() {
		t.Errorf("the loser's mail did not count as seen: %+v", a)
	}
	if a := o.Agent(dave); a == nil || a.State != store.OfferQueued {
		t.Errorf("dave's entry: %+v, want queued", a)
	}
	// The loser is told: the answer to their #take, and one "taken by".
	waitMailTo(t, sink, loser, "refused: #take")
	waitMailTo(t, sink, loser, "was taken by "+winner)
	msgs := settle(t, d, sink)
	takenBy := 0
	for _, m := range to(msgs, loser) {
		if strings.Contains(textBody(t, m), "was taken by") {
			takenBy++
		}
	}
	if takenBy != 1 {
		t.Errorf("%s got %d \"taken by\" mails, want 1", loser, takenBy)
	}
	for _, m := range to(msgs, winner) {
		if strings.Contains(textBody(t, m), "was taken by") {
			t.Errorf("the winner was told the ticket was taken")
		}
	}
	// The loser's take link answers that it is taken, without a button.
	resp, page := get(t, "http://"+d.Addr("web")+links[loser])
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Already taken by "+winner) || offerFormRE.MatchString(page) {
		t.Errorf("the loser's take page (%d):\n%s", resp.StatusCode, page)
	}
	_, page = get(t, "http://"+d.Addr("web")+links[winner])
	if !strings.Contains(page, "You took this request") {
		t.Errorf("the winner's page:\n%s", page)
	}
	// The agent page shows who was offered it, their answer and whether
	// they saw it.
	al := agentLinkRE.FindStringSubmatch(textBody(t, waitMailTo(t, sink, dave, "New request")))
	if al == nil {
		t.Fatal("no agent link in dave's notification")
	}
	_, page = get(t, "http://"+d.Addr("web")+al[1])
	for _, want := range []string{"Offered to", winner + ` <span class="badge">taken</span> seen`, dave + ` <span class="badge">queued</span> not seen`} {
		if !strings.Contains(page, want) {
			t.Errorf("the agent page lacks %q:\n%s", want, page)
		}
	}
}

// TestOfferRefusalsTimeoutAndGet: GET of a take link changes nothing; a
// stranger's and an unproven #take are refused; the timeout passes the
// offer on to dave; dave passes on the page; with everyone passed or
// timed out the admin is told; given back after a reassign it is offered
// again.
func TestOfferRefusalsTimeoutAndGet(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	clk := &clock{t: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}
	d := startAt(t, offerConfig(t, sink), clk)
	web := "http://" + d.Addr("web")
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Printer on fire", "r1@customer.example", "It is on fire."))
	offerMail := waitMailTo(t, sink, alice, "is offered to you")
	link := offerLinkRE.FindStringSubmatch(textBody(t, offerMail))[1]
	waitMailTo(t, sink, bob, "is offered to you")
	settle(t, d, sink)

	// GET, twice, as a link scanner would: nothing changes (the
	// sender's delivery records aside, which arrive when they do).
	changes := func() int {
		n := 0
		for _, e := range events(t, d, "ACME-1") {
			if e.Kind != store.EvDelivered {
				n++
			}
		}
		return n
	}
	before := changes()
	for range 2 {
		resp, page := get(t, web+link)
		if resp.StatusCode != http.StatusOK || !offerFormRE.MatchString(page) || !strings.Contains(page, "It is on fire.") {
			t.Fatalf("the take page (%d):\n%s", resp.StatusCode, page)
		}
	}
	if resp, _ := get(t, web+link+"/take"); resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusSeeOther {
		t.Errorf("GET of the take action answered %d", resp.StatusCode)
	}
	if tk, _ := ticketOf(t, d, "ACME-1"); tk.Assignee != "" || tk.Status != "new" {
		t.Fatalf("GET changed the ticket: %+v", tk)
	}
	if after := changes(); after != before {
		t.Errorf("GET added %d events", after-before)
	}
	if a := offerOf(t, d, "ACME-1").Agent(alice); a.State != store.OfferOpen || !a.Seen.IsZero() {
		t.Errorf("GET counted: %+v", a)
	}
	// A POST without the page's CSRF token takes nothing.
	resp, err := http.PostForm(web+link+"/take", url.Values{"csrf": {"forged"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged POST answered %d, want 403", resp.StatusCode)
	}

	// A stranger's #take answering alice's offer mail (forwarded to
	// him), and alice's own without proof: both refused.
	mustSend(t, d.Addr("smtp"), "mallory@evil.example", []string{acmeAddr}, msg("mallory@evil.example", acmeAddr, "Re: [ACME-1] Printer on fire", "m1@evil.example", "#take\r\n", "In-Reply-To: <"+msgID(t, offerMail)+">"))
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1] Printer on fire", "u1@example.com", "#take\r\n", "In-Reply-To: <"+msgID(t, offerMail)+">"))
	settle(t, d, sink)
	if tk, _ := ticketOf(t, d, "ACME-1"); tk.Assignee != "" {
		t.Fatalf("a refused #take assigned the ticket to %s", tk.Assignee)
	}
	if o := offerOf(t, d, "ACME-1"); o.TakenBy != "" || !o.Ended.IsZero() {
		t.Fatalf("a refused #take ended the offer: %+v", o)
	}
	if countEvents(events(t, d, "ACME-1"), store.EvOfferTaken) != 0 {
		t.Fatal("a refused #take was recorded as taken")
	}
	_, stored := ticketOf(t, d, "ACME-1")
	for _, m := range stored[1:] {
		if !m.Internal || m.Held == "" {
			t.Errorf("a refused #take from %s was not held: %+v", m.From, m)
		}
	}
	if len(stored) != 3 {
		t.Errorf("%d messages on ACME-1, want the request and the two held #take mails", len(stored))
	}

	// Half an hour later: alice and bob timed out, dave is asked. (The
	// daemon's own timer loop runs the same on its minute tick; whichever
	// runs first does it, once.)
	clk.Add(31 * time.Minute)
	if _, next, err := d.engine.OfferTimers(context.Background()); err != nil || next.IsZero() {
		t.Fatalf("offer timers: next %v err %v", next, err)
	}
	daveMail := waitMailTo(t, sink, dave, "is offered to you")
	if !hasEvent(events(t, d, "ACME-1"), store.EvOfferTimedOut, func(e *store.Event) bool {
		return strings.Join(e.Addresses, ",") == alice+","+bob
	}) {
		t.Errorf("no offer_timed_out of alice and bob: %+v", events(t, d, "ACME-1"))
	}
	// Nothing else is due: a second run moves nothing.
	if moved, _, err := d.engine.OfferTimers(context.Background()); err != nil || moved != 0 {
		t.Fatalf("second run: moved %d err %v", moved, err)
	}

	// dave passes it on from the page: nobody is left; the admin is told.
	daveLink := offerLinkRE.FindStringSubmatch(textBody(t, daveMail))[1]
	_, page := get(t, web+daveLink)
	var passForm []string
	for _, f := range offerFormRE.FindAllStringSubmatch(page, -1) {
		if strings.HasSuffix(f[1], "/pass") {
			passForm = f
		}
	}
	if passForm == nil {
		t.Fatalf("no pass form on dave's page:\n%s", page)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.PostForm(web+passForm[1], url.Values{"csrf": {passForm[2]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pass answered %d", resp.StatusCode)
	}
	waitMailTo(t, sink, erin, "Nobody took ACME-1")
	o := offerOf(t, d, "ACME-1")
	if o.End != "unanswered" || o.Agent(dave).State != store.OfferPassed || o.Agent(dave).Seen.IsZero() {
		t.Errorf("offer after dave passed: %+v", o)
	}
	if _, page := get(t, web+daveLink); !strings.Contains(page, "You passed this request on") {
		t.Errorf("dave's page after passing:\n%s", page)
	}

	// The admin assigns it to alice, then gives it back: offered again,
	// from the start (alice asked again).
	if _, err := d.engine.Assign(context.Background(), "ACME-1", alice, erin); err != nil {
		t.Fatal(err)
	}
	settle(t, d, sink)
	offersToAlice := func() int {
		n := 0
		for _, m := range to(sink.Messages(), alice) {
			if strings.Contains(textBody(t, m), "is offered to you") {
				n++
			}
		}
		return n
	}
	if n := offersToAlice(); n != 1 {
		t.Fatalf("alice got %d offers before the reassign", n)
	}
	if _, err := d.engine.Assign(context.Background(), "ACME-1", "", erin); err != nil {
		t.Fatal(err)
	}
	settle(t, d, sink)
	if n := offersToAlice(); n != 2 {
		t.Fatalf("alice got %d offers after the ticket was given back, want 2", n)
	}
	if o := offerOf(t, d, "ACME-1"); o.Round != 2 || o.Agent(alice).State != store.OfferOpen || o.Agent(bob).State != store.OfferOpen {
		t.Errorf("second round: %+v", o)
	}
}
