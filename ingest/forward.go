package ingest

import (
	"fmt"
	"strings"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/mailin"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// attachedForward reads the first message/rfc822 a proven agent attached
// to a mail to the project: the mail they forward on a customer's behalf
// (issue 20; whether it opens a ticket is decide.OnBehalf's, in the
// engine). The attachment's blob is parsed like any mail: its own
// attachments become blobs too. Nothing is read for anyone else's mail.
func (p *Pipeline) attachedForward(proj *config.Project, m *ticket.Mail, maxText int) (*decide.Forwarded, error) {
	if !m.SenderProven || m.FromFallback != "" || m.ToInternal || !proj.IsStaff(m.From) {
		return nil, nil
	}
	var eml *store.Attachment
	for i := range m.Attach {
		if m.Attach[i].ContentType == "message/rfc822" && m.Attach[i].Blob != "" {
			eml = &m.Attach[i]
			break
		}
	}
	if eml == nil {
		return nil, nil
	}
	inner, attach, err := p.parse(eml.Blob, nil, maxText)
	if err != nil {
		return nil, fmt.Errorf("ingest: reading the forwarded message %q: %w", eml.Filename, err)
	}
	from, name, _ := authorAddress(&mailin.Envelope{}, inner)
	if attach == nil {
		attach = []store.Attachment{}
	}
	return &decide.Forwarded{
		Shape: decide.ForwardRFC822, From: from, Name: name, MessageID: inner.MessageID,
		Subject: inner.Subject, Text: strings.TrimSpace(inner.Text), Attach: attach,
	}, nil
}
