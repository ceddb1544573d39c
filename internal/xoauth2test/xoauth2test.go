// Package xoauth2test is the server side of SASL XOAUTH2 (the Google and
// Microsoft mechanism, which go-sasl only implements as a client), for
// tests of our IMAP and SMTP logins against in-process servers.
package xoauth2test

import "strings"

// Server is a sasl.Server for XOAUTH2: it hands the user and bearer token
// of the client's single response to the func, whose error fails the login.
type Server func(user, token string) error

// Next implements sasl.Server.
func (f Server) Next(resp []byte) ([]byte, bool, error) {
	var user, tok string
	for _, p := range strings.Split(string(resp), "\x01") {
		if u, ok := strings.CutPrefix(p, "user="); ok {
			user = u
		}
		if a, ok := strings.CutPrefix(p, "auth=Bearer "); ok {
			tok = a
		}
	}
	if err := f(user, tok); err != nil {
		return nil, false, err
	}
	return nil, true, nil
}
