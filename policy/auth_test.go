package policy

import (
	"reflect"
	"testing"

	"github.com/ticketgate/ticketgate/message"
)

var trusted = []string{"mx.ours.example"}

func TestAuthenticated(t *testing.T) {
	cases := []struct {
		name string
		from string
		ar   []string // Authentication-Results values, top first
		want Proof
	}{
		{"dmarc pass from trusted id", "alice@customer.example",
			[]string{"mx.ours.example; spf=pass smtp.mailfrom=customer.example; dmarc=pass header.from=customer.example"},
			Proof{DMARCPass: true, AuthservID: "mx.ours.example"}},
		{"trusted id in other case, trailing dot, version", "alice@customer.example",
			[]string{"MX.Ours.Example. 1; dmarc=pass header.from=Customer.Example"},
			Proof{DMARCPass: true, AuthservID: "mx.ours.example"}},
		{"untrusted id claiming dmarc pass", "alice@customer.example",
			[]string{"mx.evil.example; dmarc=pass header.from=customer.example; dkim=pass header.d=customer.example"},
			Proof{}},
		{"dkim aligned, same domain", "alice@customer.example",
			[]string{"mx.ours.example; dkim=pass header.d=customer.example header.s=s1"},
			Proof{DKIMAligned: true, AuthservID: "mx.ours.example"}},
		{"dkim aligned, signer is parent of From domain", "alice@support.customer.example",
			[]string{"mx.ours.example; dkim=pass header.d=customer.example"},
			Proof{DKIMAligned: true, AuthservID: "mx.ours.example"}},
		{"dkim by a subdomain does not vouch for the parent", "alice@customer.example",
			[]string{"mx.ours.example; dkim=pass header.d=mail.customer.example"},
			Proof{AuthservID: "mx.ours.example"}},
		{"dkim by an unrelated domain", "alice@customer.example",
			[]string{"mx.ours.example; dkim=pass header.d=mailer-service.example"},
			Proof{AuthservID: "mx.ours.example"}},
		{"dkim by a look-alike suffix", "alice@customer.example",
			[]string{"mx.ours.example; dkim=pass header.d=tomer.example"},
			Proof{AuthservID: "mx.ours.example"}},
		{"dkim by a public suffix", "shop@shop.co.uk",
			[]string{"mx.ours.example; dkim=pass header.d=co.uk"},
			Proof{AuthservID: "mx.ours.example"}},
		{"dkim by a top-level domain", "alice@customer.com",
			[]string{"mx.ours.example; dkim=pass header.d=com"},
			Proof{AuthservID: "mx.ours.example"}},
		{"dkim fail", "alice@customer.example",
			[]string{"mx.ours.example; dkim=fail header.d=customer.example"},
			Proof{AuthservID: "mx.ours.example"}},
		{"dkim pass with only header.i", "alice@customer.example",
			[]string{"mx.ours.example; dkim=pass header.i=@customer.example"},
			Proof{DKIMAligned: true, AuthservID: "mx.ours.example"}},
		{"dmarc fail", "ceo@bank.example",
			[]string{"mx.ours.example; dmarc=fail (p=reject dis=none) header.from=bank.example"},
			Proof{DMARCFail: true, AuthservID: "mx.ours.example"}},
		{"dmarc pass about another From", "alice@customer.example",
			[]string{"mx.ours.example; dmarc=pass header.from=other.example"},
			Proof{AuthservID: "mx.ours.example"}},
		// Comments with ";" inside split authres.Parse's fields unless they
		// are removed first (OpenDKIM writes exactly this).
		{"comments containing semicolons", "alice@customer.example",
			[]string{"mx.ours.example; dkim=pass (2048-bit key; unprotected) header.d=customer.example header.i=@customer.example header.b=\"AbC\"; dmarc=pass (p=none dis=none) header.from=customer.example"},
			Proof{DMARCPass: true, DKIMAligned: true, AuthservID: "mx.ours.example"}},
		{"untrusted pass above trusted fail", "alice@customer.example",
			[]string{
				"mx.evil.example; dmarc=pass header.from=customer.example",
				"mx.ours.example; dmarc=fail header.from=customer.example",
			},
			Proof{DMARCFail: true, AuthservID: "mx.ours.example"}},
		{"proof spread over two trusted headers", "alice@customer.example",
			[]string{
				"mx.ours.example; spf=pass smtp.mailfrom=customer.example",
				"mx2.ours.example; dkim=pass header.d=customer.example",
			},
			Proof{DKIMAligned: true, AuthservID: "mx2.ours.example"}},
		{"no results", "alice@customer.example",
			[]string{"mx.ours.example; none"},
			Proof{AuthservID: "mx.ours.example"}},
		{"no From", "",
			[]string{"mx.ours.example; dmarc=pass header.from=customer.example"},
			Proof{AuthservID: "mx.ours.example"}},
	}
	ids := append([]string{"mx2.ours.example"}, trusted...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := &message.Message{From: c.from}
			for _, v := range c.ar {
				m.Header = append(m.Header, message.HeaderField{Name: "Authentication-Results", Value: v})
			}
			got := Authenticated(m, ids, "")
			if got != c.want {
				t.Errorf("Authenticated() = %+v, want %+v", got, c.want)
			}
			if got.Proven() != (c.want.DMARCPass || c.want.DKIMAligned) {
				t.Errorf("Proven() = %v for %+v", got.Proven(), got)
			}
		})
	}
}

