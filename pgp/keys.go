package pgp

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// maxKeyBytes bounds a public or secret key read from mail, a file or the
// store: real keys are a few KiB; a larger blob is refused, not parsed.
const maxKeyBytes = 256 << 10

// ErrNoKey: the project has no OpenPGP key (generate or import one).
var ErrNoKey = errors.New("pgp: the project has no OpenPGP key")

// packetConfig is the configuration every operation uses: current
// algorithms, v4 keys (what GnuPG 2.2 and most mail clients read).
func packetConfig(now func() time.Time) *packet.Config {
	return &packet.Config{
		Algorithm:     packet.PubKeyAlgoEdDSA,
		Curve:         packet.Curve25519,
		DefaultHash:   crypto.SHA256,
		DefaultCipher: packet.CipherAES256,
		Time:          now,
	}
}

// Generate makes a new Ed25519 signing key with a Curve25519 encryption
// subkey whose user id is the project's address (and name).
func Generate(name, address string, now time.Time) (*openpgp.Entity, error) {
	e, err := openpgp.NewEntity(name, "", address, packetConfig(func() time.Time { return now }))
	if err != nil {
		return nil, fmt.Errorf("pgp: generate a key: %w", err)
	}
	return e, nil
}

// Fingerprint is e's primary key fingerprint in upper-case hex.
func Fingerprint(e *openpgp.Entity) string {
	return strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint))
}

// ArmorSecret serializes e's secret key, its secret parts encrypted with
// passphrase when one is given.
func ArmorSecret(e *openpgp.Entity, passphrase []byte) (string, error) {
	if len(passphrase) > 0 {
		// A copy: the caller's entity stays usable (decrypted).
		cp, err := copyEntity(e)
		if err != nil {
			return "", err
		}
		if err := cp.EncryptPrivateKeys(passphrase, nil); err != nil {
			return "", fmt.Errorf("pgp: protect the secret key: %w", err)
		}
		e = cp
	}
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PrivateKeyType, nil)
	if err != nil {
		return "", err
	}
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		return "", fmt.Errorf("pgp: serialize the secret key: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return b.String(), nil
}

// copyEntity round-trips e through its serialization.
func copyEntity(e *openpgp.Entity) (*openpgp.Entity, error) {
	var b bytes.Buffer
	if err := e.SerializePrivateWithoutSigning(&b, nil); err != nil {
		return nil, fmt.Errorf("pgp: copy the key: %w", err)
	}
	return openpgp.ReadEntity(packet.NewReader(&b))
}

// PublicBytes is e's transferable public key, binary.
func PublicBytes(e *openpgp.Entity) ([]byte, error) {
	var b bytes.Buffer
	if err := e.Serialize(&b); err != nil {
		return nil, fmt.Errorf("pgp: serialize the public key: %w", err)
	}
	return b.Bytes(), nil
}

// ArmorPublic is e's transferable public key, ASCII-armored.
func ArmorPublic(e *openpgp.Entity) (string, error) {
	raw, err := PublicBytes(e)
	if err != nil {
		return "", err
	}
	return armorBytes(openpgp.PublicKeyType, raw)
}

func armorBytes(typ string, raw []byte) (string, error) {
	var b bytes.Buffer
	w, err := armor.Encode(&b, typ, nil)
	if err != nil {
		return "", err
	}
	if _, err := w.Write(raw); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return b.String(), nil
}

// ReadSecret reads an armored secret key and unlocks it with passphrase
// when it is protected; a protected key without the passphrase, or with a
// wrong one, is an error.
func ReadSecret(armored string, passphrase []byte) (*openpgp.Entity, error) {
	el, err := openpgp.ReadArmoredKeyRing(io.LimitReader(strings.NewReader(armored), maxKeyBytes))
	if err != nil {
		return nil, fmt.Errorf("pgp: read the secret key: %w", err)
	}
	if len(el) != 1 {
		return nil, fmt.Errorf("pgp: want one secret key, found %d", len(el))
	}
	e := el[0]
	if e.PrivateKey == nil {
		return nil, fmt.Errorf("pgp: %s is a public key, not a secret key", Fingerprint(e))
	}
	if Protected(e) {
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("pgp: the secret key %s is protected by a passphrase and none is configured (secret_key_passphrase_file)", Fingerprint(e))
		}
		if err := e.DecryptPrivateKeys(passphrase); err != nil {
			return nil, fmt.Errorf("pgp: unlock the secret key %s: %w", Fingerprint(e), err)
		}
	}
	if _, ok := e.EncryptionKey(time.Now()); !ok {
		return nil, fmt.Errorf("pgp: the key %s has no usable encryption subkey", Fingerprint(e))
	}
	return e, nil
}

// Protected reports whether any secret part of e is still encrypted.
func Protected(e *openpgp.Entity) bool {
	if e.PrivateKey != nil && e.PrivateKey.Encrypted {
		return true
	}
	for _, s := range e.Subkeys {
		if s.PrivateKey != nil && s.PrivateKey.Encrypted {
			return true
		}
	}
	return false
}

// ReadPublic reads one transferable public key, armored or binary, and
// checks that it is usable for mail to address: it carries a user id
// with that address (when address is not empty) and has an encryption
// key. Secret parts, if any, are dropped.
func ReadPublic(data []byte, address string, now time.Time) (*openpgp.Entity, error) {
	if len(data) > maxKeyBytes {
		return nil, fmt.Errorf("pgp: key of %d bytes, more than %d", len(data), maxKeyBytes)
	}
	var el openpgp.EntityList
	var err error
	if bytes.Contains(data[:min(len(data), 1024)], []byte("-----BEGIN PGP")) {
		el, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	} else {
		el, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("pgp: read the public key: %w", err)
	}
	if len(el) != 1 {
		return nil, fmt.Errorf("pgp: want one key, found %d", len(el))
	}
	e := el[0]
	if e.Revoked(now) {
		return nil, fmt.Errorf("pgp: the key %s is revoked", Fingerprint(e))
	}
	if _, ok := e.EncryptionKey(now); !ok {
		return nil, fmt.Errorf("pgp: the key %s has no usable encryption key", Fingerprint(e))
	}
	if address != "" && !HasAddress(e, address) {
		return nil, fmt.Errorf("pgp: the key %s has no user id for %s", Fingerprint(e), address)
	}
	pub, err := PublicBytes(e)
	if err != nil {
		return nil, err
	}
	return openpgp.ReadEntity(packet.NewReader(bytes.NewReader(pub)))
}

// HasAddress reports whether one of e's user ids is address.
func HasAddress(e *openpgp.Entity, address string) bool {
	for _, id := range e.Identities {
		if id.UserId != nil && strings.EqualFold(id.UserId.Email, address) {
			return true
		}
	}
	return false
}

// readStoredPublic reads a key the store holds (armored, written by us).
func readStoredPublic(armored string) (*openpgp.Entity, error) {
	el, err := openpgp.ReadArmoredKeyRing(strings.NewReader(armored))
	if err != nil {
		return nil, fmt.Errorf("pgp: stored key: %w", err)
	}
	if len(el) != 1 {
		return nil, fmt.Errorf("pgp: stored key: %d keys", len(el))
	}
	return el[0], nil
}
