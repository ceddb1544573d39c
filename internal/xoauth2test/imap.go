package xoauth2test

import (
	"bytes"
	"errors"
	"net"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
)

// IMAP is go-imap's in-memory IMAP server on a loopback port that logs
// User in with SASL XOAUTH2 when Valid accepts the bearer token.
type IMAP struct {
	Port int
	mem  *imapmemserver.User
}

// User is the IMAP server's account name.
const User = "support"

type session struct {
	imapserver.SessionIMAP4rev2
	valid func(token string) bool
}

func (s *session) AuthenticateMechanisms() []string { return []string{"XOAUTH2"} }

func (s *session) Authenticate(mech string) (sasl.Server, error) {
	if mech != "XOAUTH2" {
		return nil, errors.New("unsupported mechanism")
	}
	return Server(func(user, tok string) error {
		if !s.valid(tok) {
			return errors.New("invalid token")
		}
		return s.Login(user, "unused")
	}), nil
}

type discard struct{}

func (discard) Printf(string, ...any) {}

// StartIMAP starts the server with an empty INBOX; it stops when tb ends.
func StartIMAP(tb testing.TB, valid func(token string) bool) *IMAP {
	tb.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(User, "unused")
	if err := u.Create("INBOX", nil); err != nil {
		tb.Fatal(err)
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &session{SessionIMAP4rev2: mem.NewSession().(imapserver.SessionIMAP4rev2), valid: valid}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
		Logger:       discard{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return &IMAP{Port: ln.Addr().(*net.TCPAddr).Port, mem: u}
}

// Append adds a message to a mailbox.
func (s *IMAP) Append(tb testing.TB, mailbox string, raw []byte) {
	tb.Helper()
	if _, err := s.mem.Append(mailbox, bytes.NewReader(raw), &imap.AppendOptions{}); err != nil {
		tb.Fatal(err)
	}
}
