// Package quote separates what a person wrote in a mail from what their
// client quoted: our "reply above this line" marker, the original-message
// rule or header block of Outlook, Exchange, Lotus Notes, QQ/NetEase and
// webmailers, attribution lines ("On … wrote:", "Am … schrieb:", "在 …
// 写道：", "2014-03-20 8:48 GMT+01:00 Name <addr>:", Zoho's "---- On …
// wrote ----") over a "> " quote or over an unmarked one (HTML mail as
// text), a quote above a bottom-posted answer, signatures ("-- ", "Sent from
// my iPhone" and its translations) and confidentiality notices at the end.
// The localised phrases come from phrases.tsv, a table reviewers can read;
// rules.go turns it into the few rules Strip applies. Quotes interleaved
// with answers and forwarded messages stay: whatever cannot be decided
// safely stays. Fold serves the ticket page, which folds the quoted part
// away; Strip gives the new text for the stored comment and notifications.
// The original message always stays stored whole. The golden tests in
// testdata/replies show what each mail client's reply comes out as;
// TestStripReplies measures Strip on other projects' cases.
package quote

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
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
	if i < 0 || i >= len(lines) || !mayBeAttributionStart(lines[i]) || !attributionStart.MatchString(lines[i]) {
		return 0
	}
	if mayEndAttribution(lines[i]) && attributionEnd.MatchString(lines[i]) {
		return 1
	}
	if i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" && !isQuoted(lines[i+1]) &&
		mayEndAttribution(lines[i+1]) && attributionEnd.MatchString(lines[i]+" "+lines[i+1]) {
		return 2
	}
	return 0
}

// isQuoted reports whether l begins with '>' after white space
// (strings.HasPrefix(strings.TrimSpace(l), ">")). It runs several times
// on every line, so it looks at the ASCII white space in front itself and
// leaves the rest of the line alone.
func isQuoted(l string) bool {
	for i := 0; i < len(l); i++ {
		switch c := l[i]; {
		case c == '>':
			return true
		case c >= utf8.RuneSelf:
			// unicode.IsSpace, as TrimSpace, from here on.
			return strings.HasPrefix(strings.TrimSpace(l[i:]), ">")
		case c != ' ' && c != '\t' && c != '\n' && c != '\v' && c != '\f' && c != '\r':
			return false
		}
	}
	return false
}

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

