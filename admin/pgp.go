package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/ticketgate/ticketgate/pgp"
	"github.com/ticketgate/ticketgate/store"
)

// OpenPGP keys (issue 19): the project keys (operator) and the keys
// learned per address (agents: list, forget, confirm).

// PGPProjectKey is what GET /api/pgp/projects/{project} answers: the
// project's public key, never its secret.
type PGPProjectKey struct {
	Project     string `json:"project"`
	Fingerprint string `json:"fingerprint"`
	// Source: store or secret_key_file.
	Source    string `json:"source"`
	Protected bool   `json:"protected"`
	Public    string `json:"public"`
}

// PGPImport is the body of POST /api/pgp/projects/{project}/import.
type PGPImport struct {
	// Armored is the secret key, ASCII-armored (protected with the
	// project's passphrase, if it has one, or not at all).
	Armored string `json:"armored"`
}

func (s *Server) pgpRoutes() {
	s.handle("GET /api/pgp/projects/{project}", scopeAgent, s.pgpProjectKey)
	s.handle("POST /api/pgp/projects/{project}/keygen", scopeOperator, s.pgpKeygen)
	s.handle("POST /api/pgp/projects/{project}/import", scopeOperator, s.pgpImport)
	s.handle("GET /api/pgp/keys", scopeAgent, s.pgpKeys)
	s.handle("DELETE /api/pgp/keys/{addr}", scopeAgent, s.pgpForget)
	s.handle("POST /api/pgp/keys/{addr}/verify", scopeAgent, s.pgpVerify)
}

func (s *Server) pgpProjectKey(w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project")
	p := s.cfg().Project(project)
	if p == nil || p.PGP == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("project %s has no pgp section", project))
		return
	}
	out := PGPProjectKey{Project: p.Key, Source: "store"}
	if p.PGP.SecretKeyFile != "" {
		out.Source = "secret_key_file"
	}
	err := s.store.View(func(tx store.Tx) error {
		e, err := pgp.NewKeys(s.cfg, s.now).Project(tx, p.Key)
		if err != nil {
			return err
		}
		if rec, err := tx.PGPProjectKey(p.Key); err == nil && rec != nil && out.Source == "store" {
			out.Protected = rec.Protected
		}
		out.Fingerprint = pgp.Fingerprint(e)
		out.Public, err = pgp.ArmorPublic(e)
		return err
	})
	if errors.Is(err, pgp.ErrNoKey) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("project %s has no OpenPGP key yet: ticketgate pgp keygen --project %s", p.Key, p.Key))
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) pgpKeygen(w http.ResponseWriter, r *http.Request) {
	p := s.cfg().Project(r.PathValue("project"))
	if p == nil || p.PGP == nil {
		writeError(w, http.StatusNotFound, "no such project with a pgp section")
		return
	}
	e, err := pgp.Generate(p.Name, strings.ToLower(p.Address), s.now())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.putProjectKey(w, r, e, r.URL.Query().Get("replace") == "1")
}

func (s *Server) pgpImport(w http.ResponseWriter, r *http.Request) {
	p := s.cfg().Project(r.PathValue("project"))
	if p == nil || p.PGP == nil {
		writeError(w, http.StatusNotFound, "no such project with a pgp section")
		return
	}
	var req PGPImport
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "want JSON {\"armored\": secret key}: "+err.Error())
		return
	}
	pass, err := pgp.Passphrase(p.PGP)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	e, err := pgp.ReadSecret(req.Armored, pass)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !pgp.HasAddress(e, p.Address) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("the key %s has no user id for %s", pgp.Fingerprint(e), p.Address))
		return
	}
	s.putProjectKey(w, r, e, r.URL.Query().Get("replace") == "1")
}

// putProjectKey stores e as the project's key, protected by the
// project's passphrase when it has one.
func (s *Server) putProjectKey(w http.ResponseWriter, r *http.Request, e *openpgp.Entity, replace bool) {
	p := s.cfg().Project(r.PathValue("project"))
	if p.PGP.SecretKeyFile != "" {
		writeError(w, http.StatusConflict, fmt.Sprintf("project %s reads its key from secret_key_file; the store's key would not be used", p.Key))
		return
	}
	pass, err := pgp.Passphrase(p.PGP)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	armored, err := pgp.ArmorSecret(e, pass)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	rec := &store.PGPProjectKey{Project: p.Key, Armored: armored, Protected: len(pass) > 0, Fingerprint: pgp.Fingerprint(e), Created: s.now().UTC()}
	err = s.store.Update(r.Context(), func(tx store.Tx) error {
		old, err := tx.PGPProjectKey(p.Key)
		if err != nil {
			return err
		}
		if old != nil && !replace {
			return errKeyExists{old.Fingerprint}
		}
		return tx.PutPGPProjectKey(rec)
	})
	var exists errKeyExists
	if errors.As(err, &exists) {
		writeError(w, http.StatusConflict, fmt.Sprintf("project %s has the key %s already (replace=1 replaces it)", p.Key, exists.fp))
		return
	}
	if err != nil {
		s.storeError(w, err)
		return
	}
	s.log.Info("project OpenPGP key stored", "project", p.Key, "fingerprint", rec.Fingerprint, "by", agentFrom(r.Context()))
	writeJSON(w, http.StatusOK, PGPProjectKey{Project: p.Key, Fingerprint: rec.Fingerprint, Source: "store", Protected: rec.Protected})
}

