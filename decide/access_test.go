package decide

import (
	"errors"
	"testing"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

func typesProject(t *testing.T) *config.Project {
	t.Helper()
	_, p := testConfig(t)
	p.RequestTypes = []config.RequestType{
		{Name: "incident", Match: config.RequestTypeMatch{Subaddress: "incident", Keywords: []string{"outage", "down", "not working"}}, Priority: "high"},
		{Name: "billing", Match: config.RequestTypeMatch{Subaddress: "billing", Keywords: []string{"invoice"}}},
		{Name: "question", Default: true},
	}
	return p
}

func TestRequestType(t *testing.T) {
	p := typesProject(t)
	typeCmd := func(name string) []Command {
		return []Command{{Name: "type", Args: []string{name}, Line: "#type " + name}}
	}
	for _, c := range []struct {
		name     string
		f        TypeFacts
		want, by string
	}{
		{"sub-address first", TypeFacts{Subaddress: "Billing", Commands: typeCmd("incident"), MayType: true, Subject: "outage"}, "billing", TypeBySubaddress},
		{"unknown sub-address: next rules", TypeFacts{Subaddress: "sales", Subject: "Server down"}, "incident", TypeByKeyword},
		{"#type before keywords", TypeFacts{Commands: typeCmd("billing"), MayType: true, Subject: "outage"}, "billing", TypeByCommand},
		{"#type not allowed", TypeFacts{Commands: typeCmd("billing"), Subject: "hello"}, "question", TypeByDefault},
		{"#type unknown name", TypeFacts{Commands: typeCmd("sales"), MayType: true, Subject: "hello"}, "question", TypeByDefault},
		{"#type any case", TypeFacts{Commands: typeCmd("BILLING"), MayType: true}, "billing", TypeByCommand},
		{"keyword phrase", TypeFacts{Subject: "Printer NOT WORKING again"}, "incident", TypeByKeyword},
		{"keyword order of types", TypeFacts{Subject: "invoice for the outage"}, "incident", TypeByKeyword},
		{"keyword inside a word does not count", TypeFacts{Subject: "download link"}, "question", TypeByDefault},
		{"default", TypeFacts{Subject: "How do I …"}, "question", TypeByDefault},
	} {
		got, by := RequestType(p, c.f)
		if got != c.want || by != c.by {
			t.Errorf("%s: %q by %q, want %q by %q", c.name, got, by, c.want, c.by)
		}
	}
	p.RequestTypes = p.RequestTypes[:2] // no default
	if got, by := RequestType(p, TypeFacts{Subject: "hello"}); got != "" || by != "" {
		t.Errorf("no match without a default: %q by %q", got, by)
	}
	p.RequestTypes = nil
	if got, _ := RequestType(p, TypeFacts{Subaddress: "incident", Subject: "outage"}); got != "" {
		t.Errorf("a project without types: %q", got)
	}
}

func TestTypePriority(t *testing.T) {
	p := typesProject(t)
	for typ, want := range map[string]string{"incident": "high", "billing": "normal", "": "normal", "gone": "normal"} {
		if got := TypePriority(p, typ); got != want {
			t.Errorf("%q: %s, want %s", typ, got, want)
		}
	}
}

func TestVisibility(t *testing.T) {
	internal := []Command{{Name: "internal", Line: "#internal"}}
	agentW := Who{Author: agent, Staff: true, Agent: true}
	unproven := Who{Author: agent, Staff: true}
	cust := Who{Author: customer, Proven: true}
	for _, c := range []struct {
		name                string
		created, toInternal bool
		w                   Who
		cmds                []Command
		want                string
	}{
		{"agent to the internal address", true, true, agentW, nil, store.VisibilityInternal},
		{"agent's #internal on a new request", true, false, agentW, internal, store.VisibilityInternal},
		{"agent's plain new request", true, false, agentW, nil, store.VisibilityPublic},
		{"unproven agent to the internal address", true, true, unproven, nil, store.VisibilityPublic},
		{"unproven agent's #internal", true, false, unproven, internal, store.VisibilityPublic},
		{"customer's #internal", true, false, cust, internal, store.VisibilityPublic},
		{"an existing ticket stays as it is", false, true, agentW, internal, store.VisibilityPublic},
	} {
		if got := Visibility(c.created, c.toInternal, c.w, c.cmds); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestRequesterArg(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
		ok   bool
	}{
		{[]string{"Carl@Customer.example"}, customer, true},
		{[]string{"<carl@customer.example>"}, customer, true},
		{[]string{"Carl", "Customer", "<carl@customer.example>"}, customer, true},
		{nil, "", false},
		{[]string{"carl"}, "", false},
		{[]string{"a@b.example", "c@d.example"}, "", false},
	} {
		got, err := RequesterArg(Command{Name: "requester", Args: c.args})
		if c.ok && (err != nil || got != c.want) {
			t.Errorf("%q: %q, %v; want %q", c.args, got, err, c.want)
		}
		if !c.ok && !errors.Is(err, ErrBadAddress) {
			t.Errorf("%q: %q, %v; want ErrBadAddress", c.args, got, err)
		}
	}
}
