package pgp

import (
	"crypto/sha1"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// zbase32 is the alphabet of z-base-32 (used by WKD for the local part's
// hash).
const zbase32 = "ybndrfg8ejkmcpqxot1uwisza345h769"

// WKDHash is the Web Key Directory name of a local part: the z-base-32
// encoded SHA-1 of its lower-cased form.
func WKDHash(local string) string {
	sum := sha1.Sum([]byte(strings.ToLower(local)))
	var out strings.Builder
	var buf uint32
	bits := 0
	for _, b := range sum {
		buf = buf<<8 | uint32(b)
		bits += 8
		for bits >= 5 {
			out.WriteByte(zbase32[(buf>>(bits-5))&31])
			bits -= 5
		}
	}
	if bits > 0 {
		out.WriteByte(zbase32[(buf<<(5-bits))&31])
	}
	return out.String()
}

// WKD serves the projects' public keys as a Web Key Directory
// (draft-koch-openpgp-webkey-service): the advanced method's paths
// /.well-known/openpgpkey/<domain>/hu/<hash> (host openpgpkey.<domain>)
// and the direct method's /.well-known/openpgpkey/hu/<hash> (host
// <domain>), each with its policy file. Everything else goes to next.
type WKD struct {
	db   store.DB
	keys *Keys
	cfg  func() *config.Config
	next http.Handler
}

// NewWKD wraps next with the Web Key Directory.
func NewWKD(db store.DB, keys *Keys, cfg func() *config.Config, next http.Handler) *WKD {
	return &WKD{db: db, keys: keys, cfg: cfg, next: next}
}

const wkdPrefix = "/.well-known/openpgpkey/"

func (h *WKD) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, wkdPrefix)
	if !ok {
		h.next.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// WKD clients fetch across origins (web mail).
	w.Header().Set("Access-Control-Allow-Origin", "*")
	parts := strings.Split(rest, "/")
	var domain, hash string
	switch {
	case len(parts) == 1 && parts[0] == "policy":
		domain = hostDomain(r.Host)
	case len(parts) == 2 && parts[1] == "policy":
		domain = strings.ToLower(parts[0])
	case len(parts) == 2 && parts[0] == "hu":
		domain, hash = hostDomain(r.Host), parts[1]
	case len(parts) == 3 && parts[1] == "hu":
		domain, hash = strings.ToLower(parts[0]), parts[2]
	default:
		http.NotFound(w, r)
		return
	}
	projects := h.projects(domain)
	if hash == "" {
		if len(projects) == 0 {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		return // an empty policy: the directory exists
	}
	for _, p := range projects {
		local, _, _ := strings.Cut(p.Address, "@")
		if WKDHash(local) != hash {
			continue
		}
		var data []byte
		err := h.db.View(func(tx store.Tx) error {
			e, err := h.keys.Project(tx, p.Key)
			if err != nil {
				return err
			}
			data, err = PublicBytes(e)
			return err
		})
		if errors.Is(err, ErrNoKey) {
			continue
		}
		if err != nil {
			http.Error(w, "key unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(data)
		return
	}
	http.NotFound(w, r)
}

// projects lists the projects with OpenPGP whose address is in domain;
// every such project when domain is "" (the direct method reached by an
// address that is not the mail domain: a test, a proxy that rewrote
// Host).
func (h *WKD) projects(domain string) []*config.Project {
	var out []*config.Project
	cfg := h.cfg()
	for i := range cfg.Projects {
		p := &cfg.Projects[i]
		if p.PGP == nil {
			continue
		}
		_, d, _ := strings.Cut(strings.ToLower(p.Address), "@")
		if domain == "" || d == domain {
			out = append(out, p)
		}
	}
	return out
}

// hostDomain is the mail domain a request's Host names: without a port
// and the advanced method's "openpgpkey." label; "" for an IP address.
func hostDomain(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if net.ParseIP(strings.Trim(host, "[]")) != nil || host == "localhost" {
		return ""
	}
	return strings.TrimPrefix(host, "openpgpkey.")
}
