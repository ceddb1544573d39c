package web

import (
	"regexp"
	"strings"
)

// attributionEnd matches the end of the line a mail client writes above a
// quote ("… wrote:", "… schrieb:", "… schrieb Carl <c@example.com>:").
var attributionEnd = regexp.MustCompile(`(?i)(^|\s)(wrote|writes|schrieb|a écrit|escribió|ha scritto|schreef|skrev|kirjoitti|napisał|написал)\S*(\s.*)?:\s*$`)

// attributionStart matches how such a line begins ("On …", "Am …"; some
// old clients put "--" in front).
var attributionStart = regexp.MustCompile(`(?i)^\s*-*\s*(on|am|le|el|il|op|den|på|w dniu)\s`)

// foldQuote splits a plain-text body into what the author wrote and the
// history they quoted below it: the trailing run of "> " lines, with the
// attribution line(s) just above it. Quotes interleaved with answers stay
// in place, because there the quote is part of what the author says. A
// body that is nothing but a quote is returned whole, so a forwarded
// message never shows up empty.
func foldQuote(text string) (body, quoted string) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.TrimRight(text, " \t\n\r")
	lines := strings.Split(text, "\n")

	start := len(lines)
	sawQuote := false
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, ">") {
			start, sawQuote = i, true
			continue
		}
		if l == "" && sawQuote {
			continue
		}
		break
	}
	if !sawQuote {
		return text, ""
	}
	// Blank lines between the answer and the quote belong to neither.
	j := start - 1
	for j >= 0 && strings.TrimSpace(lines[j]) == "" {
		j--
	}
	switch {
	case j < 0:
	case attributionStart.MatchString(lines[j]) && attributionEnd.MatchString(lines[j]):
		start = j
	case j > 0 && strings.TrimSpace(lines[j-1]) != "" && attributionStart.MatchString(lines[j-1]) &&
		attributionEnd.MatchString(lines[j-1]+" "+lines[j]):
		// Clients wrap a long attribution ("On Mon, 2 Mar 2026 at
		// 10:00, Carl Customer\n<carl@example.com> wrote:").
		start = j - 1
	}
	body = strings.TrimRight(strings.Join(lines[:start], "\n"), " \t\n")
	if strings.TrimSpace(body) == "" {
		return text, ""
	}
	return body, strings.Join(lines[start:], "\n")
}

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
