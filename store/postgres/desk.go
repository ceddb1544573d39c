package postgres

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketgate/ticketgate/store"
)

// The desk's sign-in links and sessions (store.DeskTx): tables desk_signin
// and desk_sessions, bodies the same JSON as bbolt's.

func (tx *pgTx) PutSignIn(s *store.SignIn) error {
	b, err := encode("sign-in link", s)
	if err != nil {
		return err
	}
	_, err = tx.exec("put sign-in link", "INSERT INTO desk_signin VALUES ($1, $2, $3) ON CONFLICT (hash) DO UPDATE SET expires = excluded.expires, data = excluded.data",
		s.Hash, s.Expires.UnixNano(), b)
	return err
}

func (tx *pgTx) TakeSignIn(hash string) (*store.SignIn, error) {
	b, err := tx.one("take sign-in link", "DELETE FROM desk_signin WHERE hash = $1 RETURNING data", hash)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("sign-in link: %w", store.ErrNotFound)
	}
	var s store.SignIn
	if err := decode("desk_signin", b, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func (tx *pgTx) PutSession(s *store.Session) error {
	b, err := encode("session", s)
	if err != nil {
		return err
	}
	_, err = tx.exec("put session", "INSERT INTO desk_sessions VALUES ($1, $2, $3) ON CONFLICT (hash) DO UPDATE SET agent = excluded.agent, data = excluded.data",
		s.Hash, s.Agent, b)
	return err
}

func (tx *pgTx) Session(hash string) (*store.Session, error) {
	b, err := tx.one("read session", "SELECT data FROM desk_sessions WHERE hash = $1", hash)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("session: %w", store.ErrNotFound)
	}
	var s store.Session
	if err := decode("desk_sessions", b, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func (tx *pgTx) DeleteSession(hash string) error {
	_, err := tx.exec("delete session", "DELETE FROM desk_sessions WHERE hash = $1", hash)
	return err
}

func (tx *pgTx) Sessions(agent string) ([]*store.Session, error) {
	var out []*store.Session
	err := tx.rows("list sessions", "SELECT data FROM desk_sessions WHERE $1 = '' OR agent = $1", func(r pgx.Rows) error {
		var b []byte
		if err := r.Scan(&b); err != nil {
			return err
		}
		var s store.Session
		if err := decode("desk_sessions", b, &s); err != nil {
			return err
		}
		out = append(out, &s)
		return nil
	}, agent)
	store.SortSessions(out)
	return out, err
}

func (tx *pgTx) PruneDesk(now time.Time, keep func(*store.Session) bool) (int, error) {
	n, err := tx.exec("prune sign-in links", "DELETE FROM desk_signin WHERE expires <= $1", now.UnixNano())
	if err != nil {
		return 0, err
	}
	all, err := tx.Sessions("")
	if err != nil {
		return int(n), err
	}
	for _, s := range all {
		if keep(s) {
			continue
		}
		if err := tx.DeleteSession(s.Hash); err != nil {
			return int(n), err
		}
		n++
	}
	return int(n), nil
}
