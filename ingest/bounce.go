package ingest

import (
	"context"
	"fmt"
	"strings"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/policy"
	"github.com/ticketgate/ticketgate/ticket"
)

// bounce matches a delivery status notification to the copy of ours that
// bounced, by the secret in the envelope recipient acme+bounce-<secret>@…
// and nothing else: every copy we send has its own secret (a bounce
// token), which appears in no header, so only a report about that copy
// knows it. Message-IDs and References in the report are not evidence:
// they travel to everyone on a thread. The report is recorded on the
// copy's ticket as an internal note. A permanent failure of that copy's
// recipient suppresses the recipient for suppress_days — never a staff
// address: the agents are told instead. It returns handled=false when the
// report names no secret of ours (a reply token at the bounce address, as
// older mail used, proves nothing); the caller then records it as
// ordinary automatic mail.
func (p *Pipeline) bounce(ctx context.Context, cfg *config.Config, proj *config.Project, m *ticket.Mail, b *policy.Bounce, tag string) (*ticket.Result, bool, error) {
	if tag == "" {
		return nil, false, nil
	}
	failed := false
	for _, r := range b.Recipients {
		failed = failed || r.Permanent || strings.EqualFold(r.Action, "failed")
	}
	return p.engine.RecordBounce(ctx, proj.Key, &ticket.Bounce{
		Mail:   m,
		Secret: tag,
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
