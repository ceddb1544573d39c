package quote

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Strip runs its rules on every line of every mail, and most lines are
// prose that no rule matches. The guards below are necessary conditions
// of the rule expressions, checked in a few instructions per byte without
// allocating: a line that fails a guard cannot match its expression, so
// the expression is not run. A guard never decides a match; the
// expressions stay the definition of the rules. Each guard names the
// expression it stands in front of and why every match passes it. The
// differential tests (strip_same_test.go) hold Strip to what it returned
// before the guards.

// isSpaceRE reports whether c is in \s of the expressions: RE2's \s is
// ASCII only ([\t\n\f\r ]), (?i) does not change it.
func isSpaceRE(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// skipBytes returns the index of the first byte of s not in set (ASCII).
func skipBytes(s, set string) int {
	i := 0
	for i < len(s) && inSet(set, s[i]) {
		i++
	}
	return i
}

// inSet reports whether c is one of the bytes of set. The sets are a few
// bytes long: comparing them in place costs less than calling
// strings.IndexByte, and it runs at the start of every line for every
// guard.
func inSet(set string, c byte) bool {
	for i := 0; i < len(set); i++ {
		if set[i] == c {
			return true
		}
	}
	return false
}

// firstAfter returns the first byte of s after the bytes in set, or 0.
func firstAfter(s, set string) byte {
	if i := skipBytes(s, set); i < len(s) {
		return s[i]
	}
	return 0
}

const spaceRE = " \t\n\f\r"

// mayBeRule guards the expressions of a drawn line that begin
// `^\s*\*?\s*[-_=]` (ruleLine, rules.original): after blanks and stars
// comes one of "-_=".
func mayBeRule(l string) bool {
	switch firstAfter(l, spaceRE+"*") {
	case '-', '_', '=':
		return true
	}
	return false
}

// mayBeUnderscoreRule guards underscoreRule (`^\s*_{10,}\s*$`).
func mayBeUnderscoreRule(l string) bool { return firstAfter(l, spaceRE) == '_' }

// mayBeForward guards forwardRule: after blanks it begins with "---" or
// with the first letter of "begin", "anfang" or "début" (none of whose
// case variants is outside ASCII), and before the blanks at its end
// (`\s*$`) it ends with the colon or the dashes every alternative ends
// with.
func mayBeForward(l string) bool {
	switch firstAfter(l, spaceRE) {
	case '-', 'b', 'B', 'a', 'A', 'd', 'D':
	default:
		return false
	}
	for n := len(l); n > 0; n-- {
		if c := l[n-1]; !isSpaceRE(c) {
			return c == ':' || c == '-'
		}
	}
	return false
}

// mayBeAttributionStart guards attributionStart
// (`(?i)^\s*-*\s*(on|am|at|le|el|il|op|em|den|på|w dniu)\s`): after
// blanks and dashes comes the first letter of one of its words.
func mayBeAttributionStart(l string) bool {
	switch firstAfter(l, spaceRE+"-") | 0x20 {
	case 'o', 'a', 'l', 'e', 'i', 'p', 'd', 'w':
		return true
	}
	return false
}

// mayEndAttribution guards attributionEnd, which ends in `:\s*$`.
func mayEndAttribution(l string) bool {
	l = strings.TrimRight(l, spaceRE)
	return l != "" && l[len(l)-1] == ':'
}

// hasDigit guards the expressions that need an ASCII digit (\d is ASCII
// in RE2) or an Arabic-Indic one (U+0660–U+0669, UTF-8 lead byte 0xD9):
// calendarDate, multiStart, phoneNumber.
//
// It runs on most lines (isAttribution), so it looks at eight bytes at a
// time: in a word of ASCII bytes, adding 0x50 to each sets its top bit
// when it is at least '0', adding 0x46 when it is above '9', and neither
// sum carries into the next byte. A word with a byte outside ASCII is
// looked at byte by byte.
func hasDigit(s string) bool {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	for ; len(s) >= 8; s = s[8:] {
		w := word8(s)
		if w&high != 0 {
			if hasDigitBytes(s[:8]) {
				return true
			}
			continue
		}
		if (w+0x50*ones)&^(w+0x46*ones)&high != 0 {
			return true
		}
	}
	return hasDigitBytes(s)
}

func hasDigitBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; '0' <= c && c <= '9' || c == 0xD9 {
			return true
		}
	}
	return false
}

