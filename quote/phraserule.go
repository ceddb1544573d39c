package quote

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// phraseRule is a rule expression that begins at the start of the line
// and then needs one of its phrases: `^lead(phrase|phrase|…)tail`. Its
// alternation of dozens of phrases, some with wildcards, compiles into
// a program so large that running it costs hundreds of thousands of
// instructions on a line that looks like a footer; whether a line
// matches is the same as whether it matches one of the expressions with
// a single phrase, which are small. phraseRule keeps one per phrase and
// runs only those whose phrase can be there: the lead (a function of the
// line: where a phrase can begin) is followed by the phrase's words up to
// its first wildcard, or, for a phrase that begins with a wildcard, the
// line holds its longest word. The answer is the full expression's.
type phraseRule struct {
	expr string // the whole expression, for the tests
	lead func(string) int
	alts []phraseAlt
	// byFirst lists the alternatives with leading words by the first
	// byte of the first one, folded; anchored all of them; floating the
	// ones that begin with a wildcard.
	byFirst  [256][]*phraseAlt
	anchored []*phraseAlt
	floating []*phraseAlt
	// floatingWords holds the longest words of the floating ones.
	floatingWords *wordFilter
}

type phraseAlt struct {
	// re compiles the expression with this phrase alone the first time
	// a line needs it: compiling all of them would double what the
	// package costs at start-up, and most are seldom or never needed. It
	// is a cache of a constant, the same for every caller and goroutine.
	re    func() *regexp.Regexp
	expr  string
	words []string // its words before the first wildcard, folded
	// second is the second byte of the first word when it and the
	// first are ASCII, else 0: MatchString compares it before calling
	// wordsAt.
	second byte
	word   string // its longest word, folded (floating ones)
}

// newPhraseRule compiles pre + alternation(phrase, wildcard) + post for
// each of phrases (lower case, words separated by single blanks, "*" a
// wildcard). lead(l) must return where in l the expression can have its
// phrase begin, and a phrase must not begin with what lead skips.
func newPhraseRule(pre, post, wildcard string, phrases []string, lead func(string) int) (*phraseRule, error) {
	r := &phraseRule{expr: pre + alternation(phrases, wildcard) + post, lead: lead}
	seen := map[string]bool{}
	for _, p := range phrases {
		if seen[p] {
			continue
		}
		seen[p] = true
		expr := pre + alternation([]string{p}, wildcard) + post
		a := phraseAlt{expr: expr, re: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })}
		head, _, _ := strings.Cut(p, "*")
		for _, w := range strings.Fields(head) {
			a.words = append(a.words, fold(w))
		}
		if w := a.words; len(w) > 0 && len(w[0]) >= 2 && w[0][0] < utf8.RuneSelf && w[0][1] < utf8.RuneSelf {
			a.second = w[0][1]
		}
		if len(a.words) > 0 && (p[0] == ' ' || lead(p) != 0) {
			return nil, fmt.Errorf("quote: phrase %q cannot be looked for at the start of a line", p)
		}
		if len(a.words) == 0 {
			for _, piece := range strings.FieldsFunc(p, func(r rune) bool { return r == ' ' || r == '*' }) {
				if len(piece) > len(a.word) {
					a.word = piece
				}
			}
			if a.word == "" {
				return nil, fmt.Errorf("quote: phrase %q has no word to look for", p)
			}
			a.word = fold(a.word)
		}
		r.alts = append(r.alts, a)
	}
	var floating []string
	for k := range r.alts {
		a := &r.alts[k]
		if a.words == nil {
			r.floating = append(r.floating, a)
			floating = append(floating, a.word)
			continue
		}
		r.byFirst[a.words[0][0]] = append(r.byFirst[a.words[0][0]], a)
		r.anchored = append(r.anchored, a)
	}
	if floating != nil {
		w := newWordFilter(floating)
		r.floatingWords = &w
	}
	return r, nil
}

// MatchString reports whether the expression matches l.
func (r *phraseRule) MatchString(l string) bool {
	rest := l[r.lead(l):]
	if rest != "" {
		cands := r.byFirst[upperASCII(rest[0])]
		if rest[0] >= utf8.RuneSelf {
			// A rune outside ASCII may fold to one inside it (K,
			// ſ): look at every phrase.
			cands = r.anchored
		}
		// Where the line and the word begin with two ASCII bytes,
		// foldPrefix compares the second as the first, upper-cased:
		// most phrases that begin with the line's first letter fail
		// there.
		var second byte
		if len(rest) >= 2 && rest[0] < utf8.RuneSelf && rest[1] < utf8.RuneSelf {
			second = upperASCII(rest[1])
		}
		for _, a := range cands {
			if a.second != 0 && second != 0 && a.second != second {
				continue
			}
			if wordsAt(rest, a.words) && a.re().MatchString(l) {
				return true
			}
		}
	}
	if !r.floatingWords.possible(l) {
		return false
	}
	for _, a := range r.floating {
		if containsFold(l, a.word) && a.re().MatchString(l) {
			return true
		}
	}
	return false
}

// wordsAt reports whether s begins with words (folded), one after the
// other with blanks (\s+) between them.
func wordsAt(s string, words []string) bool {
	for k, w := range words {
		if k > 0 {
			n := skipBytes(s, spaceRE)
			if n == 0 {
				return false
			}
			s = s[n:]
		}
		n, ok := foldPrefix(s, w)
		if !ok {
			return false
		}
		s = s[n:]
	}
	return true
}

// containsFold reports whether fold(s) holds w, a folded word.
func containsFold(s, w string) bool {
	for i := 0; i < len(s); {
		if _, ok := foldPrefix(s[i:], w); ok {
			return true
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	return false
}

// skipSet returns a lead that skips the ASCII bytes in set.
func skipSet(set string) func(string) int {
	return func(l string) int { return skipBytes(l, set) }
}

// footerLead is where a footer's phrase can begin: after blanks and
// format characters (`[\s\p{Cf}]*`), then opening brackets (`[(<]*`).
func footerLead(l string) int {
	i := 0
	for i < len(l) {
		if isSpaceRE(l[i]) {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(l[i:])
		if r < utf8.RuneSelf || !unicode.Is(unicode.Cf, r) {
			break
		}
		i += n
	}
	return i + skipBytes(l[i:], "(<")
}
