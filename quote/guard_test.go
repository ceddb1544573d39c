package quote

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The expressions the guards replaced outright, kept here as their
// definition.
var (
	sentenceEndRE = regexp.MustCompile(`[.!?。！？]["'»)]*$`)
	ordinalEndRE  = regexp.MustCompile(`\d\.$`)
)

// findVerbEach is findVerb as it was: one search per verb.
func findVerbEach(r *ruleSet, s string) (int, int) {
	bs, be := -1, -1
	for _, v := range r.verbs {
		for from := 0; from < len(s); {
			k := strings.Index(s[from:], v)
			if k < 0 {
				break
			}
			st, en := from+k, from+k+len(v)
			from = st + 1
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

// checkGuards checks on l that every guard passes whatever its
// expression matches, that the replacements of expressions answer as
// they did, and that the phrase rules answer as their whole expression.
func checkGuards(t testing.TB, l string, whole map[*phraseRule]*regexp.Regexp) {
	t.Helper()
	must := func(name string, guard, match bool) {
		t.Helper()
		if match && !guard {
			t.Errorf("%s: guard refuses %q, which the expression matches", name, l)
		}
	}
	same := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s(%q) = %v, the expression says %v", name, l, got, want)
		}
	}
	same("endsSentence", endsSentence(l), sentenceEndRE.MatchString(l))
	same("endsOrdinal", endsOrdinal(l), ordinalEndRE.MatchString(l))
	must("mayBeRule/ruleLine", mayBeRule(l), ruleLine.MatchString(l))
	must("mayBeUnderscoreRule", mayBeUnderscoreRule(l), underscoreRule.MatchString(l))
	must("mayBeForward", mayBeForward(l), forwardRule.MatchString(l))
	must("mayBeAttributionStart", mayBeAttributionStart(l), attributionStart.MatchString(l))
	must("mayEndAttribution", mayEndAttribution(l), attributionEnd.MatchString(l))
	for _, re := range []*regexp.Regexp{clockTime, calendarDate, multiStart, phoneNumber} {
		must("hasDigit/"+re.String(), hasDigit(l), re.MatchString(l))
	}
	same("hasClockTime", hasClockTime(l), clockTime.MatchString(l))
	same("hasMailAddress", hasMailAddress(l), mailAddress.MatchString(l))
	must("mayBeNumericDateStart", mayBeNumericDateStart(l), numericDateStart.MatchString(l))
	must("@/mailAddress", strings.IndexByte(l, '@') >= 0, mailAddress.MatchString(l))
	must("<>/bracketAddress", strings.IndexByte(l, '<') >= 0, bracketAddress.MatchString(l))
	must("GMT/gmtOffset", strings.Contains(l, "GMT"), gmtOffset.MatchString(l))
	must("./webAddress", strings.ContainsAny(l, ".:"), webAddress.MatchString(l))
	must(":/headerLine", strings.IndexByte(l, ':') >= 0, headerLine.MatchString(l))
	must(":/sentLine", strings.IndexByte(l, ':') >= 0, sentLine.MatchString(l))
	must(":/sentFirst", strings.IndexByte(l, ':') >= 0, sentFirst.MatchString(l))
	must(":/anyField", strings.IndexByte(l, ':') >= 0, anyField.MatchString(l))
	must("On/inlineStart", strings.Contains(l, "On"), inlineStart.MatchString(l))
	if got, want := dashedSubmatch(l), dashedLine.FindStringSubmatch(l); !slices.Equal(got, want) {
		t.Errorf("dashedSubmatch(%q) = %q, the expression says %q", l, got, want)
	}
	want := strings.IndexAny(l, ":：")
	if want > 60 {
		want = -1
	}
	same("indexColon", indexColon(l, 60), want)

	slowKind := ""
	if idx := strings.IndexAny(l, ":："); idx > 0 && idx <= 60 {
		name := strings.Trim(l[:idx], " \t*\u00a0\u202f")
		slowKind = rules.kinds[strings.ToLower(strings.Join(strings.Fields(name), " "))]
	}
	same("fieldKind", rules.fieldKind(l), slowKind)

	lower := strings.ToLower(l)
	vs, ve := rules.findVerb(lower)
	ws, we := findVerbEach(rules, lower)
	if vs != ws || ve != we {
		t.Errorf("findVerb(%q) = %d, %d; one search per verb finds %d, %d", lower, vs, ve, ws, we)
	}
	if isASCII(l) {
		same("mayHaveVerb", rules.mayHaveVerb(l), ws >= 0)
	} else {
		must("mayHaveVerb", rules.mayHaveVerb(l), ws >= 0)
	}

	must("fieldAny words", rules.fieldAny.possible(l), rules.fieldAny.re.MatchString(l))
	seen := map[string]bool{}
	for _, m := range rules.fieldAny.re.FindAllStringSubmatch(l, -1) {
		seen[rules.kinds[strings.Join(strings.Fields(strings.ToLower(m[1])), " ")]] = true
	}
	must("mayBeHeaderLine", rules.mayBeHeaderLine(l), seen["from"] && (seen["sent"] || seen["to"] && seen["subject"]))

	for r, re := range whole {
		same("phrase rule "+r.expr[:min(len(r.expr), 40)], r.MatchString(l), re.MatchString(l))
	}
}

// wholeExpressions compiles each phrase rule's whole expression.
func wholeExpressions() map[*phraseRule]*regexp.Regexp {
	m := map[*phraseRule]*regexp.Regexp{}
	for _, r := range []*phraseRule{rules.start, rules.original, rules.originalBare, rules.footer, rules.disclaimer, rules.closing} {
		m[r] = regexp.MustCompile(r.expr)
	}
	return m
}

// guardLines returns the distinct lines of quote/testdata and of the
// corpus's reply cases, and lines made to sit at the guards' edges; with
// variants each line also upper case and without its CR.
func guardLines(t testing.TB, variants bool) []string {
	var files []string
	for _, pattern := range []string{
		filepath.Join("testdata", "*", "*"),
		filepath.Join(repoRoot(t), "..", "shared", "corpus", "replies", "cases", "*.txt"),
	} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	seen := map[string]bool{}
	var lines []string
	add := func(l string) {
		if !seen[l] {
			seen[l] = true
			lines = append(lines, l)
		}
	}
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(raw), "\n") {
			add(l)
			if variants {
				add(strings.TrimRight(l, "\r"))
				add(strings.ToUpper(l))
			}
		}
	}
	for _, l := range []string{
		"", " ", "\v", "\u00a0", ".", "x.\"'»)", "x.」", "Fr., 28.", "28.", "\xff.", "\xe3\x80.", "\xc2\xbb",
		"»", "x\xe3\x80\x82", "x。", "?)\"", "On", " On ", "--On Mon wrote:", "-- x --", "----", "---",
		"\u200e2014-03-20 8:48 GMT+01:00 X <x@y.z>:", "\u200b\u200e 1", "\u00ad1", "٠١:٢٣", "٢٠١٤",
		"KELVIN \u212A", "ſent from my iPhone", "\u212Aind regards", "(Sent from my iPhone)", "\u202b<Sent from my iPhone",
		"Gesendet: x", "Von: x", " \tFROM \v :", "*Envoyé \t\f LE*:", "Envoyé  le :", "De\u00a0:", "de la: x", "\u00a0 von :", "\tvon\r:", "From: x Sent: y To: z Subject: w", "De : x À : y Objet : z Envoyé : w",
		"发件人：x 发送时间：y 收件人：z 主题：w", "__________", "  ______________  ", "*-----Original Message-----*",
		"= = = =", "_ _ _ _", "wrote:", "rewrote:", "wrote", "escribió:", "ESCRIBIÓ:", "Wrote.", "x wrote\u00a0:",
		"12:34", "123:45", "1:234", "1:23", "a1.23b", "١٢:٣٤", "1١:23", "١1:23", "x12.345", "9:5", ":12", "1:", "12:3\xff",
		"\xff1:23", "a@b.c", "a@b.", "@b.c", "a@.c", "x.@y-z.é", "é@é.é", "a@b.c.d", "a@@b.c", "a @b.c", "a@b .c", "a@b\xff.c",
		"\xffa@b.c", "a@b-.-", "%@1.2", "<a@b.c>", "a@b..c", "a@b.\xff",
		strings.Repeat("a", 61) + ":", strings.Repeat("é", 30) + "：", strings.Repeat("x", 59) + "：",
	} {
		add(l)
	}
	return lines
}

