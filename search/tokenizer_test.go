package search

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"

	"github.com/ticketgate/ticketgate/internal/corpustest"
)

// sameTokens reports how the words tokenizer's tokens of in differ from
// the unicode tokenizer's after the to_lower filter ("" when they are the
// same), and how the words analyzer's differ from bleve's standard
// analyzer's. Each is given its own copy of in: both lower it in place.
func sameTokens(in []byte) string {
	if d := diffTokens(lowercase.NewLowerCaseFilter().Filter(unicode.NewUnicodeTokenizer().Tokenize(bytes.Clone(in))),
		wordsTokenizer{}.Tokenize(bytes.Clone(in))); d != "" {
		return "tokenizer: " + d
	}
	std, words := analyzers()
	return diffTokens(std.Analyze(bytes.Clone(in)), words.Analyze(bytes.Clone(in)))
}

// analyzers are bleve's standard analyzer and the index's.
var analyzers = sync.OnceValues(func() (analysis.Analyzer, analysis.Analyzer) {
	m, err := newMapping()
	if err != nil {
		panic(err)
	}
	return m.AnalyzerNamed(standard.Name), m.AnalyzerNamed(wordsAnalyzerName)
})

func diffTokens(want, got analysis.TokenStream) string {
	for i := 0; i < max(len(want), len(got)); i++ {
		var w, g analysis.Token
		if i < len(want) {
			w = *want[i]
		}
		if i < len(got) {
			g = *got[i]
		}
		if string(w.Term) != string(g.Term) || w.Start != g.Start || w.End != g.End || w.Position != g.Position || w.Type != g.Type {
			return fmt.Sprintf("token %d of %d/%d: %q %d-%d #%d type %d, want %q %d-%d #%d type %d",
				i, len(got), len(want), g.Term, g.Start, g.End, g.Position, g.Type, w.Term, w.Start, w.End, w.Position, w.Type)
		}
	}
	return ""
}

// tokenPieces are what the random texts are made of: every ASCII class
// of the word rules, and what the segmenter treats specially beyond
// ASCII (letters with umlauts, a combining mark, soft hyphen and other
// format characters, ZWJ, Katakana, Hiragana, Han, Hangul, Hebrew and its
// quotes, regional indicators, other newlines, other mid and numeric
// characters, invalid and truncated UTF-8).
var tokenPieces = []string{
	"a", "Z", "q", "0", "7", "_", ":", ".", "'", ",", ";", "\"", " ", "  ", "\t", "\r", "\n", "\r\n", "\v", "\f",
	"-", "@", "!", "/", "(", ")", "%", "#", "\x00", "\x7f",
	"ä", "Ö", "ß", "é", "\u0301", "\u00ad", "\u200b", "\u200d", "\u2060", "\ufeff", "カ", "ー", "ひ", "漢", "한", "א", "ב", "\u05f4", "\u05f3",
	"🇩", "🇪", "\u0085", "\u2028", "\u2029", "\u00b7", "\u2019", "\u2018", "\u066b", "٣", "१", "\u203f", "\u3000", "\u00a0", "😀",
	"\xff", "\xc3", "\xe2\x80", "\x80", "\xf0\x9f",
	"printer", "Grüße", "e-mail", "help@x.example", "10:30", "4.2.1", "1,000", "don't", "foo_bar",
}

// TestWordsTokenizerMatchesUnicode: on random texts of the pieces above,
// on every text of up to three ASCII characters, and on the raw mail of
// the corpus, the words tokenizer gives exactly the unicode tokenizer's
// tokens.
func TestWordsTokenizerMatchesUnicode(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 13))
	for range 200_000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(tokenPieces[rng.IntN(len(tokenPieces))])
		}
		if d := sameTokens([]byte(b.String())); d != "" {
			t.Fatalf("%q: %s", b.String(), d)
		}
	}
	var in [3]byte
	for n := 1; n <= 3; n++ {
		for i := range 1 << (7 * n) {
			for k := range n {
				in[k] = byte(i >> (7 * k) & 0x7f)
			}
			if d := sameTokens(in[:n]); d != "" {
				t.Fatalf("%q: %s", in[:n], d)
			}
		}
	}
	root := corpustest.Dir(t)
	files := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".eml") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if d := sameTokens(raw); d != "" {
			t.Errorf("%s: %s", path, d)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("only %d corpus files", files)
	}
}

// FuzzWordsTokenizer: any input gives the unicode tokenizer's tokens.
func FuzzWordsTokenizer(f *testing.F) {
	for _, p := range tokenPieces {
		f.Add([]byte(p + " x" + p + "1" + p + "y"))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if d := sameTokens(in); d != "" {
			t.Fatalf("%q: %s", in, d)
		}
	})
}
