package daemon

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// Ratings (issue 18), over SMTP into a real daemon and through its web
// handler: the resolved mail's links, the page's GET and POST.

var (
	ratingLinkRE = regexp.MustCompile(`http://ticketgate\.test(/r/[a-z0-9]+)\?s=([1-5])`)
	ratingFormRE = regexp.MustCompile(`action="(/r/[a-z0-9]+)" class="reply">\s*<input type="hidden" name="csrf" value="([^"]+)"`)
)

func ratingConfig(t *testing.T, sink *mailouttest.Sink, edit func(*config.Project)) *config.Config {
	return workflowConfig(t, sink, func(c *config.Config) {
		c.Metrics.Listen = "127.0.0.1:0"
		p := &c.Projects[0]
		p.Ratings = config.Ratings{Enabled: true, Scale: 5, CloseAfterRating: true, CloseMinScore: 4}
		if edit != nil {
			edit(p)
		}
	})
}

func ratingOf(t *testing.T, d *Daemon, key, customer string) *store.Rating {
	t.Helper()
	var r *store.Rating
	d.Store().View(func(tx store.Tx) error {
		var err error
		if r, err = tx.Rating(key, customer); err != nil {
			r = nil
		}
		return nil
	})
	return r
}

// resolvedFor opens ACME-1 for carl, has alice take it and resolve it,
// and returns carl's resolved mail.
func resolvedFor(t *testing.T, d *Daemon, sink *mailouttest.Sink) mailouttest.Message {
	t.Helper()
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Printer on fire", "r1@customer.example", "It is on fire."))
	waitMailTo(t, sink, carl, "/t/")
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, msg(alice, acmeAddr, "Re: [ACME-1] Printer on fire", "c1@example.com", "#assign me\r\n#resolve\r\n", proof))
	return waitMailTo(t, sink, carl, "has been resolved")
}

