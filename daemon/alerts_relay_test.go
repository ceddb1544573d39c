package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/internal/waitfor"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// errorLog keeps the daemon's log lines at error level.
type errorLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *errorLog) Enabled(_ context.Context, lvl slog.Level) bool { return lvl >= slog.LevelError }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }

func (l *errorLog) matching(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

// alertConfig is testConfig with alerts after one second to the admins of
// ACME and ops@, and the maildir transport configured at a path of its own.
func alertConfig(t *testing.T, sink *mailouttest.Sink) (*config.Config, string) {
	t.Helper()
	dir := t.TempDir()
	c := benchConfig(filepath.Join(dir, "data"), sink)
	c.Outbound.Maildir.Path = filepath.Join(dir, "maildir")
	c.Alerts.After = time.Second
	c.Alerts.To = []string{"ops@example.com"}
	c.Projects[0].Admins = []string{"boss@example.com"}
	c.Metrics.Listen = "127.0.0.1:0"
	return c, c.Outbound.Maildir.Path
}

func startLogged(t *testing.T, c *config.Config) (*Daemon, *errorLog) {
	t.Helper()
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	el := &errorLog{}
	d, err := Start(c, slog.New(el), Options{Changes: &waitfor.Signal{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	return d, el
}

// maildirAlerts reads the subjects of the mails in the maildir's new/.
func maildirAlerts(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "new"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, "new", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, subjectOf(mailouttest.Message{Data: b}))
	}
	return out
}

func newRequest(t *testing.T, d *Daemon, n int) {
	t.Helper()
	from := "carl" + string(rune('a'+n)) + "@customer.example"
	mustSend(t, d.Addr("smtp"), from, []string{"acme@support.example.com"},
		msg(from, "acme@support.example.com", "printer broken", "", "It does not print."))
}

// TestAlertRelayRefusesEveryMail: the relay refuses every mail (5xx, or
// 4xx) → after alerts.after one alert, written to the maildir transport
// (the relay would refuse it too), logged at error level, shown on /readyz
// and in ticketgate_alerts_active; the relay accepts again → one recovery
// mail through it; nothing more, and no outbox alert for the mail that
// waits meanwhile.
func TestAlertRelayRefusesEveryMail(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply *smtp.SMTPError
	}{
		{"5xx", &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relay access denied"}},
		{"4xx", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Local error, try again later"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := mailouttest.NewSink(t, mailouttest.Options{})
			c, maildir := alertConfig(t, sink)
			// An outbox alert would come from mail waiting for a retry;
			// this makes "nothing more" catch one.
			c.Metrics.OutboxStuckAfter = 500 * time.Millisecond
			sink.FailNext(mailouttest.AtMail, 1<<30, tc.reply)
			d, el := startLogged(t, c)

			newRequest(t, d, 0)
			newRequest(t, d, 1)
			waitUntil(t, d, "the alert in the maildir", func() bool {
				return len(maildirAlerts(t, maildir)) > 0
			})
			if got := maildirAlerts(t, maildir); len(got) != 1 || got[0] != "[ticketgate] ALERT: relay is failing" {
				t.Fatalf("maildir: %q", got)
			}
			// The monitor logs and counts the alert once it was written.
			waitUntil(t, d, "the cause marked as announced", func() bool {
				a := d.alerts.Active()
				return len(a) == 1 && a[0].Alerted
			})
			b, _ := os.ReadDir(filepath.Join(maildir, "new"))
			raw, _ := os.ReadFile(filepath.Join(maildir, "new", b[0].Name()))
			if !strings.Contains(string(raw), "To: boss@example.com, ops@example.com") || !strings.Contains(string(raw), tc.reply.Message) {
				t.Errorf("alert in the maildir:\n%s", raw)
			}
			if n := el.matching("[ticketgate] ALERT: relay is failing"); n != 1 {
				t.Errorf("%d error log lines for the alert", n)
			}
			if r := d.ops.metrics.Ready(); !strings.Contains(checkDetail(r.Checks, "alerts"), "relay failing since") {
				t.Errorf("/readyz checks: %+v", r.Checks)
			}
			base := "http://" + d.Addr("metrics")
			if _, m := fetch(t, base+"/metrics"); metricValue(m, `ticketgate_alerts_active{cause="relay"}`) != 1 ||
				metricValue(m, `ticketgate_alert_mails_total{kind="alert"}`) != 1 {
				t.Errorf("metrics:\n%s", grepLines(m, "ticketgate_alert"))
			}

			sink.FailNext(mailouttest.AtMail, 0, nil)
			if tc.reply.Code >= 500 {
				// The refused mail was given up: the next one shows the
				// relay works.
				newRequest(t, d, 2)
			}
			rec, err := sink.WaitMessage(func(m mailouttest.Message) bool {
				return subjectOf(m) == "[ticketgate] recovered: relay"
			}, 30*time.Second)
			if err != nil {
				t.Fatalf("no recovery mail: %v", err)
			}
			if got := strings.Join(rec.To, ","); got != "boss@example.com,ops@example.com" {
				t.Errorf("recovery to %s", got)
			}
			rounds := d.alerts.Rounds()
			waitUntil(t, d, "ten more looks", func() bool { return d.alerts.Rounds() >= rounds+10 })
			alerts, recovered := alertMails(sink)
			if len(alerts) != 0 || len(recovered) != 1 {
				t.Errorf("at the relay: %d alerts and %d recovery mails, want 0 and 1", len(alerts), len(recovered))
			}
			if got := maildirAlerts(t, maildir); len(got) != 1 {
				t.Errorf("maildir: %q", got)
			}
			if a := d.alerts.Active(); len(a) != 0 {
				t.Errorf("active after recovery: %+v", a)
			}
		})
	}
}

// TestAlertOutboxStuck: the relay answers at once but hangs on the
// customer's auto-reply, so the outbox's oldest due mail waits longer than
// metrics.outbox_stuck_after → one outbox alert, which reaches the relay
// over a connection of its own while the outbox is stuck; the relay lets
// the mail through → one recovery mail; nothing more, and never a relay
// alert.
func TestAlertOutboxStuck(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c, maildir := alertConfig(t, sink)
	c.Metrics.OutboxStuckAfter = time.Second
	c.Outbound.SMTP.Timeout = 5 * time.Minute // the hang outlasts the test
	sink.Hold("carla@customer.example")
	d, _ := startLogged(t, c)

	newRequest(t, d, 0)
	if err := sink.WaitHeld(1, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	al, err := sink.WaitMessage(func(m mailouttest.Message) bool {
		return strings.HasPrefix(subjectOf(m), "[ticketgate] ALERT:")
	}, 30*time.Second)
	if err != nil {
		t.Fatalf("no alert: %v; active %+v", err, d.alerts.Active())
	}
	if s := subjectOf(al); s != "[ticketgate] ALERT: outbox is failing" {
		t.Fatalf("alert %q", s)
	}
	if !strings.Contains(string(al.Data), "to carla@customer.example has been due since") {
		t.Errorf("alert text:\n%s", al.Data)
	}
	if sink.Held() != 1 {
		t.Errorf("%d held, want the auto-reply still held while the alert went out", sink.Held())
	}

	sink.Release("carla@customer.example")
	if _, err := sink.WaitMessage(func(m mailouttest.Message) bool {
		return subjectOf(m) == "[ticketgate] recovered: outbox"
	}, 30*time.Second); err != nil {
		t.Fatalf("no recovery mail: %v", err)
	}
	rounds := d.alerts.Rounds()
	waitUntil(t, d, "ten more looks", func() bool { return d.alerts.Rounds() >= rounds+10 })
	alerts, recovered := alertMails(sink)
	if len(alerts) != 1 || len(recovered) != 1 {
		t.Errorf("%d alerts and %d recovery mails, want 1 and 1", len(alerts), len(recovered))
	}
	if got := maildirAlerts(t, maildir); len(got) != 0 {
		t.Errorf("maildir: %q", got)
	}
	if _, err := sink.WaitMessage(func(m mailouttest.Message) bool {
		return len(m.To) == 1 && m.To[0] == "carla@customer.example"
	}, 30*time.Second); err != nil {
		t.Errorf("the held auto-reply never arrived: %v", err)
	}
}
