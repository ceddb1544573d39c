package desk

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testIdP is a small but real OpenID Connect provider on loopback: a
// discovery document, a JWKS with a freshly generated RSA key, an
// authorization endpoint that signs in whoever the test says (no login
// page) and redirects back with a code, and a token endpoint that
// authenticates the client, redeems each code once, checks the PKCE
// verifier against the S256 challenge and returns an RS256-signed ID
// token. Each identity can be made wrong in one way (audience, nonce,
// expiry, signing key) to see the desk refuse it.
type testIdP struct {
	t        *testing.T
	srv      *httptest.Server
	key      *rsa.PrivateKey
	otherKey *rsa.PrivateKey
	kid      string
	clientID string
	secret   string
	redirect string
	now      func() time.Time

	// down answers discovery with 503, as a provider in maintenance.
	down        atomic.Bool
	discoveries atomic.Int64
	redeemed    atomic.Int64

	mu    sync.Mutex
	next  idpIdentity
	codes map[string]*idpCode
	// authorize keeps the query of each authorization request.
	authorize []url.Values
}

// idpIdentity is who the next authorization signs in, and what is wrong
// with the token issued for them.
type idpIdentity struct {
	Email    string
	Verified any // true, false, "true", or nil (claim absent)
	// Audience replaces [client id] when set.
	Audience []string
	// Nonce replaces the nonce the client asked for when set.
	Nonce string
	// Lifetime is the token's exp - iat; negative issues an expired one.
	Lifetime time.Duration
	// OtherKey signs with a key the JWKS does not hold (same kid).
	OtherKey bool
}

type idpCode struct {
	challenge, nonce, redirect string
	who                        idpIdentity
	used                       bool
}

func newTestIdP(t *testing.T, redirect string, now func() time.Time) *testIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &testIdP{t: t, key: key, otherKey: other, kid: "k1", clientID: "ticketgate-desk", secret: "idp-client-s3cret",
		redirect: redirect, now: now, codes: map[string]*idpCode{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorizeEndpoint)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// signInAs sets who the next authorization signs in.
func (p *testIdP) signInAs(who idpIdentity) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next = who
}

func (p *testIdP) discovery(w http.ResponseWriter, r *http.Request) {
	p.discoveries.Add(1)
	if p.down.Load() {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	writeJSONTest(w, http.StatusOK, map[string]any{
		"issuer":                                p.srv.URL,
		"authorization_endpoint":                p.srv.URL + "/authorize",
		"token_endpoint":                        p.srv.URL + "/token",
		"jwks_uri":                              p.srv.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                      []string{"openid", "email"},
	})
}

func (p *testIdP) jwks(w http.ResponseWriter, r *http.Request) {
	pub := p.key.PublicKey
	writeJSONTest(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": p.kid,
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func (p *testIdP) authorizeEndpoint(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	p.authorize = append(p.authorize, q)
	who := p.next
	p.mu.Unlock()
	switch {
	case q.Get("response_type") != "code", q.Get("client_id") != p.clientID, q.Get("redirect_uri") != p.redirect,
		q.Get("code_challenge_method") != "S256", q.Get("code_challenge") == "", q.Get("state") == "",
		!slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		// A provider never redirects a request it cannot trust.
		http.Error(w, "invalid authorization request", http.StatusBadRequest)
		return
	}
	code := b64(randomBytes(p.t, 24))
	p.mu.Lock()
	p.codes[code] = &idpCode{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirect: q.Get("redirect_uri"), who: who}
	p.mu.Unlock()
	back := url.Values{"code": {code}, "state": {q.Get("state")}}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
}

func (p *testIdP) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSONTest(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	if id != p.clientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.secret)) != 1 {
		writeJSONTest(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	if r.PostFormValue("grant_type") != "authorization_code" {
		writeJSONTest(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	p.mu.Lock()
	c := p.codes[r.PostFormValue("code")]
	reused := c != nil && c.used
	if c != nil {
		c.used = true // one try per code, good or bad
	}
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
	if c == nil || reused || c.redirect != r.PostFormValue("redirect_uri") || b64(sum[:]) != c.challenge {
		writeJSONTest(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	}
	p.redeemed.Add(1)
	who := c.who
	now := p.now()
	life := who.Lifetime
	if life == 0 {
		life = 5 * time.Minute
	}
	aud := who.Audience
	if aud == nil {
		aud = []string{p.clientID}
	}
	nonce := c.nonce
	if who.Nonce != "" {
		nonce = who.Nonce
	}
	claims := map[string]any{
		"iss": p.srv.URL, "sub": "user-" + who.Email, "aud": aud, "iat": now.Unix(), "exp": now.Add(life).Unix(),
		"nonce": nonce, "email": who.Email,
	}
	if who.Verified != nil {
		claims["email_verified"] = who.Verified
	}
	key := p.key
	if who.OtherKey {
		key = p.otherKey
	}
	writeJSONTest(w, http.StatusOK, map[string]any{
		"access_token": b64(randomBytes(p.t, 24)), "token_type": "Bearer", "expires_in": 300,
		"id_token": p.sign(key, claims),
	})
}

// sign makes a compact RS256 JWS of claims.
func (p *testIdP) sign(key *rsa.PrivateKey, claims map[string]any) string {
	head, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": p.kid})
	body, err := json.Marshal(claims)
	if err != nil {
		p.t.Error(err)
	}
	input := b64(head) + "." + b64(body)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		p.t.Error(err)
	}
	return input + "." + b64(sig)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Error(err)
	}
	return b
}

func writeJSONTest(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
