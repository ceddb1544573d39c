package search

import (
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/registry"
	"github.com/blevesearch/segment"
)

// The index's words are split as bleve's "standard" analyzer splits them
// (the unicode tokenizer: Unicode word boundaries, UAX #29, as
// github.com/blevesearch/segment implements them; then lower case and the
// English stop words), but the tokenizer takes a shorter road through
// ASCII: the segmenter's generated state machine costs about 250
// instructions a byte, a third of what indexing a new ticket costs, and
// most of a ticket's text is ASCII even in German mail. It also lowers
// the case of the words it finds, as the to_lower filter would (in place,
// as that filter does; an ASCII word byte by byte, any other with the
// filter itself), which saves the filter's pass over every word.
// wordsTokenizer gives exactly the tokens the unicode tokenizer and the
// to_lower filter give (same terms, offsets, positions and types;
// TestWordsTokenizerMatchesUnicode and FuzzWordsTokenizer compare them),
// so searches find what they found.

// wordsTokenizerName is the tokenizer's name in bleve's registry and in
// the index mapping; wordsAnalyzerName the analyzer's.
const (
	wordsTokenizerName = "ticketgate_words"
	wordsAnalyzerName  = "ticketgate_standard"
)

// bleve finds tokenizers named in a mapping only through its registry,
// which is filled at init; an index whose mapping names this tokenizer
// can be opened by any program that links this package.
func init() {
	if err := registry.RegisterTokenizer(wordsTokenizerName, func(map[string]any, *registry.Cache) (analysis.Tokenizer, error) {
		return wordsTokenizer{}, nil
	}); err != nil {
		panic(err)
	}
}

// wordsAnalyzer is the mapping's definition of the analyzer: "standard"
// with wordsTokenizer in place of "unicode" and "to_lower".
func wordsAnalyzer() map[string]any {
	return map[string]any{
		"type":          custom.Name,
		"tokenizer":     wordsTokenizerName,
		"token_filters": []any{en.StopName},
	}
}

// wordsTokenizer splits text into words as bleve's unicode tokenizer does
// and lowers their case as its to_lower filter does.
type wordsTokenizer struct{}

// ASCII byte classes, as UAX #29 (and the segmenter) class them.
const (
	cOther    = iota
	cLetter   // ALetter: A-Z a-z
	cDigit    // Numeric: 0-9
	cUnder    // ExtendNumLet: _
	cMidLet   // MidLetter: ':'
	cMidNum   // MidNum: ',' ';'
	cMidBoth  // MidNumLet '.' and Single_Quote '\'': between letters and between digits
	cSpace    // a byte no rule joins to what precedes it: space, tab, CR, LF, VT, FF
	cNonASCII // the first byte of anything else: the segmenter decides
)

var asciiClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= 0x80:
			t[c] = cNonASCII
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			t[c] = cLetter
		case c >= '0' && c <= '9':
			t[c] = cDigit
		case c == '_':
			t[c] = cUnder
		case c == ':':
			t[c] = cMidLet
		case c == ',', c == ';':
			t[c] = cMidNum
		case c == '.', c == '\'':
			t[c] = cMidBoth
		case c == ' ', c == '\t', c == '\r', c == '\n', c == '\v', c == '\f':
			t[c] = cSpace
		}
	}
	return t
}()

// Tokenize splits input at spaces (no word boundary rule reaches across
// an ASCII space, tab or line break) into pieces; an ASCII piece is split
// here, a piece with any other byte by the segmenter, given with the
// space before it so that it sees what it would see in the whole text
// (a combining mark after a space belongs to the space). Text that is
// not valid UTF-8 goes to the unicode tokenizer whole: the segmenter
// reads an invalid sequence's lead byte as taking the next bytes with it,
// spaces included, and stops at some invalid bytes, ending the tokens.
func (wordsTokenizer) Tokenize(input []byte) analysis.TokenStream {
	if !utf8.Valid(input) {
		return lowercase.NewLowerCaseFilter().Filter(unicode.NewUnicodeTokenizer().Tokenize(input))
	}
	// About one token in six bytes; one array holds them all.
	ta := make([]analysis.Token, 0, len(input)/6+1)
	pos := 1
	add := func(term []byte, start int, typ analysis.TokenType) {
		ta = append(ta, analysis.Token{Term: term, Start: start, End: start + len(term), Position: pos, Type: typ})
		pos++
	}
	for i := 0; i < len(input); {
		if asciiClass[input[i]] == cSpace {
			i++
			continue
		}
		end := i
		ascii := true
		for end < len(input) {
			c := asciiClass[input[end]]
			if c == cSpace {
				break
			}
			if c == cNonASCII {
				ascii = false
			}
			end++
		}
		if ascii {
			asciiWords(input, i, end, add)
		} else {
			from := i
			if from > 0 {
				from--
			}
			segmentWords(input, from, end, add)
		}
		i = end
	}
	rv := make(analysis.TokenStream, len(ta))
	var wide analysis.TokenStream
	for k := range ta {
		rv[k] = &ta[k]
		if !lowerASCII(ta[k].Term) {
			wide = append(wide, &ta[k])
		}
	}
	if wide != nil {
		lowercase.NewLowerCaseFilter().Filter(wide)
	}
	return rv
}

// lowerASCII lowers the case of term in place if it is all ASCII and
// reports whether it was.
func lowerASCII(term []byte) bool {
	for _, c := range term {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	for i, c := range term {
		if 'A' <= c && c <= 'Z' {
			term[i] = c + 'a' - 'A'
		}
	}
	return true
}

// asciiWords adds the words of input[from:to], all ASCII without spaces:
// runs of letters, digits and '_', joined across one ':' '.' or '\”
// between two letters, and across one ',' ';' '.' or '\” between two
// digits. A word with a digit and no letter is numeric (the segmenter's
// numeric rule matches it first).
func asciiWords(input []byte, from, to int, add func([]byte, int, analysis.TokenType)) {
	for i := from; i < to; {
		c := asciiClass[input[i]]
		if c != cLetter && c != cDigit && c != cUnder {
			i++
			continue
		}
		start, last := i, c
		letter, digit := c == cLetter, c == cDigit
		for i++; i < to; i++ {
			c := asciiClass[input[i]]
			if c == cLetter || c == cDigit || c == cUnder {
				last = c
				letter = letter || c == cLetter
				digit = digit || c == cDigit
				continue
			}
			if i+1 < to {
				next := asciiClass[input[i+1]]
				if last == cLetter && next == cLetter && (c == cMidLet || c == cMidBoth) ||
					last == cDigit && next == cDigit && (c == cMidNum || c == cMidBoth) {
					i++
					continue
				}
			}
			break
		}
		typ := analysis.AlphaNumeric
		if digit && !letter {
			typ = analysis.Numeric
		}
		add(input[start:i], start, typ)
	}
}

// segmentWords adds the words the segmenter finds in input[from:to], as
// the unicode tokenizer would.
func segmentWords(input []byte, from, to int, add func([]byte, int, analysis.TokenType)) {
	s := segment.NewWordSegmenterDirect(input[from:to])
	at := from
	for s.Segment() {
		b := s.Bytes()
		if t := s.Type(); t != segment.None {
			add(b, at, unicodeType(t))
		}
		at += len(b)
	}
}

// unicodeType is the unicode tokenizer's token type of a segment type.
func unicodeType(t int) analysis.TokenType {
	switch t {
	case segment.Ideo, segment.Kana:
		return analysis.Ideographic
	case segment.Number:
		return analysis.Numeric
	}
	return analysis.AlphaNumeric
}
