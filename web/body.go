package web

import (
	"regexp"
	"strings"
)

// segment is a run of text, or a link when URL is set.
type segment struct {
	Text string
	URL  string
}

var urlPattern = regexp.MustCompile(`https?://[^\s<>"'\x60]+`)

// linkify splits text into plain runs and http(s) links, so the template
// can make links clickable while escaping everything else.
func linkify(text string) []segment {
	var out []segment
	last := 0
	for _, m := range urlPattern.FindAllStringIndex(text, -1) {
		a, b := m[0], trimURLEnd(text[m[0]:m[1]])+m[0]
		if b-a <= len("https://") {
			continue
		}
		if a > last {
			out = append(out, segment{Text: text[last:a]})
		}
		out = append(out, segment{Text: text[a:b], URL: text[a:b]})
		last = b
	}
	if last < len(text) {
		out = append(out, segment{Text: text[last:]})
	}
	return out
}

// trimURLEnd returns the length of u without the punctuation that ends the
// sentence around it ("see https://example.com/a."), keeping a closing
// parenthesis the URL itself opened (Wikipedia-style links).
func trimURLEnd(u string) int {
	for len(u) > 0 {
		c := u[len(u)-1]
		switch {
		case strings.IndexByte(".,;:!?*'", c) >= 0:
			u = u[:len(u)-1]
		case c == ')' && strings.Count(u, "(") < strings.Count(u, ")"):
			u = u[:len(u)-1]
		case c == ']' && strings.Count(u, "[") < strings.Count(u, "]"):
			u = u[:len(u)-1]
		default:
			return len(u)
		}
	}
	return 0
}