type errKeyExists struct{ fp string }

func (e errKeyExists) Error() string { return "a key exists: " + e.fp }

func (s *Server) pgpKeys(w http.ResponseWriter, r *http.Request) {
	addr := strings.ToLower(r.URL.Query().Get("address"))
	var out []*store.PGPKey
	err := s.store.View(func(tx store.Tx) error {
		if addr != "" {
			k, err := tx.PGPKey(addr)
			if k != nil {
				out = append(out, k)
			}
			return err
		}
		var err error
		out, err = tx.PGPKeys()
		return err
	})
	if err != nil {
		s.storeError(w, err)
		return
	}
	if out == nil {
		out = []*store.PGPKey{}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) pgpForget(w http.ResponseWriter, r *http.Request) {
	agent, ok := requireAgent(w, r)
	if !ok {
		return
	}
	addr := strings.ToLower(r.PathValue("addr"))
	if !s.mayAddress(r, addr) {
		writeError(w, http.StatusForbidden, fmt.Sprintf("%s is no customer of your projects", addr))
		return
	}
	err := s.store.Update(r.Context(), func(tx store.Tx) error {
		k, err := tx.PGPKey(addr)
		if err != nil {
			return err
		}
		if k == nil {
			return fmt.Errorf("no OpenPGP key for %s: %w", addr, store.ErrNotFound)
		}
		return tx.DeletePGPKey(addr)
	})
	if err != nil {
		s.storeError(w, err)
		return
	}
	s.log.Info("OpenPGP keys forgotten", "address", addr, "by", agent)
	writeJSON(w, http.StatusOK, map[string]string{"forgotten": addr})
}

func (s *Server) pgpVerify(w http.ResponseWriter, r *http.Request) {
	agent, ok := requireAgent(w, r)
	if !ok {
		return
	}
	addr := strings.ToLower(r.PathValue("addr"))
	if !s.mayAddress(r, addr) {
		writeError(w, http.StatusForbidden, fmt.Sprintf("%s is no customer of your projects", addr))
		return
	}
	var change *pgp.Change
	var found bool
	err := s.store.Update(r.Context(), func(tx store.Tx) error {
		var err error
		found, change, err = pgp.Verify(tx, addr, s.now())
		return err
	})
	if err != nil {
		s.storeError(w, err)
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no unverified OpenPGP key for %s", addr))
		return
	}
	s.log.Info("OpenPGP key confirmed", "address", addr, "by", agent)
	if change != nil && s.engine != nil {
		for _, p := range s.cfg().Projects {
			if err := s.engine.PGPKeyChanged(r.Context(), nil, p.Key, change.Address, change.Old, change.New); err != nil {
				s.storeError(w, err)
				return
			}
		}
		if s.Wake != nil {
			s.Wake()
		}
	}
	var k *store.PGPKey
	s.store.View(func(tx store.Tx) error { k, _ = tx.PGPKey(addr); return nil })
	writeJSON(w, http.StatusOK, k)
}

// mayAddress: keys are kept per address, for every project, so an agent
// may confirm or forget the keys of a customer of one of their own
// projects (reporter or participant of a ticket there) only; an operator
// any.
func (s *Server) mayAddress(r *http.Request, addr string) bool {
	c := callerFrom(r.Context())
	if c.Operator {
		return true
	}
	found := false
	s.store.View(func(tx store.Tx) error {
		for _, p := range s.cfg().Projects {
			if !s.may(r.Context(), p.Key) {
				continue
			}
			if err := tx.ForEachTicket(p.Key, func(t *store.Ticket) bool {
				found = strings.EqualFold(t.Reporter, addr)
				for _, pa := range t.Participants {
					found = found || strings.EqualFold(pa.Address, addr)
				}
				return !found
			}); err != nil || found {
				return err
			}
		}
		return nil
	})
	return found
}
