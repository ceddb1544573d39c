package message

import "strings"

// simpleAddress reads the two forms nearly every From and To header has,
// "local@domain" and "Some Name <local@domain>", in printable ASCII
// without quotes, comments, encoded words or dots in the name, and
// answers what net/mail's AddressParser.ParseList answers for them (one
// address: the name's words joined by single spaces, the address as
// written) without its allocations (two dozen per mail). ok is false for
// anything else, which the general path then reads.
// FuzzSimpleAddress holds it to net/mail.
func simpleAddress(s string) (name, addr string, ok bool) {
	lt := strings.IndexByte(s, '<')
	if lt < 0 {
		if !addrSpec(s) {
			return "", "", false
		}
		return "", s, true
	}
	if s[len(s)-1] != '>' || !addrSpec(s[lt+1:len(s)-1]) {
		return "", "", false
	}
	phrase := strings.TrimRight(s[:lt], " ")
	single := true // words separated by one space: the name is phrase itself
	for i := 0; i < len(phrase); i++ {
		c := phrase[i]
		if c == ' ' {
			if i == 0 || phrase[i-1] == ' ' {
				single = false
			}
			continue
		}
		if !atext(c) || c == '=' || c == '?' {
			return "", "", false
		}
	}
	if len(phrase) > 0 && phrase[0] == ' ' {
		return "", "", false
	}
	if !single {
		phrase = strings.Join(strings.Fields(phrase), " ")
	}
	return phrase, s[lt+1 : len(s)-1], true
}

// addrSpec reports whether s is dot-atom "@" dot-atom in ASCII.
func addrSpec(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && dotAtom(s[:at]) && dotAtom(s[at+1:])
}

// dotAtom reports whether s is ASCII atext in dot-separated runs: no dot
// at either end or next to another.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if s[i-1] == '.' {
				return false
			}
			continue
		}
		if !atext(c) {
			return false
		}
	}
	return true
}

// atext reports whether c is an RFC 5322 atext character in ASCII.
func atext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}
