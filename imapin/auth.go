package imapin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/fault"
)

// authenticator logs a connection in with the account's credentials. It is
// kept across reconnects: it caches the token file by modification time and
// holds the OAuth2 token source (which refreshes only when the access token
// expires).
type authenticator struct {
	cfg config.IMAP

	mu       sync.Mutex
	tokenMod time.Time
	tokenLen int64
	token    string
	ts       oauth2.TokenSource
}

func newAuthenticator(cfg config.IMAP) *authenticator {
	return &authenticator{cfg: cfg}
}

// login authenticates c. Every failure is temporary: credentials are fixed
// by the operator or the token helper while the fetcher keeps retrying.
func (a *authenticator) login(ctx context.Context, c *imapclient.Client) error {
	user := a.cfg.Username
	switch method := a.cfg.AuthMethod(); method {
	case "login", "plain":
		pw, err := config.SecretFromFile(a.cfg.PasswordFile)
		if err != nil {
			return fault.Temporary(fmt.Errorf("imap password: %w", err))
		}
		if method == "login" {
			err = c.Login(user, pw).Wait()
		} else {
			err = c.Authenticate(sasl.NewPlainClient("", user, pw))
		}
		if err != nil {
			return fault.Temporary(fmt.Errorf("imap %s as %s: %w", strings.ToUpper(method), user, err))
		}
		return nil
	case "xoauth2", "oauthbearer":
		tok, err := a.accessToken(ctx)
		if err != nil {
			return fault.Temporary(err)
		}
		var sc sasl.Client
		if method == "xoauth2" {
			sc = &xoauth2Client{user: user, token: tok}
		} else {
			sc = sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: user, Token: tok, Host: a.cfg.Host, Port: a.cfg.Port})
		}
		if err := c.Authenticate(sc); err != nil {
			// A rejected token may be stale: fetch a fresh one next time.
			a.forgetToken()
			return fault.Temporary(fmt.Errorf("imap %s as %s: %w", strings.ToUpper(method), user, err))
		}
		return nil
	default:
		return fault.Permanentf("imap: unknown auth method %q", method)
	}
}

// accessToken returns the current OAuth2 access token: from token_file
// (re-read when its modification time or size changes) or from the
// built-in flow.
func (a *authenticator) accessToken(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cfg.TokenFile != "" {
		fi, err := os.Stat(a.cfg.TokenFile)
		if err != nil {
			return "", fmt.Errorf("imap token_file: %w", err)
		}
		if a.token == "" || !fi.ModTime().Equal(a.tokenMod) || fi.Size() != a.tokenLen {
			tok, err := config.SecretFromFile(a.cfg.TokenFile)
			if err != nil {
				return "", fmt.Errorf("imap token_file: %w", err)
			}
			a.token, a.tokenMod, a.tokenLen = strings.TrimSpace(tok), fi.ModTime(), fi.Size()
		}
		return a.token, nil
	}
	if a.cfg.OAuth2 == nil {
		return "", errors.New("imap: no token_file and no oauth2 section")
	}
	if a.ts == nil {
		ts, err := newTokenSource(a.cfg.OAuth2)
		if err != nil {
			return "", err
		}
		a.ts = ts
	}
	_ = ctx // the token source carries its own HTTP timeout
	tok, err := a.ts.Token()
	if err != nil {
		return "", fmt.Errorf("imap oauth2 token: %w", err)
	}
	return tok.AccessToken, nil
}

// forgetToken drops a cached token after the server refused it.
func (a *authenticator) forgetToken() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.token = ""
	if a.cfg.OAuth2 != nil {
		a.ts = nil
	}
}

// newTokenSource builds the OAuth2 flow: refresh-token grant when a refresh
// token file is configured, else client credentials.
func newTokenSource(o *config.OAuth2) (oauth2.TokenSource, error) {
	var secret string
	if o.ClientSecretFile != "" {
		s, err := config.SecretFromFile(o.ClientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("imap oauth2 client_secret_file: %w", err)
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
		return nil, fmt.Errorf("imap oauth2 refresh_token_file: %w", err)
	}
	conf := &oauth2.Config{ClientID: o.ClientID, ClientSecret: secret, Endpoint: oauth2.Endpoint{TokenURL: o.TokenURL}, Scopes: o.Scopes}
	return &persistingSource{src: conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}), file: o.RefreshTokenFile, last: rt}, nil
}

// persistingSource writes a rotated refresh token back to its file, so a
// restart does not present a token the provider has already replaced.
type persistingSource struct {
	src  oauth2.TokenSource
	file string
	last string
}

func (p *persistingSource) Token() (*oauth2.Token, error) {
	t, err := p.src.Token()
	if err != nil {
		return nil, err
	}
	if t.RefreshToken != "" && t.RefreshToken != p.last {
		if err := writeFileAtomic(p.file, []byte(t.RefreshToken+"\n")); err != nil {
			return nil, fmt.Errorf("save rotated refresh token: %w", err)
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

// xoauth2Client is the SASL XOAUTH2 mechanism of Google and Microsoft
// (go-sasl has only the standard OAUTHBEARER).
type xoauth2Client struct {
	user, token string
}

func (x *xoauth2Client) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

// Next answers the server's error challenge (a JSON status) with an empty
// response, after which the server fails the command with the reason.
func (x *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	return []byte{}, nil
}
