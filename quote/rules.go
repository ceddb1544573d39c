package quote

import (
	_ "embed"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// phrasesTSV is the table of localised phrases the rules below are built
// from: what clients write around a quoted original, per language.
//
//go:embed phrases.tsv
var phrasesTSV string

// ruleSet holds the expressions built once from phrases.tsv. It is never
// changed after it is built.
type ruleSet struct {
	verbs []string // attribution verbs, lower case, longest first
	// verbFirst holds the verbs by their first byte (mayHaveVerb).
	verbFirst [256][]string
	verbPairs pairSet
	start     *phraseRule // how a wrapped attribution begins
	original  *phraseRule // an "original message" rule line
	// originalBare is the same words without the rule; it counts only
	// above a header block.
	originalBare *phraseRule
	fieldAny     *litRE // a header field name with a colon anywhere
	kinds        map[string]string
	// kindWords guards the one-line header block: the words of the
	// field names of each kind.
	kindWords  map[string]*wordFilter
	footer     *phraseRule // a phone's or webmailer's footer line
	disclaimer *phraseRule // the start of a confidentiality notice
	closing    *phraseRule // a closing phrase alone on its line
}

var rules = mustRules(phrasesTSV)

func mustRules(tsv string) *ruleSet {
	r, err := buildRules(tsv)
	if err != nil {
		panic(err)
	}
	return r
}

// alternation joins phrases into a regexp alternation, longest first so
// that "envoyé le" wins over "envoyé".
func alternation(ps []string, wildcard string) string {
	ps = append([]string(nil), ps...)
	sort.Slice(ps, func(i, j int) bool { return len(ps[i]) > len(ps[j]) })
	q := make([]string, len(ps))
	for i, p := range ps {
		parts := strings.Split(p, "*")
		for k := range parts {
			parts[k] = strings.ReplaceAll(regexp.QuoteMeta(parts[k]), " ", `\s+`)
		}
		q[i] = strings.Join(parts, wildcard)
	}
	return strings.Join(q, "|")
}

// buildRules parses the phrase table and compiles the rules from it.
func buildRules(tsv string) (*ruleSet, error) {
	byKind := map[string][]string{}
	kinds := map[string]string{}
	for n, line := range strings.Split(tsv, "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 || f[2] == "" {
			return nil, fmt.Errorf("quote: phrases.tsv line %d: want kind, language, phrase separated by tabs", n+1)
		}
		kind, phrase := f[0], strings.ToLower(f[2])
		switch kind {
		case "verb", "start", "original", "footer", "disclaimer", "closing":
		case "from", "sent", "to", "subject", "cc":
			if _, dup := kinds[phrase]; !dup {
				kinds[phrase] = kind
			}
		default:
			return nil, fmt.Errorf("quote: phrases.tsv line %d: unknown kind %q", n+1, kind)
		}
		byKind[kind] = append(byKind[kind], phrase)
	}
	var fields []string
	for p := range kinds {
		fields = append(fields, p)
	}
	for _, k := range []string{"verb", "start", "original", "footer", "disclaimer", "closing"} {
		if len(byKind[k]) == 0 {
			return nil, fmt.Errorf("quote: phrases.tsv has no %s phrases", k)
		}
	}
	verbs := append([]string(nil), byKind["verb"]...)
	sort.Slice(verbs, func(i, j int) bool { return len(verbs[i]) > len(verbs[j]) })
	r := &ruleSet{
		verbs:    verbs,
		fieldAny: newLitRE(`(?i)(?:^|[^\p{L}])(`+alternation(fields, "")+`)[\s\p{Zs}]*[:：]`, fields),
		kinds:    kinds,
	}
	var err error
	for _, pr := range []struct {
		rule            **phraseRule
		kind            string
		pre, post, wild string
		lead            func(string) int
	}{
		{&r.start, "start", `(?i)^[\s\-*>]*(`, `)\s`, "", skipSet(spaceRE + "-*>")},
		{&r.original, "original", `(?i)^\s*\*?\s*[-_=]{2,}\s*(`, `)\s*:?\s*[-_=]{2,}\s*\*?\s*$`, "", skipSet(spaceRE + "*-_=")},
		{&r.originalBare, "original", `(?i)^\s*(`, `)\s*:?\s*$`, "", skipSet(spaceRE)},
		{&r.footer, "footer", `(?i)^[\s\p{Cf}]*[(<]*(`, `)[)>]*[.!]?(\s*[<(\[]?\S*(https?://|www\.)\S*)?[\s\p{Cf}]*$`, `[^.!?\n]{1,40}?`, footerLead},
		{&r.disclaimer, "disclaimer", `(?i)^[\s*_]*(`, `)`, "", skipSet(spaceRE + "*_")},
		{&r.closing, "closing", `(?i)^\s*(`, `)\s*[,.!;:-]?\s*$`, "", skipSet(spaceRE)},
	} {
		if *pr.rule, err = newPhraseRule(pr.pre, pr.post, pr.wild, byKind[pr.kind], pr.lead); err != nil {
			return nil, err
		}
	}
	byFieldKind := map[string][]string{}
	for p, k := range kinds {
		byFieldKind[k] = append(byFieldKind[k], p)
	}
	r.kindWords = map[string]*wordFilter{}
	for k, ps := range byFieldKind {
		sort.Strings(ps)
		w := newWordFilter(ps)
		r.kindWords[k] = &w
	}
	for _, v := range verbs {
		r.verbFirst[v[0]] = append(r.verbFirst[v[0]], v)
		if !r.verbPairs.add(v) {
			return nil, fmt.Errorf("quote: phrases.tsv: verb %q is too short to look for", v)
		}
	}
	return r, nil
}

