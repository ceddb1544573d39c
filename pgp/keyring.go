package pgp

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// Keys finds the keys of projects and addresses: a project's secret key
// (its secret_key_file, else the store), an address's verified and
// unverified keys (the store; an agent's also the project's
// agent_keys_dir). Unlocked secret keys are kept (serialized), so a
// passphrase-derived key is not re-derived per mail.
type Keys struct {
	cfg func() *config.Config
	now func() time.Time

	mu sync.Mutex
	// unlocked holds unlocked secret keys, serialized, by the digest of
	// their stored form and passphrase.
	unlocked map[[32]byte][]byte
}

// NewKeys returns the key finder for cfg.
func NewKeys(cfg func() *config.Config, now func() time.Time) *Keys {
	if now == nil {
		now = time.Now
	}
	return &Keys{cfg: cfg, now: now, unlocked: map[[32]byte][]byte{}}
}

// Passphrase reads the project's secret_key_passphrase_file (nil when
// none is configured).
func Passphrase(g *config.PGP) ([]byte, error) {
	if g == nil || g.SecretKeyPassphraseFile == "" {
		return nil, nil
	}
	s, err := config.SecretFromFile(g.SecretKeyPassphraseFile)
	if err != nil {
		return nil, fmt.Errorf("pgp: passphrase: %w", err)
	}
	return []byte(s), nil
}

// Project returns the project's unlocked secret key; ErrNoKey when the
// project has no pgp section or no key yet.
func (k *Keys) Project(tx store.Tx, project string) (*openpgp.Entity, error) {
	p := k.cfg().Project(project)
	if p == nil || p.PGP == nil {
		return nil, ErrNoKey
	}
	var armored string
	if p.PGP.SecretKeyFile != "" {
		b, err := os.ReadFile(p.PGP.SecretKeyFile)
		if err != nil {
			return nil, fmt.Errorf("pgp: %s secret_key_file: %w", project, err)
		}
		armored = string(b)
	} else {
		rec, err := tx.PGPProjectKey(project)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			return nil, ErrNoKey
		}
		armored = rec.Armored
	}
	pass, err := Passphrase(p.PGP)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte(armored+"\x00"), pass...))
	k.mu.Lock()
	raw := k.unlocked[sum]
	k.mu.Unlock()
	if raw == nil {
		e, err := ReadSecret(armored, pass)
		if err != nil {
			return nil, fmt.Errorf("pgp: the key of %s: %w", project, err)
		}
		var b bytes.Buffer
		if err := e.SerializePrivateWithoutSigning(&b, nil); err != nil {
			return nil, fmt.Errorf("pgp: the key of %s: %w", project, err)
		}
		raw = b.Bytes()
		k.mu.Lock()
		k.unlocked[sum] = raw
		k.mu.Unlock()
	}
	// A fresh entity per caller: go-crypto's entities cache state while
	// they serialize and sign, so one is never shared between goroutines.
	e, err := openpgp.ReadEntity(packet.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, fmt.Errorf("pgp: the key of %s: %w", project, err)
	}
	return e, nil
}

// Peer returns the verified and unverified keys known for address (either
// may be nil). For a project's agent, a key in agent_keys_dir counts as
// verified: the operator put it there.
func (k *Keys) Peer(tx store.Tx, project, address string) (verified, unverified *openpgp.Entity, err error) {
	address = strings.ToLower(address)
	if p := k.cfg().Project(project); p != nil && p.PGP != nil && p.PGP.AgentKeysDir != "" && p.IsStaff(address) {
		e, err := agentKey(p.PGP.AgentKeysDir, address, k.now())
		if err != nil {
			return nil, nil, err
		}
		if e != nil {
			verified = e
		}
	}
	rec, err := tx.PGPKey(address)
	if err != nil {
		return nil, nil, err
	}
	if rec == nil {
		return verified, nil, nil
	}
	if verified == nil && rec.Verified != nil {
		if verified, err = readStoredPublic(rec.Verified.Armored); err != nil {
			return nil, nil, fmt.Errorf("pgp: key of %s: %w", address, err)
		}
	}
	if rec.Unverified != nil {
		if unverified, err = readStoredPublic(rec.Unverified.Armored); err != nil {
			return nil, nil, fmt.Errorf("pgp: key of %s: %w", address, err)
		}
	}
	return verified, unverified, nil
}

// agentKey reads dir/<address>.asc (nil when there is none).
func agentKey(dir, address string, now time.Time) (*openpgp.Entity, error) {
	if strings.ContainsAny(address, "/\\") || strings.HasPrefix(address, ".") {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, address+".asc"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pgp: agent key: %w", err)
	}
	e, err := ReadPublic(b, address, now)
	if err != nil {
		return nil, fmt.Errorf("pgp: agent key %s: %w", address, err)
	}
	return e, nil
}
