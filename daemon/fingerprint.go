package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// fingerprintMeta names, in a shared store's metadata, the fingerprint of
// the projects the last node to start or reload loaded.
const fingerprintMeta = "config_fingerprint"

// configFingerprint hashes what every node must agree on: the projects
// with their statuses, agents, notifications, retention and the rest —
// but not their IMAP sections, whose secret-file paths may differ per
// node.
func configFingerprint(cfg *config.Config) string {
	ps := make([]config.Project, len(cfg.Projects))
	for i, p := range cfg.Projects {
		p.IMAP = nil
		ps[i] = p
	}
	b, err := json.Marshal(ps)
	if err != nil {
		return "unhashable: " + err.Error()
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// publishFingerprint records this node's fingerprint in a shared store at
// start and reload: the last node to load its config sets what the others
// are compared with. A different one already there is logged loudly.
func (d *Daemon) publishFingerprint(cfg *config.Config) {
	if _, shared := d.store.(store.NodeLocker); !shared {
		return
	}
	mine := configFingerprint(cfg)
	var before string
	err := d.store.Update(context.Background(), func(tx store.Tx) error {
		before = string(tx.Meta(fingerprintMeta))
		return tx.SetMeta(fingerprintMeta, []byte(mine))
	})
	if err != nil {
		d.log.Error("could not record this node's config fingerprint", "err", err)
		return
	}
	if before != "" && before != mine {
		d.log.Error("this node's projects differ from those another node of this store loaded: the other nodes now fail /readyz until every config file is the same",
			"fingerprint", mine, "previous", before)
	}
}

// configAgrees is /readyz's config check on a shared store.
func (d *Daemon) configAgrees() error {
	mine := configFingerprint(d.Config())
	var stored string
	if err := d.store.View(func(tx store.Tx) error { stored = string(tx.Meta(fingerprintMeta)); return nil }); err != nil {
		return fmt.Errorf("cannot read the config fingerprint: %w", err)
	}
	if stored != mine {
		d.log.Error("this node's projects differ from those another node of this store loaded last: make the config files the same", "fingerprint", mine, "store", stored)
		return fmt.Errorf("this node's projects (fingerprint %s) differ from those another node loaded last (%s): make every node's config the same", mine, stored)
	}
	return nil
}
