package daemon

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/storetest"
	"github.com/ticketgate/ticketgate/webhook"
)

type hookRequest struct {
	header http.Header
	body   []byte
}

// TestWebhookPushesThroughTheDaemon: a new request by SMTP and an
// assignment by the admin path push signed JSON to a local endpoint, and
// the ticket's history records each delivery.
func TestWebhookPushesThroughTheDaemon(t *testing.T) {
	got := make(chan hookRequest, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- hookRequest{r.Header.Clone(), b}
	}))
	defer srv.Close()
	secret := filepath.Join(t.TempDir(), "hook.secret")
	os.WriteFile(secret, []byte("k3y\n"), 0o600)
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := testConfig(t, t.TempDir(), sink)
	c.Projects[0].Webhooks = []config.Webhook{{Name: "ops", URL: srv.URL, SecretFile: secret, Events: []string{"request_created"},
		To: []string{"agents", "assignee"}, Link: "https://desk.example.com/t/{ticket}"}}
	outcomes := make(chan string, 16)
	d, err := Start(c, testLogger(t), Options{HookAttempt: func(_ *store.HookItem, result string, _ error) { outcomes <- result }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		msg("carl@customer.example", "acme@support.example.com", "Printer on fire", "req1@customer.example", "It burns."))
	payload := func() (hookRequest, webhook.Payload) {
		t.Helper()
		select {
		case r := <-got:
			var p webhook.Payload
			if err := json.Unmarshal(r.body, &p); err != nil {
				t.Fatal(err)
			}
			if err := webhook.Verify("k3y", r.header.Get(webhook.HeaderSignature), r.body, time.Now(), webhook.Tolerance); err != nil {
				t.Errorf("signature: %v", err)
			}
			return r, p
		case <-time.After(20 * time.Second):
			t.Fatal("no push arrived")
		}
		panic("unreachable")
	}
	_, p := payload()
	if p.Event != "request_created" || p.Ticket == nil || p.Ticket.Key != "ACME-1" || p.Ticket.Reporter != "carl@customer.example" ||
		p.Ticket.URL != "https://desk.example.com/t/ACME-1" || len(p.Mention) != 1 || p.Mention[0] != "alice@example.com" {
		t.Errorf("request push %+v %+v", p, p.Ticket)
	}
	if _, err := d.engine.Assign(context.Background(), "ACME-1", "alice@example.com", "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	_, p = payload()
	if p.Event != "assigned" || !p.Assignment || p.Ticket.Assignee != "alice@example.com" || p.Actor != "alice@example.com" {
		t.Errorf("assignment push %+v %+v", p, p.Ticket)
	}
	for range 2 {
		select {
		case o := <-outcomes:
			if o != webhook.Delivered {
				t.Fatalf("outcome %s", o)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the deliveries were not recorded")
		}
	}
	var delivered int
	d.Store().View(func(tx store.Tx) error {
		evs, _ := tx.Events("ACME-1")
		for _, e := range evs {
			if e.Kind == store.EvWebhookDelivered && e.Template == "ops" {
				delivered++
			}
		}
		return nil
	})
	if delivered != 2 {
		t.Errorf("%d webhook_delivered events on ACME-1, want 2", delivered)
	}
	families, err := d.ops.metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case "ticketgate_webhook_attempts_total":
				found[f.GetName()+"/"+m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			case "ticketgate_webhook_queue_items":
				found[f.GetName()] = m.GetGauge().GetValue()
			}
		}
	}
	if found["ticketgate_webhook_attempts_total/delivered"] != 2 || found["ticketgate_webhook_queue_items"] != 0 {
		t.Errorf("webhook metrics %v", found)
	}
	if _, ok := found["ticketgate_webhook_queue_items"]; !ok {
		t.Error("no ticketgate_webhook_queue_items gauge")
	}
}

// TestMailFlowsWhileWebhookHangs: with every webhook sender stuck on an
// endpoint that does not answer, new requests still get their mail.
func TestMailFlowsWhileWebhookHangs(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer srv.Close()
	defer free()
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := testConfig(t, t.TempDir(), sink)
	c.Projects[0].Webhooks = []config.Webhook{{Name: "slow", URL: srv.URL, Events: []string{"request_created"}, Timeout: time.Minute}}
	d := start(t, c)
	t.Cleanup(free) // before the daemon's shutdown waits for the stuck requests
	send := func(n int) {
		id := "req" + string(rune('a'+n)) + "@customer.example"
		mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
			msg("carl@customer.example", "acme@support.example.com", "Printer on fire", id, "It burns."))
	}
	send(0)
	send(1)
	// Both webhook senders are now stuck.
	for range 2 {
		select {
		case <-arrived:
		case <-time.After(20 * time.Second):
			t.Fatal("the pushes did not reach the endpoint")
		}
	}
	send(2)
	send(3)
	want := storetest.Queued(t, d.Store())
	if want < 8 {
		t.Fatalf("only %d mails queued for 4 requests", want)
	}
	if _, err := sink.WaitFor(want, 20*time.Second); err != nil {
		t.Fatalf("mail stalled behind a hanging webhook: %v (%d of %d at the sink)", err, len(sink.Messages()), want)
	}
	select {
	case <-arrived:
		t.Fatal("a third push started although both webhook senders are stuck")
	default:
	}
	var queued int
	d.Store().View(func(tx store.Tx) error { queued, _, _ = tx.HookStats(); return nil })
	if queued != 4 {
		t.Errorf("%d webhook deliveries queued, want 4 (2 in flight, 2 waiting)", queued)
	}
}