// mayBeMultiStart guards multiStart
// (`^[\s\p{Cf}\-*]*(\d|\p{L}{1,5}[.,]{0,2}\s*\d)`): after blanks, format
// characters, dashes and stars (none a letter or a digit, so the
// expression cannot take fewer of them) comes an ASCII digit, or a run of
// one to five letters that the next rune does not continue (a letter
// there would have to be one of "[.,]\s\d") and then at most two of
// ".,", blanks and an ASCII digit.
func mayBeMultiStart(s string) bool {
	i := skipLead(s, "-*")
	if i < len(s) && isASCIIDigit(s[i]) {
		return true
	}
	letters := 0
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			// The ASCII letters are ASCII's \p{L}.
			if !isLetterASCII(c) {
				break
			}
			if letters++; letters > 5 {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) {
			break
		}
		if letters++; letters > 5 {
			return false
		}
		i += n
	}
	if letters == 0 {
		return false
	}
	for k := 0; k < 2 && i < len(s) && (s[i] == '.' || s[i] == ','); k++ {
		i++
	}
	i += skipBytes(s[i:], spaceRE)
	return i < len(s) && isASCIIDigit(s[i])
}

// hasColon reports whether s holds a colon, ASCII or fullwidth ("："),
// as every header field name needs.
func hasColon(s string) bool {
	return strings.IndexByte(s, ':') >= 0 || strings.Contains(s, "：")
}

// mayBeNumericDateStart guards numericDateStart and the numeric forms of
// the other expressions anchored the same way: after blanks and format
// characters (\p{Cf}) comes an ASCII digit.
func mayBeNumericDateStart(s string) bool {
	i := skipLead(s, "")
	return i < len(s) && isASCIIDigit(s[i])
}

// skipLead returns the index of the first rune of s that is neither a
// blank (\s), a format character (\p{Cf}) nor one of the ASCII bytes of
// also.
func skipLead(s, also string) int {
	i := 0
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			if !isSpaceRE(c) && !inSet(also, c) {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !unicode.Is(unicode.Cf, r) {
			return i
		}
		i += n
	}
	return i
}

// endsSentence is sentenceEnd (`[.!?。！？]["'»)]*$`) without the
// expression: the last rune after closing quotes and brackets ends a
// sentence. Decoding backwards finds the runes decoding forwards finds:
// a valid rune at the end starts at a byte no rune before it can hold.
func endsSentence(s string) bool {
	for s != "" {
		r, n := utf8.DecodeLastRuneInString(s)
		switch r {
		case '"', '\'', '»', ')':
			s = s[:len(s)-n]
			continue
		case '.', '!', '?', '。', '！', '？':
			return true
		}
		return false
	}
	return false
}

// endsOrdinal is ordinalEnd (`\d\.$`) without the expression.
func endsOrdinal(s string) bool {
	n := len(s)
	return n >= 2 && s[n-1] == '.' && '0' <= s[n-2] && s[n-2] <= '9'
}

// indexColon is strings.IndexAny(l, ":：") for the first limit+1 bytes:
// the index of the first colon, or -1 when there is none at or before
// limit. Both colons are found by their bytes: ':' is ASCII and "："
// starts with a lead byte, which no other rune's encoding holds.
func indexColon(l string, limit int) int {
	for i := 0; i < len(l) && i <= limit; i++ {
		switch l[i] {
		case ':':
			return i
		case 0xEF:
			if strings.HasPrefix(l[i:], "：") {
				return i
			}
		}
	}
	return -1
}

