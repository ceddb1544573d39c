package pgp

import (
	"bytes"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// FuzzOpen: whatever arrives, the inbound PGP/MIME step answers with a
// result (never a panic, never an error: its store here cannot fail).
func FuzzOpen(f *testing.F) {
	own, err := Generate("ACME", "acme@support.example.com", now)
	if err != nil {
		f.Fatal(err)
	}
	carl, err := Generate("Carl", "carl@customer.example", now)
	if err != nil {
		f.Fatal(err)
	}
	var enc bytes.Buffer
	aw, _ := armor.Encode(&enc, "PGP MESSAGE", nil)
	pw, err := openpgp.Encrypt(aw, []*openpgp.Entity{own}, carl, &openpgp.FileHints{IsBinary: true}, nil)
	if err != nil {
		f.Fatal(err)
	}
	pw.Write([]byte(inner))
	pw.Close()
	aw.Close()
	f.Add(encryptedMail("[ACME-1] x", enc.Bytes()))
	part := []byte("Content-Type: text/plain\r\n\r\nhi\r\n")
	var sig bytes.Buffer
	openpgp.ArmoredDetachSign(&sig, carl, bytes.NewReader(part), nil)
	f.Add(signedMail(part, sig.Bytes()))
	f.Add([]byte("Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=x\r\n\r\n--x\r\n\r\n--x\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nwcBMA\r\n-----END PGP MESSAGE-----\r\n--x--\r\n"))
	f.Add([]byte("Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=x\r\n\r\n--x\r\n--x--"))
	f.Fuzz(func(t *testing.T, data []byte) {
		bs := blobs{}
		src := bs.source(own, carl, nil)
		src.MaxBytes = 64 << 10
		o, err := Open(src, bs.put(data))
		if err != nil || o == nil {
			t.Fatalf("Open: %+v %v", o, err)
		}
		if o.Plain != "" && bs[o.Plain] == nil {
			t.Fatal("plain blob named but not written")
		}
	})
}
