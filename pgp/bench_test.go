package pgp

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"io"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/ticketgate/ticketgate/store"
)

// BenchmarkOpen decrypts an 8 MiB PGP/MIME mail (incompressible text):
// B/op shows what decryption holds per message, which must not grow with
// the message (it streams into the plain blob).
func BenchmarkOpen(b *testing.B) {
	own, err := Generate("ACME", "acme@support.example.com", now)
	if err != nil {
		b.Fatal(err)
	}
	raw := make([]byte, 6<<20)
	rand.Read(raw)
	text := []byte("Content-Type: text/plain\r\n\r\n" + base64.StdEncoding.EncodeToString(raw))
	var enc bytes.Buffer
	aw, _ := armor.Encode(&enc, "PGP MESSAGE", nil)
	pw, err := openpgp.Encrypt(aw, []*openpgp.Entity{own}, nil, &openpgp.FileHints{IsBinary: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	pw.Write(text)
	pw.Close()
	aw.Close()
	mail := encryptedMail("big", enc.Bytes())
	bs := blobs{}
	h := bs.put(mail)
	src := bs.source(own, nil, nil)
	src.MaxBytes = 16 << 20
	src.NewBlob = func() (store.BlobWriter, error) { return discardBlob{}, nil }
	open := src.Open
	src.Open = func(h string) (io.ReadSeekCloser, error) {
		if h == "discarded" {
			return nopCloser{bytes.NewReader([]byte("Content-Type: text/plain\r\n\r\n"))}, nil
		}
		return open(h)
	}
	b.SetBytes(int64(len(mail)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		o, err := Open(src, h)
		if err != nil || o.Failure != "" {
			b.Fatalf("%+v %v", o, err)
		}
	}
}

// discardBlob is a plain blob that keeps nothing (the benchmark measures
// decryption, not the buffer a test blob would be).
type discardBlob struct{}

func (discardBlob) Write(p []byte) (int, error)    { return len(p), nil }
func (discardBlob) Size() int64                    { return 0 }
func (discardBlob) Commit() (string, error)        { return "discarded", nil }
func (discardBlob) CommitPending() (string, error) { return "discarded", nil }
func (discardBlob) Abort()                         {}

var _ io.Writer = discardBlob{}
