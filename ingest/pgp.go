package ingest

import (
	"context"
	"strings"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/message"
	"github.com/ticketgate/ticketgate/pgp"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// notePGP tells the agents, through the message's problems, what the
// OpenPGP step found wrong; an encrypted mail that could not be decrypted
// becomes a note saying why (the encrypted original stays the raw blob):
// never a crash.
func notePGP(msg *message.Message, o *pgp.Opened) {
	if o.Failure != "" {
		msg.Problems = append(msg.Problems, "OpenPGP: "+o.Failure)
		msg.Text = "[This message is OpenPGP-encrypted and could not be decrypted: " + o.Failure + ". The encrypted original is kept with the ticket.]"
		msg.HTML = ""
	}
	switch o.Signature {
	case store.SignatureBad:
		msg.Problems = append(msg.Problems, "OpenPGP: bad signature (the message was changed, or the signature is not for it)")
	case store.SignatureUnknownKey:
		msg.Problems = append(msg.Problems, "OpenPGP: signed by a key not known for the sender")
	case store.SignatureUnverifiedKey:
		msg.Problems = append(msg.Problems, "OpenPGP: signed by the sender's unverified key (proves nothing until an agent confirms it: ticketgate pgp verify)")
	}
}

// afterPGP, once a person's mail is stored: the sender of mail that could
// not be decrypted is told so, and the keys the mail offers for its From
// address are learned (verified when the mail proved that address). What
// fails here is logged: the mail is stored and acknowledged already.
func (p *Pipeline) afterPGP(ctx context.Context, rc *received, proj *config.Project, m *ticket.Mail, res *ticket.Result, sender string) {
	log := p.log.With("msgid", m.MessageID, "ticket", res.Ticket, "project", proj.Key)
	if rc.pgp != nil && rc.pgp.Failure != "" && sender != "" {
		if err := p.engine.PGPUndecryptable(ctx, res, sender, rc.pgp.Failure); err != nil {
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
		if err := p.engine.PGPKeyChanged(ctx, res, proj.Key, c.Address, c.Old, c.New); err != nil {
			log.Error("could not note a changed OpenPGP key", "address", c.Address, "err", err)
		} else if p.Queued != nil {
			p.Queued()
		}
	}
}
