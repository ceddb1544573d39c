package config

import (
	"fmt"
	"os"
	"strings"
)

// SecretFromFile reads a secret kept in its own file (the *_file keys), so
// that it stays out of the config file and the environment. One trailing
// newline ("\n" or "\r\n"), as editors and `echo` leave, is removed; an empty
// secret is an error, because it is never what the operator meant.
func SecretFromFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	s := string(b)
	if t, ok := strings.CutSuffix(s, "\r\n"); ok {
		s = t
	} else {
		s = strings.TrimSuffix(s, "\n")
	}
	if s == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return s, nil
}
