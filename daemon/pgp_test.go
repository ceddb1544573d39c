package daemon

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/admin"
	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/internal/gpgtest"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/pgp"
	"github.com/ticketgate/ticketgate/store"
)

// pgpDaemon starts a daemon whose project ACME has OpenPGP (mode is
// pgp.encrypt), generates its key through the admin API (as the operator
// alice) and returns the daemon, its sink, the admin client and the key's
// fingerprint.
func pgpDaemon(t *testing.T, mode string, edit func(*config.Config)) (*Daemon, *mailouttest.Sink, *admin.Client, string) {
	t.Helper()
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := benchConfig(filepath.Join(t.TempDir(), "data"), sink)
	c.Projects[0].PGP = &config.PGP{Encrypt: mode}
	c.Admin.Users = map[string]string{unixUser(t): "alice@example.com"}
	c.Admin.Operators = []string{"alice@example.com"}
	if edit != nil {
		edit(c)
	}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	d := start(t, c)
	cl := admin.NewSocketClient(filepath.Join(c.DataDir, AdminSocketName))
	var pk admin.PGPProjectKey
	if err := cl.Call(context.Background(), http.MethodPost, "/api/pgp/projects/ACME/keygen", nil, &pk); err != nil {
		t.Fatal(err)
	}
	return d, sink, cl, pk.Fingerprint
}

// wkdKey fetches ACME's public key from the daemon's Web Key Directory by
// the advanced and the direct method; both must serve the same key.
func wkdKey(t *testing.T, d *Daemon) []byte {
	t.Helper()
	base := "http://" + d.Addr("web") + "/.well-known/openpgpkey/"
	hu := pgp.WKDHash("acme")
	fetch := func(url, host string) []byte {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s (Host %s): %d %s", url, host, resp.StatusCode, b)
		}
		return b
	}
	adv := fetch(base+"support.example.com/hu/"+hu+"?l=acme", "openpgpkey.support.example.com")
	direct := fetch(base+"hu/"+hu+"?l=acme", "support.example.com")
	fetch(base+"support.example.com/policy", "openpgpkey.support.example.com")
	fetch(base+"policy", "support.example.com")
	if !bytes.Equal(adv, direct) || len(adv) == 0 {
		t.Fatalf("advanced (%d bytes) and direct (%d bytes) methods differ", len(adv), len(direct))
	}
	req, _ := http.NewRequest(http.MethodGet, base+"support.example.com/hu/"+pgp.WKDHash("nobody"), nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("WKD for an unknown local part: %v %v", resp, err)
	}
	return adv
}

func autocryptOf(g *gpgtest.Home, addr string) string {
	enc := base64.StdEncoding.EncodeToString(g.Export(addr))
	var b strings.Builder
	b.WriteString("Autocrypt: addr=" + addr + "; prefer-encrypt=mutual; keydata=")
	for i := 0; i < len(enc); i += 72 {
		b.WriteString("\r\n ")
		b.WriteString(enc[i:min(i+72, len(enc))])
	}
	return b.String()
}

// pgpMail is a PGP/MIME mail from carl: the inner entity encrypted to
// ACME (and signed by signer when not empty) with gpg.
func pgpMail(g *gpgtest.Home, subject, msgid, inner, signer string, extra ...string) string {
	armored := g.EncryptSign([]byte(inner), "acme@support.example.com", signer)
	return msg("Carl <carl@customer.example>", "acme@support.example.com", subject, msgid,
		"--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b1\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n"+string(armored)+"\r\n--b1--",
		append([]string{"MIME-Version: 1.0", `Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b1"`}, extra...)...)
}

func textInner(s string) string {
	return "Content-Type: text/plain; charset=utf-8\r\n\r\n" + s + "\r\n"
}

// decryptMail checks that m is PGP/MIME and returns what gpg decrypts
// from it and the fingerprint of the valid signature.
func decryptMail(t *testing.T, g *gpgtest.Home, m mailouttest.Message) (string, string) {
	t.Helper()
	plain, signer, err := tryDecrypt(g, m)
	if err != nil {
		t.Fatalf("mail to %v: %v\n%s", m.To, err, m.Data)
	}
	return plain, signer
}