// wordLetter reports whether c belongs to a script that separates words
// by spaces; a verb in such a script must not be part of a longer word
// ("wrote" in "rewrote"). Chinese, Japanese and Korean have no such
// boundary.
func wordLetter(c rune) bool {
	return unicode.In(c, unicode.Latin, unicode.Cyrillic, unicode.Greek, unicode.Arabic, unicode.Hebrew)
}

// findVerb finds the last attribution verb in s, which must be lower
// case, as a word: it returns where it starts and ends, or -1, -1. Plain
// string search keeps this linear in s with a small constant, unlike one
// large case-folding expression.
func (r *ruleSet) findVerb(s string) (int, int) {
	// One pass over s, looking up the verbs by their first two bytes,
	// finds every occurrence that searching for each verb in turn finds;
	// the one kept (latest end, then earliest start) does not depend on
	// the order they are found in.
	bs, be := -1, -1
	for st := 0; st+1 < len(s); st++ {
		if !r.verbPairs.has(s[st], s[st+1]) {
			continue
		}
		for _, v := range r.verbFirst[s[st]] {
			if !strings.HasPrefix(s[st:], v) {
				continue
			}
			en := st + len(v)
			if st > 0 {
				if c, _ := utf8.DecodeLastRuneInString(s[:st]); wordLetter(c) {
					continue
				}
			}
			if en < len(s) {
				if c, _ := utf8.DecodeRuneInString(s[en:]); wordLetter(c) {
					continue
				}
			}
			if en > be || en == be && st < bs {
				bs, be = st, en
			}
		}
	}
	return bs, be
}

func (r *ruleSet) hasVerb(s string) bool {
	if !r.mayHaveVerb(s) {
		return false
	}
	st, _ := r.findVerb(strings.ToLower(s))
	return st >= 0
}

// mayHaveVerb guards findVerb(strings.ToLower(s)). For an ASCII s, which
// strings.ToLower lowers byte by byte and whose only word letters are
// ASCII letters, it is exact: a verb stands in s between non-letters. Any
// other s may hold one.
func (r *ruleSet) mayHaveVerb(s string) bool {
	if !isASCII(s) {
		return true
	}
	for st := 0; st+1 < len(s); st++ {
		c := lowerASCII(s[st])
		if !r.verbPairs.has(c, lowerASCII(s[st+1])) || st > 0 && isLetterASCII(s[st-1]) {
			continue
		}
	verbs:
		for _, v := range r.verbFirst[c] {
			en := st + len(v)
			if en > len(s) || en < len(s) && isLetterASCII(s[en]) {
				continue
			}
			for k := 0; k < len(v); k++ {
				if lowerASCII(s[st+k]) != v[k] {
					continue verbs
				}
			}
			return true
		}
	}
	return false
}