func TestAuthenticatedExplicitFrom(t *testing.T) {
	m := &message.Message{
		From:   "alice@customer.example",
		Header: []message.HeaderField{{Name: "Authentication-Results", Value: "mx.ours.example; dkim=pass header.d=customer.example"}},
	}
	if p := Authenticated(m, trusted, "boss@other.example"); p.Proven() {
		t.Errorf("signature of customer.example proved boss@other.example: %+v", p)
	}
	if p := Authenticated(m, trusted, "bob@customer.example"); !p.Proven() {
		t.Errorf("signature of customer.example did not prove bob@customer.example: %+v", p)
	}
}

func hdr(pairs ...string) []message.HeaderField {
	var h []message.HeaderField
	for i := 0; i+1 < len(pairs); i += 2 {
		h = append(h, message.HeaderField{Name: pairs[i], Value: pairs[i+1]})
	}
	return h
}

func TestStripForgedAuthResults(t *testing.T) {
	ours := "mx.ours.example; dmarc=pass header.from=customer.example"
	forged := "mx.ours.example; dmarc=pass header.from=bank.example"
	other := "mx.customer.example; spf=pass smtp.mailfrom=customer.example"
	received1 := "from mail.customer.example by mx.ours.example with ESMTPS id 1"
	received2 := "from laptop by mail.customer.example with ESMTPSA id 2"
	header := hdr(
		"Return-Path", "<alice@customer.example>",
		"Authentication-Results", ours,
		"Received", received1,
		"Authentication-Results", forged,
		"Authentication-Results", other,
		"Received", received2,
		"authentication-results", "(injected) MX.OURS.EXAMPLE.; dkim=pass header.d=bank.example",
		"From", "alice@customer.example",
	)

	t.Run("trusted path keeps ours above the first Received", func(t *testing.T) {
		kept, removed := StripForgedAuthResults(header, trusted, true)
		want := hdr(
			"Return-Path", "<alice@customer.example>",
			"Authentication-Results", ours,
			"Received", received1,
			"Authentication-Results", other,
			"Received", received2,
			"From", "alice@customer.example",
		)
		if removed != 2 || !reflect.DeepEqual(kept, want) {
			t.Errorf("removed %d, kept:\n%v\nwant 2 removed, kept:\n%v", removed, kept, want)
		}
	})
	t.Run("untrusted path removes every header claiming our id", func(t *testing.T) {
		kept, removed := StripForgedAuthResults(header, trusted, false)
		want := hdr(
			"Return-Path", "<alice@customer.example>",
			"Received", received1,
			"Authentication-Results", other,
			"Received", received2,
			"From", "alice@customer.example",
		)
		if removed != 3 || !reflect.DeepEqual(kept, want) {
			t.Errorf("removed %d, kept:\n%v\nwant 3 removed, kept:\n%v", removed, kept, want)
		}
	})
	t.Run("no Received field keeps ours on a trusted path", func(t *testing.T) {
		h := hdr("Authentication-Results", ours, "From", "alice@customer.example")
		kept, removed := StripForgedAuthResults(h, trusted, true)
		if removed != 0 || !reflect.DeepEqual(kept, h) {
			t.Errorf("removed %d, kept %v", removed, kept)
		}
	})
	t.Run("input is not modified", func(t *testing.T) {
		before := append([]message.HeaderField(nil), header...)
		StripForgedAuthResults(header, trusted, false)
		if !reflect.DeepEqual(before, header) {
			t.Errorf("header changed")
		}
	})
}

// TestForgedProofDoesNotSurviveStripping is the attack the two functions
// exist for: a sender writes our authserv-id's verdict into its own mail.
func TestForgedProofDoesNotSurviveStripping(t *testing.T) {
	m := &message.Message{
		From: "ceo@bank.example",
		Header: hdr(
			"Authentication-Results", "mx.ours.example; spf=softfail smtp.mailfrom=bank.example; dmarc=fail header.from=bank.example",
			"Received", "from attacker.example by mx.ours.example",
			"Authentication-Results", "mx.ours.example; dmarc=pass header.from=bank.example",
			"From", "ceo@bank.example",
		),
	}
	if p := Authenticated(m, trusted, ""); !p.DMARCPass {
		t.Fatalf("test premise: unstripped forged header should read as a pass, got %+v", p)
	}

	for _, trustedPath := range []bool{true, false} {
		kept, removed := StripForgedAuthResults(m.Header, trusted, trustedPath)
		cleaned := *m
		cleaned.Header = kept
		p := Authenticated(&cleaned, trusted, "")
		if p.Proven() || p.DMARCPass {
			t.Errorf("trustedPath=%v: forged pass survived (%d removed): %+v", trustedPath, removed, p)
		}
		if trustedPath && !p.DMARCFail {
			t.Errorf("trustedPath=true: genuine dmarc=fail from our MTA was lost: %+v", p)
		}
	}
}
