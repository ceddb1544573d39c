// Package quote separates what a person wrote in a mail from what their
// client quoted below it: our "reply above this line" marker, Outlook's
// original-message header block, attribution lines ("On … wrote:" in many
// languages) over a trailing run of "> " lines, and signatures. The ticket
// page folds the quoted part away; notifications and agent replies carry
// only the new text. The original message always stays stored whole.
package quote

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

// Fold splits a plain-text body into what the author wrote and the
// history they quoted below it: the trailing run of "> " lines, with the
// attribution line(s) just above it. Quotes interleaved with answers stay
// in place, because there the quote is part of what the author says. A
// body that is nothing but a quote is returned whole, so a forwarded
// message never shows up empty.
func Fold(text string) (body, quoted string) {
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

// outlookHeader matches the first line of the header block Outlook and
// others put above the quoted original, in several languages.
var outlookHeader = regexp.MustCompile(`(?i)^\s*(-{3,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original|messaggio originale|oorspronkelijk bericht)\s*-{3,}|_{10,})\s*$`)

// headerLine matches "From: …" and its translations, as Outlook writes
// them at the top of a quoted original ("Von:", "De :", "Da:", "Van:").
var headerLine = regexp.MustCompile(`(?i)^\s*\*?(from|von|de|da|van|från|fra)\s*:\*?\s*\S`)

// sentLine matches the "Sent:" line that follows it.
var sentLine = regexp.MustCompile(`(?i)^\s*\*?(sent|gesendet|envoyé|enviado|inviato|verzonden|skickat|sendt|date|datum)\s*:`)

// mobileFooter matches the signatures phones add.
var mobileFooter = regexp.MustCompile(`(?i)^\s*(sent from my \w+|von meinem \w+ gesendet|envoyé de mon \w+|enviado desde mi \w+|inviato da \w+|get outlook for (ios|android))`)

// Strip returns what the author wrote: the text above the first of our
// markers when there is one (that cut is exact and always wins), else the
// text above a quoted original or a trailing quote, without a trailing
// signature. A text that would come out empty is returned whole: a reply
// that is nothing but a quote still says something.
func Strip(text string, markers []string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	cut := len(lines)
	for i, l := range lines {
		for _, m := range markers {
			if m != "" && strings.Contains(l, m) {
				cut = i
				break
			}
		}
		if cut != len(lines) {
			break
		}
	}
	if cut == len(lines) {
		for i, l := range lines {
			if outlookHeader.MatchString(l) || (headerLine.MatchString(l) && i+1 < len(lines) && sentLine.MatchString(lines[i+1])) {
				cut = i
				break
			}
		}
	}
	upto := lines[:cut]
	if cut < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[cut]), ">") {
		// The marker sits in a quoted copy of our mail: fold that quote
		// away together with the attribution line above it.
		upto = lines[:cut+1]
	}
	body, _ := Fold(strings.Join(upto, "\n"))
	lines = strings.Split(body, "\n")
	for i, l := range lines {
		if l == "-- " || l == "--" || mobileFooter.MatchString(l) {
			lines = lines[:i]
			break
		}
	}
	out := strings.TrimSpace(strings.Join(lines, "\n"))
	if out == "" {
		return strings.TrimSpace(text)
	}
	return out
}
