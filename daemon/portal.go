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

// SecretName is the file in data_dir that held the per-installation
// signing key before it moved into the store; a store without a key
// adopts it once.
const SecretName = "secret.key"

// secretMeta names the signing key in the store's metadata.
const secretMeta = "web_secret"

// loadSecret returns the installation's signing key, kept in the store on
// every backend: on a store several nodes share a link or form made by one
// node works on every other, and `ticketgate store copy` and backups carry
// it with the tickets its links point to. The first start with a store
// that has none stores data_dir/secret.key when there is one (links
// already mailed keep working) or a new random key; the others read it.
func (d *Daemon) loadSecret(dataDir string) ([]byte, error) {
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
