package message

import (
	"html"
	"regexp"
	"strings"

	"github.com/k3a/html2text"
)

var (
	htmlCommentRE = regexp.MustCompile(`(?s)<!--.*?-->`)
	htmlHeadRE    = regexp.MustCompile(`(?is)<head\b.*?</head\s*>`)
	htmlTitleRE   = regexp.MustCompile(`(?is)<title\b.*?</title\s*>`)
	htmlOpenHead  = regexp.MustCompile(`(?i)<head\b`)
	htmlBodyRE    = regexp.MustCompile(`(?i)<body\b[^>]*>`)
	htmlTagRE     = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*>`)
	htmlHrefRE    = regexp.MustCompile(`(?i)\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))`)
	blankLinesRE  = regexp.MustCompile(`\n{3,}`)
)

// htmlToText derives the text of an HTML-only message with k3a/html2text.
//
// html2text is simple: it knows tags only in their bare form ("<br>",
// "<p>"), and an <a> without href, or any tag spread over two lines, makes
// it hide the rest of the document. Mail HTML has all of that, so the markup
// is normalised first: block elements become line breaks, links become
// "text <url>", the <head> (also when it is not closed) and all comments
// (Outlook's conditional comments hold markup) are dropped. Text after
// </body> is kept: webmailers append quoted mail there. What html2text then
// does is entities, white space, lists and <script> and <style> blocks.
func htmlToText(s string) string {
	s = htmlCommentRE.ReplaceAllString(s, "")
	s = htmlHeadRE.ReplaceAllString(s, "")
	if h := htmlOpenHead.FindStringIndex(s); h != nil {
		// An unclosed <head>: it ends where the body starts.
		if b := htmlBodyRE.FindStringIndex(s[h[0]:]); b != nil {
			s = s[:h[0]] + s[h[0]+b[0]:]
		}
	}
	s = htmlTitleRE.ReplaceAllString(s, "")
	s = normalizeTags(s)
	text := html2text.HTML2TextWithOptions(s,
		html2text.WithUnixLineBreaks(),
		html2text.WithListSupport())
	text = strings.ReplaceAll(text, "\u00a0", " ")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(strings.TrimLeft(l, " "), " \t")
	}
	text = strings.Join(lines, "\n")
	text = blankLinesRE.ReplaceAllString(text, "\n\n")
	return strings.TrimSpace(text)
}

// normalizeTags rewrites the markup into the subset html2text handles.
func normalizeTags(s string) string {
	var (
		b     strings.Builder
		last  int
		links []link // open <a> elements
	)
	b.Grow(len(s))
	for _, m := range htmlTagRE.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(s[last:m[0]])
		last = m[1]
		tag := s[m[0]:m[1]]
		closing := m[3] > m[2]
		name := strings.ToLower(s[m[4]:m[5]])
		switch name {
		case "a":
			if !closing {
				href := ""
				if h := htmlHrefRE.FindStringSubmatch(tag); h != nil {
					href = html.UnescapeString(h[1] + h[2] + h[3])
				}
				links = append(links, link{href: href, textStart: b.Len()})
				continue
			}
			if len(links) == 0 {
				continue
			}
			l := links[len(links)-1]
			links = links[:len(links)-1]
			b.WriteString(l.suffix(b.String()[l.textStart:]))
		case "br":
			b.WriteString("<br>")
		case "p", "li", "ul", "ol":
			b.WriteString("<" + s[m[2]:m[3]] + name + ">")
		case "div", "tr", "table", "blockquote", "pre", "center", "section", "article",
			"header", "footer", "address", "dt", "dd", "hr", "form", "fieldset", "body", "html":
			// A block starts and ends on a line of its own.
			if closing || name == "hr" || !atLineStart(b.String()) {
				b.WriteString("<br>")
			}
		case "td", "th":
			if closing {
				b.WriteString(" ")
			}
		case "script", "style":
			// html2text hides these blocks itself; give it the tag on one
			// line, as it does not look past a line break in a tag.
			b.WriteString("<" + s[m[2]:m[3]] + name + ">")
		default:
			// Other tags carry no text structure.
		}
	}
	b.WriteString(s[last:])
	return b.String()
}

// atLineStart reports whether the output so far ends with a line break
// (or is empty), ignoring white space.
func atLineStart(out string) bool {
	// Look back over a bounded stretch of white space only: scanning all
	// of it on every block tag would be quadratic for "<div> <div> …".
	i := len(out)
	for i > 0 && len(out)-i < 256 && strings.IndexByte(" \t\r\n", out[i-1]) >= 0 {
		i--
	}
	if len(out)-i >= 256 {
		return true
	}
	out = out[:i]
	return out == "" || strings.HasSuffix(out, "<br>") || strings.HasSuffix(out, "<p>") || strings.HasSuffix(out, "</p>")
}

// link is an open <a> element: where its text starts in the output and
// where it points.
type link struct {
	href      string
	textStart int
}

// suffix is what follows a link's text: " <url>" unless the text already
// says it (or the link goes nowhere useful).
func (l link) suffix(text string) string {
	href := strings.TrimSpace(l.href)
	lower := strings.ToLower(href)
	if href == "" || strings.HasPrefix(lower, "#") || strings.HasPrefix(lower, "javascript:") || strings.HasPrefix(lower, "cid:") {
		return ""
	}
	if len(text) > 2048 {
		// Long link texts (or badly nested links) are never just the
		// URL; skip the comparison, which would cost O(n²) for nested
		// unclosed links.
		return " &lt;" + html.EscapeString(href) + "&gt;"
	}
	inner := strings.TrimSpace(html.UnescapeString(htmlTagRE.ReplaceAllString(text, "")))
	bare := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(href, "mailto:"), "http://"), "https://"), "/")
	if inner == href || inner == bare || strings.TrimSuffix(inner, "/") == bare {
		return ""
	}
	// Escaped, or html2text would take "<url>" for a tag and drop it.
	return " &lt;" + html.EscapeString(href) + "&gt;"
}
