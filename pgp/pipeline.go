package pgp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
)

// Inbound is the OpenPGP step of the inbound pipeline: Open before the
// message is parsed, Learn after it was stored.
type Inbound struct {
	db   store.DB
	keys *Keys
	cfg  func() *config.Config
	log  *slog.Logger
	now  func() time.Time
}

// NewInbound returns the inbound step.
func NewInbound(db store.DB, keys *Keys, cfg func() *config.Config, log *slog.Logger) *Inbound {
	return &Inbound{db: db, keys: keys, cfg: cfg, log: log, now: time.Now}
}

// Open decrypts and checks the raw message (see package function Open)
// with the keys of the projects among the envelope recipients; mail to no
// project with a pgp section is left alone. Its error is temporary.
func (in *Inbound) Open(rcpts []string, raw string, maxBytes int64) (*Opened, error) {
	cfg := in.cfg()
	var projects []string
	seen := map[string]bool{}
	for _, r := range rcpts {
		p, _, _ := cfg.Route(r)
		if p == nil || p.PGP == nil || seen[p.Key] {
			continue
		}
		seen[p.Key] = true
		projects = append(projects, p.Key)
	}
	if len(projects) == 0 {
		// No addressed project speaks OpenPGP: the message is not even
		// looked at (no cost on the ingest path of the others).
		return &Opened{}, nil
	}
	src := Source{
		Open:     func(h string) (io.ReadSeekCloser, error) { return in.db.OpenBlob(h) },
		NewBlob:  in.db.NewBlob,
		MaxBytes: maxBytes,
		Decrypt: func() (openpgp.EntityList, error) {
			var ring openpgp.EntityList
			err := in.db.View(func(tx store.Tx) error {
				for _, p := range projects {
					e, err := in.keys.Project(tx, p)
					if errors.Is(err, ErrNoKey) {
						continue
					}
					if err != nil {
						return err
					}
					ring = append(ring, e)
				}
				return nil
			})
			return ring, err
		},
		SenderKeys: func(from string) (v, u *openpgp.Entity, err error) {
			err = in.db.View(func(tx store.Tx) error {
				v, u, err = in.keys.Peer(tx, projects[0], from)
				return err
			})
			return v, u, err
		},
	}
	o, err := Open(src, raw)
	if err != nil {
		return nil, fault.Temporary(fmt.Errorf("pgp: open: %w", err))
	}
	return o, nil
}

// MailKeys are the keys a stored mail offered for its From address.
type MailKeys struct {
	From      string
	Date      time.Time
	MessageID string
	// Autocrypt holds the mail's Autocrypt header values.
	Autocrypt []string
	// Attached are the blobs of attached public keys
	// (application/pgp-keys).
	Attached []string
	// Proven: the mail was proven for From.
	Proven bool
}

// Learn records the keys a stored mail offered for its From address and
// returns the changes of verified keys it made. A key that does not read,
// is not for From, or cannot encrypt is logged and skipped: it never
// fails the mail.
func (in *Inbound) Learn(ctx context.Context, mk MailKeys) ([]Change, error) {
	from := strings.ToLower(mk.From)
	if from == "" || in.cfg().IsOwnAddress(from) {
		return nil, nil
	}
	// Autocrypt's effective date: the mail's Date, never later than now
	// (a Date in the future must not pin a key against newer mail).
	seen := mk.Date
	if seen.IsZero() || seen.After(in.now()) {
		seen = in.now()
	}
	var learned []Learned
	if data := ParseAutocrypt(mk.Autocrypt, from); data != nil {
		if e, err := ReadPublic(data, from, in.now()); err != nil {
			in.log.Info("ignored an Autocrypt key", "msgid", mk.MessageID, "from", from, "err", err)
		} else {
			learned = append(learned, Learned{Address: from, Key: e, Source: SourceAutocrypt, Seen: seen, MessageID: mk.MessageID, Proven: mk.Proven})
		}
	}
	for _, h := range mk.Attached {
		data, err := in.readBlob(h)
		if err != nil {
			return nil, fault.Temporary(err)
		}
		e, err := ReadPublic(data, from, in.now())
		if err != nil {
			in.log.Info("ignored an attached key", "msgid", mk.MessageID, "from", from, "err", err)
			continue
		}
		learned = append(learned, Learned{Address: from, Key: e, Source: SourceAttachment, Seen: seen, MessageID: mk.MessageID, Proven: mk.Proven})
	}
	if len(learned) == 0 {
		return nil, nil
	}
	var changes []Change
	now := in.now()
	err := in.db.Update(ctx, func(tx store.Tx) error {
		changes = changes[:0]
		for _, l := range learned {
			c, err := Learn(tx, l, now)
			if err != nil {
				return err
			}
			if c != nil {
				changes = append(changes, *c)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgp: learn keys of %s: %w", from, err)
	}
	for _, l := range learned {
		in.log.Info("learned an OpenPGP key", "msgid", mk.MessageID, "address", from, "fingerprint", Fingerprint(l.Key), "source", l.Source, "verified", l.Proven)
	}
	return changes, nil
}

func (in *Inbound) readBlob(h string) ([]byte, error) {
	f, err := in.db.OpenBlob(h)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxKeyBytes+1))
}
