package mailout

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/internal/oauth2token"
)

// SMTPOptionsFromConfig turns the outbound.smtp config section into
// SMTPOptions, reading the password from password_file (one trailing line
// break is not part of the password). It reports settings that can never
// work, such as credentials over a plaintext connection to a remote relay,
// so the daemon can refuse to start rather than fail every message.
func SMTPOptionsFromConfig(c config.SMTPOut) (SMTPOptions, error) {
	opts := SMTPOptions{
		Host:      c.Host,
		Port:      c.Port,
		TLS:       c.TLS,
		Username:  c.Username,
		HelloName: c.HelloName,
		Timeout:   c.Timeout,
	}
	if c.InsecureSkipVerify {
		opts.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	switch {
	case c.OAuth2 != nil:
		ts, err := oauth2token.NewSource(c.OAuth2)
		if err != nil {
			return SMTPOptions{}, fmt.Errorf("outbound.smtp.oauth2: %w", err)
		}
		opts.Token = ts
	case c.PasswordFile != "":
		pw, err := config.SecretFromFile(c.PasswordFile)
		if err != nil {
			return SMTPOptions{}, fmt.Errorf("outbound.smtp.password_file: %w", err)
		}
		opts.Password = pw
	case c.Username != "":
		return SMTPOptions{}, errors.New("outbound.smtp.password_file: required when username is set")
	}
	if err := opts.withDefaults().check(); err != nil {
		return SMTPOptions{}, err
	}
	return opts, nil
}
