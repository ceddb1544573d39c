package ingest

import (
	"context"
	"strings"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/message"
	"github.com/ticketgate/ticketgate/pgp"
	"github.com/ticketgate/ticketgate/ticket"
)

// undecryptable turns the parsed view of an encrypted mail that could not
// be decrypted into a note for the agents (the encrypted original stays
// the raw blob): what went wrong, never a crash.
func undecryptable(msg *message.Message, why string) {
	msg.Problems = append(msg.Problems, "OpenPGP: "+why)
	msg.Text = "[This message is OpenPGP-encrypted and could not be decrypted: " + why + ". The encrypted original is kept with the ticket.]"
	msg.HTML = ""
}

// afterPGP, once a person's mail is stored: the sender of mail that could
// not be decrypted is told so, and the keys the mail offers for its From
// address are learned (verified when the mail proved that address). What
// fails here is logged: the mail is stored and acknowledged already.
func (p *Pipeline) afterPGP(ctx context.Context, rc *received, proj *config.Project, m *ticket.Mail, res *ticket.Result, sender string) {
	log := p.log.With("msgid", m.MessageID, "ticket", res.Ticket, "project", proj.Key)
	if rc.pgp != nil && rc.pgp.Failure != "" && sender != "" {
		if err := p.engine.PGPUndecryptable(ctx, res.Ticket, res.Message, sender, rc.pgp.Failure); err != nil {
			log.Error("could not tell the sender that their mail could not be decrypted", "err", err)
		} else if p.Queued != nil {
			p.Queued()
		}
	}
	var attached []string
	for _, a := range m.Attach {
		if strings.EqualFold(a.ContentType, "application/pgp-keys") && a.Blob != "" {
			attached = append(attached, a.Blob)
		}
	}
	changes, err := p.PGP.Learn(ctx, pgp.MailKeys{From: m.From, Date: m.Date, MessageID: m.MessageID,
		Autocrypt: rc.msg.Header.Values("Autocrypt"), Attached: attached, Proven: res.Proven})
	if err != nil {
		log.Error("could not learn the mail's OpenPGP keys", "err", err)
		return
	}
	for _, c := range changes {
		if err := p.engine.PGPKeyChanged(ctx, proj.Key, c.Address, c.Old, c.New); err != nil {
			log.Error("could not note a changed OpenPGP key", "address", c.Address, "err", err)
		} else if p.Queued != nil {
			p.Queued()
		}
	}
}
