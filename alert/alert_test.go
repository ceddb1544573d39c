package alert

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestOneAlertOneRecovery: a cause failing for less than After is not
// announced; past it, one alert; while it keeps failing, nothing more;
// when it works, one recovery. A send that fails is tried at the next
// look; a cause that fails again within MinGap is not announced again.
func TestOneAlertOneRecovery(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	var sent []Mail
	fail := false
	m := New(Options{
		After:      func() time.Duration { return 15 * time.Minute },
		Recipients: func(p string) []string { return []string{"admin-of-" + p, "ops@example.com"} },
		Send: func(_ context.Context, mail Mail) error {
			if fail {
				return errors.New("relay down")
			}
			sent = append(sent, mail)
			return nil
		},
		Now: func() time.Time { return now },
	})
	mb := MailboxCause("ACME", "INBOX")
	look := func(failing bool, d time.Duration) {
		now = now.Add(d)
		m.Observe(context.Background(), []Observation{{Cause: mb, Failing: failing, Detail: "LOGIN failed: authentication failed"},
			{Cause: Cause{Key: KeyOutbox}, Failing: false}})
	}
	look(true, 0)
	look(true, 10*time.Minute)
	if len(sent) != 0 {
		t.Fatalf("alert before 15 min: %+v", sent)
	}
	if a := m.Active(); len(a) != 1 || a[0].Alerted || a[0].Key != "mailbox ACME/INBOX" {
		t.Fatalf("active = %+v", a)
	}
	fail = true
	look(true, 5*time.Minute)
	fail = false
	look(true, time.Minute)
	look(true, time.Minute)
	look(true, 10*time.Minute)
	if len(sent) != 1 || sent[0].Recovered || !strings.Contains(sent[0].Subject, "ALERT: mailbox ACME/INBOX") ||
		!strings.Contains(sent[0].Body, "authentication failed") || strings.Join(sent[0].To, ",") != "admin-of-ACME,ops@example.com" {
		t.Fatalf("after the alert: %+v", sent)
	}
	look(false, time.Minute)
	look(false, time.Minute)
	if len(sent) != 2 || !sent[1].Recovered || !strings.Contains(sent[1].Subject, "recovered: mailbox ACME/INBOX") {
		t.Fatalf("after the recovery: %+v", sent)
	}
	if a := m.Active(); len(a) != 0 {
		t.Fatalf("active after recovery: %+v", a)
	}
	// Failing again 20 minutes later: within the hour since the alert,
	// nothing is sent, not even a recovery.
	look(true, 0)
	look(true, 20*time.Minute)
	look(false, time.Minute)
	if len(sent) != 2 {
		t.Fatalf("rate limit: %+v", sent[2:])
	}
	// Much later it is announced again.
	look(true, 2*time.Hour)
	look(true, 16*time.Minute)
	if len(sent) != 3 || sent[2].Recovered {
		t.Fatalf("a new episode: %+v", sent)
	}
	if m.Rounds() != 13 {
		t.Errorf("rounds = %d", m.Rounds())
	}
}

// TestRender: a monitor with Render sends what it wrote, given the cause's
// kind and times; when Render fails, the built-in text goes out instead
// (an alert must not be lost to a broken template).
func TestRender(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	var sent []Mail
	var got []Notice
	broken := false
	m := New(Options{
		After:      func() time.Duration { return time.Minute },
		Recipients: func(string) []string { return []string{"ops@example.com"} },
		Send:       func(_ context.Context, mail Mail) error { sent = append(sent, mail); return nil },
		Now:        func() time.Time { return now },
		Render: func(n Notice) (string, string, error) {
			got = append(got, n)
			if broken {
				return "", "", errors.New("template: bad")
			}
			return Subject("de", n), "Körper " + n.Kind, nil
		},
	})
	c := OAuth2Cause("ACME", "INBOX")
	m.Observe(context.Background(), []Observation{{Cause: c, Failing: true, Detail: "invalid_grant"}})
	now = now.Add(2 * time.Minute)
	m.Observe(context.Background(), []Observation{{Cause: c, Failing: true, Detail: "invalid_grant"}})
	if len(sent) != 1 || sent[0].Subject != "[ticketgate] ALARM: oauth2_refresh ACME/INBOX gestört" || sent[0].Body != "Körper oauth2_refresh" {
		t.Fatalf("sent %+v", sent)
	}
	if n := got[0]; n.Kind != "oauth2_refresh" || n.Since != "2026-12-03T10:00:00Z" || n.For != "2m0s" || n.Detail != "invalid_grant" || n.Project != "ACME" {
		t.Errorf("notice %+v", n)
	}
	broken = true
	now = now.Add(time.Minute)
	m.Observe(context.Background(), nil)
	if len(sent) != 2 || sent[1].Subject != "[ticketgate] recovered: oauth2_refresh ACME/INBOX" || !strings.Contains(sent[1].Body, "works again") {
		t.Fatalf("recovery with a broken template: %+v", sent)
	}
}
