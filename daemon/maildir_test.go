package daemon

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// maildirConfig is testConfig with outbound mail written into the maildir
// data_dir/outbox, as the README's default configuration does.
func maildirConfig(t *testing.T, dataDir string) *config.Config {
	t.Helper()
	c := config.Default()
	c.DataDir = dataDir
	c.Inbound.SMTP.Listen = "127.0.0.1:0"
	c.Web.Listen = "127.0.0.1:0"
	c.Web.BaseURL = "http://ticketgate.test"
	c.Outbound.Transport = "maildir"
	c.Outbound.Maildir.Path = filepath.Join(dataDir, "outbox")
	c.Outbound.Retry = config.RetryOptions{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond, GiveUpAfter: time.Hour}
	c.Projects = []config.Project{
		{Key: "ACME", Name: "Acme Support", Address: "acme@support.example.com", Agents: []string{"alice@example.com"}, Notifications: config.DefaultNotifications()},
		{Key: "BETA", Name: "Beta Help", Address: "beta@help.example.org", Agents: []string{"bob@example.org"}, Notifications: config.DefaultNotifications()},
	}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	return c
}

// maildirBox reads the daemon's outbound maildir: every file in new/ is
// one delivered copy (Delivered-To names its recipients). It watches new/
// so waits are woken by each file the daemon moves in, never by a timer.
type maildirBox struct {
	t   *testing.T
	new string
	w   *fsnotify.Watcher
}

func openMaildir(t *testing.T, path string) *maildirBox {
	t.Helper()
	dir := filepath.Join(path, "new")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if err := w.Add(dir); err != nil {
		t.Fatal(err)
	}
	return &maildirBox{t: t, new: dir, w: w}
}

// Messages reads every delivered copy, oldest first (maildir names start
// with the delivery time), as the SMTP sink would have received it.
func (b *maildirBox) Messages() []mailouttest.Message {
	b.t.Helper()
	entries, err := os.ReadDir(b.new)
	if err != nil {
		b.t.Fatal(err)
	}
	var out []mailouttest.Message
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(b.new, e.Name()))
		if err != nil {
			b.t.Fatal(err)
		}
		m := mailouttest.Message{Data: data, Size: len(data)}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			if from, ok := strings.CutPrefix(line, "Return-Path: "); ok {
				m.From = strings.Trim(from, "<>")
				continue
			}
			rcpt, ok := strings.CutPrefix(line, "Delivered-To: ")
			if !ok {
				break
			}
			m.To = append(m.To, rcpt)
		}
		out = append(out, m)
	}
	return out
}

// waitUntil returns the copies once ok accepts them, woken by each new
// file; it fails the test after timeout.
func (b *maildirBox) waitUntil(what string, timeout time.Duration, ok func([]mailouttest.Message) bool) []mailouttest.Message {
	b.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		msgs := b.Messages()
		if ok(msgs) {
			return msgs
		}
		select {
		case <-b.w.Events:
		case err := <-b.w.Errors:
			b.t.Fatalf("watching the outbound maildir: %v", err)
		case <-deadline.C:
			b.t.Fatalf("outbound maildir: %s (%d copies there)", what, len(msgs))
		}
	}
}

// settle waits until the maildir holds every copy queued so far.
func (b *maildirBox) settle(d *Daemon) []mailouttest.Message {
	b.t.Helper()
	n := queuedSoFar(b.t, d)
	return b.waitUntil("waiting for every queued mail", 10*time.Second, func(m []mailouttest.Message) bool { return len(m) >= n })
}

// mailTo waits for a copy to rcpt whose text body contains text.
func (b *maildirBox) mailTo(rcpt, text string) mailouttest.Message {
	b.t.Helper()
	var found mailouttest.Message
	b.waitUntil("no mail to "+rcpt+" containing "+text, 10*time.Second, func(msgs []mailouttest.Message) bool {
		i := slices.IndexFunc(to(msgs, rcpt), func(m mailouttest.Message) bool { return strings.Contains(textBody(b.t, m), text) })
		if i >= 0 {
			found = to(msgs, rcpt)[i]
		}
		return i >= 0
	})
	return found
}
