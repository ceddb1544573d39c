package decide

import (
	"slices"
	"strconv"
	"testing"

	"github.com/ticketgate/ticketgate/store"
)

// hugeReferences is the attack of issue 15 item 3: 115,000 IDs (965 KB)
// in References, the real parent last.
func hugeReferences(n int) []string {
	var refs []string
	for i := range n {
		refs = append(refs, strconv.Itoa(i)+"@x")
	}
	return refs
}

// TestReferencedIDsNewestHundred: threading considers In-Reply-To and
// the newest References, at most MaxReferences IDs in all — which bounds
// the index look-ups threading does, whatever the mail holds — and
// repeats count once.
func TestReferencedIDsNewestHundred(t *testing.T) {
	got := ReferencedIDs([]string{"parent@customer.example"}, hugeReferences(115000))
	if len(got) != MaxReferences {
		t.Fatalf("%d IDs considered, want %d", len(got), MaxReferences)
	}
	if got[0] != "parent@customer.example" || got[1] != "114999@x" || got[99] != "114901@x" {
		t.Errorf("not In-Reply-To then the newest References: %q … %q", got[:2], got[99])
	}
	// Repeats (an easy way to make a long field) count once.
	if got := ReferencedIDs([]string{"a@x"}, []string{"b@x", "a@x", "b@x", "a@x", ""}); !slices.Equal(got, []string{"a@x", "b@x"}) {
		t.Errorf("with repeats: %q", got)
	}
	// A huge In-Reply-To is cut too.
	if got := ReferencedIDs(hugeReferences(500), nil); len(got) != MaxReferences || got[0] != "0@x" {
		t.Errorf("huge In-Reply-To: %d IDs, first %q", len(got), got[0])
	}
}

// BenchmarkReferencedIDs115k measures the References work the attack
// costs (it was quadratic: 15.9 s, inside the write transaction).
func BenchmarkReferencedIDs115k(b *testing.B) {
	refs := hugeReferences(115000)
	b.ReportAllocs()
	for b.Loop() {
		if len(ReferencedIDs([]string{"parent@customer.example"}, refs)) != MaxReferences {
			b.Fatal("wrong count")
		}
	}
}

func TestTokens(t *testing.T) {
	for _, c := range []struct {
		id  string
		tok string
		ok  bool
	}{
		{"tg.abc123@support.example.com", "abc123", true},
		{"tg.abc123.2@support.example.com", "abc123", true},
		{"tg.@support.example.com", "", false},
		{"tg.abc", "", false},
		{"other@support.example.com", "", false},
		{"tg..x@example.com", "", false},
	} {
		tok, ok := TokenFromMessageID(c.id)
		if tok != c.tok || ok != c.ok {
			t.Errorf("TokenFromMessageID(%q) = %q, %v; want %q, %v", c.id, tok, ok, c.tok, c.ok)
		}
	}
	got := ReplyTokens("tag1", []string{"x@y", "tg.t2@support.example.com", "tg.t3.1@support.example.com"})
	if !slices.Equal(got, []string{"tag1", "t2", "t3"}) {
		t.Errorf("ReplyTokens: %q", got)
	}
	if got := ReplyTokens("", []string{"x@y"}); len(got) != 0 {
		t.Errorf("ReplyTokens without any: %q", got)
	}
}

func TestSubjects(t *testing.T) {
	for subject, want := range map[string]string{
		"Re: [ACME-12] Printer":               "ACME-12",
		"[acme-0012] x":                       "ACME-12",
		"[OTHER-3] and [ACME-4] and [ACME-5]": "ACME-4",
		"[ACME-] no number":                   "",
		"ACME-12 without brackets":            "",
	} {
		if got := SubjectToken("ACME", subject); got != want {
			t.Errorf("SubjectToken(%q) = %q, want %q", subject, got, want)
		}
	}
	for subject, want := range map[string]string{
		"Re: AW: Fwd: Printer":  "Printer",
		"RE[2]: Printer":        "Printer",
		"SV： Skrivare":          "Skrivare",
		"  ":                    "(no subject)",
		"Re:":                   "(no subject)",
		"Regarding the printer": "Regarding the printer",
	} {
		if got := CleanSubject(subject); got != want {
			t.Errorf("CleanSubject(%q) = %q, want %q", subject, got, want)
		}
	}
}

func TestThread(t *testing.T) {
	const author = "carl@customer.example"
	reply := func(ticket, rcpt string, proof bool) *store.Token {
		return &store.Token{Kind: store.TokenReply, Project: "ACME", Ticket: ticket, Recipient: rcpt, Proof: proof}
	}
	for _, c := range []struct {
		name string
		f    ThreadFacts
		want Threading
	}{
		{"nothing: new", ThreadFacts{}, Threading{Rule: ByNew}},
		{"a proven token of the author", ThreadFacts{Tokens: []*store.Token{reply("ACME-1", "Carl@Customer.example", true)}},
			Threading{Key: "ACME-1", Rule: ByReplyToken, TokenFor: "carl@customer.example"}},
		{"a token without proof threads but proves nothing", ThreadFacts{Tokens: []*store.Token{reply("ACME-1", author, false)}},
			Threading{Key: "ACME-1", Rule: ByReplyToken}},
		{"the author's token wins over another's", ThreadFacts{Tokens: []*store.Token{nil, reply("ACME-1", "dana@customer.example", true), reply("ACME-2", author, true)}},
			Threading{Key: "ACME-2", Rule: ByReplyToken, TokenFor: author}},
		{"the first of two others' tokens", ThreadFacts{Tokens: []*store.Token{reply("ACME-1", "dana@customer.example", true), reply("ACME-2", "eve@customer.example", true)}},
			Threading{Key: "ACME-1", Rule: ByReplyToken, TokenFor: "dana@customer.example"}},
		{"another project's token, a link token: ignored", ThreadFacts{
			Tokens:    []*store.Token{{Kind: store.TokenReply, Project: "OTHER", Ticket: "OTHER-1"}, {Kind: store.TokenLink, Project: "ACME", Ticket: "ACME-9"}},
			Reference: "ACME-3"}, Threading{Key: "ACME-3", Rule: ByReferences}},
		{"references beat the subject", ThreadFacts{Reference: "ACME-3", Subject: "ACME-4"}, Threading{Key: "ACME-3", Rule: ByReferences}},
		{"the subject", ThreadFacts{Subject: "ACME-4"}, Threading{Key: "ACME-4", Rule: BySubjectToken}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Thread("ACME", author, c.f); got != c.want {
				t.Errorf("Thread = %+v, want %+v", got, c.want)
			}
		})
	}
}
