package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestTraceCLI: a mail handed over by `deliver` can be traced by its
// Message-ID as written in its header (angle brackets, mixed-case domain:
// one canonicaliser, msgid.Canonical, for storing and for trace) — received via the pipe, its new ticket, the two mails it
// caused and their deliveries — and one of those outbound ids leads back.
func TestTraceCLI(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, "")
	_, ev := serveWatched(t, path)

	raw := "From: Carl <carl@customer.example>\nTo: acme@support.example.com\nSubject: trace me\nMessage-ID: <CLI-Trace@Customer.EXAMPLE>\n\nhello\n"
	if code, _, e := runCmd([]string{"deliver", "-c", path}, raw); code != 0 {
		t.Fatalf("deliver: %d %s", code, e)
	}
	waitOutbox(t, ev, dir, 2)

	// The deliveries' audit events are written by commits of their own:
	// the trace is asked again after every commit.
	var out string
	var code int
	var e string
	ev.Until(waitLimit, func() bool {
		code, out, e = runCmd([]string{"trace", "-c", path, "<CLI-Trace@Customer.EXAMPLE>"}, "")
		return code == 0 && strings.Count(out, "delivered") == 2
	})
	if code != 0 {
		t.Fatalf("trace: exit %d %s", code, e)
	}
	t.Logf("trace:\n%s", out)
	for _, want := range []string{"<CLI-Trace@customer.example>", "received    via pipe from carl@customer.example for ACME", "new_ticket  opened ACME-1",
		"queued      customer/request_created to carl@customer.example as <tg.", "queued      internal/request_created to alice@example.com as <tg."} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
	if n := strings.Count(out, "delivered   to "); n != 2 {
		t.Errorf("%d deliveries in the trace, want 2", n)
	}

	outID := regexp.MustCompile(`as <(tg\.[^>]+)>`).FindStringSubmatch(out)
	if outID == nil {
		t.Fatal("no outbound id in the trace")
	}
	code, o, e := runCmd([]string{"trace", "-c", path, outID[1]}, "")
	if code != 0 || !strings.Contains(o, "caused by <CLI-Trace@customer.example>:") || !strings.Contains(o, "delivered") {
		t.Errorf("outbound trace: %d %s\n%s", code, e, o)
	}

	code, _, e = runCmd([]string{"trace", "-c", path, "unknown@nowhere"}, "")
	if code != exitFailure || !strings.Contains(e, "nothing is known about <unknown@nowhere>") {
		t.Errorf("unknown id: exit %d %q", code, e)
	}
	code, o, _ = runCmd([]string{"trace", "-c", path, "--json", "CLI-Trace@customer.example"}, "")
	if code != 0 || !strings.Contains(o, `"sent": [`) {
		t.Errorf("--json: %d %s", code, o)
	}
}
