package desk

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestOtherProjectsFilesThroughOwnTicket: BETA's agent cannot reach ACME's
// attachment or raw message by naming ACME's message under a ticket of
// her own either (the message must be on the ticket in the path), while
// her own ticket's files download.
func TestOtherProjectsFilesThroughOwnTicket(t *testing.T) {
	e := newEnv(t)
	bob := e.signIn("bob@example.org")
	_, acme := e.ticket("ACME-1")
	_, beta := e.ticket("BETA-1")
	for _, u := range []string{"/desk/t/BETA-1/att/" + itoa(acme[0].ID) + "/0", "/desk/t/BETA-1/raw/" + itoa(acme[0].ID)} {
		if code, body := e.get(bob, u); code != http.StatusNotFound || strings.Contains(body, "secret invoice") || strings.Contains(body, "raw bytes") {
			t.Errorf("BETA's agent GET %s: %d", u, code)
		}
	}
	for _, c := range []struct{ u, want string }{
		{"/desk/t/BETA-1/att/" + itoa(beta[0].ID) + "/0", "%PDF secret invoice"},
		{"/desk/t/BETA-1/raw/" + itoa(beta[0].ID), "raw bytes"},
	} {
		if code, body := e.get(bob, c.u); code != http.StatusOK || body != c.want && !strings.Contains(body, c.want) {
			t.Errorf("BETA's agent GET %s (her own): %d %q", c.u, code, body)
		}
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
