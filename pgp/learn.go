package pgp

import (
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/ticketgate/ticketgate/store"
)

// Key sources, stored on each learned key.
const (
	SourceAutocrypt  = "autocrypt"
	SourceAttachment = "attachment"
	SourceImport     = "import"
)

// Learned is a public key that arrived on mail (or by hand).
type Learned struct {
	Address   string
	Key       *openpgp.Entity
	Source    string
	Seen      time.Time
	MessageID string
	// Proven: the mail was proven for Address (trusted dmarc=pass, or a
	// reply carrying that address's own token): only then does the key
	// become verified.
	Proven bool
}

// Change is a verified key replaced by another.
type Change struct {
	Address  string
	Old, New string // fingerprints
}

// Learn records l in the key records (Autocrypt: newest wins) and
// returns the change of a verified key it made, if any. An unproven key
// never replaces or becomes a verified one: it is kept as the address's
// unverified key until an agent confirms it (Verify).
func Learn(tx store.Tx, l Learned, now time.Time) (*Change, error) {
	addr := strings.ToLower(l.Address)
	armored, err := ArmorPublic(l.Key)
	if err != nil {
		return nil, err
	}
	fp := Fingerprint(l.Key)
	pk := &store.PGPPublicKey{Armored: armored, Fingerprint: fp, Source: l.Source, Seen: l.Seen.UTC(), MessageID: l.MessageID}
	rec, err := tx.PGPKey(addr)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		rec = &store.PGPKey{Address: addr}
	}
	var change *Change
	switch {
	case rec.Verified != nil && rec.Verified.Fingerprint == fp:
		if l.Seen.After(rec.Verified.Seen) {
			rec.Verified.Seen, rec.Verified.MessageID = pk.Seen, pk.MessageID
		}
		if rec.Unverified != nil && rec.Unverified.Fingerprint == fp {
			rec.Unverified = nil
		}
	case l.Proven:
		if rec.Verified != nil && !l.Seen.After(rec.Verified.Seen) {
			return nil, nil // an older mail: the newest key stays
		}
		if rec.Verified != nil {
			change = &Change{Address: addr, Old: rec.Verified.Fingerprint, New: fp}
			rec.Previous = rec.Verified
		}
		rec.Verified, rec.VerifiedBy = pk, "mail proven for the address"
		if rec.Unverified != nil && rec.Unverified.Fingerprint == fp {
			rec.Unverified = nil
		}
	default:
		if rec.Unverified != nil && (rec.Unverified.Fingerprint == fp || !l.Seen.After(rec.Unverified.Seen)) {
			return nil, nil
		}
		rec.Unverified = pk
	}
	rec.Updated = now.UTC()
	return change, tx.PutPGPKey(rec)
}

// Verify makes address's unverified key its verified one (an agent
// confirmed it, `ticketgate pgp verify`), and returns the change of a
// verified key it made, if any. false when there was none to confirm.
func Verify(tx store.Tx, address string, now time.Time) (bool, *Change, error) {
	rec, err := tx.PGPKey(address)
	if err != nil || rec == nil || rec.Unverified == nil {
		return false, nil, err
	}
	var change *Change
	if rec.Verified != nil {
		change = &Change{Address: rec.Address, Old: rec.Verified.Fingerprint, New: rec.Unverified.Fingerprint}
		rec.Previous = rec.Verified
	}
	rec.Verified, rec.Unverified, rec.VerifiedBy = rec.Unverified, nil, "confirmed by an agent"
	rec.Updated = now.UTC()
	return true, change, tx.PutPGPKey(rec)
}
