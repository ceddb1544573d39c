package quote_test

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
	re *regexp.Regexp
	// first holds the folded words, indexed by their first byte; all is
	// set when some phrase has no literal word, which turns the filter
	// off.
	first [256][]string
	all   bool
}

// newLitRE compiles expr, which must require one of phrases (lower case,
// words separated by single blanks, "*" a wildcard) at some place of
// every match, as alternation builds them.
func newLitRE(expr string, phrases []string) *litRE {
	l := &litRE{re: regexp.MustCompile(expr)}
	seen := map[string]bool{}
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
		if !seen[w] {
			seen[w] = true
			l.first[w[0]] = append(l.first[w[0]], w)
		}
	}
	return l
}

// possible reports whether s may match: it holds one of the words.
func (l *litRE) possible(s string) bool {
	if l.all {
		return true
	}
	f := fold(s)
	for i := 0; i < len(f); i++ {
		for _, w := range l.first[f[i]] {
			if strings.HasPrefix(f[i:], w) {
				return true
			}
		}
	}
	return false
}

// MatchString is regexp.MatchString behind the prefilter.
func (l *litRE) MatchString(s string) bool {
	return l.possible(s) && l.re.MatchString(s)
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
