package pgp

import (
	"encoding/base64"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// AutocryptHeader is the value of the Autocrypt header (Autocrypt 1.1)
// that publishes e for addr. keydata is broken by spaces, which the
// header writer folds on and readers remove.
func AutocryptHeader(addr string, e *openpgp.Entity) (string, error) {
	raw, err := PublicBytes(e)
	if err != nil {
		return "", err
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	var b strings.Builder
	b.WriteString("addr=" + addr + "; keydata=")
	for i := 0; i < len(enc); i += 64 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(enc[i:min(i+64, len(enc))])
	}
	return b.String(), nil
}

// ParseAutocrypt returns the key data of the Autocrypt header among
// values that is for from (Autocrypt 1.1 §2.3: addr must be the From
// address; a header with an unknown critical attribute is ignored; more
// than one valid header for from means none counts). nil when there is
// none.
func ParseAutocrypt(values []string, from string) []byte {
	var found []byte
	n := 0
	for _, v := range values {
		addr, data, ok := parseAutocrypt(v)
		if !ok || !strings.EqualFold(addr, from) {
			continue
		}
		n++
		found = data
	}
	if n != 1 {
		return nil
	}
	return found
}

func parseAutocrypt(v string) (addr string, data []byte, ok bool) {
	var keydata string
	for _, attr := range strings.Split(v, ";") {
		name, val, _ := strings.Cut(strings.TrimSpace(attr), "=")
		name = strings.ToLower(strings.TrimSpace(name))
		switch {
		case name == "addr":
			addr = strings.TrimSpace(val)
		case name == "keydata":
			keydata = val
		case name == "prefer-encrypt", name == "":
		case strings.HasPrefix(name, "_"):
			// non-critical: ignored
		default:
			return "", nil, false // unknown critical attribute
		}
	}
	keydata = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, keydata)
	if addr == "" || keydata == "" || len(keydata) > maxKeyBytes*4/3+4 {
		return "", nil, false
	}
	data, err := base64.StdEncoding.DecodeString(keydata)
	if err != nil {
		return "", nil, false
	}
	return addr, data, true
}
