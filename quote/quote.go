// Package quote separates what a person wrote in a mail from what their
// client quoted: our "reply above this line" marker, the original-message
// rule or header block of Outlook, Zimbra and webmailers, attribution lines
// ("On … wrote:" in English, German, French, Spanish, Italian, Dutch and
// more) over a "> " quote or over an unmarked one (HTML mail as text), a
// quote above a bottom-posted answer, and signatures ("-- ", "Sent from my
// iPhone" and the like). Quotes interleaved with answers and forwarded
// messages stay. Fold serves the ticket page, which folds the quoted part
// away; Strip gives the new text for the stored comment and notifications.
// The original message always stays stored whole. The golden tests in
// testdata/replies show what each mail client's reply comes out as.
package quote

import (
	"regexp"
	"strings"
)

// attributionEnd matches the end of the line a mail client writes above a
// quote ("… wrote:", "… schrieb:", "… schrieb Carl <c@example.com>:",
// Yahoo's "… hat Carl Folgendes geschrieben:").
var attributionEnd = regexp.MustCompile(`(?i)(^|\s)(wrote|writes|schrieb|geschrieben|geschreven|a écrit|escribió|ha scritto|schreef|escreveu|skrev|kirjoitti|napisał|написал)\S*(\s.*)?:\s*$`)

// attributionStart matches how such a line begins ("On …", "Am …", Eudora's
// "At …"; some old clients put "--" in front).
var attributionStart = regexp.MustCompile(`(?i)^\s*-*\s*(on|am|at|le|el|il|op|em|den|på|w dniu)\s`)

// attributionAt reports how many lines (1 or 2) the attribution starting at
// lines[i] takes, or 0 when none starts there. Clients wrap a long one
// ("On Mon, 2 Mar 2026 at 10:00, Carl Customer\n<carl@example.com> wrote:").
func attributionAt(lines []string, i int) int {
	if i < 0 || i >= len(lines) || !attributionStart.MatchString(lines[i]) {
		return 0
	}
	if attributionEnd.MatchString(lines[i]) {
		return 1
	}
	if i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" && !isQuoted(lines[i+1]) &&
		attributionEnd.MatchString(lines[i]+" "+lines[i+1]) {
		return 2
	}
	return 0
}

// attributionDetail matches what every client puts in an attribution and
// a sentence seldom has: a time of day ("10:14", "10.14"; also matches a
// dotted date) or a mail address.
var attributionDetail = regexp.MustCompile(`\d:\d\d|\d\.\d\d\b|\S@\S`)

func isQuoted(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), ">") }

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
	case attributionAt(lines, j) == 1:
		start = j
	case attributionAt(lines, j-1) == 2:
		start = j - 1
	}
	body = strings.TrimRight(strings.Join(lines[:start], "\n"), " \t\n")
	if strings.TrimSpace(body) == "" {
		return text, ""
	}
	return body, strings.Join(lines[start:], "\n")
}

// originalRule matches the rule some clients put above a quoted original
// ("-----Original Message-----", T-Online's "----- Original Nachricht ----",
// Android's "-------- Original message --------"), in several languages.
var originalRule = regexp.MustCompile(`(?i)^\s*-{3,}\s*(original message|original-nachricht|original nachricht|originalnachricht|ursprüngliche nachricht|message d'origine|mensaje original|messaggio originale|oorspronkelijk bericht|mensagem original)\s*-{3,}\s*$`)

// underscoreRule matches the line Outlook draws above the header block of
// the original. Alone it is only a line: people draw it in signatures and
// text too, so it counts only with a header block below it.
var underscoreRule = regexp.MustCompile(`^\s*_{10,}\s*$`)

// forwardRule matches the line above a forwarded message. What follows it
// is what the sender wants us to read, not history: it stays.
var forwardRule = regexp.MustCompile(`(?i)^\s*(-{3,}\s*(forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht)\s*-{3,}|begin forwarded message:|anfang der weitergeleiteten nachricht:|début du message réexpédié\s*:)\s*$`)

// headerLine matches "From: …" and its translations, as Outlook and
// webmailers write them at the top of a quoted original ("Von:", "De :",
// "Da:", "Van:"), also as bold text ("*From:*") from HTML.
var headerLine = regexp.MustCompile(`(?i)^\s*\*?(from|von|de|da|van|från|fra)\s*:\*?\s*\S`)

