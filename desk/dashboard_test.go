package desk

import (
	"context"
	"encoding/xml"
	"errors"
	"html"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/report"
	"github.com/ticketgate/ticketgate/store"
)

// svgElement is a parsed SVG element, for the chart tests.
type svgElement struct {
	Name     string
	Attr     map[string]string
	Text     string
	Children []*svgElement
}

// parseSVG parses s as XML (it must be well-formed) into a tree.
func parseSVG(t *testing.T, s string) *svgElement {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(s))
	dec.Strict = true
	var stack []*svgElement
	var root *svgElement
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v\n%s", err, s)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := &svgElement{Name: tok.Name.Local, Attr: map[string]string{}}
			if len(stack) == 0 && tok.Name.Space != "http://www.w3.org/2000/svg" {
				t.Fatalf("root element in namespace %q", tok.Name.Space)
			}
			for _, a := range tok.Attr {
				e.Attr[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, e)
			} else if root == nil {
				root = e
			} else {
				t.Fatal("more than one root element")
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(tok)
			}
		}
	}
	if root == nil || root.Name != "svg" {
		t.Fatalf("no <svg> root in\n%s", s)
	}
	return root
}

// all lists the elements below e (e included) that match.
func (e *svgElement) all(match func(*svgElement) bool) []*svgElement {
	var out []*svgElement
	if match(e) {
		out = append(out, e)
	}
	for _, c := range e.Children {
		out = append(out, c.all(match)...)
	}
	return out
}

func withClass(name, class string) func(*svgElement) bool {
	return func(e *svgElement) bool {
		return e.Name == name && strings.Contains(" "+e.Attr["class"]+" ", " "+class+" ")
	}
}

func attrFloat(t *testing.T, e *svgElement, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(e.Attr[name], 64)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", e.Name, name, e.Attr[name], err)
	}
	return v
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.11 }

// TestBarChartSVG: the bar chart is well-formed SVG that scales (a
// viewBox, width 100%), names itself for screen readers, draws each bar
// in proportion to its value with a <title> naming label and value,
// escapes labels, and draws the target line where the target is.
func TestBarChartSVG(t *testing.T) {
	c := &BarChart{ID: "fr", Title: "First response", Target: 4, TargetText: "target 4h",
		Bars: []Bar{{Label: "median", Value: 2, Text: "2h00m"}, {Label: "p90", Value: 8, Text: "8h00m"}, {Label: `<script>alert("x")</script> & co`, Value: 0}}}
	out, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	svg := parseSVG(t, string(out))
	if svg.Attr["viewBox"] == "" || svg.Attr["width"] != "100%" || svg.Attr["role"] != "img" || svg.Attr["aria-labelledby"] != "fr-t fr-d" {
		t.Fatalf("svg attributes %v", svg.Attr)
	}
	titles := svg.all(func(e *svgElement) bool { return e.Name == "title" })
	if len(titles) == 0 || titles[0].Attr["id"] != "fr-t" || titles[0].Text != "First response" {
		t.Fatalf("first title %+v", titles[0])
	}
	desc := svg.all(func(e *svgElement) bool { return e.Name == "desc" })
	if len(desc) != 1 || desc[0].Text != `median: 2h00m; p90: 8h00m; <script>alert("x")</script> & co: 0; target 4h` {
		t.Fatalf("desc %+v", desc)
	}
	bars := svg.all(withClass("rect", "bar"))
	if len(bars) != 3 {
		t.Fatalf("%d bars", len(bars))
	}
	// The longest bar (8) spans the width; 2 is a quarter of it; 0 none.
	if w := attrFloat(t, bars[1], "width"); !near(w, chartWidth) {
		t.Errorf("bar of 8 is %v wide", w)
	}
	if w := attrFloat(t, bars[0], "width"); !near(w, chartWidth/4) {
		t.Errorf("bar of 2 is %v wide, want %v", w, chartWidth/4)
	}
	if w := attrFloat(t, bars[2], "width"); w != 0 {
		t.Errorf("bar of 0 is %v wide", w)
	}
	rows := svg.all(withClass("g", "row"))
	if len(rows) != 3 || rows[0].Children[0].Name != "title" || rows[0].Children[0].Text != "median: 2h00m" || rows[2].Children[0].Text != `<script>alert("x")</script> & co: 0` {
		t.Fatalf("row titles: %+v", rows)
	}
	if strings.Contains(string(out), "<script>") {
		t.Fatal("a label's markup reached the SVG unescaped")
	}
	lines := svg.all(withClass("line", "target-line"))
	if len(lines) != 1 || !near(attrFloat(t, lines[0], "x1"), chartWidth/2) {
		t.Fatalf("target line %+v, want at x=%v", lines, chartWidth/2)
	}
	// The rows and the target's label fit the viewBox.
	var vbW, vbH float64
	if _, err := fmtSscan(svg.Attr["viewBox"], &vbW, &vbH); err != nil || vbW != chartWidth || vbH < 3*52 {
		t.Fatalf("viewBox %q", svg.Attr["viewBox"])
	}
	// No target: no line.
	c.Target = 0
	out, _ = c.SVG()
	if n := len(parseSVG(t, string(out)).all(func(e *svgElement) bool { return e.Name == "line" })); n != 0 {
		t.Fatalf("%d lines without a target", n)
	}
}