// fieldKind returns the kind of header field ("from", "sent", "to",
// "subject", "cc") line l starts with ("From: …", "*Von:* …", "Envoyé
// le : …", "发件人：…"), or "". A lookup of the words before the colon, not
// an expression: it runs for every line of every mail.
func (r *ruleSet) fieldKind(l string) string {
	idx := indexColon(l, 60)
	if idx <= 0 {
		return ""
	}
	name := strings.Trim(l[:idx], " \t*\u00a0\u202f")
	if isASCII(name) {
		// What strings.Fields, Join and ToLower make of it, in a
		// buffer on the stack: name has at most 60 bytes.
		var buf [64]byte
		n := 0
		for i := 0; i < len(name); i++ {
			switch c := name[i]; c {
			case ' ', '\t', '\n', '\v', '\f', '\r':
				if n > 0 && buf[n-1] != ' ' {
					buf[n] = ' '
					n++
				}
			default:
				buf[n] = lowerASCII(c)
				n++
			}
		}
		if n > 0 && buf[n-1] == ' ' {
			n--
		}
		return r.kinds[string(buf[:n])]
	}
	name = strings.ToLower(strings.Join(strings.Fields(name), " "))
	return r.kinds[name]
}

// headerBlockLen reports how many lines the quoted original's header
// block starting at lines[i] takes, or 0 when none starts there. A block
// is consecutive "Field: value" lines that name the original's sender and
// either when it was sent or whom it went to and its subject ("From/Sent",
// "Von/Gesendet", "发件人/发送时间", "De/À/Objet"); one line may carry them
// all, as some webmailers write it. A From and a Subject line alone are
// text: people quote them.
func (r *ruleSet) headerBlockLen(lines []string, i int) int {
	if !hasColon(lines[i]) {
		return 0 // both the one-line block and fieldKind need one
	}
	if l := lines[i]; len(l) < 400 && strings.Count(l, ":")+strings.Count(l, "：") >= 3 && r.mayBeHeaderLine(l) {
		seen := map[string]bool{}
		for _, m := range r.fieldAny.FindAllStringSubmatch(l, -1) {
			seen[r.kinds[strings.Join(strings.Fields(strings.ToLower(m[1])), " ")]] = true
		}
		if seen["from"] && (seen["sent"] || seen["to"] && seen["subject"]) {
			return 1 // "Temat: … Nadawca: … Adresat: …" on one line
		}
	}
	first := r.fieldKind(lines[i])
	if first == "" {
		return 0
	}
	seen := map[string]bool{first: true}
	k := i + 1
	for ; k < len(lines) && k <= i+6; k++ {
		kind := r.fieldKind(lines[k])
		if kind == "" {
			break
		}
		seen[kind] = true
	}
	from := seen["from"]
	// "Date:" first and "From:" below is how delivery reports list a
	// bounced mail's headers: only "Sent:" may come before "From:".
	if first == "sent" && !sentFirst.MatchString(lines[i]) && !r.isSentPhrase(lines[i]) {
		from = false
	}
	if from && (seen["sent"] || (seen["to"] && seen["subject"])) {
		return k - i
	}
	return 0
}

// mayBeHeaderLine guards the one-line header block of headerBlockLen: a
// field name matched there counts under the kind of its lower-case form,
// whose words, case-folded, are then in l (strings.ToLower keeps every
// rune in its case-folding orbit but İ, which no phrase holds).
func (r *ruleSet) mayBeHeaderLine(l string) bool {
	from, sent, to, subject := r.kindWords["from"], r.kindWords["sent"], r.kindWords["to"], r.kindWords["subject"]
	return from.possible(l) && (sent.possible(l) || to.possible(l) && subject.possible(l))
}