// tryDecrypt is decryptMail's work, its failure an error.
func tryDecrypt(g *gpgtest.Home, m mailouttest.Message) (string, string, error) {
	r, err := mail.CreateReader(bytes.NewReader(m.Data))
	if err != nil {
		return "", "", err
	}
	if ct, params, _ := r.Header.ContentType(); ct != "multipart/encrypted" || params["protocol"] != "application/pgp-encrypted" {
		return "", "", fmt.Errorf("%s, not PGP/MIME", ct)
	}
	var body []byte
	for i := 0; i < 2; i++ {
		p, err := r.NextPart()
		if err != nil {
			return "", "", err
		}
		body, _ = io.ReadAll(p.Body)
	}
	plain, signer, err := g.Decrypt(body)
	return string(plain), signer, err
}

func mailWith(t *testing.T, sink *mailouttest.Sink, rcpt, subject string) mailouttest.Message {
	t.Helper()
	m, err := sink.WaitMessage(func(m mailouttest.Message) bool {
		if len(m.To) == 0 || m.To[0] != rcpt {
			return false
		}
		r, err := mail.CreateReader(bytes.NewReader(m.Data))
		if err != nil {
			return false
		}
		s, _ := r.Header.Subject()
		return strings.Contains(s, subject)
	}, 15e9)
	if err != nil {
		t.Fatalf("no mail to %s about %q: %v", rcpt, subject, err)
	}
	return m
}

