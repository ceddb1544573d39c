package pgp

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/mailout"
	"github.com/ticketgate/ticketgate/store"
)

// The notice templates sent instead of a text that must not leave in
// clear: the ticket's link and nothing of its content.
const (
	NoticeCustomer = "customer/pgp_notice"
	NoticeInternal = "internal/pgp_notice"
)

// Sealer is the mailout.Sealer of OpenPGP: at send time it adds the
// project's Autocrypt header, encrypts (and signs) to the recipient's
// verified key, or replaces the text by a notice with the link. See
// Decide for the rules.
type Sealer struct {
	keys *Keys
	cfg  func() *config.Config
}

// NewSealer returns the sealer.
func NewSealer(keys *Keys, cfg func() *config.Config) *Sealer {
	return &Sealer{keys: keys, cfg: cfg}
}

// Action is what happens to one mail.
type Action int

// The actions.
const (
	Clear   Action = iota // sent as composed
	Encrypt               // PGP/MIME, encrypted to the recipient, signed by the project
	Notice                // only the notice with the link
)

// Decide is the rule (issue 19). Customers: encrypt when they have a
// verified key and the project does not say never; without one, `always`
// and a ticket that came in encrypted send only the notice. Staff: on a
// ticket that came in encrypted, encrypted to an agent with a key, else
// only the notice unless agents_plaintext; other staff mail in clear.
// `encrypt: never` never encrypts, and a ticket that came in encrypted is
// still never answered in clear.
func Decide(mode string, internal, hasKey, encryptedTicket, agentsPlaintext bool) Action {
	if internal {
		switch {
		case !encryptedTicket:
			return Clear
		case hasKey && mode != config.EncryptNever:
			return Encrypt
		case agentsPlaintext:
			return Clear
		default:
			return Notice
		}
	}
	switch {
	case mode == config.EncryptNever:
		if encryptedTicket {
			return Notice
		}
		return Clear
	case hasKey:
		return Encrypt
	case mode == config.EncryptAlways || encryptedTicket:
		return Notice
	default:
		return Clear
	}
}

// Seal implements mailout.Sealer.
func (s *Sealer) Seal(tx store.Tx, it *store.OutboxItem, r mailout.Renderer) (mailout.Seal, error) {
	var seal mailout.Seal
	p := s.cfg().Project(it.Project)
	if p == nil || p.PGP == nil {
		return seal, nil
	}
	own, err := s.keys.Project(tx, it.Project)
	if err != nil && !errors.Is(err, ErrNoKey) {
		return seal, fault.Temporary(fmt.Errorf("pgp: seal %s: %w", it.MessageID, err))
	}
	if own != nil && it.Vars.AttachKey {
		// A customer's #key: the public key, armored (7-bit safe).
		armored, err := ArmorPublic(own)
		if err != nil {
			return seal, fault.Temporary(err)
		}
		local, _, _ := strings.Cut(strings.ToLower(p.Address), "@")
		seal.Attach = append(seal.Attach, mailout.Part{Filename: local + ".asc", ContentType: "application/pgp-keys", Data: []byte(armored)})
	}
	if own != nil && strings.EqualFold(it.Header.From, p.Address) {
		if seal.Autocrypt, err = AutocryptHeader(strings.ToLower(p.Address), own); err != nil {
			return seal, fault.Temporary(err)
		}
	}
	var to []*openpgp.Entity
	if own != nil {
		verified, _, err := s.keys.Peer(tx, it.Project, it.Recipient)
		if err != nil {
			return seal, fault.Temporary(fmt.Errorf("pgp: seal %s: %w", it.MessageID, err))
		}
		if verified != nil {
			to = append(to, verified)
			if it.Kind == store.EvPGPKeyChanged {
				// Told at the old key too: whoever holds only the old
				// key learns that it was replaced.
				if prev, err := previousKey(tx, it.Recipient); err != nil {
					return seal, fault.Temporary(err)
				} else if prev != nil {
					to = append(to, prev)
				}
			}
		}
	}
	encTicket := false
	if it.Ticket != "" {
		t, err := tx.Ticket(it.Ticket)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return seal, fault.Temporary(fmt.Errorf("pgp: seal %s: %w", it.MessageID, err))
		}
		encTicket = t != nil && t.Encrypted
	}
	switch Decide(p.PGP.EncryptMode(), it.Internal, len(to) > 0, encTicket, p.PGP.AgentsPlaintext) {
	case Encrypt:
		seal.Encrypt = encryptTo(to, own)
	case Notice:
		n := *it
		n.Event, n.Message, n.Attach = NoticeCustomer, 0, nil
		if it.Internal {
			n.Event = NoticeInternal
		}
		body, err := r.Render(tx, &n)
		if err != nil {
			return seal, err
		}
		seal.Notice = &body
	}
	return seal, nil
}

func previousKey(tx store.Tx, addr string) (*openpgp.Entity, error) {
	rec, err := tx.PGPKey(addr)
	if err != nil || rec == nil || rec.Previous == nil {
		return nil, err
	}
	return readStoredPublic(rec.Previous.Armored)
}

// encryptTo streams an armored OpenPGP message encrypted to to and signed
// by signer.
func encryptTo(to []*openpgp.Entity, signer *openpgp.Entity) func(io.Writer) (io.WriteCloser, error) {
	return func(w io.Writer) (io.WriteCloser, error) {
		aw, err := armor.Encode(w, "PGP MESSAGE", nil)
		if err != nil {
			return nil, err
		}
		// Binary literal data: the MIME entity keeps its CRLF line ends.
		pw, err := openpgp.Encrypt(aw, to, signer, &openpgp.FileHints{IsBinary: true}, packetConfig(time.Now))
		if err != nil {
			return nil, err
		}
		return &chainCloser{WriteCloser: pw, outer: aw}, nil
	}
}

// chainCloser closes the encryption writer, then the armor around it.
type chainCloser struct {
	io.WriteCloser
	outer io.WriteCloser
}

func (c *chainCloser) Close() error {
	if err := c.WriteCloser.Close(); err != nil {
		return err
	}
	return c.outer.Close()
}