// sentLine matches the "Sent:"/"Date:" line that goes with it.
var sentLine = regexp.MustCompile(`(?i)^\s*\*?(sent|gesendet|envoyé|enviado|inviato|verzonden|skickat|sendt|date|datum|data|fecha)\s*:`)

// mobileFooter matches the signatures phones and apps add, as a whole line.
var mobileFooter = regexp.MustCompile(`(?i)^\s*(sent from my [^.\n]{1,40}|sent from (yahoo mail|outlook|mail) for [^.\n]{1,30}|sent from (yahoo mail|outlook) on [^.\n]{1,30}|sent with proton ?mail[^\n]{0,40}|von meinem [^.\n]{1,30} gesendet|gesendet von meinem [^.\n]{1,30}|gesendet mit der [^.\n]{1,40} app|envoyé de mon [^.\n]{1,30}|enviado desde mi [^.\n]{1,30}|inviato da [^.\n]{0,10}(iphone|ipad|android|samsung|galaxy)[^.\n]{0,30}|verzonden (vanaf|met) mijn [^.\n]{1,30}|get outlook for (ios|android)|holen sie sich outlook für (ios|android)|obtener outlook para (ios|android)|télécharger outlook pour (ios|android)|scarica outlook per (ios|android)|outlook voor (ios|android) downloaden|verstuurd vanaf mijn [^.\n]{1,30}|sent from my android device with k-9 mail\. please excuse my brevity|diese nachricht wurde von meinem android(-mobiltelefon| mobiltelefon)? mit k-9 mail gesendet)\.?(\s*<\S+>)?\s*$`)

// headerBlockAt reports whether a quoted original's header block starts at
// lines[i]: a From line with a Sent/Date line among the next four (web.de
// and GMX put "Gesendet:" first and "Von:" second).
func headerBlockAt(lines []string, i int) bool {
	if headerLine.MatchString(lines[i]) {
		for k := i + 1; k < len(lines) && k <= i+4; k++ {
			if strings.TrimSpace(lines[k]) == "" {
				return false
			}
			if sentLine.MatchString(lines[k]) {
				return true
			}
		}
		return false
	}
	return sentFirst.MatchString(lines[i]) && i+1 < len(lines) && headerLine.MatchString(lines[i+1])
}

// sentFirst matches the "Gesendet:" line web.de and GMX put above "Von:".
// A "Date:" line above "From:" is not enough: delivery reports list the
// headers of the bounced mail that way.
var sentFirst = regexp.MustCompile(`(?i)^\s*(sent|gesendet)\s*:`)

// originalAt reports whether the quoted original (not a forward) starts at
// lines[i], announced by a rule or a header block.
func originalAt(lines []string, i int) bool {
	if originalRule.MatchString(lines[i]) || headerBlockAt(lines, i) {
		return true
	}
	if !underscoreRule.MatchString(lines[i]) {
		return false
	}
	for k := i + 1; k < len(lines) && k <= i+2; k++ {
		if headerLine.MatchString(lines[k]) {
			return true
		}
	}
	return false
}

// Strip returns what the author wrote, for the stored comment and the
// notifications:
//
//   - the text above the first of our markers when there is one (that cut
//     always wins; what the client wrote between the reply and the marker,
//     such as an attribution line, goes too);
//   - else the text above the quoted original: Outlook's rule or header
//     block ("From: … Sent: …", "Von: … Gesendet: …"), or an attribution
//     line ("On … wrote:" in many languages) that has no "> " quote below
//     it, as HTML mail turned into text has;
//   - without a trailing "> " quote and the attribution above it (Fold),
//     and without a leading one when the author answered below it;
//   - without a signature ("-- ", "Sent from my iPhone" and the like).
//
// Quotes interleaved with answers stay, they are part of the answer. A
// forwarded message ("---------- Forwarded message ---------", "Begin
// forwarded message:") is what the sender wants read: it stays as it is. A
// text that would come out empty is returned whole: a reply that is nothing
// but a quote still says something.
func Strip(text string, markers []string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if hasMarker(l, markers) {
			// A marker in a quoted copy of our mail leaves the
			// client's attribution line above it: that goes too,
			// whatever it says.
			lines = dropFinalAttribution(lines[:i])
			break
		}
	}
	var tail []string
	for i, l := range lines {
		if forwardRule.MatchString(l) {
			lines, tail = lines[:i], lines[i:]
			break
		}
	}
	head := stripReply(lines)
	if len(tail) == 0 {
		if head == "" {
			return strings.TrimSpace(text)
		}
		return head
	}
	fwd := strings.TrimRight(strings.Join(dropFinalSignature(tail), "\n"), " \t\n")
	if head == "" {
		return fwd
	}
	gap := "\n"
	if n := len(lines); n > 0 && strings.TrimSpace(lines[n-1]) == "" {
		gap = "\n\n"
	}
	return head + gap + fwd
}

