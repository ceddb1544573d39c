package quote

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// checkCheapGuards checks on l the guards and helpers that Strip runs on
// every line before its rules: each must answer as the plain definition
// it stands for, or, for a guard, pass whatever its expression matches.
func checkCheapGuards(t testing.TB, l string) {
	t.Helper()
	same := func(name string, got, want bool) {
		t.Helper()
		if got != want {
			t.Errorf("%s(%q) = %v, want %v", name, l, got, want)
		}
	}
	same("hasDigit", hasDigit(l), hasDigitBytes(l))
	plainASCII := true
	for i := 0; i < len(l); i++ {
		plainASCII = plainASCII && l[i] < utf8.RuneSelf
	}
	same("isASCII", isASCII(l), plainASCII)
	same("isQuoted", isQuoted(l), strings.HasPrefix(strings.TrimSpace(l), ">"))
	same("hasColon", hasColon(l), strings.ContainsAny(l, ":："))
	if multiStart.MatchString(l) && !mayBeMultiStart(l) {
		t.Errorf("mayBeMultiStart refuses %q, which multiStart matches", l)
	}
	// foldLines is the Split of Fold's body of the joined lines.
	lines := strings.Split(l, "\n")
	got, prefix := foldLines(lines)
	body, _ := Fold(strings.Join(lines, "\n"))
	if want := strings.Split(body, "\n"); strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
		t.Errorf("foldLines(%q) = %q, Fold gives %q", lines, got, want)
	}
	if prefix {
		for i := range got {
			if got[i] != lines[i] {
				t.Errorf("foldLines(%q) = %q is no prefix", lines, got)
			}
		}
		for _, rest := range lines[len(got):] {
			if strings.TrimSpace(rest) != "" {
				t.Errorf("foldLines(%q) = %q left out %q", lines, got, rest)
			}
		}
	}
}

func TestCheapGuards(t *testing.T) {
	lines := guardLines(t, !testing.Short() && !raceDetector)
	// The word-at-a-time loops: every length and offset around a word
	// of eight bytes, with a digit or a byte outside ASCII in each place.
	for n := range 20 {
		for k := range n {
			for _, c := range []string{"0", "9", "/", ":", "\xd9", "\xff", ">", "\r"} {
				lines = append(lines, strings.Repeat("a", k)+c+strings.Repeat(" ", n-k-1))
			}
		}
	}
	// Texts whose last lines Fold trims or reads as a quote.
	lines = append(lines, "a\n\n", "a \t\n \r\n", "a\r\nb", "a\r", "a\n> b", "a\n> b\n \n", " \n\t", "\r\n\r", "x \u00a0\n ", ">\na")
	for _, l := range lines {
		checkCheapGuards(t, l)
		if t.Failed() {
			break
		}
	}
}

// FuzzCheapGuards runs checkCheapGuards on what the fuzzer makes of the
// lines:
//
//	go test -run XXX -fuzz FuzzCheapGuards -fuzztime 5m ./quote
func FuzzCheapGuards(f *testing.F) {
	for _, l := range guardLines(f, false) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, l string) { checkCheapGuards(t, l) })
}