// word8 is the first eight bytes of s as one little-endian word (the
// compiler turns the shifts into one load).
func word8(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// isASCII reports whether s has no byte outside ASCII. It runs before
// most guards on every line, so it looks at eight bytes at a time.
func isASCII(s string) bool {
	for ; len(s) >= 8; s = s[8:] {
		w := word8(s)
		if w&0x8080808080808080 != 0 {
			return false
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c - 'A' + 'a'
	}
	return c
}

// The expressions behind their guards.

func hasCalendarDate(s string) bool { return hasDigit(s) && calendarDate.MatchString(s) }

func startsNumericDate(s string) bool {
	return mayBeNumericDateStart(s) && numericDateStart.MatchString(s)
}
func hasBracketAddress(s string) bool {
	return strings.IndexByte(s, '<') >= 0 && bracketAddress.MatchString(s)
}
func hasGMTOffset(s string) bool { return strings.Contains(s, "GMT") && gmtOffset.MatchString(s) }
func isRuleLine(l string) bool   { return mayBeRule(l) && ruleLine.MatchString(l) }

// dashedSubmatch is dashedLine.FindStringSubmatch behind its guard: the
// line begins and ends with "--" inside its blanks.
func dashedSubmatch(a string) []string {
	t := a[skipBytes(a, spaceRE):]
	for len(t) > 0 && isSpaceRE(t[len(t)-1]) {
		t = t[:len(t)-1]
	}
	if !strings.HasPrefix(t, "--") || !strings.HasSuffix(t, "--") {
		return nil
	}
	return dashedLine.FindStringSubmatch(a)
}

// pairSet holds the first two bytes of words (as the caller folds them):
// scanning a line, a word can begin only where a pair of the set does,
// and one bit test rules out most places before any word is compared.
type pairSet [1 << 16 / 64]uint64

// add adds w's first two bytes; it reports false, adding nothing, for a
// word shorter than that, which the set cannot stand for.
func (p *pairSet) add(w string) bool {
	if len(w) < 2 {
		return false
	}
	k := uint(w[0])<<8 | uint(w[1])
	p[k/64] |= 1 << (k % 64)
	return true
}

func (p *pairSet) has(a, b byte) bool {
	k := uint(a)<<8 | uint(b)
	return p[k/64]&(1<<(k%64)) != 0
}

func isLetterASCII(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// hasMailAddress is mailAddress.MatchString
// (`[\p{L}\d._%+\-]+@[\p{L}\d\-]+(\.[\p{L}\d\-]+)+`) without the
// expression: an '@' with a name rune before it, and after it a run of
// domain runes, a dot and a domain rune ('.' is no domain rune, so the
// first run must be the longest).
func hasMailAddress(s string) bool {
	for p := strings.IndexByte(s, '@'); p >= 0; {
		if r, _ := utf8.DecodeLastRuneInString(s[:p]); p > 0 && (isDomainRune(r) || r == '.' || r == '_' || r == '%' || r == '+') {
			q := p + 1
			for q < len(s) {
				r, n := utf8.DecodeRuneInString(s[q:])
				if !isDomainRune(r) {
					break
				}
				q += n
			}
			if q > p+1 && q+1 < len(s) && s[q] == '.' {
				if r, _ := utf8.DecodeRuneInString(s[q+1:]); isDomainRune(r) {
					return true
				}
			}
		}
		k := strings.IndexByte(s[p+1:], '@')
		if k < 0 {
			break
		}
		p += 1 + k
	}
	return false
}

// isDomainRune is [\p{L}\d\-].
func isDomainRune(r rune) bool {
	return '0' <= r && r <= '9' || r == '-' || unicode.IsLetter(r)
}

// hasClockTime is clockTime.MatchString
// (`(^|[^\d])[\d٠-٩]{1,2}[:.][\d٠-٩]{2}([^\d]|$)`) without the
// expression: at a ':' or '.', one or two digits before it with no ASCII
// digit before them, exactly two after it. \d is ASCII; the
// Arabic-Indic digits count as digits but not as \d.
func hasClockTime(s string) bool {
	for j := 0; j < len(s); j++ {
		if s[j] != ':' && s[j] != '.' {
			continue
		}
		// After: two digits, then no ASCII digit.
		a1, n1 := utf8.DecodeRuneInString(s[j+1:])
		if !isClockDigit(a1) {
			continue
		}
		a2, n2 := utf8.DecodeRuneInString(s[j+1+n1:])
		if !isClockDigit(a2) {
			continue
		}
		if k := j + 1 + n1 + n2; k < len(s) && isASCIIDigit(s[k]) {
			continue
		}
		// Before: one digit after no ASCII digit, or two.
		b1, m1 := utf8.DecodeLastRuneInString(s[:j])
		if !isClockDigit(b1) {
			continue
		}
		b2, m2 := utf8.DecodeLastRuneInString(s[:j-m1])
		if j-m1 == 0 || !isASCIIDigitRune(b2) {
			return true
		}
		if isClockDigit(b2) {
			if b3, _ := utf8.DecodeLastRuneInString(s[:j-m1-m2]); j-m1-m2 == 0 || !isASCIIDigitRune(b3) {
				return true
			}
		}
	}
	return false
}

func isASCIIDigit(c byte) bool     { return '0' <= c && c <= '9' }
func isASCIIDigitRune(r rune) bool { return '0' <= r && r <= '9' }
func isClockDigit(r rune) bool     { return '0' <= r && r <= '9' || '٠' <= r && r <= '٩' }
