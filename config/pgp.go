package config

import "fmt"

// PGP is a project's OpenPGP (PGP/MIME) set-up (issue 19). A project has
// OpenPGP when this section is present; its key is generated into the
// store (`ticketgate pgp keygen`), imported there (`pgp import`) or read
// from SecretKeyFile.
type PGP struct {
	// Encrypt: when_possible (default) encrypts customer mail to a
	// verified key when there is one; always sends customers without one
	// only a notice with the link; never sends clear text (except that a
	// ticket that came in encrypted is never answered in clear).
	Encrypt string `mapstructure:"encrypt"`
	// SecretKeyFile holds the armored secret key instead of the store.
	SecretKeyFile string `mapstructure:"secret_key_file"`
	// SecretKeyPassphraseFile holds the passphrase that protects the
	// secret key at rest (in the store or in SecretKeyFile).
	SecretKeyPassphraseFile string `mapstructure:"secret_key_passphrase_file"`
	// AgentKeysDir holds one armored public key per agent, each file
	// named by the agent's address (alice@example.com.asc).
	AgentKeysDir string `mapstructure:"agent_keys_dir"`
	// AgentsPlaintext lets agent notifications of an encrypted ticket go
	// in clear to agents without a key (default: only the link).
	AgentsPlaintext bool `mapstructure:"agents_plaintext"`
}

// The values of PGP.Encrypt.
const (
	EncryptWhenPossible = "when_possible"
	EncryptAlways       = "always"
	EncryptNever        = "never"
)

// EncryptMode is Encrypt with its default.
func (p *PGP) EncryptMode() string {
	if p == nil || p.Encrypt == "" {
		return EncryptWhenPossible
	}
	return p.Encrypt
}

func (c *Config) resolvePGPPaths(abs func(string) string) {
	for i := range c.Projects {
		if g := c.Projects[i].PGP; g != nil {
			g.SecretKeyFile = abs(g.SecretKeyFile)
			g.SecretKeyPassphraseFile = abs(g.SecretKeyPassphraseFile)
			g.AgentKeysDir = abs(g.AgentKeysDir)
		}
	}
}

func (c *Config) validatePGP() []error {
	var errs []error
	for i := range c.Projects {
		g := c.Projects[i].PGP
		if g == nil {
			continue
		}
		switch g.Encrypt {
		case "", EncryptWhenPossible, EncryptAlways, EncryptNever:
		default:
			errs = append(errs, fieldErr(fmt.Sprintf("projects[%d].pgp.encrypt", i), "must be when_possible, always or never, got %q", g.Encrypt))
		}
	}
	return errs
}

// checkPGPFiles reads the key and passphrase files of every pgp section
// (the agent keys folder is read per mail: a missing key there is no
// error).
func (c *Config) checkPGPFiles() []error {
	var out []error
	for i := range c.Projects {
		g := c.Projects[i].PGP
		if g == nil {
			continue
		}
		pre := fmt.Sprintf("projects[%d].pgp", i)
		for _, f := range []struct{ key, path string }{{pre + ".secret_key_file", g.SecretKeyFile}, {pre + ".secret_key_passphrase_file", g.SecretKeyPassphraseFile}} {
			if f.path == "" {
				continue
			}
			if _, err := SecretFromFile(f.path); err != nil {
				out = append(out, &FieldError{Key: f.key, Msg: err.Error(), Err: err})
			}
		}
	}
	return out
}