// headerBlockAt reports whether a quoted original's header block starts at
// lines[i]: a From line with a Sent/Date line among the next four (web.de
// and GMX put "Gesendet:" first and "Von:" second).
func headerBlockAt(lines []string, i int) bool {
	if strings.IndexByte(lines[i], ':') < 0 {
		return false // headerLine and sentFirst need one
	}
	if headerLine.MatchString(lines[i]) {
		for k := i + 1; k < len(lines) && k <= i+4; k++ {
			if strings.TrimSpace(lines[k]) == "" {
				return false
			}
			if strings.IndexByte(lines[k], ':') >= 0 && sentLine.MatchString(lines[k]) {
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
	if mayBeRule(lines[i]) && rules.original.MatchString(lines[i]) || headerBlockAt(lines, i) {
		return true
	}
	if rules.originalBare.MatchString(lines[i]) {
		for k := i + 1; k < len(lines) && k <= i+2; k++ {
			if rules.fieldKind(lines[k]) == "from" {
				return true
			}
		}
	}
	if !mayBeUnderscoreRule(lines[i]) || !underscoreRule.MatchString(lines[i]) {
		return false
	}
	for k := i + 1; k < len(lines) && k <= i+2; k++ {
		if strings.IndexByte(lines[k], ':') >= 0 && headerLine.MatchString(lines[k]) {
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
//   - else the text above the quoted original: a rule ("-----Original
//     Message-----", "------------------ 原始邮件 ------------------"), a
//     header block ("From: … Sent: …", "发件人: … 发送时间: …"), or an
//     attribution (one line or wrapped, with or without a verb) with no
//     "> " quote below it, as HTML mail turned into text has, or with a
//     "> " quote followed by nothing but a short closing;
//   - without a trailing "> " quote and the attribution above it (Fold),
//     and without a leading one when the author answered below it;
//   - without a signature ("-- ", a phone's or webmailer's footer in many
//     languages followed only by short lines) and a confidentiality
//     notice at the end.
//
// Quotes interleaved with answers stay, they are part of the answer. A
// forwarded message ("---------- Forwarded message ---------", "Begin
// forwarded message:") is what the sender wants read: it stays as it is. A
// text that would come out empty is returned whole: a reply that is nothing
// but a quote still says something.
func Strip(text string, markers []string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	if anyMarker(text, markers) {
		for i, l := range lines {
			if hasMarker(l, markers) {
				// A marker in a quoted copy of our mail leaves
				// the client's attribution line above it: that
				// goes too, whatever it says.
				lines = dropFinalAttribution(lines[:i])
				break
			}
		}
	}
	var tail []string
	for i, l := range lines {
		if mayBeForward(l) && forwardRule.MatchString(l) {
			lines, tail = lines[:i], lines[i:]
			break
		}
	}
	head, cut := stripReply(lines)
	if cut && head != "" {
		// The forward is inside the quoted original.
		tail = nil
	}
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

// anyMarker reports whether text holds one of the markers anywhere: a
// line of text can hold one only then. Most mails hold none, and one
// search of the whole text per marker is cheaper than one per line.
func anyMarker(text string, markers []string) bool {
	for _, m := range markers {
		if m != "" && strings.Contains(text, m) {
			return true
		}
	}
	return false
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
// nothing of the author's is left, and whether it cut at a quoted
// original (then a forward below it is part of that original).
func stripReply(lines []string) (string, bool) {
	lines = splitInlineAttribution(lines)
	lines, cut := cutAtOriginal(lines)
	// The signature goes first: below it a trailing quote is no
	// longer trailing ("answer\n> quote\n-- \nCarl").
	n := len(lines)
	lines, footed := signatureCut(lines)
	unsigned := len(lines) == n
	lines, prefix := foldLines(lines)
	n = len(lines)
	lines = dropLeadingQuote(lines)
	// dropSignature decides at a line by the line, the lines above it
	// and the non-blank lines below it. When Fold and dropLeadingQuote
	// only dropped blank lines at the end, a second look finds nothing
	// new when the first cut nothing, or when no line above its cut is
	// a footer or "---" line (only for those do the lines below count),
	// and most mails are one or the other.
	if !prefix || len(lines) != n || !unsigned && footed {
		lines = dropSignature(lines)
	}
	lines = dropDisclaimer(lines)
	lines = dropContactBlock(lines)
	return strings.TrimSpace(strings.Join(lines, "\n")), cut
}

// foldLines is strings.Split of the body Fold returns for
// strings.Join(lines, "\n"), for lines that hold no '\n'. When nothing
// is quoted at the end, the body is lines without the trailing blanks
// (what Fold trims), which it returns without joining and splitting the
// whole text again; prefix then reports that it is lines[:k] for some k
// and every line of lines[k:] is blank.
func foldLines(lines []string) (folded []string, prefix bool) {
	k := len(lines) - 1
	for k >= 0 && strings.Trim(lines[k], " \t\r") == "" {
		k--
	}
	simple := k >= 0 && !isQuoted(lines[k])
	for _, l := range lines {
		// A line ending in '\r' makes a "\r\n" that Fold turns into
		// "\n" when the lines are joined.
		simple = simple && !strings.HasSuffix(l, "\r")
	}
	if !simple {
		body, _ := Fold(strings.Join(lines, "\n"))
		return strings.Split(body, "\n"), false
	}
	// Fold trims " \t\n\r" at the end of the text: the blank lines,
	// then the end of the last line that is not blank. Its last line
	// is not quoted, so it ends no quote.
	last := strings.TrimRight(lines[k], " \t\n\r")
	if last == lines[k] {
		return lines[:k+1], true
	}
	return append(lines[:k:k], last), false
}

// splitInlineAttribution puts an attribution that a client ran onto the
// end of a line of the reply on a line of its own.
func splitInlineAttribution(lines []string) []string {
	for i, l := range lines {
		if isQuoted(l) {
			continue
		}
		if at := rules.inlineAttribution(l); at > 0 {
			out := make([]string, 0, len(lines)+1)
			out = append(out, lines[:i]...)
			out = append(out, trimEnd(l[:at]), l[at:])
			return append(out, lines[i+1:]...)
		}
	}
	return lines
}

func hasText(lines []string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			return true
		}
	}
	return false
}

// cutAtOriginal cuts lines at the first quoted original below the
// author's text: a rule ("-----Original Message-----" and its
// translations), a header block ("From:/Sent:" and its translations), or
// an attribution line. Below an attribution the original is either not
// marked at all (HTML mail as text: everything below goes) or a block of
// "> " lines; that block goes when nothing but a short closing follows
// it. Answers between quotes, or a longer text below the quote, mean the
// quote is part of what the author says: then nothing is cut here.
func cutAtOriginal(lines []string) ([]string, bool) {
	for i := range lines {
		if isQuoted(lines[i]) {
			continue
		}
		if hb := rules.headerBlockLen(lines, i); originalAt(lines, i) || hb > 0 {
			if hb > 0 && presented(lines, i) {
				continue
			}
			return lines[:ruleAbove(lines, i)], true
		}
		n := rules.attributionBlock(lines, i)
		if n > 0 && i > 0 && strings.HasPrefix(strings.TrimSpace(lines[i]), "<") && strings.TrimSpace(lines[i-1]) != "" &&
			!isQuoted(lines[i-1]) && rules.isAttribution(strings.TrimSpace(lines[i-1])+" "+strings.Join(lines[i:i+n], " ")) {
			// Wrapped before the address: "Carl Customer\n<c@example.com> wrote:".
			i, n = i-1, n+1
		}
		if n == 0 || !hasText(lines[:i]) {
			continue
		}
		below := lines[i+n:]
		first, last := -1, -1
		for k, l := range below {
			if isQuoted(l) {
				if first < 0 {
					first = k
				}
				last = k
			}
		}
		if first < 0 {
			return lines[:ruleAbove(lines, i)], true
		}
		if hasText(below[:first]) {
			// Text between the attribution and the "> " quote:
			// the attribution's original is that text, unmarked.
			return lines[:ruleAbove(lines, i)], true
		}
		interleaved, wrapped := false, false
		for k := first; k < last && !interleaved; k++ {
			l := below[k]
			switch t := strings.TrimSpace(l); {
			case isQuoted(l), t == "":
				wrapped = false
			case wrapped && !endsSentence(strings.TrimSpace(below[k-1])),
				isQuoted(below[k-1]) && quoteContinues(below[k-1], l):
				wrapped = true
			default:
				interleaved = true
			}
		}
		if interleaved {
			return lines, false
		}
		after := below[last+1:]
		for len(after) > 0 && strings.TrimSpace(after[0]) == "" {
			after = after[1:] // the blank lines that went with the quote
		}
		if closingOnly(after) {
			out := append([]string(nil), lines[:ruleAbove(lines, i)]...)
			return append(out, after...), true
		}
		return lines, false
	}
	return lines, false
}

// quoteContinues reports whether line, unquoted, is the rest of the long
// quoted line above it that a client wrapped without adding "> ": the
// quoted line stops mid-sentence at about the wrap width and this one goes
// on in lower case. An answer starts a sentence of its own.
func quoteContinues(quoted, line string) bool {
	prev := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(quoted), ">"))
	if utf8.RuneCountInString(prev) < 60 || endsSentence(prev) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(strings.TrimSpace(line))
	return unicode.IsLower(r)
}

// closingOnly reports whether what follows a quote is at most a short
// closing ("Regards, Carl") and a signature, nothing the quote is needed
// to understand.
func closingOnly(after []string) bool {
	n := 0
	for _, l := range after {
		t := strings.TrimSpace(l)
		if t == "--" || t == "-- " || rules.footer.MatchString(l) {
			return true
		}
		if t == "" {
			continue
		}
		if n++; n > 3 || utf8.RuneCountInString(t) > 60 {
			return false
		}
	}
	return true
}

// presented reports whether the header block at lines[i] is shown by the
// author rather than quoted by the client: the text above it ends with a
// colon ("…with the following header fields:"), as delivery reports and
// people who paste headers write.
func presented(lines []string, i int) bool {
	for k := i - 1; k >= 0; k-- {
		t := strings.TrimSpace(lines[k])
		if t == "" {
			continue
		}
		if rules.fieldKind(lines[k]) != "" || strings.IndexByte(lines[k], ':') >= 0 && anyField.MatchString(lines[k]) {
			continue
		}
		return strings.HasSuffix(t, ":")
	}
	return false
}

// anyField is a line that looks like a mail header field ("Message-id: …").
var anyField = regexp.MustCompile(`^\s*[A-Za-z][A-Za-z\-]*:\s`)

// ruleAbove returns where the quoted original starting at lines[i]
// begins when a client drew a rule above it ("-----", "_____", "=====")
// or put further header fields there ("Message du : …" above "De : …").
func ruleAbove(lines []string, i int) int {
	start := i
	for k := i - 1; k >= 0 && k >= i-8; k-- {
		t := strings.TrimSpace(lines[k])
		switch {
		case t == "":
			continue
		case isRuleLine(lines[k]) || rules.fieldKind(lines[k]) != "" && k == start-1:
			start = k
			continue
		}
		break
	}
	return start
}

// dropSignature removes the signature: from a "-- " line, or from a
// phone's or webmailer's footer ("Sent from my iPhone", "Envoyé de mon
// iPhone", "iPhoneから送信") when only short lines follow it, or a "---"
// line with a name or two under it at the very end.
func dropSignature(lines []string) []string {
	lines, _ = signatureCut(lines)
	return lines
}

// signatureCut is dropSignature; footed reports whether a line above
// where it cut is a footer or a "---" line, which it kept because of the
// lines below it.
func signatureCut(lines []string) (kept []string, footed bool) {
	for i, l := range lines {
		if l == "-- " || l == "--" {
			return lines[:i], footed
		}
		if i > 0 && rules.footer.MatchString(l) {
			footed = true
			if hasText(lines[:i]) && (shortTail(lines[i+1:], 5, 60) || deviceFooter.MatchString(l)) {
				// Below a phone's own footer ("Sent from my
				// Wiko") is only the quoted original; below a
				// looser one ("Sent via …") only short lines
				// may follow.
				return lines[:i], footed
			}
		}
		if t := strings.TrimSpace(l); t == "---" {
			footed = true
			if hasText(lines[:i]) && shortTail(lines[i+1:], 3, 40) {
				return lines[:i], footed
			}
		}
	}
	return lines, footed
}

// deviceFooter is a footer that names the sender's own device or app:
// a possessive ("my", "mon", "meinem", "mijn", "моего", "我的") or a device.
var deviceFooter = regexp.MustCompile(`(?i)(^|[^\p{L}])(my|mon|mi|meu|mio|mijn|min|mitt|meinem|mého|mojego|môjho|моего|мого|μου|meu|iphone|ipad|android|galaxy|blackberry|samsung|huawei|xiaomi|pixel|nokia|mobile|smartphone|tablet)([^\p{L}]|$)|我的|から送信|에서 보냄|của tôi`)

// shortTail reports whether lines has at most n non-blank lines, none
// longer than width characters.
func shortTail(lines []string, n, width int) bool {
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		if n--; n < 0 || utf8.RuneCountInString(t) > width {
			return false
		}
	}
	return true
}

// dropContactBlock removes a signature written without "-- ": below a
// closing phrase ("Best regards,", "Mit freundlichen Grüßen", "С
// уважением") and the name under it, a short block of title, company,
// phone, address or web lines that ends the mail. The closing and the
// name stay (they are what the person wrote); the block goes only when it
// names a phone number, an address or a web site and holds no sentence.
func dropContactBlock(lines []string) []string {
	end := len(lines)
	for end > 0 && strings.TrimSpace(lines[end-1]) == "" {
		end--
	}
	for c := end - 2; c >= 0 && c >= end-10; c-- {
		if !rules.closing.MatchString(lines[c]) {
			continue
		}
		n := c + 1
		for n < end && strings.TrimSpace(lines[n]) == "" {
			n++
		}
		if n >= end-1 || !nameLine(lines[n]) {
			return lines
		}
		contact := false
		for _, l := range lines[n+1 : end] {
			t := strings.TrimSpace(l)
			if t == "" {
				continue
			}
			if utf8.RuneCountInString(t) > 80 || len(strings.Fields(t)) > 8 || strings.ContainsAny(t, "?!") ||
				strings.HasPrefix(strings.ToUpper(t), "P.S") || strings.HasPrefix(strings.ToUpper(t), "PS") ||
				strings.HasSuffix(t, ".") && len(strings.Fields(t)) > 3 {
				return lines
			}
			contact = contact || hasDigit(t) && phoneNumber.MatchString(t) || hasMailAddress(t) || strings.ContainsAny(t, ".:") && webAddress.MatchString(t)
		}
		if contact {
			return lines[:n+1]
		}
		return lines
	}
	return lines
}

// nameLine reports whether l can be a name under a closing: a few words,
// no sentence.
func nameLine(l string) bool {
	t := strings.TrimSpace(l)
	return t != "" && utf8.RuneCountInString(t) <= 40 && len(strings.Fields(t)) <= 5 && !endsSentence(t) && !strings.Contains(t, ":")
}

var (
	phoneNumber = regexp.MustCompile(`(^|[^\d])\+?\(?\d[\d\s().\-/]{6,}\d`)
	webAddress  = regexp.MustCompile(`(?i)\b(https?://|www\.)\S+|\b[\w\-]+\.(com|org|net|de|fr|io|eu|co\.uk)\b`)
)

// dropDisclaimer removes a confidentiality notice at the end: a paragraph
// that begins as such notices begin ("This e-mail and any attachments …",
// "Le informazioni contenute in questo messaggio …") and everything below
// it, when it comes after the author's text.
func dropDisclaimer(lines []string) []string {
	for i, l := range lines {
		if i == 0 || strings.TrimSpace(lines[i-1]) != "" && !isRuleLine(lines[i-1]) {
			continue
		}
		if rules.disclaimer.MatchString(l) && hasText(lines[:i]) && len(lines)-i <= 40 {
			return lines[:ruleAbove(lines, i)]
		}
	}
	return lines
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
