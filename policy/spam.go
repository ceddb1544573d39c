package policy

import (
	"strings"

	"github.com/ticketgate/ticketgate/message"
)

// SpamFlagged returns why an upstream filter marked m as spam, or "".
// Spam is not answered (an auto-reply to a forged From is backscatter).
//
// Only verdict headers whose meaning is documented are read, never scores:
//   - X-Spam-Flag: YES (SpamAssassin's spamd/amavis verdict),
//   - X-Spam-Status: Yes, score=… (SpamAssassin, also rspamd's
//     x-spam-status routine),
//   - X-Spam: Yes (rspamd's x-spam routine),
//   - X-Spamd-Result: default: True […] (rspamd's extended headers; True
//     means the action was reject, so it only shows when delivery went
//     ahead anyway).
//
// A sender can add these headers to its own mail, but that only hurts the
// sender; a forged "No" is never read as anything.
func SpamFlagged(m *message.Message) string {
	if m == nil {
		return ""
	}
	for _, c := range []struct{ name, reason string }{
		{"X-Spam-Flag", "x-spam-flag: yes"},
		{"X-Spam-Status", "x-spam-status: yes"},
		{"X-Spam", "x-spam: yes"},
	} {
		for _, v := range m.Values(c.name) {
			if verdictWord(v) == "yes" {
				return c.reason
			}
		}
	}
	for _, v := range m.Values("X-Spamd-Result") {
		f := strings.Fields(strings.ToLower(v))
		if len(f) >= 2 && f[0] == "default:" && strings.HasPrefix(f[1], "true") {
			return "x-spamd-result: default: true"
		}
	}
	return ""
}

// verdictWord is the first word of a verdict header, lower-cased:
// "Yes, score=9.4 required=5.0" gives "yes".
func verdictWord(v string) string {
	v = strings.TrimSpace(message.StripComments(v))
	if i := strings.IndexAny(v, ", ;\t"); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(v)
}
