package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

var (
	cliRatingLinkRE = regexp.MustCompile(`http://127\.0\.0\.1(/r/[a-z0-9]+)\?s=5`)
	cliRatingFormRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// TestRatingsCommand: two customers rate their resolved requests on the
// rating page (5 and 2); `ticketgate ratings` prints the count, the
// average and the distribution, also per project, --since and --json.
func TestRatingsCommand(t *testing.T) {
	dir := t.TempDir()
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	path := writeConfig(t, dir, "    ratings: { enabled: true, scale: 5 }\n")
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(raw), "  transport: maildir\n  maildir: { path: ./outbox }\n",
		fmt.Sprintf("  transport: smtp\n  smtp: { host: 127.0.0.1, port: %d, tls: none }\n", sink.Port()), 1)), 0o600)
	d := serveInProcess(t, path)

	if code, out, _ := runCmd([]string{"ratings", "-c", path}, ""); code != 0 || strings.Contains(out, "ACME") {
		t.Fatalf("ratings before any: %d %s", code, out)
	}
	for i, score := range []string{"5", "2"} {
		customer := fmt.Sprintf("c%d@customer.example", i)
		key := fmt.Sprintf("ACME-%d", i+1)
		req := fmt.Sprintf("From: %s\r\nTo: acme@support.example.com\r\nSubject: Request %d\r\nMessage-ID: <rate%d@customer.example>\r\n\r\nhelp\r\n", customer, i, i)
		if code, _, e := runCmd([]string{"deliver", "-c", path}, req); code != 0 {
			t.Fatal(e)
		}
		if code, _, e := runCmd([]string{"status", "-c", path, key, "resolved"}, ""); code != 0 {
			t.Fatal(e)
		}
		link := waitRatingLink(t, sink, customer)
		page := "http://" + d.Addr("web") + link
		resp, err := http.Get(page + "?s=" + score)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		csrf := cliRatingFormRE.FindSubmatch(body)
		if csrf == nil {
			t.Fatalf("no rating form:\n%s", body)
		}
		resp, err = http.PostForm(page, url.Values{"csrf": {string(csrf[1])}, "score": {score}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("rating POST ended in %d", resp.StatusCode)
		}
	}

	code, out, stderr := runCmd([]string{"ratings", "-c", path}, "")
	if code != 0 || !regexp.MustCompile(`(?m)^ACME\s+5\s+2\s+3\.50\s+1:0 2:1 3:0 4:0 5:1$`).MatchString(out) {
		t.Fatalf("ratings: %d\n%s%s", code, out, stderr)
	}
	if code, out, _ := runCmd([]string{"ratings", "-c", path, "--project", "ACME", "--since", "30d"}, ""); code != 0 || !strings.Contains(out, "3.50") {
		t.Fatalf("ratings --project ACME --since 30d: %d %s", code, out)
	}
	if code, out, _ := runCmd([]string{"ratings", "-c", path, "--json"}, ""); code != 0 || !strings.Contains(out, `"average": 3.5`) || !strings.Contains(out, `"count": 2`) {
		t.Fatalf("ratings --json: %d %s", code, out)
	}
	if code, _, stderr := runCmd([]string{"ratings", "-c", path, "--since", "soon"}, ""); code != exitConfig || !strings.Contains(stderr, "bad period") {
		t.Fatalf("ratings --since soon: %d %s", code, stderr)
	}
}

// waitRatingLink waits for the resolved mail to customer and returns the
// path of its rating link.
func waitRatingLink(t *testing.T, sink *mailouttest.Sink, customer string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs := sink.Messages()
		for _, m := range msgs {
			if len(m.To) != 1 || m.To[0] != customer {
				continue
			}
			r, err := mail.CreateReader(bytes.NewReader(m.Data))
			if err != nil {
				t.Fatal(err)
			}
			for {
				p, err := r.NextPart()
				if err != nil {
					break
				}
				b, _ := io.ReadAll(p.Body)
				if l := cliRatingLinkRE.FindSubmatch(b); l != nil {
					return string(l[1])
				}
			}
		}
		if time.Until(deadline) <= 0 {
			t.Fatalf("no resolved mail with a rating link to %s", customer)
		}
		sink.WaitFor(len(msgs)+1, time.Until(deadline))
	}
}

// TestShowOffer: `ticketgate show` lists who a ticket was offered to,
// their answer and whether they saw it (issue 18).
func TestShowOffer(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, "    offers: { to: [alice@example.com], timeout: 15m }\n")
	serveInProcess(t, path)
	req := "From: c@customer.example\r\nTo: acme@support.example.com\r\nSubject: Offer me\r\nMessage-ID: <offer1@customer.example>\r\n\r\nhelp\r\n"
	if code, _, e := runCmd([]string{"deliver", "-c", path}, req); code != 0 {
		t.Fatal(e)
	}
	code, out, stderr := runCmd([]string{"show", "-c", path, "ACME-1"}, "")
	if code != 0 || !strings.Contains(out, "--- offer (round 1)\n") || !regexp.MustCompile(`(?m)^alice@example\.com\s+offered\s+unseen$`).MatchString(out) ||
		!strings.Contains(out, "offered to alice@example.com (round 1)") {
		t.Fatalf("show: %d\n%s%s", code, out, stderr)
	}
	if code, out, _ := runCmd([]string{"show", "-c", path, "--json", "ACME-1"}, ""); code != 0 || !strings.Contains(out, `"state": "offered"`) {
		t.Fatalf("show --json: %s", out)
	}
	// Taken by the CLI's agent (assign me): the offer ends, assigned by hand.
	if code, _, e := runCmd([]string{"assign", "-c", path, "ACME-1", "me"}, ""); code != 0 {
		t.Fatal(e)
	}
	if _, out, _ := runCmd([]string{"show", "-c", path, "ACME-1"}, ""); !strings.Contains(out, "--- offer (round 1), over: assigned") || !regexp.MustCompile(`(?m)^alice@example\.com\s+withdrawn\s+unseen$`).MatchString(out) {
		t.Fatalf("show after assign:\n%s", out)
	}
}