func pgpKeyOf(t *testing.T, d *Daemon, addr string) *store.PGPKey {
	t.Helper()
	var k *store.PGPKey
	if err := d.Store().View(func(tx store.Tx) error { var err error; k, err = tx.PGPKey(addr); return err }); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestPGPEndToEnd (issue 19): gpg encrypts and signs mail to the key the
// project publishes by WKD; the ticket holds the plain text; the
// customer's Autocrypt key is learned unverified, verified by their reply
// carrying their own token; then their signature reads "signed by a
// verified key", and the answers to them are encrypted and signed, which
// gpg decrypts and verifies. Nothing of the encrypted ticket leaves in
// clear.
func TestPGPEndToEnd(t *testing.T) {
	d, sink, cl, ownFP := pgpDaemon(t, config.EncryptWhenPossible, nil)
	g := gpgtest.New(t)
	carlFP := g.GenKey("Carl", "carl@customer.example")
	g.Import(wkdKey(t, d))
	if got := g.Fingerprint("acme@support.example.com"); got != ownFP {
		t.Fatalf("WKD served %s, the project's key is %s", got, ownFP)
	}
	ac := autocryptOf(g, "carl@customer.example")

	// 1. A new request, encrypted and signed; carl's key is not known yet.
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		pgpMail(g, "Printer secret", "enc1@customer.example", textInner("The admin password is hunter2."), "carl@customer.example", ac))
	reply := mailWith(t, sink, "carl@customer.example", "[ACME-1]")
	tk, msgs := ticketOf(t, d, "ACME-1")
	if !tk.Encrypted || !msgs[0].Encrypted || !strings.Contains(msgs[0].Text, "hunter2") || msgs[0].Signature != store.SignatureUnknownKey {
		t.Fatalf("ticket %+v, message encrypted=%v signature=%q text %q", tk, msgs[0].Encrypted, msgs[0].Signature, msgs[0].Text)
	}
	if bytes.Contains(reply.Data, []byte("hunter2")) || !linkRE.Match(reply.Data) {
		t.Errorf("auto-reply of an encrypted ticket without a verified key must carry only the link:\n%s", reply.Data)
	}
	replyHeader := header(t, reply)
	if h := replyHeader.Get("Autocrypt"); !strings.HasPrefix(h, "addr=acme@support.example.com; keydata=") {
		t.Errorf("Autocrypt header %q", h)
	}
	agent := mailWith(t, sink, "alice@example.com", "[ACME-1]")
	if bytes.Contains(agent.Data, []byte("hunter2")) || !agentLinkRE.Match(agent.Data) {
		t.Errorf("agent without a key got the encrypted ticket's text, or no link:\n%s", agent.Data)
	}
	waitUntil(t, d, "carl's key learned", func() bool { k := pgpKeyOf(t, d, "carl@customer.example"); return k != nil && k.Unverified != nil })
	if k := pgpKeyOf(t, d, "carl@customer.example"); k.Verified != nil || k.Unverified.Fingerprint != carlFP {
		t.Fatalf("a key from unproven mail: %+v", k)
	}

	// 2. Carl answers the auto-reply (its Message-ID carries his own reply
	// token): the mail proves him, so his key becomes verified.
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		pgpMail(g, "Re: [ACME-1] Printer secret", "enc2@customer.example", textInner("Also: the PIN is kiwi4711."), "carl@customer.example",
			ac, "In-Reply-To: "+replyHeader.Get("Message-Id")))
	waitUntil(t, d, "carl's key verified", func() bool {
		k := pgpKeyOf(t, d, "carl@customer.example")
		return k != nil && k.Verified != nil && k.Verified.Fingerprint == carlFP
	})
	_, msgs = ticketOf(t, d, "ACME-1")
	if len(msgs) != 2 || msgs[1].Signature != store.SignatureUnverifiedKey || msgs[1].ThreadedBy != "reply-token" {
		t.Fatalf("reply: %d messages, signature %q, threaded by %q", len(msgs), msgs[len(msgs)-1].Signature, msgs[len(msgs)-1].ThreadedBy)
	}

	// 3. Now carl's signature is by a verified key, and the auto-reply to
	// him is encrypted to his key and signed by the project's.
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		pgpMail(g, "Second secret", "enc3@customer.example", textInner("The VPN key is swordfish."), "carl@customer.example"))
	enc := mailWith(t, sink, "carl@customer.example", "[ACME-2]")
	_, msgs = ticketOf(t, d, "ACME-2")
	if msgs[0].Signature != store.SignatureVerified || !strings.Contains(msgs[0].Text, "swordfish") {
		t.Fatalf("signature %q, text %q", msgs[0].Signature, msgs[0].Text)
	}
	// Threaded by the subject token alone (anyone can type it), a comment
	// is proven by carl's verified key's signature, and unverified
	// without it.
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		pgpMail(g, "Re: [ACME-2] Second secret", "enc4@customer.example", textInner("signed follow-up"), "carl@customer.example"))
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		pgpMail(g, "Re: [ACME-2] Second secret", "enc5@customer.example", textInner("unsigned follow-up"), ""))
	_, msgs = ticketOf(t, d, "ACME-2")
	if len(msgs) != 3 || msgs[1].ThreadedBy != "subject-token" || msgs[1].Unverified || !msgs[2].Unverified {
		t.Fatalf("subject-token comments: %d messages; signed one unverified=%v, unsigned one unverified=%v", len(msgs), msgs[1].Unverified, msgs[len(msgs)-1].Unverified)
	}
	plain, signer := decryptMail(t, g, enc)
	if signer != ownFP || !strings.Contains(plain, "ACME-2") || !strings.Contains(plain, "http://ticketgate.test/t/") {
		t.Fatalf("decrypted auto-reply signed by %q (want %s):\n%s", signer, ownFP, plain)
	}
	if h := header(t, enc); h.Get("Subject") == "" || h.Get("Autocrypt") == "" {
		t.Errorf("outer header lost its Subject or Autocrypt: %v", h)
	}
	// The ticket page shows the signature.
	resp, page := get(t, "http://"+d.Addr("web")+linkRE.FindStringSubmatch(plain)[1])
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Signed by a verified key") || !strings.Contains(page, "Encrypted") {
		t.Errorf("ticket page (%d) does not show the signature", resp.StatusCode)
	}

	// 4. An agent's answer reaches carl encrypted.
	if err := cl.Call(context.Background(), http.MethodPost, "/api/tickets/ACME-2/comment", admin.OpRequest{Text: "Rotate it to marlin, please."}, nil); err != nil {
		t.Fatal(err)
	}
	answer, err := sink.WaitMessage(func(m mailouttest.Message) bool {
		return len(m.To) == 1 && m.To[0] == "carl@customer.example" && bytes.Contains(m.Data, []byte("multipart/encrypted")) &&
			!bytes.Equal(m.Data, enc.Data) && bytes.Contains(m.Data, []byte("ACME-2"))
	}, 15e9)
	if err != nil {
		t.Fatal(err)
	}
	if plain, signer := decryptMail(t, g, answer); signer != ownFP || !strings.Contains(plain, "marlin") {
		t.Fatalf("decrypted answer signed by %q:\n%s", signer, plain)
	}
	for _, m := range sink.Messages() {
		for _, secret := range []string{"hunter2", "kiwi4711", "swordfish", "marlin"} {
			if bytes.Contains(m.Data, []byte(secret)) {
				t.Errorf("%q left in clear to %v:\n%s", secret, m.To, m.Data)
			}
		}
	}
}

