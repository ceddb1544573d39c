package daemon

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"github.com/ticketgate/ticketgate/mailin"
	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// SecretName is the per-installation signing key in data_dir: generated on
// first start, never shipped, so no two installations share one.
const SecretName = "secret.key"

// secretMeta names the signing key in a shared store's metadata.
const secretMeta = "web_secret"

// loadSecret returns the installation's signing key. On a store several
// nodes share (store.NodeLocker) it lives in the store, so a link or form
// made by one node works on every other: the first node to start stores
// it (adopting data_dir's key file when there is one, as when a single
// node's installation moved to PostgreSQL), the others read it. On bbolt
// it is the file data_dir/secret.key.
func (d *Daemon) loadSecret(dataDir string) ([]byte, error) {
	if _, shared := d.store.(store.NodeLocker); !shared {
		return loadSecretFile(dataDir)
	}
	candidate, err := os.ReadFile(filepath.Join(dataDir, SecretName))
	if err != nil || len(candidate) < 32 {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read %s: %w", SecretName, err)
		}
		candidate = make([]byte, 32)
		if _, err := rand.Read(candidate); err != nil {
			return nil, err
		}
	}
	var secret []byte
	err = d.store.Update(context.Background(), func(tx store.Tx) error {
		if secret = tx.Meta(secretMeta); len(secret) >= 32 {
			return nil
		}
		secret = candidate
		return tx.SetMeta(secretMeta, candidate)
	})
	if err != nil {
		return nil, fmt.Errorf("store the signing key: %w", err)
	}
	return secret, nil
}

func loadSecretFile(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, SecretName)
	b, err := os.ReadFile(path)
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return b, nil
}

// webReply turns a reply typed on the ticket page into a mail from the
// link's recipient and hands it to the same pipeline as mail: it threads by
// a fresh reply token, gets stored, notifies, all as if sent by mail.
func (d *Daemon) webReply(ctx context.Context, tok *store.Token, text string) error {
	p := d.Config().Project(tok.Project)
	if p == nil {
		return fmt.Errorf("project %s is no longer configured", tok.Project)
	}
	// Never mailed, only threads this post: it proves the link's recipient.
	reply := &store.Token{Token: notify.NewToken(), Kind: store.TokenReply, Project: p.Key, Ticket: tok.Ticket, Recipient: tok.Recipient, Created: d.now().UTC(), Proof: true}
	var t *store.Ticket
	err := d.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if t, err = tx.Ticket(tok.Ticket); err != nil {
			return err
		}
		return tx.PutToken(reply)
	})
	if err != nil {
		return err
	}
	var h mail.Header
	h.SetDate(d.now())
	h.SetAddressList("From", []*mail.Address{{Address: tok.Recipient}})
	h.SetAddressList("To", []*mail.Address{{Name: p.Name, Address: p.Address}})
	h.SetSubject("Re: [" + t.Key + "] " + t.Subject)
	h.SetMessageID("web." + notify.NewToken() + "@" + p.Domain())
	h.SetMsgIDList("In-Reply-To", []string{ticket.MessageIDPrefix + reply.Token + "@" + p.Domain()})
	h.Set("X-Ticketgate-Source", "web")
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	var buf bytes.Buffer
	w, err := message.CreateWriter(&buf, h.Header)
	if err != nil {
		return err
	}
	w.Write([]byte(strings.ReplaceAll(text, "\r\n", "\n")))
	if err := w.Close(); err != nil {
		return err
	}
	env := &mailin.Envelope{Source: "web", MailFrom: tok.Recipient, Rcpts: []string{p.ReplyAddress(reply.Token)}}
	return d.pipeline.Receive(ctx, env, &buf)[0]
}
