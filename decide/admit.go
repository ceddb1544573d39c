package decide

import (
	"regexp"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/redact"
	"github.com/ticketgate/ticketgate/store"
)

// Issue 17: who may open a ticket. A mail that would open a new ticket of
// a project with open_to known or key is admitted, or kept as a draft
// until its sender is entitled.

// KeyState is what the key check found.
type KeyState int

// Key states, from "nothing found" to "valid": the order ranks them
// (the sender's expired key says more than someone else's).
const (
	// KeyNone: the mail carries nothing that looks like a key.
	KeyNone KeyState = iota
	// KeyUnknown: it looks like a key but is not in the file.
	KeyUnknown
	// KeyElsewhere: the key is bound to another customer or domain.
	KeyElsewhere
	// KeyExpired: the sender's key, but its expiry date has passed.
	KeyExpired
	// KeyValid: a key valid for this sender.
	KeyValid
)

func (k KeyState) String() string {
	switch k {
	case KeyUnknown:
		return "unknown key"
	case KeyExpired:
		return "expired key"
	case KeyElsewhere:
		return "key bound to another customer"
	case KeyValid:
		return "valid key"
	}
	return "no key"
}

// FindKeys returns the distinct strings matching pattern in texts (the
// subject, the text, an X-Support-Key header), in order.
func FindKeys(pattern *regexp.Regexp, texts ...string) []string {
	if pattern == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, s := range texts {
		for _, k := range pattern.FindAllString(s, 20) {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// CheckKey checks one key for sender at now: the best state of the
// file's entries for it (a key may be listed for several customers).
func CheckKey(keys []config.SupportKey, key, sender string, now time.Time) (KeyState, *config.SupportKey) {
	best, entry := KeyUnknown, (*config.SupportKey)(nil)
	sender = strings.ToLower(sender)
	domain := ""
	if i := strings.LastIndexByte(sender, '@'); i >= 0 {
		domain = sender[i+1:]
	}
	for i := range keys {
		k := &keys[i]
		if k.Key != key {
			continue
		}
		st := KeyValid
		switch {
		case k.Bound != "" && k.Bound != sender && k.Bound != domain:
			st = KeyElsewhere
		case !k.Expires.IsZero() && !now.Before(k.Expires):
			st = KeyExpired
		}
		if st > best || entry == nil {
			best, entry = st, k
		}
	}
	return best, entry
}

// BestKey checks every key found and returns the best state (valid wins)
// and the key it belongs to ("" for KeyNone).
func BestKey(keys []config.SupportKey, found []string, sender string, now time.Time) (KeyState, string) {
	best, which := KeyNone, ""
	for _, k := range found {
		if st, _ := CheckKey(keys, k, sender, now); st > best {
			best, which = st, k
		}
	}
	return best, which
}

// Redact replaces everything pattern matches in s by asterisks but its
// last 4 characters (support keys are secrets: only the key check sees
// them whole).
func Redact(pattern *regexp.Regexp, s string) string {
	return redact.String(pattern, s)
}

// RedactKey is one key with all but its last 4 characters starred.
func RedactKey(k string) string { return redact.Key(k) }

// AdmitFacts are what Admit decides from.
type AdmitFacts struct {
	// OpenTo is the project's open_to.
	OpenTo string
	// Staff: the author is an agent or admin of the project (agents open
	// tickets for themselves and for customers).
	Staff bool
	// Known: the author is in known_customers, a member of one of the
	// project's organizations, or reported or follows an earlier ticket.
	Known bool
	// Key is the best key state found in the mail.
	Key KeyState
}

// Admission is whether a mail that would open a ticket may, and if not,
// what its sender lacks.
type Admission struct {
	Draft   bool
	Missing string // store.MissingKey or store.MissingKnown
}

// Admit decides whether a mail that would open a new ticket opens it or
// becomes a draft. A valid key admits under open_to known as well.
func Admit(f AdmitFacts) Admission {
	if f.Staff || f.Key == KeyValid {
		return Admission{}
	}
	switch f.OpenTo {
	case config.OpenToKnown:
		if f.Known {
			return Admission{}
		}
		return Admission{Draft: true, Missing: store.MissingKnown}
	case config.OpenToKey:
		return Admission{Draft: true, Missing: store.MissingKey}
	}
	return Admission{}
}

// TellDraft decides whether the sender of a new draft mail is told what
// is missing: only a person's mail (never automatic, spam-flagged,
// refused, looping or quiet mail: no backscatter), and one such mail a
// day per sender (mailedToday: one went out in the last 24 hours).
func TellDraft(v Verdict, mailedToday bool) bool {
	return v.Person() && !v.Quiet && !mailedToday
}

// DraftTemplate is the customer template telling a draft's sender what
// is missing.
func DraftTemplate(missing string) string {
	if missing == store.MissingKnown {
		return "customer/draft_unknown_sender"
	}
	return "customer/draft_needs_key"
}

// DraftToken returns the draft key of the leftmost [ACME-D17] token of
// project in subject, or "".
func DraftToken(project, subject string) string {
	prefix := "[" + strings.ToUpper(project) + "-D"
	up := strings.ToUpper(subject)
	for i := 0; ; {
		j := strings.Index(up[i:], prefix)
		if j < 0 {
			return ""
		}
		start := i + j + len(prefix)
		end := start
		for end < len(up) && up[end] >= '0' && up[end] <= '9' {
			end++
		}
		if end > start && end < len(up) && up[end] == ']' && up[start] != '0' {
			return strings.ToUpper(project) + "-D" + up[start:end]
		}
		i = start
	}
}
