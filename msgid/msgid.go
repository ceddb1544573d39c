// Package msgid is the one place that knows what a Message-ID looks like
// once canonical: every package that stores, threads on or looks up a
// Message-ID (package message's parser, the store's indexes and audit stream, the
// trace command) uses Canonical, so the same mail is always found under
// the same key.
package msgid

import (
	"strings"
	"unicode"
)

// Canonical returns the form of a Message-ID used for storing and
// comparing: no angle brackets, no white space or comments, and the domain
// part (after the last "@") lower-cased.
//
// The local part keeps its case. RFC 5322 makes message identifiers opaque
// and case-sensitive, and generators such as Exchange use mixed-case local
// parts, so lower-casing them could in principle merge two ids; domain parts
// are DNS names, which some relays rewrite in a different case. Comparing
// case-insensitively, as many helpdesks do, is left to the caller: it can
// lower-case both sides, the canonical form does not prevent it.
func Canonical(s string) string {
	if c, ok := canonicalASCII(s); ok {
		return c
	}
	return canonicalGeneral(s)
}

// canonicalASCII is Canonical without allocating for the ids met on every
// mail: printable ASCII without white space or comments, whose domain is
// already lower case. Then the general form only trims the brackets, so
// the answer is a substring of s. ok is false for anything else.
func canonicalASCII(s string) (string, bool) {
	upper := false // an upper-case letter after the last "@" so far
	seenAt := false
	for i := 0; i < len(s); i++ {
		switch asciiClass[s[i]] {
		case plain:
		case upperCase:
			upper = upper || seenAt
		case at:
			seenAt, upper = true, false
		default:
			return "", false
		}
	}
	if upper {
		return "", false
	}
	return strings.TrimRight(strings.TrimLeft(s, "<"), ">"), true
}

// Byte classes of canonicalASCII: a table lookup per byte, as Canonical
// runs on every Message-ID the store indexes or audits (about twenty per
// new request).
const (
	other     = iota // white space, control, non-ASCII, "(": the general path
	plain            // kept as it is
	upperCase        // A-Z
	at               // "@"
)

var asciiClass = func() (t [256]uint8) {
	for c := 0x21; c < 0x7f; c++ {
		switch {
		case c == '(':
		case c == '@':
			t[c] = at
		case 'A' <= c && c <= 'Z':
			t[c] = upperCase
		default:
			t[c] = plain
		}
	}
	return t
}()

// canonicalGeneral is Canonical for any input.
func canonicalGeneral(s string) string {
	s = StripComments(s)
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == 0 {
			return -1
		}
		return r
	}, s)
	s = strings.TrimLeft(s, "<")
	s = strings.TrimRight(s, ">")
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[:i+1] + strings.ToLower(s[i+1:])
	}
	return strings.ToValidUTF8(s, "")
}

// StripComments removes RFC 5322 comments, "(...)" possibly nested, outside
// angle brackets and quotes.
func StripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth, angle := 0, false
	inQ, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			esc = false
		case c == '\\' && (depth > 0 || inQ):
			esc = true
			continue
		case depth > 0:
			switch c {
			case '(':
				depth++
			case ')':
				depth--
			}
			continue
		case c == '"' && !angle:
			inQ = !inQ
		case inQ:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case c == '(' && !angle:
			depth = 1
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// ParseList extracts the canonical ids from a Message-ID, In-Reply-To
// or References value, tolerating what mailers produce: ids run together
// ("<a@x><b@y>"), separated by commas, missing brackets, a missing closing
// bracket, or (in old In-Reply-To fields) surrounded by a phrase such as
// `Your message of "Mon, 1 Jan 2001"`. Duplicates are dropped.
func ParseList(s string) []string {
	s = StripComments(s)
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		id = Canonical(id)
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if strings.Contains(s, "<") {
		for len(s) > 0 {
			i := strings.IndexByte(s, '<')
			outside := s
			if i >= 0 {
				outside = s[:i]
			}
			// Between bracketed ids, only tokens that look like ids
			// count: old In-Reply-To fields put a phrase there.
			for _, f := range strings.FieldsFunc(outside, func(r rune) bool { return unicode.IsSpace(r) || r == ',' || r == '>' }) {
				if strings.Contains(f, "@") {
					add(f)
				}
			}
			if i < 0 {
				break
			}
			s = s[i+1:]
			end := strings.IndexAny(s, "><")
			if end < 0 {
				end = len(s)
			}
			add(s[:end])
			s = strings.TrimPrefix(s[end:], ">")
		}
		return ids
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == ',' })
	for _, f := range fields {
		// Without brackets only tokens that look like ids count, unless
		// the whole value is a single token.
		if strings.Contains(f, "@") || len(fields) == 1 {
			add(f)
		}
	}
	return ids
}
