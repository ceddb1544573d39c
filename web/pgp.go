package web

import "github.com/ticketgate/ticketgate/store"

// pgpLabels are the OpenPGP tags of a message (issue 19), per language.
type pgpLabels struct {
	Encrypted, Verified, UnverifiedKey, UnknownKey, Bad string
}

var pgpTexts = map[string]pgpLabels{
	"en": {Encrypted: "Encrypted", Verified: "Signed by a verified key", UnverifiedKey: "Signed by an unverified key",
		UnknownKey: "Signed by an unknown key", Bad: "Bad signature"},
	"de": {Encrypted: "Verschlüsselt", Verified: "Signiert mit bestätigtem Schlüssel", UnverifiedKey: "Signiert mit unbestätigtem Schlüssel",
		UnknownKey: "Signiert mit unbekanntem Schlüssel", Bad: "Ungültige Signatur"},
}

// pgpTags are the tags shown beside a message's author: whether it came
// encrypted and what its signature check found.
func pgpTags(lang string, m *store.Message) []string {
	l, ok := pgpTexts[lang]
	if !ok {
		l = pgpTexts["en"]
	}
	var out []string
	if m.Encrypted {
		out = append(out, l.Encrypted)
	}
	switch m.Signature {
	case store.SignatureVerified:
		out = append(out, l.Verified)
	case store.SignatureUnverifiedKey:
		out = append(out, l.UnverifiedKey)
	case store.SignatureUnknownKey:
		out = append(out, l.UnknownKey)
	case store.SignatureBad:
		out = append(out, l.Bad)
	}
	return out
}