func TestGuards(t *testing.T) {
	whole := wholeExpressions()
	// The guards are pure functions: under -race (ten times slower)
	// and -short the lines are checked as they are, not also in
	// variants.
	lines := guardLines(t, !testing.Short() && !raceDetector)
	for _, l := range lines {
		checkGuards(t, l, whole)
		if t.Failed() {
			break
		}
	}
	t.Logf("%d lines checked", len(lines))
}

// TestPhraseRulesCompile compiles every phrase's expression, which the
// rules otherwise compile only when a line first needs it.
func TestPhraseRulesCompile(t *testing.T) {
	n := 0
	for r := range wholeExpressions() {
		for _, a := range r.alts {
			if _, err := regexp.Compile(a.expr); err != nil {
				t.Errorf("%s: %v", a.expr, err)
			}
			n++
		}
	}
	t.Logf("%d expressions", n)
}

// FuzzGuards runs checkGuards on what the fuzzer makes of the lines:
//
//	go test -run XXX -fuzz FuzzGuards -fuzztime 5m ./quote
func FuzzGuards(f *testing.F) {
	for _, l := range guardLines(f, false) {
		f.Add(l)
	}
	whole := wholeExpressions()
	f.Fuzz(func(t *testing.T, l string) {
		checkGuards(t, l, whole)
	})
}