func hasMarker(l string, markers []string) bool {
	for _, m := range markers {
		if m != "" && strings.Contains(l, m) {
			return true
		}
	}
	return false
}

// stripReply is Strip without markers and forwards; it returns "" when
// nothing of the author's is left.
func stripReply(lines []string) string {
	cut := len(lines)
	for i := range lines {
		if originalAt(lines, i) {
			cut = i
			break
		}
	}
	lines = lines[:cut]
	// An attribution with no "> " line below it: the quote was not
	// marked (HTML mail as text, Yahoo, Outlook on the web).
	for i := range lines {
		n := attributionAt(lines, i)
		if n == 0 {
			continue
		}
		if a := strings.Join(lines[i:i+n], " "); len(a) > 300 || !attributionDetail.MatchString(a) {
			// Without a time or an address it is more likely a
			// sentence of the author's ("On 12 March the display
			// wrote:"); the cut below is only safe for a real
			// attribution.
			continue
		}
		quoted := false
		for _, l := range lines[i:] {
			if isQuoted(l) {
				quoted = true
				break
			}
		}
		if !quoted {
			lines = lines[:i]
		}
		break
	}
	body, _ := Fold(strings.Join(lines, "\n"))
	lines = dropLeadingQuote(strings.Split(body, "\n"))
	for i, l := range lines {
		if l == "-- " || l == "--" || mobileFooter.MatchString(l) {
			lines = lines[:i]
			break
		}
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// dropLeadingQuote removes an attribution and the quote under it from the
// top of a bottom-posted answer ("Am … schrieb X:\n> old\n\nnew"). Without
// the attribution line, or with more quotes further down, the quote is
// part of the answer and stays.
func dropLeadingQuote(lines []string) []string {
	i := 0
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	n := attributionAt(lines, i)
	if n == 0 {
		return lines
	}
	j := i + n
	sawQuote := false
	for j < len(lines) && (isQuoted(lines[j]) || strings.TrimSpace(lines[j]) == "") {
		sawQuote = sawQuote || isQuoted(lines[j])
		j++
	}
	if !sawQuote || j == len(lines) {
		return lines
	}
	for _, l := range lines[j:] {
		if isQuoted(l) {
			return lines
		}
	}
	return lines[j:]
}

// dropFinalAttribution removes the attribution (one or two lines) that
// ends lines, if there is one.
func dropFinalAttribution(lines []string) []string {
	end := len(lines)
	for end > 0 && strings.TrimSpace(lines[end-1]) == "" {
		end--
	}
	switch {
	case attributionAt(lines[:end], end-1) == 1:
		return lines[:end-1]
	case attributionAt(lines[:end], end-2) == 2:
		return lines[:end-2]
	}
	return lines
}

// dropFinalSignature removes the sender's signature from the end of a
// forward ("-- " and at most six lines below it). A signature further up
// belongs to the forwarded message, which stays as it is.
func dropFinalSignature(lines []string) []string {
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	for i := len(lines) - 1; i >= 0 && i >= len(lines)-10; i-- {
		if lines[i] == "-- " || lines[i] == "--" {
			n := 0
			for _, l := range lines[i+1:] {
				if strings.TrimSpace(l) != "" {
					n++
				}
			}
			if n <= 6 {
				return lines[:i]
			}
			break
		}
	}
	return lines
}
