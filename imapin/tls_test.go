package imapin

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/ticketgate/ticketgate/config"
)

// selfSigned returns a certificate for 127.0.0.1.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "imap.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// startMemTLS serves the in-memory server with implicit TLS or STARTTLS
// (no login without TLS).
func startMemTLS(t *testing.T, implicit bool) *memIMAP {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("support", "secret")
	u.Create("INBOX", nil)
	mem.AddUser(u)
	tc := &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:   capsRev2,
		Logger: discardLogger{},
	}
	var ln net.Listener
	var err error
	if implicit {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", tc)
		opts.InsecureAuth = true // the connection is TLS from the first byte
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		opts.TLSConfig = tc
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := imapserver.New(opts)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &memIMAP{port: ln.Addr().(*net.TCPAddr).Port, user: u}
}

func TestTLSModes(t *testing.T) {
	for _, mode := range []string{"tls", "starttls"} {
		t.Run(mode, func(t *testing.T) {
			srv := startMemTLS(t, mode == "tls")
			srv.append(t, "INBOX", mail(1))
			e := newEnv(t, srv.port, func(m *config.IMAP) { m.TLS, m.InsecureSkipVerify = mode, true })
			e.manager(t, nil)
			e.eventually(t, "ingested over "+mode, func() bool { return srv.count("Processed") == 1 })
		})
	}
}

// Without insecure_skip_verify an untrusted certificate is refused, and
// the error is visible in the status.
func TestUntrustedCertificateRefused(t *testing.T) {
	srv := startMemTLS(t, true)
	e := newEnv(t, srv.port, func(m *config.IMAP) { m.TLS = "tls" })
	m := e.manager(t, nil)
	e.eventually(t, "error recorded", func() bool { s := m.Status(); return len(s) == 1 && s[0].Errors > 0 })
	if s := m.Status()[0]; s.Connected || !strings.Contains(s.LastError, "certificate") {
		t.Errorf("status %+v", s)
	}
}
