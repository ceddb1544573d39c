package notify

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/templates"
)

// TestSaidCache: a message's text is stripped once however many
// notifications render it, an edited text is stripped anew, and an entry
// survives one generation change (the outbox renders a message's mails
// thousands of messages after it arrived).
func TestSaidCache(t *testing.T) {
	var c saidCache
	text := "New words.\n\nOn Mon, Carl wrote:\n> old words\n"
	got := c.said(1, text)
	if !strings.Contains(got, "New words.") || strings.Contains(got, "old words") {
		t.Fatalf("stripped: %q", got)
	}
	if e := c.cur[1]; e.said != got {
		t.Fatalf("not kept: %+v", e)
	}
	// A kept entry answers without stripping: poison it to see it used.
	c.cur[1] = saidEntry{hash: c.cur[1].hash, said: "kept"}
	if s := c.said(1, text); s != "kept" {
		t.Fatalf("the same text stripped again: %q", s)
	}
	if s := c.said(1, "Edited.\n"); s != "Edited." && s != "Edited.\n" {
		t.Fatalf("an edited text: %q", s)
	}
	c.cur[1] = saidEntry{hash: c.cur[1].hash, said: "kept-edited"}
	for id := uint64(2); id < saidGen+2; id++ {
		c.said(id, "x")
	}
	if _, ok := c.old[1]; !ok {
		t.Fatal("the entry did not move to the old generation")
	}
	if s := c.said(1, "Edited.\n"); s != "kept-edited" {
		t.Fatalf("an entry of the old generation: %q", s)
	}
}

// TestRenderReadsTheMessageOnlyWhenShown: a mail whose templates show
// nothing of its message (the auto-reply to a new request) renders
// without reading it, so even a message that cannot be read does not
// stop it; the agents' notice of the same request shows the text the
// author wrote, stripped, and fails when the message cannot be read.
func TestRenderReadsTheMessageOnlyWhenShown(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var id uint64
	err = st.Update(context.Background(), func(tx store.Tx) error {
		m := &store.Message{Ticket: "ACME-1", Project: "ACME", Direction: "in", Kind: "request", From: "carl@customer.example",
			Subject: "Printer", Text: "New words.\n\nOn Mon, Carl wrote:\n> old words\n", Received: time.Now()}
		if err := tx.AddMessage(m); err != nil {
			return err
		}
		id = m.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	set := templates.New("")
	n := New(func() *config.Config { return &config.Config{} }, func() *templates.Set { return set }, nil, slog.New(slog.DiscardHandler))
	render := func(event string, msg uint64) (mailout.Body, error) {
		var body mailout.Body
		err := st.View(func(tx store.Tx) error {
			var err error
			body, err = n.Render(tx, &store.OutboxItem{Ticket: "ACME-1", Event: event, Language: "en", Recipient: "carl@customer.example", Message: msg,
				Vars: store.OutboxVars{ProjectName: "Acme Support", TicketSubject: "Printer"}})
			return err
		})
		return body, err
	}
	if b, err := render("internal/request_created", id); err != nil || !strings.Contains(b.Text, "New words.") || strings.Contains(b.Text, "old words") {
		t.Errorf("the agents' notice: %v\n%s", err, b.Text)
	}
	if _, err := render("internal/request_created", id+100); err == nil {
		t.Error("the agents' notice of a message that is not there rendered")
	}
	if b, err := render("customer/request_created", id+100); err != nil || !strings.Contains(b.Text, "ACME-1") {
		t.Errorf("the auto-reply read the message it does not show: %v\n%s", err, b.Text)
	}
}
