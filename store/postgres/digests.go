package postgres

import (
	"fmt"
	"strings"

	"github.com/ticketgate/ticketgate/store"
)

// Digests (issue 21): the tables digest_prefs and digest_marks, bodies
// the same JSON as bbolt's buckets of those names.

// DigestPref implements store.DigestTx.
func (tx *pgTx) DigestPref(agent string) (*store.DigestPref, error) {
	agent = strings.ToLower(agent)
	b, err := tx.one("read digest preference", "SELECT data FROM digest_prefs WHERE agent = $1", agent)
	if err != nil || b == nil {
		return nil, err
	}
	var p store.DigestPref
	if err := decode("digest_prefs/"+agent, b, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// PutDigestPref implements store.DigestTx.
func (tx *pgTx) PutDigestPref(p *store.DigestPref) error {
	if p.Agent == "" {
		return fmt.Errorf("store/postgres: digest preference without an agent")
	}
	p.Agent = strings.ToLower(p.Agent)
	b, err := encode("digest preference", p)
	if err != nil {
		return err
	}
	_, err = tx.exec("put digest preference", "INSERT INTO digest_prefs VALUES ($1, $2) ON CONFLICT (agent) DO UPDATE SET data = excluded.data", p.Agent, b)
	return err
}

// DigestMark implements store.DigestTx.
func (tx *pgTx) DigestMark(agent string) (*store.DigestMark, error) {
	agent = strings.ToLower(agent)
	b, err := tx.one("read digest mark", "SELECT data FROM digest_marks WHERE agent = $1", agent)
	if err != nil || b == nil {
		return nil, err
	}
	var m store.DigestMark
	if err := decode("digest_marks/"+agent, b, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// PutDigestMark implements store.DigestTx.
func (tx *pgTx) PutDigestMark(m *store.DigestMark) error {
	if m.Agent == "" {
		return fmt.Errorf("store/postgres: digest mark without an agent")
	}
	m.Agent = strings.ToLower(m.Agent)
	b, err := encode("digest mark", m)
	if err != nil {
		return err
	}
	_, err = tx.exec("put digest mark", "INSERT INTO digest_marks VALUES ($1, $2) ON CONFLICT (agent) DO UPDATE SET data = excluded.data", m.Agent, b)
	return err
}
