package ingest

import (
	"context"
	"fmt"
	"strings"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/policy"
	"github.com/ticketgate/ticketgate/ticket"
)

// bounce matches a delivery status notification to the mail of ours that
// bounced — by the token in the envelope recipient acme+bounce-<token>@…
// that every mail we send carries as its envelope sender, else by the
// bounced message's Message-ID (tg.<token>@…) — and records it on that
// ticket as an internal note. A permanent failure suppresses the recipient
// for suppress_days and tells the agents. The records are written by the
// domain (ticket.Engine.RecordBounce); this only reads the report. It
// returns handled=false when the bounce matches nothing of ours; the
// caller then records it as ordinary automatic mail.
func (p *Pipeline) bounce(ctx context.Context, cfg *config.Config, proj *config.Project, m *ticket.Mail, b *policy.Bounce, tag string) (*ticket.Result, bool, error) {
	var candidates []string
	if tag != "" {
		candidates = append(candidates, tag)
	}
	if tok, ok := ticket.TokenFromMessageID(b.OriginalMessageID); ok {
		candidates = append(candidates, tok)
	}
	for _, id := range append(append([]string(nil), m.InReplyTo...), m.References...) {
		if tok, ok := ticket.TokenFromMessageID(id); ok {
			candidates = append(candidates, tok)
		}
	}
	if len(candidates) == 0 {
		return nil, false, nil
	}
	failed := false
	for _, r := range b.Recipients {
		failed = failed || r.Permanent || strings.EqualFold(r.Action, "failed")
	}
	return p.engine.RecordBounce(ctx, proj.Key, &ticket.Bounce{
		Mail:   m,
		Tokens: candidates,
		Summary: func(rcpt string) string {
			return bounceSummary(b, rcpt)
		},
		Failed: failed,
		// Given up after temporary failures only (a host down for days):
		// the mail is lost, but the address may well work next time.
		Permanent:    len(b.PermanentFailures()) > 0,
		SuppressDays: cfg.Limits.SuppressDays,
	})
}

func bounceSummary(b *policy.Bounce, rcpt string) string {
	var parts []string
	for _, r := range b.Recipients {
		s := r.Address
		if r.Status != "" {
			s += " " + r.Status
		}
		if r.Diagnostic != "" {
			s += " (" + r.Diagnostic + ")"
		}
		parts = append(parts, s)
	}
	kind := "permanent failure"
	if len(b.PermanentFailures()) == 0 {
		kind = "delivery delayed"
		for _, r := range b.Recipients {
			if strings.EqualFold(r.Action, "failed") {
				kind = "delivery failed"
			}
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%s for %s", kind, rcpt)
	}
	return fmt.Sprintf("%s for %s: %s", kind, rcpt, strings.Join(parts, "; "))
}
