package daemon

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ticketgate/ticketgate/internal/dovecottest"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/metrics"
)

// setDovecotPassword rewrites the server's passwd file and ends the
// sessions of its user, so the next login uses the file.
func setDovecotPassword(t *testing.T, dc *dovecottest.Server, pw string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dc.Dir, "users"), []byte(dovecottest.User+":{PLAIN}"+pw+"::::::\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Dovecot looks at the file again only now and then: wait until a
	// login with the new password works before ending the sessions.
	pollExternal(t, "dovecot takes the new password", func() bool {
		c, err := imapclient.DialInsecure(dc.Addr(), nil)
		if err != nil {
			return false
		}
		defer c.Close()
		return c.Login(dovecottest.User, pw).Wait() == nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "doveadm", "-c", filepath.Join(dc.Dir, "dovecot.conf"), "kick", dovecottest.User).CombinedOutput(); err != nil &&
		!strings.Contains(string(out), "no users") && !strings.Contains(string(out), "No users") {
		t.Logf("doveadm kick: %v %s", err, out)
	}
}

func subjectOf(m mailouttest.Message) string {
	for _, l := range strings.Split(string(m.Data), "\r\n") {
		if s, ok := strings.CutPrefix(l, "Subject: "); ok {
			return s
		}
		if l == "" {
			break
		}
	}
	return ""
}

func alertMails(sink *mailouttest.Sink) (alerts, recovered []mailouttest.Message) {
	for _, m := range sink.Messages() {
		switch s := subjectOf(m); {
		case strings.HasPrefix(s, "[ticketgate] ALERT:"):
			alerts = append(alerts, m)
		case strings.HasPrefix(s, "[ticketgate] recovered:"):
			recovered = append(recovered, m)
		}
	}
	return alerts, recovered
}

// TestAlertOnMailboxLogin: the IMAP password is changed on a real
// Dovecot → one alert mail to the admins and alerts.to once the mailbox
// has failed for alerts.after; the password back → one recovery mail;
// and nothing more while it works.
func TestAlertOnMailboxLogin(t *testing.T) {
	dc := dovecottest.Start(t)
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	cfg := imapConfig(t, dc, sink, nil)
	cfg.Alerts.After = time.Second
	cfg.Alerts.To = []string{"ops@example.com"}
	cfg.Projects[0].Admins = []string{"boss@example.com"}
	if err := cfg.Finalize(); err != nil {
		t.Fatal(err)
	}
	d := start(t, cfg)
	waitUntil(t, d, "idling", func() bool { return idling(d) })

	setDovecotPassword(t, dc, "changed-by-the-provider")
	alert, err := sink.WaitMessage(func(m mailouttest.Message) bool {
		return strings.HasPrefix(subjectOf(m), "[ticketgate] ALERT: mailbox ACME/INBOX")
	}, 60*time.Second)
	if err != nil {
		t.Fatalf("no alert: %v; mailboxes %+v", err, d.Mailboxes())
	}
	if got := strings.Join(alert.To, ","); got != "boss@example.com,ops@example.com" {
		t.Errorf("alert to %s", got)
	}
	if !bytes.Contains(alert.Data, []byte("Auto-Submitted: auto-generated")) || !bytes.Contains(alert.Data, []byte("X-Ticketgate-Loop: acme@support.example.com")) {
		t.Errorf("alert headers:\n%s", alert.Data)
	}
	// The monitor marks the cause announced once the relay took the mail.
	waitUntil(t, d, "the cause marked as announced", func() bool {
		a := d.alerts.Active()
		return len(a) == 1 && a[0].Alerted || len(a) == 0
	})
	if r := d.ops.metrics.Ready(); !strings.Contains(checkDetail(r.Checks, "alerts"), "mailbox ACME/INBOX failing since") {
		t.Errorf("/readyz checks: %+v", r.Checks)
	}

	setDovecotPassword(t, dc, dovecottest.Password)
	if _, err := sink.WaitMessage(func(m mailouttest.Message) bool {
		return strings.HasPrefix(subjectOf(m), "[ticketgate] recovered: mailbox ACME/INBOX")
	}, 120*time.Second); err != nil {
		t.Fatalf("no recovery mail: %v; mailboxes %+v", err, d.Mailboxes())
	}
	// Nothing more: the monitor looks again for longer than alerts.after
	// while the mailbox works.
	rounds := d.alerts.Rounds()
	waitUntil(t, d, "ten more looks", func() bool { return d.alerts.Rounds() >= rounds+10 })
	alerts, recovered := alertMails(sink)
	if len(alerts) != 1 || len(recovered) != 1 {
		t.Fatalf("%d alerts and %d recovery mails, want 1 and 1", len(alerts), len(recovered))
	}
	if a := d.alerts.Active(); len(a) != 0 {
		t.Errorf("active after recovery: %+v", a)
	}
}

func checkDetail(cs []metrics.Check, name string) string {
	for _, c := range cs {
		if c.Name == name {
			return c.Detail
		}
	}
	return ""
}