// isSentPhrase reports whether l starts with a "sent" field that is not
// a plain "Date:": the clients that put it above "From:" say "Sent",
// "Gesendet", "Envoyé" and the like.
func (r *ruleSet) isSentPhrase(l string) bool {
	if r.fieldKind(l) != "sent" {
		return false
	}
	name := strings.ToLower(strings.Join(strings.Fields(strings.Trim(l[:strings.IndexAny(l, ":：")], " \t*\u00a0\u202f")), " "))
	switch name {
	case "date", "datum", "data", "dato", "fecha", "дата", "tarih", "dátum", "日期", "日付", "날짜", "ngày", "التاريخ", "tanggal", "päivämäärä", "ημερομηνία", "message du":
		return false
	}
	return true
}

var (
	// clockTime is a time of day ("10:14", "10.14", Arabic-Indic digits).
	clockTime = regexp.MustCompile(`(^|[^\d])[\d٠-٩]{1,2}[:.][\d٠-٩]{2}([^\d]|$)`)
	// mailAddress is an address, bare or in brackets.
	mailAddress = regexp.MustCompile(`[\p{L}\d._%+\-]+@[\p{L}\d\-]+(\.[\p{L}\d\-]+)+`)
	// calendarDate is a date with a year: "2014-03-20", "20.03.2014",
	// "3/20/14", "Nov 26, 2013", "26 novembre 2016", "2016年11月8日".
	calendarDate = regexp.MustCompile(`\d{4}[-/.]\s?\d{1,2}[-/.]\s?\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,2}\.?\s+\p{L}+\.?,?\s+\d{4}|\p{L}+\.?\s+\d{1,2},?\s+\d{4}|\d{4}年|[٠-٩]{4}|\d{1,2}-\p{L}+-\d{2,4}`)
	// numericDateStart is a line that begins with a numeric date, as
	// Gmail's attribution without a verb does ("2014-03-20 8:48 GMT+01:00
	// Name <addr>:").
	numericDateStart = regexp.MustCompile(`^[\s\p{Cf}]*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})\b`)
	// datedStart is an attribution that begins with its date, after a
	// start word or a weekday: "On Nov 26, 2013", "понедельник, 6 октября
	// 2014 г.". The date must carry a year.
	datedStart = regexp.MustCompile(`(?i)^[\s\p{Cf}\-*]*(\p{L}+,?\s+)?(\p{L}+\.?\s+\d{1,2},?\s+\d{4}|\d{1,2}\.?\s+\p{L}+\.?,?\s+\d{4}|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})[\s,]`)
	// openAddress is an address whose closing bracket went to the next line.
	openAddress = regexp.MustCompile(`<[^<>\s]+@[^<>\s]+$`)
	// nameAndAddress is a sender alone: "Carl Customer <carl@example.com>".
	nameAndAddress = regexp.MustCompile(`^[^<>,;!?]{0,60}<[^<>\s]+@[^<>\s]+>$`)
	gmtOffset      = regexp.MustCompile(`GMT[+-]\d{1,2}(:\d\d)?`)
	bracketAddress = regexp.MustCompile(`<[^<>\s]*@[^<>\s]*>|<\s*$|^\s*<`)
	// dashedLine is Zoho's and others' "---- On … wrote ----".
	dashedLine = regexp.MustCompile(`^\s*-{2,}\s*(.*?)\s*-{2,}\s*$`)
	// ruleLine is a line drawn with one character, as clients put above
	// a quoted original.
	ruleLine = regexp.MustCompile(`^\s*\*?\s*([-_=])(\s?[-_=]){3,}\s*\*?\s*$`)
	// multiStart is how the first line of a wrapped attribution begins
	// when it has no start word: a digit or a short weekday ("ср, 30").
	multiStart = regexp.MustCompile(`^[\s\p{Cf}\-*]*(\d|\p{L}{1,5}[.,]{0,2}\s*\d)`)
)

