package webhook_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
	"github.com/ticketgate/ticketgate/webhook"
)

func payloadSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "docs", "webhook.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("webhook.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("webhook.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPayloadMatchesSchema: the json body of every event kind, of a test
// push and of edge cases (long unicode subject, no link, every field
// set) validates against docs/webhook.schema.json; a body the schema does
// not describe fails it.
func TestPayloadMatchesSchema(t *testing.T) {
	s := payloadSchema(t)
	at := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
	base := store.HookItem{EventID: ticket.NewHookEventID(), Project: "ACME", Ticket: "ACME-42", Hook: "ops", Time: at,
		Mention: []string{"alice@example.com", "boss@example.com"},
		Vars: store.HookVars{ProjectName: "Acme Support", Subject: "Printer on fire", Status: "open", OldStatus: "new", Priority: "high",
			Reporter: "carol@customer.example", Assignee: "alice@example.com", Actor: "boss@example.com", Link: "https://desk.example.com/t/ACME-42"}}
	var cases []struct {
		name string
		it   store.HookItem
		test bool
	}
	add := func(name string, it store.HookItem, test bool) {
		cases = append(cases, struct {
			name string
			it   store.HookItem
			test bool
		}{name, it, test})
	}
	for _, k := range store.EventKinds() {
		it := base
		it.Kind = k
		add(k.String(), it, false)
	}
	bare := base
	bare.Kind, bare.Mention, bare.Vars = store.EvRequestCreated, nil, store.HookVars{Status: "new"}
	add("bare", bare, false)
	long := base
	long.Kind, long.Assignment, long.Vars.Subject = store.EvAssigned, true, strings.Repeat("Grüße <&> \"x\" ", 100)
	add("long subject", long, false)
	test := base
	test.Ticket, test.Kind = "", store.EvRequestCreated
	add("test push", test, true)
	for _, c := range cases {
		req, err := webhook.Compose(&c.it, "json", c.test)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(req.Body))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := s.Validate(v); err != nil {
			t.Errorf("%s: %s does not match the schema: %v", c.name, req.Body, err)
		}
	}
	for _, bad := range []string{
		`{"version":2,"id":"evt_00000000000000000000000000000000","event":"assigned","time":"2026-05-01T12:00:00Z","project":{"key":"ACME"},"mention":[]}`,
		`{"version":1,"id":"evt_00000000000000000000000000000000","event":"assigned","time":"2026-05-01T12:00:00Z","project":{"key":"ACME"},"mention":[],"url":"x"}`,
		`{"version":1,"id":"x","event":"assigned","time":"yesterday","project":{"key":"ACME"},"mention":[]}`,
	} {
		v, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if s.Validate(v) == nil {
			t.Errorf("the schema accepts %s", bad)
		}
	}
}