// TestPGPAutocryptFromProvenMail: a customer's Autocrypt header on plain
// mail proven for them (trusted dmarc=pass) makes their key verified; the
// next notification to them is encrypted.
func TestPGPAutocryptFromProvenMail(t *testing.T) {
	d, sink, cl, ownFP := pgpDaemon(t, config.EncryptWhenPossible, func(c *config.Config) {
		c.TrustedAuthservIDs = []string{"mx.customer.example"}
		c.Inbound.AuthResultsFrom = []string{"127.0.0.1"}
	})
	g := gpgtest.New(t)
	doraFP := g.GenKey("Dora", "dora@customer.example")
	g.Import(wkdKey(t, d))
	mustSend(t, d.Addr("smtp"), "dora@customer.example", []string{"acme@support.example.com"},
		msg("dora@customer.example", "acme@support.example.com", "Plain question", "plain1@customer.example", "Where is my invoice?",
			autocryptOf(g, "dora@customer.example"), "Authentication-Results: mx.customer.example; dmarc=pass header.from=customer.example"))
	waitUntil(t, d, "dora's key verified", func() bool {
		k := pgpKeyOf(t, d, "dora@customer.example")
		return k != nil && k.Verified != nil && k.Verified.Fingerprint == doraFP && k.Verified.Source == pgp.SourceAutocrypt
	})
	if err := cl.Call(context.Background(), http.MethodPost, "/api/tickets/ACME-1/comment", admin.OpRequest{Text: "Invoice 42 is attached to your account."}, nil); err != nil {
		t.Fatal(err)
	}
	// (The auto-reply may have gone before the key was learned, in clear
	// or not: the answer is the mail that must be encrypted.)
	if plain, signer := waitDecrypted(t, sink, g, "dora@customer.example", "Invoice 42"); signer != ownFP {
		t.Fatalf("signed by %q:\n%s", signer, plain)
	}
}

// TestPGPAlwaysWithoutKeySendsOnlyTheNotice: `pgp.encrypt: always` and a
// customer without a key: no text leaves, only the notice with the link.
func TestPGPAlwaysWithoutKeySendsOnlyTheNotice(t *testing.T) {
	d, sink, cl, _ := pgpDaemon(t, config.EncryptAlways, nil)
	mustSend(t, d.Addr("smtp"), "erin@customer.example", []string{"acme@support.example.com"},
		msg("erin@customer.example", "acme@support.example.com", "Account locked", "always1@customer.example", "My account number is 99887766."))
	first := mailWith(t, sink, "erin@customer.example", "[ACME-1]")
	if err := cl.Call(context.Background(), http.MethodPost, "/api/tickets/ACME-1/comment", admin.OpRequest{Text: "Your unlock code is quokka."}, nil); err != nil {
		t.Fatal(err)
	}
	answer, err := sink.WaitMessage(func(m mailouttest.Message) bool {
		return len(m.To) == 1 && m.To[0] == "erin@customer.example" && !bytes.Equal(m.Data, first.Data)
	}, 15e9)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []mailouttest.Message{first, answer} {
		body := textBody(t, m)
		if strings.Contains(body, "quokka") || strings.Contains(body, "99887766") || !linkRE.MatchString(body) || !strings.Contains(body, "not sent by unencrypted mail") {
			t.Errorf("mail to a customer without a key under encrypt: always:\n%s", body)
		}
	}
	// The agent (not an encrypted ticket) still gets the text.
	if !strings.Contains(textBody(t, mailWith(t, sink, "alice@example.com", "[ACME-1]")), "99887766") {
		t.Error("the agent's notification lost the text of a ticket that did not come in encrypted")
	}
}

