package message

import "strings"

// Loose readers of structured header values, for the policy stage's
// questions about automatic mail and bounces.

// StripComments removes RFC 5322 comments (parenthesised text, which may nest
// and may hold quoted pairs) and leaves a space in their place, so that
// "No (a human wrote this)" compares as "No". Quoted strings are copied
// verbatim because a "(" inside one does not open a comment.
func StripComments(s string) string {
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

// LeadingToken returns the lower-cased value of a structured header field
// up to its first ";" parameter, without comments or surrounding space:
// "Auto-Generated; owner=x (why)" gives "auto-generated".
func LeadingToken(v string) string {
	v = StripComments(v)
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// BareAddress extracts the bare address from an address header value such as
// `"Name" <a@b>`, `a@b (Name)` or `<>`. It returns "" for the null address.
// Unlike ParseAddressList it keeps what is not an address at all
// ("MAILER-DAEMON") and the case as written: real bounce and auto-reply
// senders write headers that net/mail rejects.
func BareAddress(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.LastIndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j >= 0 {
			return strings.TrimSpace(v[i+1 : i+j])
		}
	}
	fields := strings.Fields(StripComments(v))
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
