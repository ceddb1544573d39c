package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/daemon"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/webhook"
)

// TestWebhooksCLI: `show` and `webhooks` list a ticket's queued deliveries
// by hook name, never the secret URL; `webhooks test` pushes a test event
// now and says what each endpoint answered.
func TestWebhooksCLI(t *testing.T) {
	pushes := make(chan webhook.Payload, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/services/") {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var p webhook.Payload
		json.Unmarshal(b, &p)
		pushes <- p
	}))
	defer srv.Close()
	dir := t.TempDir()
	urlFile := filepath.Join(dir, "team.url")
	os.WriteFile(urlFile, []byte(srv.URL+"/services/T1/B2/SECRETPATH\n"), 0o600)
	path := writeConfig(t, dir, `    webhooks:
      - url: `+srv.URL+`/ok
        name: ops
        events: [request_created]
      - url_file: `+urlFile+`
        format: slack
        events: [request_created]
`)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	attempts := make(chan string, 16)
	d, err := daemon.Start(cfg, slog.New(slog.DiscardHandler), daemon.Options{HookAttempt: func(it *store.HookItem, result string, _ error) {
		attempts <- it.Hook + " " + result
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	raw := "From: carl@customer.example\r\nTo: acme@support.example.com\r\nSubject: Printer on fire\r\nMessage-ID: <wh1@customer.example>\r\n\r\nIt burns.\r\n"
	if code, _, e := runCmd([]string{"deliver", "-c", path}, raw); code != 0 {
		t.Fatal(e)
	}
	seen := map[string]bool{}
	for !seen["ops delivered"] || !seen["team.url deferred"] {
		select {
		case a := <-attempts:
			seen[a] = true
		case <-time.After(20 * time.Second):
			t.Fatalf("attempts seen: %v", seen)
		}
	}
	if p := <-pushes; p.Event != "request_created" || p.Ticket == nil || p.Ticket.Key != "ACME-1" {
		t.Errorf("push %+v", p)
	}

	code, out, stderr := runCmd([]string{"show", "-c", path, "ACME-1"}, "")
	if code != 0 || !strings.Contains(out, "--- webhook deliveries queued") || !strings.Contains(out, "team.url") ||
		!strings.Contains(out, "endpoint answered 503") || !strings.Contains(out, "webhook_delivered") || !strings.Contains(out, "webhook ops, delivery") {
		t.Errorf("show: %d\n%s%s", code, out, stderr)
	}
	code, list, _ := runCmd([]string{"webhooks", "-c", path, "--project", "acme"}, "")
	if code != 0 || !strings.Contains(list, "team.url") || !strings.Contains(list, "request_created") || strings.Contains(list, "ops ") {
		t.Errorf("webhooks: %d\n%s", code, list)
	}
	code, one, _ := runCmd([]string{"webhooks", "test", "-c", path, "--project", "ACME", "--hook", "ops"}, "")
	if code != 0 || !strings.Contains(one, "ops (json): delivered, event id evt_") {
		t.Errorf("webhooks test --hook ops: %d\n%s", code, one)
	}
	select {
	case p := <-pushes:
		if p.Event != "test" || !p.Test || p.Ticket != nil || p.Actor != "alice@example.com" {
			t.Errorf("test push %+v", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no test push")
	}
	code, all, _ := runCmd([]string{"webhooks", "test", "-c", path, "--project", "ACME"}, "")
	if code != exitFailure || !strings.Contains(all, "team.url (slack): FAILED: endpoint answered 503") || !strings.Contains(all, "ops (json): delivered") {
		t.Errorf("webhooks test: %d\n%s", code, all)
	}
	for _, o := range []string{out, list, one, all} {
		if strings.Contains(o, "SECRETPATH") || strings.Contains(o, srv.URL) {
			t.Errorf("a URL is shown:\n%s", o)
		}
	}
	if code, _, e := runCmd([]string{"webhooks", "test", "-c", path}, ""); code != exitConfig || !strings.Contains(e, "usage") {
		t.Errorf("test without --project: %d %s", code, e)
	}
}