// fmtSscan reads "0 0 W H".
func fmtSscan(vb string, w, h *float64) (int, error) {
	f := strings.Fields(vb)
	if len(f) != 4 {
		return 0, errors.New("not four numbers")
	}
	var err1, err2 error
	*w, err1 = strconv.ParseFloat(f[2], 64)
	*h, err2 = strconv.ParseFloat(f[3], 64)
	return 2, errors.Join(err1, err2)
}

// TestDayChartSVG: the per-day chart has a point per day per series at
// heights proportional to the values, an area under the first series, a
// hover <title> per day naming every series' value, and refuses a series
// whose length is not the number of days.
func TestDayChartSVG(t *testing.T) {
	days := []string{"1 Nov", "2 Nov", "3 Nov", "4 Nov"}
	c := &DayChart{ID: "days", Title: "New and resolved per day", Days: days,
		Series: []Series{{Name: "New", Values: []float64{0, 3, 6, 1}}, {Name: "Resolved", Values: []float64{1, 0, 2, 6}}}}
	out, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	svg := parseSVG(t, string(out))
	lines := svg.all(withClass("polyline", "line"))
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	if n := len(svg.all(withClass("polygon", "area"))); n != 1 {
		t.Fatalf("%d areas", n)
	}
	ys := func(points string) []float64 {
		var out []float64
		for _, p := range strings.Fields(points) {
			_, y, _ := strings.Cut(p, ",")
			v, err := strconv.ParseFloat(y, 64)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		return out
	}
	newY := ys(lines[0].Attr["points"])
	if len(newY) != 4 {
		t.Fatalf("%d points for 4 days", len(newY))
	}
	// Heights above the baseline (the value 0) are proportional.
	base := newY[0]
	if h1, h2 := base-newY[1], base-newY[2]; h1 <= 0 || !near(h2, 2*h1) {
		t.Errorf("heights of 3 and 6: %v, %v", h1, h2)
	}
	if resY := ys(lines[1].Attr["points"]); !near(base-resY[3], base-newY[2]) {
		t.Errorf("6 resolved is drawn at %v, 6 new at %v", resY[3], newY[2])
	}
	hovers := svg.all(withClass("rect", "hover"))
	if len(hovers) != 4 || hovers[2].Children[0].Text != "3 Nov: New 6, Resolved 2" {
		t.Fatalf("hover titles %+v", hovers)
	}
	dots := svg.all(withClass("circle", "dot"))
	if len(dots) != 8 || dots[1].Children[0].Text != "2 Nov: New 3" {
		t.Fatalf("dots %d", len(dots))
	}
	ticks := svg.all(withClass("text", "tick"))
	var labels []string
	for _, tk := range ticks {
		labels = append(labels, tk.Text)
	}
	if !strings.Contains(strings.Join(labels, "|"), "4 Nov") || !strings.Contains(strings.Join(labels, "|"), "|6") {
		t.Errorf("axis labels %v", labels)
	}
	if d := svg.all(func(e *svgElement) bool { return e.Name == "desc" }); len(d) != 1 || d[0].Text != "1 Nov – 4 Nov. New: 10; Resolved: 9" {
		t.Errorf("desc %+v", d)
	}
	c.Series[1].Values = c.Series[1].Values[:3]
	if _, err := c.SVG(); err == nil {
		t.Fatal("a series shorter than the days was drawn")
	}
}

// seedDashboard stores tickets and ratings for the dashboard tests, at
// the env's clock (3 Dec 2026 12:00 UTC), and gives ACME targets.
func seedDashboard(t *testing.T, e *env) {
	t.Helper()
	now := e.clock()
	ago := func(d, h int) time.Time { return now.Add(-time.Duration(d)*24*time.Hour - time.Duration(h)*time.Hour) }
	alice, adam := "alice@example.com", "adam@example.com"
	tickets := []*store.Ticket{
		{Project: "ACME", Status: "open", Assignee: alice, Created: ago(2, 0), Updated: ago(2, -1),
			FirstResponse: &store.Clock{Budget: 4 * time.Hour, Done: ago(2, -1), Took: time.Hour}},
		{Project: "ACME", Status: "resolved", Assignee: alice, Created: ago(5, 0), Updated: ago(3, 0), Resolved: ago(3, 0),
			FirstResponse: &store.Clock{Budget: 4 * time.Hour, Done: ago(5, -6), Took: 6 * time.Hour, Breached: ago(5, -4)},
			Resolution:    &store.Clock{Budget: 30 * time.Hour, Done: ago(3, 0), Took: 20 * time.Hour}},
		{Project: "ACME", Status: "waiting_for_customer", Created: ago(1, 0), Updated: ago(1, 0)},
		{Project: "ACME", Status: "closed", Assignee: adam, Created: ago(40, 0), Updated: ago(10, 0), Resolved: ago(10, 0), Closed: ago(10, 0),
			Resolution: &store.Clock{Budget: 30 * time.Hour, Done: ago(10, 0), Took: 50 * time.Hour, Breached: ago(12, 0)}},
		{Project: "ACME", Status: "open", Assignee: alice, Created: ago(60, 0), Updated: ago(45, 0)},
		{Project: "ACME", Status: "open", Assignee: alice, Created: ago(2, 0), Updated: ago(2, 0), MergedInto: "ACME-2"},
		{Project: "BETA", Status: "open", Assignee: "bob@example.org", Created: ago(3, 0), Updated: ago(3, 0)},
	}
	err := e.db.Update(context.Background(), func(tx store.Tx) error {
		for _, tk := range tickets {
			n, err := tx.NextTicketNumber(tk.Project)
			if err != nil {
				return err
			}
			tk.Number, tk.Key, tk.Subject, tk.Reporter = n, store.TicketKey(tk.Project, n), "Seeded", "carl@customer.example"
			if err := tx.PutTicket(tk); err != nil {
				return err
			}
		}
		for _, r := range []store.Rating{
			{Project: "ACME", Ticket: "ACME-3", Customer: "carl@customer.example", Score: 5, Scale: 5, Updated: ago(3, -1)},
			{Project: "ACME", Ticket: "ACME-5", Customer: "dora@customer.example", Score: 2, Scale: 5, Updated: ago(9, 0)},
			{Project: "BETA", Ticket: "BETA-2", Customer: "eve@customer.example", Score: 1, Scale: 5, Updated: ago(2, 0)},
		} {
			r.Created = r.Updated
			if err := tx.PutRating(&r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := *e.cfg.Load()
	cfg.Projects = append([]config.Project(nil), cfg.Projects...)
	cfg.Projects[0].Targets = &config.Targets{FirstResponse: map[string]time.Duration{"normal": 4 * time.Hour}, Resolution: map[string]time.Duration{"normal": 30 * time.Hour}}
	e.cfg.Store(&cfg)
}

var figRE = regexp.MustCompile(`data-fig="([^"]+)"(?: data-raw="([^"]*)")?>([^<]*)<`)

// figures reads the dashboard's figures: data-fig → its exact value
// (data-raw when given, else the text).
func figures(page string) map[string]string {
	out := map[string]string{}
	for _, m := range figRE.FindAllStringSubmatch(page, -1) {
		v := m[3]
		if m[2] != "" {
			v = m[2]
		}
		out[html.UnescapeString(m[1])] = html.UnescapeString(v)
	}
	return out
}

// TestDashboardAgreesWithReport: every figure of the dashboard is the
// one report.Compute gives for the query `ticketgate report --since 30d`
// runs through the admin API for the same agent (open now by status and
// assignee, new/resolved/reopened, the per-day series, median and p90 of
// both times, targets met and missed, ratings) — and those are the
// numbers the seeded store holds.
func TestDashboardAgreesWithReport(t *testing.T) {
	e := newEnv(t)
	seedDashboard(t, e)
	c := e.signIn("alice@example.com")
	code, page := e.get(c, "/desk/dashboard")
	if code != http.StatusOK {
		t.Fatalf("dashboard: %d\n%s", code, page)
	}
	got := figures(page)
	cfg := e.cfg.Load()
	now := e.clock()
	// As admin/report.go builds it for alice.
	since, err := report.ParseSince("30d", now, cfg.Location())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := report.Compute(e.db, report.Query{Since: since, May: func(p string) bool { return p == "ACME" },
		Daily: true, Loc: cfg.Location(), Open: report.OpenIn(cfg)}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"open": strconv.Itoa(rep.Backlog.Open), "new": strconv.Itoa(rep.New), "resolved": strconv.Itoa(rep.Resolved), "reopened": strconv.Itoa(rep.Reopened),
		"first:median": secs(rep.FirstResponse.Median), "first:p90": secs(rep.FirstResponse.P90), "first:count": strconv.Itoa(rep.FirstResponse.Count),
		"first:met": strconv.Itoa(rep.FirstResponseTarget.Met), "first:missed": strconv.Itoa(rep.FirstResponseTarget.Missed), "first:target": "14400",
		"resolution:median": secs(rep.Resolution.Median), "resolution:p90": secs(rep.Resolution.P90), "resolution:count": strconv.Itoa(rep.Resolution.Count),
		"resolution:met": strconv.Itoa(rep.ResolutionTarget.Met), "resolution:missed": strconv.Itoa(rep.ResolutionTarget.Missed), "resolution:target": "108000",
	}
	for _, s := range rep.Backlog.ByStatus {
		want["status:"+s.Name] = strconv.Itoa(s.Count)
	}
	for _, a := range rep.Backlog.ByAssignee {
		want["assignee:"+a.Name] = strconv.Itoa(a.Count)
	}
	for _, d := range rep.Days {
		want["day-new:"+d.Date], want["day-resolved:"+d.Date] = strconv.Itoa(d.New), strconv.Itoa(d.Resolved)
	}
	for _, s := range rep.Ratings.Scales {
		for i, n := range s.Counts {
			want["ratings-"+strconv.Itoa(s.Points)+":"+strconv.Itoa(i+1)] = strconv.Itoa(n)
		}
		want["ratings-"+strconv.Itoa(s.Points)+":average"] = strconv.FormatFloat(s.Average, 'f', 2, 64)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("dashboard %s = %q, report says %q", k, got[k], w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("dashboard shows %s = %q, which the report does not have", k, got[k])
		}
	}
	// And the report's figures are the store's: ACME-1 (new, from the
	// env), ACME-2 (open), ACME-4 (waiting) and ACME-6 (open for long)
	// are open; three were created in the period (ACME-1 at its very
	// end, which the period leaves out, as the report does), two resolved (ACME-3 and
	// ACME-5); first responses 1h and 6h (one met, one missed);
	// resolutions 20h and 50h; ratings 5 and 2 (BETA's 1 left out).
	for k, w := range map[string]string{"open": "4", "status:open": "2", "status:new": "1", "status:waiting_for_customer": "1",
		"assignee:alice@example.com": "2", "assignee:": "2", "new": "3", "resolved": "2",
		"first:median": "3600", "first:p90": "21600", "first:met": "1", "first:missed": "1",
		"resolution:median": "72000", "resolution:p90": "180000", "resolution:met": "1", "resolution:missed": "1",
		"ratings-5:5": "1", "ratings-5:2": "1", "ratings-5:1": "0", "ratings-5:average": "3.50",
		"day-new:2026-12-01": "1", "day-resolved:2026-11-30": "1", "day-resolved:2026-11-23": "1"} {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	if len(rep.Days) != 31 {
		t.Errorf("%d days in the series", len(rep.Days))
	}
	// Every chart is drawn (well-formed SVG each) with its target line.
	svgs := regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(page, -1)
	if len(svgs) != 6 {
		t.Fatalf("%d charts on the page", len(svgs))
	}
	targets := 0
	for _, s := range svgs {
		targets += len(parseSVG(t, s).all(withClass("line", "target-line")))
	}
	if targets != 2 {
		t.Errorf("%d target lines, want 2", targets)
	}
	if !strings.Contains(page, `id="nav-dashboard"`) {
		t.Error("no link to the dashboard in the navigation")
	}
}

func secs(d time.Duration) string { return strconv.FormatInt(int64(d.Seconds()), 10) }

// TestDashboardOnlyOwnProjects: an agent of BETA gets 404 for ACME's
// figures and sees none of ACME's in their own dashboard; the German
// dashboard speaks German.
func TestDashboardOnlyOwnProjects(t *testing.T) {
	e := newEnv(t)
	seedDashboard(t, e)
	bob := e.signIn("bob@example.org")
	if code, page := e.get(bob, "/desk/dashboard?project=ACME"); code != http.StatusNotFound || strings.Contains(page, "data-fig") {
		t.Fatalf("BETA's agent asking for ACME's figures: %d\n%s", code, page)
	}
	if code, _ := e.get(bob, "/desk/dashboard?project=NOPE"); code != http.StatusNotFound {
		t.Fatalf("an unknown project: %d", code)
	}
	code, page := e.get(bob, "/desk/dashboard")
	if code != http.StatusOK {
		t.Fatalf("bob's dashboard: %d", code)
	}
	got := figures(page)
	// BETA-1 (env, new) and BETA-2 (bob, open); BETA's one rating.
	for k, w := range map[string]string{"open": "2", "new": "1", "resolved": "0", "assignee:bob@example.org": "1", "assignee:": "1", "ratings-5:1": "1", "ratings-5:average": "1.00"} {
		if got[k] != w {
			t.Errorf("bob's %s = %q, want %q", k, got[k], w)
		}
	}
	for _, s := range []string{"alice@example.com", "adam@example.com", "ACME", "first:target"} {
		if strings.Contains(page, s) {
			t.Errorf("bob's dashboard mentions %q", s)
		}
	}
	// Without a session: the sign-in page.
	resp, err := e.browser().Get(e.srv.URL + "/desk/dashboard")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/desk/signin" {
		t.Fatalf("no session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// German.
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/desk/dashboard", nil)
	req.Header.Set("Accept-Language", "de-DE,de;q=0.9")
	resp, err = bob.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, s := range []string{`lang="de"`, "Übersicht", "Offene Tickets nach Status", "Neu und gelöst pro Tag"} {
		if !strings.Contains(string(b), s) {
			t.Errorf("the German dashboard lacks %q", s)
		}
	}
}
