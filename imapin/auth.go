package imapin

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"golang.org/x/oauth2"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/internal/oauth2token"
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
	// refreshErr is the last OAuth2 refresh's failure, "" after one
	// worked: a cause of its own for the alerts (issue 21).
	refreshErr string
}

func newAuthenticator(cfg config.IMAP) *authenticator {
	return &authenticator{cfg: cfg}
}

// login authenticates c. Every failure is temporary: credentials are fixed
// by the operator or the token helper while the fetcher keeps retrying.
func (a *authenticator) login(c *imapclient.Client) error {
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
		tok, err := a.accessToken()
		if err != nil {
			return fault.Temporary(err)
		}
		var sc sasl.Client
		if method == "xoauth2" {
			sc = &oauth2token.XOAUTH2{User: user, Token: tok}
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
func (a *authenticator) accessToken() (string, error) {
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
		ts, err := oauth2token.NewSource(a.cfg.OAuth2)
		if err != nil {
			a.refreshErr = err.Error()
			return "", err
		}
		a.ts = ts
	}
	tok, err := a.ts.Token()
	if err != nil {
		err = fmt.Errorf("imap oauth2 token from %s: %w", a.cfg.OAuth2.TokenURL, err)
		a.refreshErr = err.Error()
		return "", err
	}
	a.refreshErr = ""
	return tok.AccessToken, nil
}

// refreshError is why the last OAuth2 refresh failed, "" when it worked.
func (a *authenticator) refreshError() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.refreshErr
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
