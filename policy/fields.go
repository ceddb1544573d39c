package policy

import (
	"strings"

	"github.com/ticketgate/ticketgate/message"
)

// stripComments removes RFC 5322 comments (parenthesised text, which may nest
// and may hold quoted pairs) and leaves a space in their place, so that
// "No (a human wrote this)" compares as "No". Quoted strings are copied
// verbatim because a "(" inside one does not open a comment.
func stripComments(s string) string {
	if !strings.ContainsRune(s, '(') {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	depth := 0
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && (inQuote || depth > 0):
			if depth == 0 {
				b.WriteByte(c)
				if i+1 < len(s) {
					b.WriteByte(s[i+1])
				}
			}
			i++
		case inQuote:
			b.WriteByte(c)
			if c == '"' {
				inQuote = false
			}
		case depth == 0 && c == '"':
			inQuote = true
			b.WriteByte(c)
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
			if depth == 0 {
				b.WriteByte(' ')
			}
		case depth > 0:
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// leadingToken returns the lower-cased value of a structured header field
// up to its first ";" parameter, without comments or surrounding space:
// "Auto-Generated; owner=x (why)" gives "auto-generated".
func leadingToken(v string) string {
	v = stripComments(v)
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// addrSpec extracts the bare address from an address header value such as
// `"Name" <a@b>`, `a@b (Name)` or `<>`. It returns "" for the null address.
// Real bounce and auto-reply senders write headers that net/mail rejects,
// which is why this does not use it.
func addrSpec(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.LastIndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j >= 0 {
			return strings.TrimSpace(v[i+1 : i+j])
		}
	}
	fields := strings.Fields(stripComments(v))
	for _, f := range fields {
		if strings.Contains(f, "@") {
			return strings.Trim(f, "<>,;")
		}
	}
	if len(fields) == 1 {
		return strings.Trim(fields[0], "<>,;\"")
	}
	return ""
}

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
	return addrSpec(m.Get("From"))
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
