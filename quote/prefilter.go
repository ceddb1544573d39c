package quote

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// litRE is a rule expression with a literal prefilter: a line can match
// only when it holds, case-folded, the longest word of one of the phrases the
// expression was built from. Most lines of a mail hold none, and checking
// for a few short words is a hundred times cheaper than running an
// alternation of hundreds of phrases over every line. The prefilter never
// decides a match, it only skips lines the expression cannot match.
type litRE struct {
	re    *regexp.Regexp
	words wordFilter
}

// wordFilter is the check behind the prefilter: whether a line holds,
// case-folded, the longest word of one of the phrases.
type wordFilter struct {
	// first holds the folded words, indexed by their first byte; all is
	// set when some phrase has no literal word, which turns the filter
	// off.
	first [256][]string
	all   bool
	// pairs holds the first two bytes of the words, when none is
	// shorter (nil otherwise).
	pairs *pairSet
	// ascii is set when some word is all ASCII: a word that is not
	// cannot be in an ASCII line, whose fold is ASCII.
	ascii bool
}

// newLitRE compiles expr, which must require one of phrases (lower case,
// words separated by single blanks, "*" a wildcard) at some place of
// every match, as alternation builds them.
func newLitRE(expr string, phrases []string) *litRE {
	return &litRE{re: regexp.MustCompile(expr), words: newWordFilter(phrases)}
}

// newWordFilter returns the filter for phrases (lower case, words
// separated by single blanks, "*" a wildcard).
func newWordFilter(phrases []string) wordFilter {
	var l wordFilter
	seen := map[string]bool{}
	l.pairs = new(pairSet)
	for _, p := range phrases {
		// Every word of a phrase is in every match (blanks become \s+,
		// "*" a wildcard between words): its longest is the rarest.
		w := ""
		for _, piece := range strings.FieldsFunc(p, func(r rune) bool { return r == ' ' || r == '*' }) {
			if len(piece) > len(w) {
				w = piece
			}
		}
		if w == "" {
			l.all = true
			continue
		}
		w = fold(w)
		l.ascii = l.ascii || isASCII(w)
		if !seen[w] {
			seen[w] = true
			l.first[w[0]] = append(l.first[w[0]], w)
			if l.pairs != nil && !l.pairs.add(w) {
				l.pairs = nil
			}
		}
	}
	return l
}

// possible reports whether s may match: it holds one of the words.
func (l *litRE) possible(s string) bool { return l.words.possible(s) }

// possible reports whether s holds one of the words; a nil filter has
// none.
func (l *wordFilter) possible(s string) bool {
	if l == nil {
		return false
	}
	if l.all {
		return true
	}
	if isASCII(s) {
		if !l.ascii {
			return false
		}
		// fold(s) is strings.ToUpper(s): compare byte by byte
		// instead of making the copy.
		for i := 0; i < len(s); i++ {
			c := upperASCII(s[i])
			if l.pairs != nil && (i+1 == len(s) || !l.pairs.has(c, upperASCII(s[i+1]))) {
				continue
			}
			for _, w := range l.first[c] {
				if _, ok := foldPrefix(s[i:], w); ok {
					return true
				}
			}
		}
		return false
	}
	// The words of fold(s) begin at its runes (a folded word begins
	// with a leading byte): compare at each rune of s, folding as we go.
	var enc [utf8.UTFMax]byte
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		utf8.EncodeRune(enc[:], foldRune(r))
		for _, w := range l.first[enc[0]] {
			if _, ok := foldPrefix(s[i:], w); ok {
				return true
			}
		}
		i += n
	}
	return false
}

// foldPrefix reports whether s begins with w, a folded string, rune by
// rune under fold, and how many bytes of s that takes. Invalid bytes of s
// are U+FFFD, as for fold and the expressions.
func foldPrefix(s, w string) (int, bool) {
	i := 0
	for j := 0; j < len(w); {
		if i >= len(s) {
			return 0, false
		}
		if c := s[i]; c < utf8.RuneSelf && w[j] < utf8.RuneSelf {
			if upperASCII(c) != w[j] {
				return 0, false
			}
			i++
			j++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		wr, wn := utf8.DecodeRuneInString(w[j:])
		if foldRune(r) != wr {
			return 0, false
		}
		i += n
		j += wn
	}
	return i, true
}

// FindAllStringSubmatch is regexp.FindAllStringSubmatch behind the
// prefilter.
func (l *litRE) FindAllStringSubmatch(s string, n int) [][]string {
	if !l.possible(s) {
		return nil
	}
	return l.re.FindAllStringSubmatch(s, n)
}

// fold maps every rune of s to the smallest rune of its case-folding
// orbit, the equivalence (?i) matches by: two strings fold to the same
// bytes exactly when an expression's literal matches the other
// case-insensitively, rune by rune.
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}
