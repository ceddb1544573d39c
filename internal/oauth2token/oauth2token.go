// Package oauth2token gets OAuth2 access tokens for mail logins (the IMAP
// mailboxes and the outbound SMTP relay) with golang.org/x/oauth2 — the
// refresh-token grant, which saves a rotated refresh token back to its
// file, or the client-credentials grant — and provides the SASL XOAUTH2
// mechanism Google and Microsoft use (go-sasl has only OAUTHBEARER).
package oauth2token

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/ticketgate/ticketgate/config"
)

// NewSource builds the flow an oauth2 config section describes: the
// refresh-token grant when refresh_token_file is set, else client
// credentials. It reads the secret files now; the returned source caches
// the access token until it expires and is safe for concurrent use.
func NewSource(o *config.OAuth2) (oauth2.TokenSource, error) {
	var secret string
	if o.ClientSecretFile != "" {
		s, err := config.SecretFromFile(o.ClientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("oauth2 client_secret_file: %w", err)
		}
		secret = s
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 30 * time.Second})
	if o.RefreshTokenFile == "" {
		cc := &clientcredentials.Config{ClientID: o.ClientID, ClientSecret: secret, TokenURL: o.TokenURL, Scopes: o.Scopes}
		return cc.TokenSource(ctx), nil
	}
	rt, err := config.SecretFromFile(o.RefreshTokenFile)
	if err != nil {
		return nil, fmt.Errorf("oauth2 refresh_token_file: %w", err)
	}
	conf := &oauth2.Config{ClientID: o.ClientID, ClientSecret: secret, Endpoint: oauth2.Endpoint{TokenURL: o.TokenURL}, Scopes: o.Scopes}
	return &persisting{src: conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}), file: o.RefreshTokenFile, last: rt}, nil
}

// persisting writes a rotated refresh token back to its file, so that a
// restart does not present a token the provider has already replaced.
type persisting struct {
	src  oauth2.TokenSource
	file string

	mu   sync.Mutex
	last string
}

func (p *persisting) Token() (*oauth2.Token, error) {
	t, err := p.src.Token()
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.RefreshToken != "" && t.RefreshToken != p.last {
		if err := writeFileAtomic(p.file, []byte(t.RefreshToken+"\n")); err != nil {
			return nil, fmt.Errorf("save the rotated refresh token: %w", err)
		}
		p.last = t.RefreshToken
	}
	return t, nil
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// XOAUTH2 is the SASL XOAUTH2 client mechanism.
type XOAUTH2 struct {
	User, Token string
}

// Start sends the initial response.
func (x *XOAUTH2) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.User + "\x01auth=Bearer " + x.Token + "\x01\x01"), nil
}

// Next answers the server's error challenge (a JSON status) with an empty
// response, after which the server fails the command with the reason.
func (x *XOAUTH2) Next([]byte) ([]byte, error) {
	return []byte{}, nil
}