// trimEnd removes what clients put after an attribution's last word:
// direction marks, dashes, blanks.
func trimEnd(s string) string {
	return strings.TrimRightFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '-' || r == '\u200e' || r == '\u200f' || (r >= '\u202a' && r <= '\u202e') || r == '\u200b'
	})
}

// isAttribution reports whether a (one line, or a wrapped attribution
// joined with spaces) is the line a client writes above a quoted original.
func (r *ruleSet) isAttribution(a string) bool {
	a = strings.TrimSpace(a)
	if a == "" || len(a) > 400 {
		return false
	}
	// "---- On … wrote ----", "---- Carl wrote ----" (Zoho).
	if m := dashedSubmatch(a); m != nil && len(m[1]) < 250 && r.hasVerb(m[1]) {
		return true
	}
	// Every attribution below names a time, a date or an address: the
	// verb needs two of them, or an address, or a date; without a verb
	// it starts with a numeric date or names all three. Each needs a
	// digit (hasDigit, which clockTime's Arabic-Indic digits pass too)
	// or an '@' (mailAddress). Prose has neither on most lines, and
	// this spares it the search for a verb.
	if !hasDigit(a) && strings.IndexByte(a, '@') < 0 {
		return false
	}
	a = trimEnd(a)
	ends := strings.HasSuffix(a, ":") || strings.HasSuffix(a, "：")
	// Without an address (named, or one of the two of score) and
	// without the colon at the end, the verb needs a time and a date;
	// without a verb, a line that does not end so starts with a
	// numeric date. The time is the cheaper one to look for.
	if !ends && strings.IndexByte(a, '@') < 0 && !hasClockTime(a) && !startsNumericDate(a) {
		return false
	}
	vs, ve, lower := -1, -1, ""
	if r.mayHaveVerb(a) {
		lower = strings.ToLower(a)
		vs, ve = r.findVerb(lower)
	}
	if vs < 0 && !ends && !startsNumericDate(a) {
		return false // neither a verb nor how a verbless one ends or starts
	}
	if vs >= 0 {
		hasClock, hasAddr, hasDate := hasClockTime(a), hasMailAddress(a), hasCalendarDate(a)
		before := lower[:vs]
		// A sentence may name a time or a date; an attribution names
		// two of time, date and address, or is just "Name <addr>".
		named := hasAddr && len(before) <= 100 && hasMailAddress(before)
		score := 0
		for _, b := range []bool{hasClock, hasAddr, hasDate} {
			if b {
				score++
			}
		}
		rest := trimEnd(strings.TrimRight(strings.TrimSpace(lower[ve:]), ":："))
		switch {
		case score < 2 && !named && !(ends && rest == "" && hasDate && len(a) <= 120 && datedStart.MatchString(before)):
		case rest == "":
			return true // "… wrote:", "… wrote", "… كتب"
		case ends && named && len(rest) <= 60 && (hasClockTime(rest) || hasCalendarDate(rest)):
			return true // "Carl <c@example.com> schrieb am Do. 16. Mai 2024 um 00:02:"
		case ends && len(rest) <= 80 && nameAndAddress.MatchString(rest):
			return true // "في … ص، كتب Carl <c@example.com>:"
		case ends && named && len(rest) <= 40:
			return true
		case ends && len(rest) <= 100 && addressFirst(rest):
			return true // "Wiadomość napisana przez Carl c@example.com w dniu 17.01.2023, o godz. 11:09:"
		case ends && hasDate && hasClock && r.start.MatchString(before) && shortName(rest):
			return true // "Am 25.06.2015 um 10:55 schrieb Carl Customer:"
		}
	}
	// Without a verb: a date and a sender's address or zone, as Gmail
	// and Android write ("2014-03-20 8:48 GMT+01:00 Name <addr>:",
	// "ср, 30 апр. 2025 г. в 15:19, Name <addr>:").
	if len(a) <= 250 && !endsSentence(a) {
		if startsNumericDate(a) && (hasBracketAddress(a) || hasGMTOffset(a)) && (ends || strings.HasSuffix(a, ">") || hasGMTOffset(a)) {
			return true
		}
		if ends && hasBracketAddress(a) && hasClockTime(a) && hasCalendarDate(a) {
			return true
		}
	}
	return false
}

