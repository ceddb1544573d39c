package message

import (
	"encoding/base64"
	"io"
	"mime"
	"strings"
	"unicode/utf8"
)

// RFC 2047 decoding is done here rather than with mime.WordDecoder because
// mail in the wild needs three things the standard decoder does not do:
// adjacent words in the same charset are joined before charset decoding
// (encoders split multi-byte characters across words), ISO-8859-1 is read as
// windows-1252 like every mail client does, and unknown or lying charsets
// degrade to a guess instead of an error.

// decodeWords decodes every encoded-word in s. Problems (unknown charsets,
// guesses) are passed to note, which may be nil.
func decodeWords(s string, note func(string)) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	var (
		out      strings.Builder
		pending  []byte // decoded bytes of a run of words in one charset
		pendCS   string
		lastWord bool // the previous token was an encoded word
	)
	flush := func() {
		if pendCS == "" && pending == nil {
			return
		}
		text, problem := decodeBytes(pending, pendCS)
		if problem != "" && note != nil {
			note("encoded header word: " + problem)
		}
		out.WriteString(text)
		pending, pendCS = nil, ""
	}
	for len(s) > 0 {
		i := strings.Index(s, "=?")
		if i < 0 {
			flush()
			out.WriteString(s)
			break
		}
		cs, enc, text, n, ok := scanWord(s[i:])
		if !ok {
			flush()
			out.WriteString(s[:i+2])
			s = s[i+2:]
			lastWord = false
			continue
		}
		// White space between adjacent encoded words is not part of
		// the text (RFC 2047 section 6.2); anything else ends the run.
		if between := s[:i]; !lastWord || strings.Trim(between, " \t\r\n") != "" {
			flush()
			out.WriteString(between)
		}
		raw := decodeWordPayload(enc, text)
		if pendCS != "" && !strings.EqualFold(pendCS, cs) {
			flush()
		}
		if pendCS == "" {
			pendCS = cs
		}
		pending = append(pending, raw...)
		lastWord = true
		s = s[i+n:]
	}
	flush()
	return stripNUL(strings.ToValidUTF8(out.String(), "\uFFFD"))
}

// scanWord parses an encoded-word at the start of s ("=?cs?E?text?=")
// and returns its parts and length.
func scanWord(s string) (cs, enc, text string, n int, ok bool) {
	if !strings.HasPrefix(s, "=?") {
		return "", "", "", 0, false
	}
	rest := s[2:]
	q1 := strings.IndexByte(rest, '?')
	if q1 <= 0 || q1+2 >= len(rest) || rest[q1+2] != '?' {
		return "", "", "", 0, false
	}
	cs = rest[:q1]
	if strings.ContainsAny(cs, " \t\r\n=") {
		return "", "", "", 0, false
	}
	enc = rest[q1+1 : q1+2]
	if enc != "b" && enc != "B" && enc != "q" && enc != "Q" {
		return "", "", "", 0, false
	}
	body := rest[q1+3:]
	end := strings.Index(body, "?=")
	if end < 0 {
		return "", "", "", 0, false
	}
	text = body[:end]
	return cs, enc, text, 2 + q1 + 3 + end + 2, true
}

// decodeWordPayload undoes the B or Q encoding, leniently.
func decodeWordPayload(enc, text string) []byte {
	if enc == "b" || enc == "B" {
		clean := strings.Map(func(r rune) rune {
			if r < utf8.RuneSelf {
				if _, ok := b64Value(byte(r)); ok {
					return r
				}
			}
			return -1
		}, text)
		b, err := base64.RawStdEncoding.DecodeString(clean)
		if err != nil {
			// A stray trailing character: drop it and take what decodes.
			for len(clean) > 0 && err != nil {
				clean = clean[:len(clean)-1]
				b, err = base64.RawStdEncoding.DecodeString(clean)
			}
		}
		return b
	}
	out := make([]byte, 0, len(text))
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '_':
			out = append(out, ' ')
		case c == '=' && i+2 < len(text) && isHex(text[i+1]) && isHex(text[i+2]):
			out = append(out, unhex(text[i+1])<<4|unhex(text[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// newWordDecoder returns a mime.WordDecoder for net/mail's address parser
// that knows our charset aliases and never fails on a charset: unknown ones
// are guessed and reported through note.
func newWordDecoder(note func(string)) *mime.WordDecoder {
	return &mime.WordDecoder{CharsetReader: func(label string, input io.Reader) (io.Reader, error) {
		b, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		text, problem := decodeBytes(b, label)
		if problem != "" && note != nil {
			note("encoded header word: " + problem)
		}
		return strings.NewReader(text), nil
	}}
}
