package policy

import (
	"strings"

	"github.com/ticketgate/ticketgate/message"
)

// localPart returns the part of addr before its last "@" (all of addr when
// it has none, as in "MAILER-DAEMON"), without quotes.
func localPart(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		addr = addr[:i]
	}
	return strings.Trim(addr, "\"")
}

// domainOf returns the lower-cased domain of addr without a trailing dot,
// or "" when addr has none.
func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return normalizeDomain(addr[i+1:])
}

func normalizeDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}

// fromAddress is the sender address the parser found, or, when it found
// none, whatever address can be dug out of the raw From field.
func fromAddress(m *message.Message) string {
	if m.From != "" {
		return m.From
	}
	return message.BareAddress(m.Get("From"))
}

// containsFold reports whether list holds s, ignoring case, surrounding
// space and a trailing dot (DNS names are written both ways).
func containsFold(list []string, s string) bool {
	s = normalizeDomain(s)
	if s == "" {
		return false
	}
	for _, v := range list {
		if normalizeDomain(v) == s {
			return true
		}
	}
	return false
}