// attributionBlock reports how many lines the attribution starting at
// lines[i] takes (up to six: clients wrap a long one, Gmail even puts the
// address on lines of its own), or 0 when none starts there.
func (r *ruleSet) attributionBlock(lines []string, i int) int {
	l := lines[i]
	if strings.TrimSpace(l) == "" || isQuoted(l) {
		return 0
	}
	if r.isAttribution(l) {
		return 1
	}
	t := strings.TrimSpace(l)
	if endsSentence(t) && !endsOrdinal(t) ||
		!(r.start.MatchString(l) || mayBeMultiStart(l) && multiStart.MatchString(l) || hasMailAddress(l) && r.hasVerb(l)) {
		return 0
	}
	joined := t
	for k := i + 1; k < len(lines) && k <= i+5; k++ {
		next := strings.TrimSpace(lines[k])
		if next == "" {
			continue
		}
		if isQuoted(next) {
			// Gmail breaks "<mailto:…>" or "<addr>" so that "> wrote:"
			// or ">:" starts a line; a real quote line does not end
			// with the verb or consist of a colon.
			rest := strings.TrimSpace(strings.TrimLeft(next, ">"))
			switch {
			case r.hasVerb(rest) && r.isAttribution(joined+" "+rest):
			case (rest == ":" || rest == "：") && openAddress.MatchString(joined) && r.isAttribution(joined+next):
			default:
				return 0
			}
			return k - i + 1
		}
		if strings.HasSuffix(joined, "<") {
			joined += next // "Carl <\ncarl@example.com>:"
		} else {
			joined += " " + next
		}
		if len(joined) > 400 {
			return 0
		}
		if r.isAttribution(joined) {
			return k - i + 1
		}
		if endsSentence(next) {
			return 0
		}
	}
	return 0
}

// inlineAttribution finds an attribution that a client ran onto the last
// line of the reply ("Thanks! On Wed, Apr 4, 2012 at 3:59 PM, Bob
// <bob@example.com> wrote:"): it returns where in l it starts, or -1.
func (r *ruleSet) inlineAttribution(l string) int {
	if !strings.Contains(l, "On") {
		return -1 // inlineStart needs it
	}
	for _, m := range inlineStart.FindAllStringSubmatchIndex(l, -1) {
		at := m[2]
		if at == 0 {
			continue
		}
		if rest := l[at:]; r.hasVerb(rest) && hasClockTime(rest) && r.isAttribution(rest) {
			return at
		}
	}
	return -1
}

// shortName reports whether s can be a sender's name: a few words, no
// sentence, no digits.
func shortName(s string) bool {
	return s != "" && len([]rune(s)) <= 40 && len(strings.Fields(s)) <= 4 && !strings.ContainsAny(s, "0123456789.!?,;")
}

// addressFirst reports whether s names an address before any time or
// date: an attribution's tail ("Carl c@example.com w dniu 17.01.2023, o
// godz. 11:09"), not a sentence ("it at 10:30 to c@example.com").
func addressFirst(s string) bool {
	if strings.IndexByte(s, '@') < 0 {
		return false // no address
	}
	a := mailAddress.FindStringIndex(s)
	if a == nil || a[0] > 60 {
		return false
	}
	if c := clockTime.FindStringIndex(s); c != nil && c[0] < a[0] {
		return false
	}
	if d := calendarDate.FindStringIndex(s); d != nil && d[0] < a[0] {
		return false
	}
	tail := s[a[1]:]
	return hasClockTime(tail) || hasCalendarDate(tail)
}

// inlineStart is where an English attribution may begin inside a line.
var inlineStart = regexp.MustCompile(`(?:\s|-{2,})(On\s)`)
