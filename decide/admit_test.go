package decide

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

var keyRE = regexp.MustCompile(`OX-[0-9]{4}-[A-Z0-9]{6}`)

func TestAdmit(t *testing.T) {
	for _, c := range []struct {
		name string
		f    AdmitFacts
		want Admission
	}{
		{"anyone", AdmitFacts{OpenTo: config.OpenToAnyone}, Admission{}},
		{"unset is anyone", AdmitFacts{}, Admission{}},
		{"known: a known sender", AdmitFacts{OpenTo: config.OpenToKnown, Known: true}, Admission{}},
		{"known: a stranger", AdmitFacts{OpenTo: config.OpenToKnown}, Admission{Draft: true, Missing: store.MissingKnown}},
		{"known: a stranger with a valid key", AdmitFacts{OpenTo: config.OpenToKnown, Key: KeyValid}, Admission{}},
		{"known: staff", AdmitFacts{OpenTo: config.OpenToKnown, Staff: true}, Admission{}},
		{"key: none", AdmitFacts{OpenTo: config.OpenToKey, Known: true}, Admission{Draft: true, Missing: store.MissingKey}},
		{"key: expired", AdmitFacts{OpenTo: config.OpenToKey, Key: KeyExpired}, Admission{Draft: true, Missing: store.MissingKey}},
		{"key: bound elsewhere", AdmitFacts{OpenTo: config.OpenToKey, Key: KeyElsewhere}, Admission{Draft: true, Missing: store.MissingKey}},
		{"key: unknown", AdmitFacts{OpenTo: config.OpenToKey, Key: KeyUnknown}, Admission{Draft: true, Missing: store.MissingKey}},
		{"key: valid", AdmitFacts{OpenTo: config.OpenToKey, Key: KeyValid}, Admission{}},
		{"key: staff open tickets without one", AdmitFacts{OpenTo: config.OpenToKey, Staff: true}, Admission{}},
	} {
		if got := Admit(c.f); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestCheckKey(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d.AddDate(0, 0, 1) }
	keys := []config.SupportKey{
		{Key: "OX-1111-AAAAAA", Bound: "customer.example", Expires: day("2026-12-31")},
		{Key: "OX-2222-BBBBBB", Expires: day("2026-01-31")},
		{Key: "OX-3333-CCCCCC", Bound: "vip@partner.test"},
		// Listed twice: expired for one customer, valid for another.
		{Key: "OX-4444-DDDDDD", Bound: "old.example", Expires: day("2020-01-01")},
		{Key: "OX-4444-DDDDDD", Bound: "new.example"},
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		key, sender string
		at          time.Time
		want        KeyState
	}{
		{"OX-1111-AAAAAA", "carl@customer.example", now, KeyValid},
		{"OX-1111-AAAAAA", "Carl@CUSTOMER.example", now, KeyValid},
		{"OX-1111-AAAAAA", "eve@other.example", now, KeyElsewhere},
		{"OX-1111-AAAAAA", "carl@customer.example", time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC), KeyValid},
		{"OX-1111-AAAAAA", "carl@customer.example", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), KeyExpired},
		{"OX-2222-BBBBBB", "anyone@x.example", now, KeyExpired},
		{"OX-3333-CCCCCC", "vip@partner.test", now, KeyValid},
		{"OX-3333-CCCCCC", "other@partner.test", now, KeyElsewhere},
		{"OX-4444-DDDDDD", "a@new.example", now, KeyValid},
		{"OX-4444-DDDDDD", "a@old.example", now, KeyExpired},
		{"OX-9999-ZZZZZZ", "carl@customer.example", now, KeyUnknown},
	} {
		if got, _ := CheckKey(keys, c.key, c.sender, c.at); got != c.want {
			t.Errorf("%s for %s at %s: %v, want %v", c.key, c.sender, c.at.Format(time.DateTime), got, c.want)
		}
	}
	if st, k := BestKey(keys, []string{"OX-9999-ZZZZZZ", "OX-2222-BBBBBB", "OX-1111-AAAAAA"}, "carl@customer.example", now); st != KeyValid || k != "OX-1111-AAAAAA" {
		t.Errorf("BestKey: %v %q", st, k)
	}
	if st, k := BestKey(keys, nil, "carl@customer.example", now); st != KeyNone || k != "" {
		t.Errorf("BestKey of nothing: %v %q", st, k)
	}
}

func TestFindKeysAndRedact(t *testing.T) {
	got := FindKeys(keyRE, "OX-1111-AAAAAA", "Re: key OX-1111-AAAAAA", "also OX-2222-BBBBBB and ox-3333-cccccc")
	if strings.Join(got, " ") != "OX-1111-AAAAAA OX-2222-BBBBBB" {
		t.Errorf("FindKeys: %v", got)
	}
	if FindKeys(nil, "OX-1111-AAAAAA") != nil {
		t.Error("FindKeys without a pattern found keys")
	}
	for in, want := range map[string]string{
		"key OX-1111-AAAAAA, thanks":    "key **********AAAA, thanks",
		"OX-1111-AAAAAA/OX-2222-BBBBBB": "**********AAAA/**********BBBB",
		"no key here":                   "no key here",
		"":                              "",
	} {
		if got := Redact(keyRE, in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Redact(nil, "OX-1111-AAAAAA"); got != "OX-1111-AAAAAA" {
		t.Errorf("Redact without a pattern: %q", got)
	}
	for in, want := range map[string]string{"abcd": "****", "abcde": "*bcde", "äöüßx": "*öüßx", "": ""} {
		if got := RedactKey(in); got != want {
			t.Errorf("RedactKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTellDraft(t *testing.T) {
	person := Decide(Signals{})
	for _, c := range []struct {
		name        string
		v           Verdict
		mailedToday bool
		want        bool
	}{
		{"a person's first mail today", person, false, true},
		{"a person's second mail today", person, true, false},
		{"automatic", Decide(Signals{Automatic: "Auto-Submitted: auto-generated"}), false, false},
		{"spam-flagged", Decide(Signals{Spam: "X-Spam-Flag: YES"}), false, false},
		{"refused (over a limit)", Decide(Signals{Refusal: "too large"}), false, false},
		{"forged", Decide(Signals{DMARCFail: true}), false, false},
		{"our own mail back", Decide(Signals{Loop: "ours"}), false, false},
		{"quiet (IMAP adoption)", Decide(Signals{Quiet: true}), false, false},
		{"blocked sender", Decide(Signals{BlockedSender: true, Blocked: "spam"}), false, false},
	} {
		if got := TellDraft(c.v, c.mailedToday); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if DraftTemplate(store.MissingKnown) != "customer/draft_unknown_sender" || DraftTemplate(store.MissingKey) != "customer/draft_needs_key" {
		t.Error("DraftTemplate")
	}
}

func TestDraftToken(t *testing.T) {
	for subject, want := range map[string]string{
		"Re: [ACME-D17] Printer":     "ACME-D17",
		"re: [acme-d3] x":            "ACME-D3",
		"[ACME-17] not a draft":      "",
		"[ACME-D] no number":         "",
		"[ACME-D07] leading zero":    "",
		"[BETA-D1] other project":    "",
		"[ACME-D1x] [ACME-D2] later": "ACME-D2",
		"[ACME-D12":                  "",
	} {
		if got := DraftToken("ACME", subject); got != want {
			t.Errorf("DraftToken(%q) = %q, want %q", subject, got, want)
		}
	}
}