// TestRatingLinks: the resolved mail carries one link per score; GET of
// every one records nothing and shows its score pre-selected; the POST
// records (a low score leaves the ticket resolved and tells the
// assignee); the second POST replaces it and, at close_min_score, closes
// the ticket; after that the page says it is closed and a POST changes
// nothing. The metrics count the rating.
func TestRatingLinks(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := startAt(t, ratingConfig(t, sink, nil), nil)
	web := "http://" + d.Addr("web")
	links := ratingLinkRE.FindAllStringSubmatch(textBody(t, resolvedFor(t, d, sink)), -1)
	if len(links) != 5 {
		t.Fatalf("%d rating links in the resolved mail, want 5", len(links))
	}
	settle(t, d, sink)
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
	var form []string
	for _, l := range links {
		resp, page := get(t, web+l[1]+"?s="+l[2])
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="score-`+l[2]+`" checked`) {
			t.Fatalf("GET %s?s=%s (%d): score not pre-selected:\n%s", l[1], l[2], resp.StatusCode, page)
		}
		if strings.Count(page, " checked") != 1 {
			t.Errorf("GET ?s=%s: %d scores checked", l[2], strings.Count(page, " checked"))
		}
		if form = ratingFormRE.FindStringSubmatch(page); form == nil {
			t.Fatalf("no rating form:\n%s", page)
		}
	}
	if ratingOf(t, d, "ACME-1", carl) != nil {
		t.Fatal("a GET recorded a rating")
	}
	if after := changes(); after != before {
		t.Fatalf("GETs added %d events", after-before)
	}
	if tk, _ := ticketOf(t, d, "ACME-1"); tk.Status != "resolved" {
		t.Fatalf("GETs changed the status to %s", tk.Status)
	}

	post := func(score, comment string) int {
		t.Helper()
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noRedirect.PostForm(web+form[1], url.Values{"csrf": {form[2]}, "score": {score}, "comment": {comment}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// A forged form records nothing.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(web+form[1], url.Values{"csrf": {"forged"}, "score": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || ratingOf(t, d, "ACME-1", carl) != nil {
		t.Fatalf("forged POST: %d", resp.StatusCode)
	}

	// A low score: recorded, the ticket stays resolved, alice is told.
	if code := post("2", "Took a week."); code != http.StatusSeeOther {
		t.Fatalf("POST answered %d", code)
	}
	r := ratingOf(t, d, "ACME-1", carl)
	if r == nil || r.Score != 2 || r.Comment != "Took a week." || r.Scale != 5 {
		t.Fatalf("rating after the POST: %+v", r)
	}
	if tk, _ := ticketOf(t, d, "ACME-1"); tk.Status != "resolved" {
		t.Errorf("a low rating changed the status to %s", tk.Status)
	}
	waitMailTo(t, sink, alice, "rated ACME-1 (Printer on fire) low")
	got := waitMailTo(t, sink, alice, "rated ACME-1 (Printer on fire): ★★☆☆☆")
	if !strings.Contains(textBody(t, got), "> Took a week.") {
		t.Errorf("the rating mail lacks the comment:\n%s", textBody(t, got))
	}
	if !hasEvent(events(t, d, "ACME-1"), store.EvRated, func(e *store.Event) bool {
		return e.Actor == carl && e.Score == 2 && e.Comment == "Took a week." && e.Source == "web"
	}) {
		t.Errorf("no rated event: %+v", events(t, d, "ACME-1"))
	}

	// The second POST replaces it; 5 ≥ close_min_score closes the ticket.
	if code := post("5", "Sorted after all."); code != http.StatusSeeOther {
		t.Fatalf("second POST answered %d", code)
	}
	r = ratingOf(t, d, "ACME-1", carl)
	if r == nil || r.Score != 5 || r.Comment != "Sorted after all." {
		t.Fatalf("rating after the second POST: %+v", r)
	}
	var all []*store.Rating
	d.Store().View(func(tx store.Tx) error { all, _ = tx.Ratings("ACME", time.Time{}); return nil })
	if len(all) != 1 {
		t.Errorf("%d ratings stored, want 1 per ticket and customer", len(all))
	}
	if tk, _ := ticketOf(t, d, "ACME-1"); tk.Status != "closed" {
		t.Errorf("a rating at close_min_score left status %s", tk.Status)
	}

	// Closed: the page says so and offers no form; a POST changes nothing.
	_, page := get(t, web+links[0][1]+"?s=1")
	if !strings.Contains(page, "This request is closed") || ratingFormRE.MatchString(page) {
		t.Errorf("the rating page of a closed request:\n%s", page)
	}
	if code := post("1", "changed my mind"); code != http.StatusSeeOther {
		t.Errorf("POST after close answered %d", code)
	}
	if r := ratingOf(t, d, "ACME-1", carl); r.Score != 5 {
		t.Errorf("a POST after close changed the rating to %d", r.Score)
	}

	// Prometheus sees it.
	_, metrics := get(t, "http://"+d.Addr("metrics")+"/metrics")
	for _, want := range []string{`ticketgate_ratings{project="ACME",scale="5",score="5"} 1`, `ticketgate_ratings{project="ACME",scale="5",score="2"} 0`, `ticketgate_rating_average{project="ACME",scale="5"} 5`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestRatingsOffNoLinks: a project that does not ask for ratings sends
// none, and a scale of 2 sends two.
func TestRatingsScaleTwoAndOff(t *testing.T) {
	for _, c := range []struct {
		name    string
		ratings config.Ratings
		links   int
	}{
		{"off", config.Ratings{}, 0},
		{"good/bad", config.Ratings{Enabled: true, Scale: 2}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			sink := mailouttest.NewSink(t, mailouttest.Options{})
			d := startAt(t, ratingConfig(t, sink, func(p *config.Project) { p.Ratings = c.ratings }), nil)
			body := textBody(t, resolvedFor(t, d, sink))
			if n := len(ratingLinkRE.FindAllString(body, -1)); n != c.links {
				t.Errorf("%d rating links, want %d:\n%s", n, c.links, body)
			}
			if c.links == 2 && (!strings.Contains(body, "Good:") || !strings.Contains(body, "Bad:")) {
				t.Errorf("scale 2 without good/bad:\n%s", body)
			}
		})
	}
}
