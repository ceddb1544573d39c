package pgp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/internal/gpgtest"
	"github.com/ticketgate/ticketgate/store"
)

// blobs is an in-memory blob folder for Open.
type blobs map[string][]byte

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

type memBlob struct {
	bytes.Buffer
	into blobs
}

func (b *memBlob) Size() int64 { return int64(b.Len()) }
func (b *memBlob) Commit() (string, error) {
	sum := sha256.Sum256(b.Bytes())
	h := hex.EncodeToString(sum[:])
	b.into[h] = append([]byte(nil), b.Bytes()...)
	return h, nil
}
func (b *memBlob) CommitPending() (string, error) { return b.Commit() }
func (b *memBlob) Abort()                         {}

func (bs blobs) put(data []byte) string {
	w := &memBlob{into: bs}
	w.Write(data)
	h, _ := w.Commit()
	return h
}

func (bs blobs) source(own *openpgp.Entity, verified, unverified *openpgp.Entity) Source {
	var ring openpgp.EntityList
	if own != nil {
		ring = append(ring, own)
	}
	return Source{
		Decrypt: func() (openpgp.EntityList, error) { return ring, nil },
		Open: func(h string) (io.ReadSeekCloser, error) {
			b, ok := bs[h]
			if !ok {
				return nil, fmt.Errorf("blob %s: %w", h, store.ErrNotFound)
			}
			return nopCloser{bytes.NewReader(b)}, nil
		},
		NewBlob:    func() (store.BlobWriter, error) { return &memBlob{into: bs}, nil },
		MaxBytes:   1 << 20,
		SenderKeys: func(string) (*openpgp.Entity, *openpgp.Entity, error) { return verified, unverified, nil },
	}
}

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func projectKey(t *testing.T) *openpgp.Entity {
	t.Helper()
	e, err := Generate("ACME Support", "acme@support.example.com", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func publicOf(t *testing.T, g *gpgtest.Home, addr string) *openpgp.Entity {
	t.Helper()
	e, err := ReadPublic(g.Export(addr), addr, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// encryptedMail is a PGP/MIME mail (RFC 3156 §4) whose encrypted part is
// armored.
func encryptedMail(subject string, armored []byte) []byte {
	return []byte("From: Carl <carl@customer.example>\r\nTo: acme@support.example.com\r\nSubject: " + subject + "\r\n" +
		"Message-ID: <enc@customer.example>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n" +
		"--b1\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n" + string(armored) + "\r\n--b1--\r\n")
}

// signedMail is a multipart/signed mail (RFC 3156 §5) over part.
func signedMail(part, sig []byte) []byte {
	return []byte("From: carl@customer.example\r\nTo: acme@support.example.com\r\nSubject: signed\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"s1\"\r\n\r\n" +
		"This is an OpenPGP/MIME signed message.\r\n--s1\r\n" + string(part) + "\r\n--s1\r\n" +
		"Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n" + string(sig) + "\r\n--s1--\r\n")
}

const inner = "Content-Type: text/plain; charset=utf-8\r\nSubject: an inner subject\r\n\r\nThe password is hunter2.\r\n"

func TestWKDHash(t *testing.T) {
	// draft-koch-openpgp-webkey-service §3.1's example.
	if got := WKDHash("Joe.Doe"); got != "iy9q119eutrkn8s1mk4r39qejnbu3n5q" {
		t.Errorf("WKDHash(Joe.Doe) = %s", got)
	}
}

func TestDecide(t *testing.T) {
	for _, c := range []struct {
		mode                                 string
		internal, key, encTicket, agentClear bool
		want                                 Action
	}{
		{config.EncryptWhenPossible, false, true, false, false, Encrypt},
		{config.EncryptWhenPossible, false, false, false, false, Clear},
		{config.EncryptWhenPossible, false, false, true, false, Notice},
		{config.EncryptAlways, false, false, false, false, Notice},
		{config.EncryptAlways, false, true, false, false, Encrypt},
		{config.EncryptNever, false, true, false, false, Clear},
		{config.EncryptNever, false, true, true, false, Notice},
		{config.EncryptWhenPossible, true, true, false, false, Clear},
		{config.EncryptWhenPossible, true, true, true, false, Encrypt},
		{config.EncryptWhenPossible, true, false, true, false, Notice},
		{config.EncryptWhenPossible, true, false, true, true, Clear},
		{config.EncryptNever, true, true, true, false, Notice},
	} {
		if got := Decide(c.mode, c.internal, c.key, c.encTicket, c.agentClear); got != c.want {
			t.Errorf("%+v: %v, want %v", c, got, c.want)
		}
	}
}

func TestAutocrypt(t *testing.T) {
	e := projectKey(t)
	h, err := AutocryptHeader("acme@support.example.com", e)
	if err != nil {
		t.Fatal(err)
	}
	data := ParseAutocrypt([]string{"addr=other@x; keydata=AAAA", h}, "ACME@support.example.com")
	got, err := ReadPublic(data, "acme@support.example.com", now)
	if err != nil || Fingerprint(got) != Fingerprint(e) {
		t.Fatalf("round trip: %v", err)
	}
	if ParseAutocrypt([]string{h, h}, "acme@support.example.com") != nil {
		t.Error("two headers for From count (Autocrypt: none does)")
	}
	if ParseAutocrypt([]string{"addr=acme@support.example.com; secret=1; keydata=AAAA"}, "acme@support.example.com") != nil {
		t.Error("a header with an unknown critical attribute counts")
	}
	if ParseAutocrypt([]string{h}, "carl@customer.example") != nil {
		t.Error("a header for another address than From counts")
	}
}

func TestLearnNewestWinsAndOnlyProofVerifies(t *testing.T) {
	db := openStore(t)
	k1, k2, k3 := projectKeyFor(t, "carl@customer.example"), projectKeyFor(t, "carl@customer.example"), projectKeyFor(t, "carl@customer.example")
	learn := func(e *openpgp.Entity, seen time.Time, proven bool) *Change {
		t.Helper()
		var c *Change
		if err := db.Update(t.Context(), func(tx store.Tx) error {
			var err error
			c, err = Learn(tx, Learned{Address: "Carl@customer.example", Key: e, Source: SourceAutocrypt, Seen: seen, Proven: proven}, now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	rec := func() *store.PGPKey {
		var r *store.PGPKey
		db.View(func(tx store.Tx) error { r, _ = tx.PGPKey("carl@customer.example"); return nil })
		return r
	}
	if c := learn(k1, now, false); c != nil || rec().Verified != nil || rec().Unverified.Fingerprint != Fingerprint(k1) {
		t.Fatalf("an unproven key: %+v %+v", c, rec())
	}
	if c := learn(k1, now.Add(time.Minute), true); c != nil || rec().Verified.Fingerprint != Fingerprint(k1) || rec().Unverified != nil {
		t.Fatalf("the same key on proven mail: %+v %+v", c, rec())
	}
	if c := learn(k2, now.Add(2*time.Minute), false); c != nil || rec().Verified.Fingerprint != Fingerprint(k1) {
		t.Fatalf("an unproven new key replaced the verified one: %+v", rec())
	}
	if c := learn(k3, now.Add(-time.Hour), true); c != nil || rec().Verified.Fingerprint != Fingerprint(k1) {
		t.Fatalf("an older mail's key replaced the newest: %+v", rec())
	}
	c := learn(k3, now.Add(time.Hour), true)
	if c == nil || c.Old != Fingerprint(k1) || c.New != Fingerprint(k3) || rec().Previous.Fingerprint != Fingerprint(k1) {
		t.Fatalf("a proven newer key: %+v %+v", c, rec())
	}
	var found bool
	if err := db.Update(t.Context(), func(tx store.Tx) error {
		var err error
		found, c, err = Verify(tx, "carl@customer.example", now)
		return err
	}); err != nil || !found || c == nil || c.New != Fingerprint(k2) || rec().Verified.Fingerprint != Fingerprint(k2) {
		t.Fatalf("agent's confirmation of the unverified key: %v %v %+v", found, err, c)
	}
}

func projectKeyFor(t *testing.T, addr string) *openpgp.Entity {
	t.Helper()
	e, err := Generate("", addr, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestOpenEncryptedByGnuPG(t *testing.T) {
	g := gpgtest.New(t)
	carlFP := g.GenKey("Carl", "carl@customer.example")
	g.GenKey("Mallory", "mallory@evil.example")
	own := projectKey(t)
	pub, _ := ArmorPublic(own)
	g.Import([]byte(pub))
	other := projectKeyFor(t, "acme@support.example.com")
	otherPub, _ := ArmorPublic(other)
	g2 := gpgtest.New(t)
	g2.Import([]byte(otherPub))
	carl := publicOf(t, g, "carl@customer.example")
	bs := blobs{}

	t.Run("signed by the verified key", func(t *testing.T) {
		raw := bs.put(encryptedMail("[ACME-3] secret", g.EncryptSign([]byte(inner), "acme@support.example.com", "carl@customer.example")))
		o, err := Open(bs.source(own, carl, nil), raw)
		if err != nil || !o.Encrypted || o.Failure != "" || o.Plain == "" {
			t.Fatalf("%+v %v", o, err)
		}
		if o.Signature != store.SignatureVerified || o.Signer != carlFP {
			t.Errorf("signature %q by %s, want verified by %s", o.Signature, o.Signer, carlFP)
		}
		plain := string(bs[o.Plain])
		for _, want := range []string{"Subject: [ACME-3] secret\r\n", "From: Carl <carl@customer.example>", "Content-Type: text/plain; charset=utf-8", "The password is hunter2."} {
			if !strings.Contains(plain, want) {
				t.Errorf("plain message lacks %q:\n%s", want, plain)
			}
		}
		if strings.Contains(plain, "an inner subject") || strings.Contains(plain, "multipart/encrypted") {
			t.Errorf("plain message keeps the inner subject or the outer type:\n%s", plain)
		}
	})
	t.Run("signed by an unknown key", func(t *testing.T) {
		raw := bs.put(encryptedMail("x", g.EncryptSign([]byte(inner), "acme@support.example.com", "mallory@evil.example")))
		o, err := Open(bs.source(own, carl, nil), raw)
		if err != nil || o.Plain == "" || o.Signature != store.SignatureUnknownKey {
			t.Fatalf("%+v %v", o, err)
		}
	})
	t.Run("signed by the unverified key", func(t *testing.T) {
		raw := bs.put(encryptedMail("x", g.EncryptSign([]byte(inner), "acme@support.example.com", "carl@customer.example")))
		o, err := Open(bs.source(own, nil, carl), raw)
		if err != nil || o.Signature != store.SignatureUnverifiedKey {
			t.Fatalf("%+v %v", o, err)
		}
	})
	t.Run("encrypted to another key", func(t *testing.T) {
		raw := bs.put(encryptedMail("x", g2.EncryptSign([]byte(inner), "acme@support.example.com", "")))
		o, err := Open(bs.source(own, carl, nil), raw)
		if err != nil || o.Plain != "" || !strings.Contains(o.Failure, "does not hold") {
			t.Fatalf("%+v %v", o, err)
		}
	})
	t.Run("corrupted", func(t *testing.T) {
		armored := g.EncryptSign([]byte(inner), "acme@support.example.com", "carl@customer.example")
		lines := strings.Split(string(armored), "\n")
		mid := len(lines) / 2
		lines[mid] = strings.Repeat("A", len(lines[mid]))
		raw := bs.put(encryptedMail("x", []byte(strings.Join(lines, "\n"))))
		o, err := Open(bs.source(own, carl, nil), raw)
		if err != nil || o.Plain != "" || o.Failure == "" {
			t.Fatalf("%+v %v", o, err)
		}
	})
	t.Run("too large once decrypted", func(t *testing.T) {
		big := inner + strings.Repeat("0123456789", 300_000) // compresses to little
		raw := bs.put(encryptedMail("x", g.EncryptSign([]byte(big), "acme@support.example.com", "")))
		src := bs.source(own, carl, nil)
		src.MaxBytes = 1 << 20
		o, err := Open(src, raw)
		if err != nil || o.Plain != "" || !strings.Contains(o.Failure, "larger") && !strings.Contains(o.Failure, "too large") {
			t.Fatalf("%+v %v", o, err)
		}
	})
	t.Run("multipart/signed", func(t *testing.T) {
		part := []byte("Content-Type: text/plain; charset=utf-8\r\n\r\nSigned words.\r\n")
		good := bs.put(signedMail(part, g.DetachSign(part, "carl@customer.example")))
		if o, err := Open(bs.source(own, carl, nil), good); err != nil || o.Encrypted || o.Signature != store.SignatureVerified {
			t.Errorf("good signature: %+v %v", o, err)
		}
		changed := bs.put(bytes.Replace(signedMail(part, g.DetachSign(part, "carl@customer.example")), []byte("Signed words."), []byte("Forged words."), 1))
		if o, err := Open(bs.source(own, carl, nil), changed); err != nil || o.Signature != store.SignatureBad {
			t.Errorf("changed text: %+v %v", o, err)
		}
		by := bs.put(signedMail(part, g.DetachSign(part, "mallory@evil.example")))
		if o, err := Open(bs.source(own, carl, nil), by); err != nil || o.Signature != store.SignatureUnknownKey {
			t.Errorf("another key: %+v %v", o, err)
		}
		// LF line ends (a local delivery) are signed as CRLF all the same.
		lf := bs.put(bytes.ReplaceAll(signedMail(part, g.DetachSign(part, "carl@customer.example")), []byte("\r\n"), []byte("\n")))
		if o, err := Open(bs.source(own, carl, nil), lf); err != nil || o.Signature != store.SignatureVerified {
			t.Errorf("LF line ends: %+v %v", o, err)
		}
	})
}

func TestSealedMailDecryptsInGnuPG(t *testing.T) {
	g := gpgtest.New(t)
	g.GenKey("Carl", "carl@customer.example")
	own := projectKey(t)
	pub, _ := ArmorPublic(own)
	g.Import([]byte(pub))
	var out bytes.Buffer
	w, err := encryptTo([]*openpgp.Entity{publicOf(t, g, "carl@customer.example")}, own)(&out)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, inner)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	plain, signer, err := g.Decrypt(out.Bytes())
	if err != nil || string(plain) != inner || signer != Fingerprint(own) {
		t.Fatalf("gpg: %q signed by %q (want %s): %v", plain, signer, Fingerprint(own), err)
	}
}

func TestSecretKeyAtRest(t *testing.T) {
	e := projectKey(t)
	armored, err := ArmorSecret(e, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSecret(armored, nil); err == nil {
		t.Error("a protected key read without its passphrase")
	}
	if _, err := ReadSecret(armored, []byte("wrong")); err == nil {
		t.Error("a protected key read with a wrong passphrase")
	}
	got, err := ReadSecret(armored, []byte("correct horse"))
	if err != nil || Fingerprint(got) != Fingerprint(e) || Protected(got) {
		t.Fatalf("unlock: %v", err)
	}
	if Protected(e) {
		t.Error("protecting the stored copy locked the caller's key")
	}
}
