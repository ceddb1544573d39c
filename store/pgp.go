package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// OpenPGP keys (issue 19) live in their own buckets, created on first
// write (so no migration: an older store simply has none yet):
//
//	pgp_project_keys  project → PGPProjectKey (JSON)
//	pgp_keys          lower-case address → PGPKey (JSON)
var (
	bPGPProjectKeys = []byte("pgp_project_keys")
	bPGPKeys        = []byte("pgp_keys")
)

// PGPProjectKey is a project's own OpenPGP secret key.
type PGPProjectKey struct {
	Project string `json:"project"`
	// Armored is the transferable secret key, ASCII-armored; its secret
	// parts are passphrase-protected when Protected.
	Armored     string    `json:"armored"`
	Protected   bool      `json:"protected,omitempty"`
	Fingerprint string    `json:"fingerprint"`
	Created     time.Time `json:"created"`
}

// PGPPublicKey is one public key learned for an address.
type PGPPublicKey struct {
	// Armored is the transferable public key, ASCII-armored.
	Armored     string `json:"armored"`
	Fingerprint string `json:"fingerprint"`
	// Source says how it arrived: autocrypt, attachment, agent_keys_dir,
	// import.
	Source string `json:"source"`
	// Seen is when it arrived (for Autocrypt: the Date of the mail that
	// carried it, "newest wins"); MessageID the mail's.
	Seen      time.Time `json:"seen"`
	MessageID string    `json:"message_id,omitempty"`
}

// PGPKey is what is known of one address's OpenPGP keys. Only Verified
// proves the address's mail and is encrypted to; Unverified (a key that
// arrived on mail not proven for the address) waits for an agent's
// confirmation (`ticketgate pgp verify`).
type PGPKey struct {
	Address    string        `json:"address"`
	Verified   *PGPPublicKey `json:"verified,omitempty"`
	Unverified *PGPPublicKey `json:"unverified,omitempty"`
	// VerifiedBy says how the verified key was proven (mail proven for the
	// address, an agent's confirmation, the agent keys folder).
	VerifiedBy string `json:"verified_by,omitempty"`
	// Previous is the verified key Verified replaced: the notice of the
	// change is encrypted to it too.
	Previous *PGPPublicKey `json:"previous,omitempty"`
	Updated  time.Time     `json:"updated"`
}

func (tx *boltTx) pgpBucket(name []byte) (*bolt.Bucket, error) {
	if b := tx.btx.Bucket(name); b != nil || !tx.btx.Writable() {
		return b, nil
	}
	b, err := tx.btx.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, fmt.Errorf("store: create bucket %s: %w", name, err)
	}
	return b, nil
}

func (tx *boltTx) pgpPut(bucket []byte, key string, v any) error {
	b, err := tx.pgpBucket(bucket)
	if err != nil {
		return err
	}
	if b == nil {
		return fmt.Errorf("store: write %s in a read-only transaction", bucket)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", bucket, err)
	}
	return b.Put([]byte(key), data)
}

func (tx *boltTx) pgpGet(bucket []byte, key string, v any) (bool, error) {
	b := tx.btx.Bucket(bucket)
	if b == nil {
		return false, nil
	}
	data := b.Get([]byte(key))
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("store: decode %s/%s: %w", bucket, key, err)
	}
	return true, nil
}

// PGPProjectKey is project's secret key; nil when it has none.
func (tx *boltTx) PGPProjectKey(project string) (*PGPProjectKey, error) {
	var k PGPProjectKey
	found, err := tx.pgpGet(bPGPProjectKeys, project, &k)
	if err != nil || !found {
		return nil, err
	}
	return &k, nil
}

// PutPGPProjectKey stores (replaces) a project's secret key.
func (tx *boltTx) PutPGPProjectKey(k *PGPProjectKey) error {
	if k.Project == "" {
		return fmt.Errorf("store: project key without a project")
	}
	return tx.pgpPut(bPGPProjectKeys, k.Project, k)
}

// PGPKey is what is known of address's keys; nil when nothing.
func (tx *boltTx) PGPKey(address string) (*PGPKey, error) {
	var k PGPKey
	found, err := tx.pgpGet(bPGPKeys, strings.ToLower(address), &k)
	if err != nil || !found {
		return nil, err
	}
	return &k, nil
}

// PutPGPKey stores (replaces) an address's keys.
func (tx *boltTx) PutPGPKey(k *PGPKey) error {
	if k.Address == "" {
		return fmt.Errorf("store: key record without an address")
	}
	k.Address = strings.ToLower(k.Address)
	return tx.pgpPut(bPGPKeys, k.Address, k)
}

// DeletePGPKey forgets an address's keys; absent is not an error.
func (tx *boltTx) DeletePGPKey(address string) error {
	b, err := tx.pgpBucket(bPGPKeys)
	if err != nil || b == nil {
		return err
	}
	return b.Delete([]byte(strings.ToLower(address)))
}

// PGPKeys lists every address's keys in address order.
func (tx *boltTx) PGPKeys() ([]*PGPKey, error) {
	b := tx.btx.Bucket(bPGPKeys)
	if b == nil {
		return nil, nil
	}
	var out []*PGPKey
	err := b.ForEach(func(k, v []byte) error {
		var r PGPKey
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("store: decode %s/%s: %w", bPGPKeys, k, err)
		}
		out = append(out, &r)
		return nil
	})
	return out, err
}

// Signature is the result of checking an inbound mail's OpenPGP
// signature, stored on its message by name.
type Signature string

// The signature results.
const (
	SignatureNone          Signature = ""
	SignatureVerified      Signature = "verified"       // by the sender's verified key
	SignatureUnverifiedKey Signature = "unverified_key" // by a key held for the sender, not verified
	SignatureUnknownKey    Signature = "unknown_key"    // by a key we do not hold for the sender
	SignatureBad           Signature = "bad"            // does not match the message
)