// TestPGPFailuresTellAgents: a corrupted encrypted mail, one encrypted to
// another key, and a signature by another key each become a ticket; no
// crash; the sender of what could not be decrypted is told; the agents
// see what went wrong.
func TestPGPFailuresTellAgents(t *testing.T) {
	d, sink, _, _ := pgpDaemon(t, config.EncryptWhenPossible, nil)
	g := gpgtest.New(t)
	g.GenKey("Carl", "carl@customer.example")
	g.GenKey("Mallory", "mallory@evil.example")
	g.Import(wkdKey(t, d))
	// Carl's key is known and verified (an agent confirmed it).
	if err := d.Store().Update(context.Background(), func(tx store.Tx) error {
		e, err := pgp.ReadPublic(g.Export("carl@customer.example"), "carl@customer.example", d.now())
		if err != nil {
			return err
		}
		if _, err := pgp.Learn(tx, pgp.Learned{Address: "carl@customer.example", Key: e, Source: pgp.SourceImport, Seen: d.now()}, d.now()); err != nil {
			return err
		}
		_, _, err = pgp.Verify(tx, "carl@customer.example", d.now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	other := gpgtest.New(t)
	other.GenKey("Other ACME", "acme@support.example.com") // a key that is not the project's

	corrupted := pgpMail(g, "Corrupted", "bad1@customer.example", textInner("lost words"), "carl@customer.example")
	i := strings.Index(corrupted, "-----BEGIN PGP MESSAGE-----")
	corrupted = corrupted[:i+120] + strings.Repeat("Z", 60) + corrupted[i+180:]
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"}, corrupted)
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		pgpMail(other, "Wrong key", "bad2@customer.example", textInner("to the wrong key"), ""))
	part := "Content-Type: text/plain; charset=utf-8\r\n\r\nPlease reset my password.\r\n"
	sig := g.DetachSign([]byte(part), "mallory@evil.example")
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		msg("carl@customer.example", "acme@support.example.com", "Forged signature", "bad3@customer.example",
			"--s1\r\n"+part+"\r\n--s1\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n"+string(sig)+"\r\n--s1--",
			"MIME-Version: 1.0", `Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="s1"`))

	for key, want := range map[string]string{"ACME-1": "could not be decrypted", "ACME-2": "does not hold"} {
		tk, msgs := ticketOf(t, d, key)
		if tk.Encrypted || !strings.Contains(msgs[0].Text, want) || len(msgs[0].Problems) == 0 {
			t.Errorf("%s: encrypted=%v text %q problems %v", key, tk.Encrypted, msgs[0].Text, msgs[0].Problems)
		}
		if body := textBody(t, mailWith(t, sink, "alice@example.com", "["+key+"]")); !strings.Contains(body, want) {
			t.Errorf("%s: the agents are not told:\n%s", key, body)
		}
		// Carl has a verified key: the notice to him goes encrypted.
		waitDecrypted(t, sink, g, "carl@customer.example", "could not decrypt it")
	}
	_, msgs := ticketOf(t, d, "ACME-3")
	if msgs[0].Signature != store.SignatureUnknownKey || !strings.Contains(strings.Join(msgs[0].Problems, "\n"), "not known for the sender") {
		t.Errorf("forged signature: %q %v", msgs[0].Signature, msgs[0].Problems)
	}
	agent := mailWith(t, sink, "alice@example.com", "[ACME-3]")
	l := agentLinkRE.FindStringSubmatch(textBody(t, agent))
	if l == nil {
		t.Fatal("no agent link")
	}
	if resp, page := get(t, "http://"+d.Addr("web")+l[1]); resp.StatusCode != http.StatusOK || !strings.Contains(page, "Signed by an unknown key") {
		t.Errorf("agent view (%d) does not show the unknown key", resp.StatusCode)
	}
	var events []*store.Event
	d.Store().View(func(tx store.Tx) error { events, _ = tx.Events("ACME-1"); return nil })
	found := false
	for _, e := range events {
		found = found || e.Kind == store.EvPGPUndecryptable
	}
	if !found {
		t.Error("no pgp_undecryptable event in ACME-1's history")
	}
}

// waitDecrypted waits for a PGP/MIME mail to rcpt whose decrypted text
// contains text and returns it with its signer's fingerprint.
func waitDecrypted(t *testing.T, sink *mailouttest.Sink, g *gpgtest.Home, rcpt, text string) (string, string) {
	t.Helper()
	var plain, signer string
	_, err := sink.WaitMessage(func(m mailouttest.Message) bool {
		if len(m.To) != 1 || m.To[0] != rcpt || !bytes.Contains(m.Data, []byte("multipart/encrypted")) {
			return false
		}
		p, s, err := tryDecrypt(g, m)
		if err == nil && strings.Contains(p, text) {
			plain, signer = p, s
			return true
		}
		return false
	}, 15e9)
	if err != nil {
		t.Fatalf("no encrypted mail to %s saying %q: %v", rcpt, text, err)
	}
	return plain, signer
}

// TestPGPAgentKeysDir: an agent whose key is in pgp.agent_keys_dir gets
// the notification of an encrypted ticket encrypted to it; an agent
// without a key gets only the link.
func TestPGPAgentKeysDir(t *testing.T) {
	ga := gpgtest.New(t)
	ga.GenKey("Alice", "alice@example.com")
	keys := t.TempDir()
	if err := os.WriteFile(filepath.Join(keys, "alice@example.com.asc"), ga.Must(nil, "--armor", "--export", "<alice@example.com>"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, sink, _, ownFP := pgpDaemon(t, config.EncryptWhenPossible, func(c *config.Config) {
		c.Projects[0].PGP.AgentKeysDir = keys
		c.Projects[0].Agents = []string{"alice@example.com", "erin@example.com"}
	})
	g := gpgtest.New(t)
	g.GenKey("Carl", "carl@customer.example")
	g.Import(wkdKey(t, d))
	ga.Import(wkdKey(t, d))
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		pgpMail(g, "Server creds", "agentkey1@customer.example", textInner("root password: kakapo"), "carl@customer.example"))
	if plain, signer := waitDecrypted(t, sink, ga, "alice@example.com", "kakapo"); signer != ownFP {
		t.Fatalf("alice's notification signed by %q:\n%s", signer, plain)
	}
	erin := mailWith(t, sink, "erin@example.com", "[ACME-1]")
	if bytes.Contains(erin.Data, []byte("kakapo")) || !agentLinkRE.Match(erin.Data) {
		t.Errorf("agent without a key:\n%s", erin.Data)
	}
}

// TestPGPKeyCommand: a customer's #key is answered with the project's
// public key attached, which gpg reads.
func TestPGPKeyCommand(t *testing.T) {
	d, sink, _, ownFP := pgpDaemon(t, config.EncryptWhenPossible, nil)
	mustSend(t, d.Addr("smtp"), "fred@customer.example", []string{"acme@support.example.com"},
		msg("fred@customer.example", "acme@support.example.com", "Your key please", "key1@customer.example", "#key\r\n\r\nI want to write to you encrypted."))
	m, err := sink.WaitMessage(func(m mailouttest.Message) bool {
		return len(m.To) == 1 && m.To[0] == "fred@customer.example" && bytes.Contains(m.Data, []byte("application/pgp-keys"))
	}, 15e9)
	if err != nil {
		t.Fatal(err)
	}
	r, err := mail.CreateReader(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	var key []byte
	for {
		p, err := r.NextPart()
		if err != nil {
			break
		}
		if ct, _, _ := p.Header.(interface {
			ContentType() (string, map[string]string, error)
		}).ContentType(); ct == "application/pgp-keys" {
			key, _ = io.ReadAll(p.Body)
		}
	}
	g := gpgtest.New(t)
	g.Import(key)
	if got := g.Fingerprint("acme@support.example.com"); got != ownFP {
		t.Fatalf("attached key %s, the project's is %s", got, ownFP)
	}
	if !strings.Contains(string(m.Data), "done: #key") {
		t.Errorf("the answer does not say #key was done:\n%s", m.Data)
	}
}

// TestPGPKeyChangeToldAtBothKeys: a verified key replaced by a newer one
// on proven mail is noted on the customer's tickets and told to them in a
// mail both the old and the new key decrypt.
func TestPGPKeyChangeToldAtBothKeys(t *testing.T) {
	d, sink, _, ownFP := pgpDaemon(t, config.EncryptWhenPossible, func(c *config.Config) {
		c.TrustedAuthservIDs = []string{"mx.customer.example"}
		c.Inbound.AuthResultsFrom = []string{"127.0.0.1"}
	})
	oldHome, newHome := gpgtest.New(t), gpgtest.New(t)
	oldFP := oldHome.GenKey("Dora", "dora@customer.example")
	newFP := newHome.GenKey("Dora", "dora@customer.example")
	own := wkdKey(t, d)
	oldHome.Import(own)
	newHome.Import(own)
	proven := "Authentication-Results: mx.customer.example; dmarc=pass header.from=customer.example"
	mustSend(t, d.Addr("smtp"), "dora@customer.example", []string{"acme@support.example.com"},
		msg("dora@customer.example", "acme@support.example.com", "First", "kc1@customer.example", "hello", autocryptOf(oldHome, "dora@customer.example"), proven))
	waitUntil(t, d, "the old key verified", func() bool {
		k := pgpKeyOf(t, d, "dora@customer.example")
		return k != nil && k.Verified != nil && k.Verified.Fingerprint == oldFP
	})
	mustSend(t, d.Addr("smtp"), "dora@customer.example", []string{"acme@support.example.com"},
		strings.Replace(msg("dora@customer.example", "acme@support.example.com", "Second", "kc2@customer.example", "new laptop", autocryptOf(newHome, "dora@customer.example"), proven),
			"Mon, 02 Nov 2026 10:00:00", "Mon, 02 Nov 2026 11:00:00", 1))
	waitUntil(t, d, "the new key verified", func() bool {
		k := pgpKeyOf(t, d, "dora@customer.example")
		return k != nil && k.Verified != nil && k.Verified.Fingerprint == newFP
	})
	m, err := sink.WaitMessage(func(m mailouttest.Message) bool {
		return len(m.To) == 1 && m.To[0] == "dora@customer.example" && bytes.Contains(m.Data, []byte("multipart/encrypted")) &&
			func() bool {
				p, _, err := tryDecrypt(newHome, m)
				return err == nil && strings.Contains(p, "has changed")
			}()
	}, 15e9)
	if err != nil {
		t.Fatal(err)
	}
	for name, g := range map[string]*gpgtest.Home{"old": oldHome, "new": newHome} {
		plain, signer := decryptMail(t, g, m)
		plain = textBody(t, mailouttest.Message{Data: []byte(plain)})
		if signer != ownFP || !strings.Contains(plain, oldFP) || !strings.Contains(plain, newFP) {
			t.Errorf("the %s key reads (signed by %q):\n%s", name, signer, plain)
		}
	}
	for _, key := range []string{"ACME-1", "ACME-2"} {
		var events []*store.Event
		d.Store().View(func(tx store.Tx) error { events, _ = tx.Events(key); return nil })
		noted := false
		for _, e := range events {
			noted = noted || (e.Kind == store.EvPGPKeyChanged && strings.Contains(e.Reason, newFP))
		}
		if !noted {
			t.Errorf("%s: the key change is not noted", key)
		}
	}
}

// TestPGPVerifyOnlyOwnCustomers: an agent of another project may neither
// confirm nor forget the keys of ACME's customer (keys are per address,
// for every project); ACME's own agent may.
func TestPGPVerifyOnlyOwnCustomers(t *testing.T) {
	dir := t.TempDir()
	d, _, alice, _ := pgpDaemon(t, config.EncryptWhenPossible, func(c *config.Config) {
		c.Admin.Listen = "127.0.0.1:0"
		c.Admin.Tokens = []config.AdminToken{{Agent: "bob@example.org", TokenFile: writeToken(t, dir, "bob.token", "token-of-bob-0123456789abcdef")}}
	})
	g := gpgtest.New(t)
	g.GenKey("Carl", "carl@customer.example")
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		msg("carl@customer.example", "acme@support.example.com", "Hi", "own1@customer.example", "hello", autocryptOf(g, "carl@customer.example")))
	waitUntil(t, d, "carl's key learned", func() bool { k := pgpKeyOf(t, d, "carl@customer.example"); return k != nil && k.Unverified != nil })
	bob := admin.NewTCPClient("http://"+d.Addr("admin-tcp"), "token-of-bob-0123456789abcdef", nil)
	ctx := context.Background()
	for _, call := range []struct{ method, path string }{{http.MethodPost, "/api/pgp/keys/carl@customer.example/verify"}, {http.MethodDelete, "/api/pgp/keys/carl@customer.example"}} {
		if err := bob.Call(ctx, call.method, call.path, nil, nil); statusCode(err) != http.StatusForbidden {
			t.Errorf("BETA's agent: %s %s: %v, want 403", call.method, call.path, err)
		}
	}
	if err := alice.Call(ctx, http.MethodPost, "/api/pgp/keys/carl@customer.example/verify", nil, nil); err != nil {
		t.Fatal(err)
	}
	if k := pgpKeyOf(t, d, "carl@customer.example"); k.Verified == nil {
		t.Errorf("ACME's agent could not confirm: %+v", k)
	}
}

// TestPGPUnreadableKeyDefersOnlyEncryptedMail: with a project key that
// cannot be unlocked (its passphrase file changed), plain mail is stored
// as ever and encrypted mail is deferred (4xx: the MTA retries), never
// lost or half-handled.
func TestPGPUnreadableKeyDefersOnlyEncryptedMail(t *testing.T) {
	pass := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pass, []byte("right\n"), 0o600)
	d, _, _, _ := pgpDaemon(t, config.EncryptWhenPossible, func(c *config.Config) { c.Projects[0].PGP.SecretKeyPassphraseFile = pass })
	g := gpgtest.New(t)
	g.GenKey("Carl", "carl@customer.example")
	g.Import(wkdKey(t, d))
	os.WriteFile(pass, []byte("wrong\n"), 0o600)
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		msg("carl@customer.example", "acme@support.example.com", "Plain", "plainok@customer.example", "plain mail still works"))
	ticketOf(t, d, "ACME-1")
	err := send(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		pgpMail(g, "Encrypted", "deferred@customer.example", textInner("later"), ""))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code/100 != 4 {
		t.Fatalf("encrypted mail with an unreadable project key: %v, want a 4xx", err)
	}
	os.WriteFile(pass, []byte("right\n"), 0o600)
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		pgpMail(g, "Encrypted", "deferred@customer.example", textInner("now it works"), ""))
	if _, msgs := ticketOf(t, d, "ACME-2"); !strings.Contains(msgs[0].Text, "now it works") {
		t.Errorf("the retried mail: %q", msgs[0].Text)
	}
}
