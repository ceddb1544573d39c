package postgres

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ticketgate/ticketgate/store"
)

// OpenPGP keys (issue 19): the tables pgp_project_keys and pgp_keys,
// bodies the same JSON as bbolt's buckets of those names.

// PGPProjectKey is project's secret key; nil when it has none.
func (tx *pgTx) PGPProjectKey(project string) (*store.PGPProjectKey, error) {
	b, err := tx.one("read project key", "SELECT data FROM pgp_project_keys WHERE project = $1", project)
	if err != nil || b == nil {
		return nil, err
	}
	var k store.PGPProjectKey
	if err := decode("pgp_project_keys/"+project, b, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// PutPGPProjectKey stores (replaces) a project's secret key.
func (tx *pgTx) PutPGPProjectKey(k *store.PGPProjectKey) error {
	if k.Project == "" {
		return fmt.Errorf("store/postgres: project key without a project")
	}
	b, err := encode("project key", k)
	if err != nil {
		return err
	}
	_, err = tx.exec("put project key", "INSERT INTO pgp_project_keys VALUES ($1, $2) ON CONFLICT (project) DO UPDATE SET data = excluded.data", k.Project, b)
	return err
}

// PGPKey is what is known of address's keys; nil when nothing.
func (tx *pgTx) PGPKey(address string) (*store.PGPKey, error) {
	address = strings.ToLower(address)
	b, err := tx.one("read key", "SELECT data FROM pgp_keys WHERE address = $1", address)
	if err != nil || b == nil {
		return nil, err
	}
	var k store.PGPKey
	if err := decode("pgp_keys/"+address, b, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// PutPGPKey stores (replaces) an address's keys.
func (tx *pgTx) PutPGPKey(k *store.PGPKey) error {
	if k.Address == "" {
		return fmt.Errorf("store/postgres: key record without an address")
	}
	k.Address = strings.ToLower(k.Address)
	b, err := encode("key", k)
	if err != nil {
		return err
	}
	_, err = tx.exec("put key", "INSERT INTO pgp_keys VALUES ($1, $2) ON CONFLICT (address) DO UPDATE SET data = excluded.data", k.Address, b)
	return err
}

// DeletePGPKey forgets an address's keys.
func (tx *pgTx) DeletePGPKey(address string) error {
	_, err := tx.exec("delete key", "DELETE FROM pgp_keys WHERE address = $1", strings.ToLower(address))
	return err
}

// PGPKeys lists every address's keys in address order.
func (tx *pgTx) PGPKeys() ([]*store.PGPKey, error) {
	var out []*store.PGPKey
	err := tx.rows("list keys", "SELECT address, data FROM pgp_keys ORDER BY address", func(r pgx.Rows) error {
		var a string
		var b []byte
		if err := r.Scan(&a, &b); err != nil {
			return tx.fail("list keys", err)
		}
		var k store.PGPKey
		if err := decode("pgp_keys/"+a, b, &k); err != nil {
			return err
		}
		out = append(out, &k)
		return nil
	})
	return out, err
}
