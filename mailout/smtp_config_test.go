package mailout

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "smtp-password")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSMTPOptionsFromConfig(t *testing.T) {
	c := config.SMTPOut{
		Host:         "smtp.example.com",
		Port:         587,
		TLS:          "starttls",
		Username:     "gateway@example.com",
		PasswordFile: writeFile(t, "correct horse \n"),
		HelloName:    "support.example.com",
		Timeout:      30 * time.Second,
	}
	opts, err := SMTPOptionsFromConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	want := SMTPOptions{Host: "smtp.example.com", Port: 587, TLS: "starttls", Username: "gateway@example.com",
		Password: "correct horse ", HelloName: "support.example.com", Timeout: 30 * time.Second}
	if opts != want {
		t.Errorf("options = %+v\nwant %+v", opts, want)
	}

	c.PasswordFile = writeFile(t, "windows\r\n")
	c.InsecureSkipVerify = true
	opts, err = SMTPOptionsFromConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Password != "windows" {
		t.Errorf("password = %q, want the line without CRLF", opts.Password)
	}
	if opts.TLSConfig == nil || !opts.TLSConfig.InsecureSkipVerify {
		t.Error("insecure_skip_verify did not reach the TLS config")
	}
}

func TestSMTPOptionsFromConfigErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		c    config.SMTPOut
		want string
	}{
		"password file missing": {
			config.SMTPOut{Host: "smtp.example.com", TLS: "tls", Username: "u", PasswordFile: filepath.Join(t.TempDir(), "nope")},
			"outbound.smtp.password_file",
		},
		"no password file": {
			config.SMTPOut{Host: "smtp.example.com", TLS: "tls", Username: "u"},
			"outbound.smtp.password_file: required",
		},
		"credentials in the clear": {
			config.SMTPOut{Host: "smtp.example.com", TLS: "none", Username: "u", PasswordFile: writeFile(t, "pw\n")},
			"in the clear",
		},
		"bad tls mode": {
			config.SMTPOut{Host: "smtp.example.com", TLS: "ssl"},
			"outbound.smtp.tls",
		},
	} {
		_, err := SMTPOptionsFromConfig(tc.c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want one mentioning %q", name, err, tc.want)
		}
	}

	// Plaintext AUTH to a relay on this host is allowed.
	if _, err := SMTPOptionsFromConfig(config.SMTPOut{Host: "127.0.0.1", Port: 25, TLS: "none", Username: "u", PasswordFile: writeFile(t, "pw\n")}); err != nil {
		t.Errorf("loopback plaintext AUTH rejected: %v", err)
	}
}
