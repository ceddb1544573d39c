package policy

import (
	"regexp"
	"strings"

	"github.com/ticketgate/ticketgate/message"
)

// bounceSender reports whether m comes from where bounces come from: an
// MTA's MAILER-DAEMON or postmaster, Exchange's per-organisation system
// mailbox (MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@…), or the
// null reverse path as the final delivery agent recorded it.
func bounceSender(m *message.Message) bool {
	lp := strings.ToLower(localPart(fromAddress(m)))
	switch {
	case lp == "mailer-daemon", lp == "postmaster", strings.HasPrefix(lp, "microsoftexchange"):
		return true
	}
	return nullSender(m, Envelope{})
}

// textFormat recognises one family of plain-text bounce by a sentence its
// MTA has written for decades.
type textFormat struct {
	name   string
	marker *regexp.Regexp
}

var textFormats = []textFormat{
	{"qmail", regexp.MustCompile(`(?i)this is the qmail-send program`)},
	{"yahoo", regexp.MustCompile(`(?i)unable to deliver your message to the following address`)},
	{"exim", regexp.MustCompile(`(?i)this message was created automatically by mail delivery software`)},
	{"postfix", regexp.MustCompile(`(?i)this is the mail system at host`)},
	{"gmail", regexp.MustCompile(`(?i)delivery to the following recipients? (?:failed permanently|has been delayed)`)},
	{"exchange", regexp.MustCompile(`(?i)delivery (?:has failed|is delayed) to these recipients or groups|your message did not reach some or all of the intended recipients|your message to \S+ couldn't be delivered|the following recipient\(s\) (?:cannot|could not) be reached`)},
	{"sendmail", regexp.MustCompile(`(?i)-{3,}\s*the following addresses had (?:permanent fatal errors|delivery notifications)|-{3,}\s*transcript of session follows`)},
}

// genericBounceRE matches the subjects and sentences of bounces whose
// layout is not known; with a bounce sender they are enough to call the
// message a bounce, though its recipients may stay unknown.
var genericBounceRE = regexp.MustCompile(`(?i)undeliver(?:ed|able)|could ?n[o']t be delivered|delivery (?:status notification|failure|notification|has failed|failed)|mail delivery failed|returned mail|failure notice|permanent (?:fatal )?error|unable to deliver|mail system error|nondeliverable|non-delivery|unzustellbar|nicht zugestellt|could not send message`)

// delayRE matches the wording of delay notices ("still trying, nothing to
// do yet"), in subjects and texts of all the families above.
var delayRE = regexp.MustCompile(`(?i)this is a warning (?:message )?only|has not yet been delivered|delivery to the following recipients? has been delayed|delivery is delayed to these recipients|could not send message for past|delivery attempts will continue|will (?:continue|keep) (?:trying|to try)|message will be retried|delayed mail|status notification \(delay\)|warning: message .* delayed`)

func looksLikeBounce(m *message.Message) bool {
	if genericBounceRE.MatchString(m.Subject) {
		return true
	}
	text := m.Text
	for _, f := range textFormats {
		if f.marker.MatchString(text) {
			return true
		}
	}
	return genericBounceRE.MatchString(explanation(text))
}

// originalStartRE finds where a plain-text bounce starts quoting the
// original message; addresses below it belong to the original, not to the
// failure report.
var originalStartRE = regexp.MustCompile(`(?im)^[ \t]*(?:-{2,}[ \t]*(?:below this line is a copy of the message|this is a copy of the message|original message|the header of the original message|message header follows|returned message|original message follows)|original message headers:|(?:received|return-path|dkim-signature):[ \t])`)

// explanation is the part of a bounce text above the quoted original.
func explanation(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if loc := originalStartRE.FindStringIndex(text); loc != nil {
		return text[:loc[0]]
	}
	return text
}

const addrPattern = `[A-Za-z0-9!#$%&'*+/=?^_{|}~.-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*`

// rcptLineRE matches a line that names a recipient the way bounce texts
// do: the address (maybe in <>) alone, or followed by ":" and the reason
// (qmail, Yahoo, Postfix), "..." and the reason (sendmail), a
// parenthesised note (sendmail, Exchange's "a@b (a@b)") or " on <date>"
// (old Exchange).
var rcptLineRE = regexp.MustCompile(`^[ \t]*<?(` + addrPattern + `)>?[ \t]*(?::[ \t]*(.*)|\.\.\.[ \t]*(.*)|\((.*)\)[ \t]*|[ \t]on[ \t].*)?$`)

// inlineRcptRE matches recipients named inside a sentence.
var inlineRcptRE = regexp.MustCompile(`(?i)(?:your message to|recipient address:)[ \t]*<?(` + addrPattern + `)>?`)

// smtpReplyRE finds the first line quoting a remote server's reply, used as
// the diagnostic for recipients listed without one (Gmail puts the reply
// paragraphs below the address list).
var smtpReplyRE = regexp.MustCompile(`(?m)^.*\b[45][0-9]{2}[ #-]*[245]\.[0-9]{1,3}\.[0-9]{1,3}.*$|^[ \t#]*[45][0-9]{2}[ -].*$`)

// parseTextBounce reads a bounce written for humans. It never returns nil.
func parseTextBounce(m *message.Message) *Bounce {
	text := strings.ReplaceAll(m.Text, "\r\n", "\n")
	b := &Bounce{Format: "unknown"}
	for _, f := range textFormats {
		if f.marker.MatchString(text) {
			b.Format = f.name
			break
		}
	}
	expl := explanation(text)
	delayed := delayRE.MatchString(m.Subject) || delayRE.MatchString(expl)
	action := "failed"
	if delayed {
		action = "delayed"
	}

	// The bounce is addressed to the original sender (us) and comes from
	// the MTA: neither is a failed recipient, even when the text names them.
	skip := map[string]bool{strings.ToLower(fromAddress(m)): true}
	for _, a := range m.To {
		skip[strings.ToLower(a.Address)] = true
	}
	index := map[string]int{}
	add := func(addr, diag string) {
		addr = strings.TrimSuffix(addr, ".")
		key := strings.ToLower(addr)
		lp := strings.ToLower(localPart(addr))
		if skip[key] || lp == "mailer-daemon" || lp == "postmaster" {
			return
		}
		diag = strings.Join(strings.Fields(diag), " ")
		if i, ok := index[key]; ok {
			// Exchange lists each recipient twice: once with a sentence
			// for users, once with the server's reply for administrators.
			// The reply, which carries the status code, wins.
			prev := &b.Recipients[i]
			if prev.Diagnostic == "" || (statusFromDiagnostic(prev.Diagnostic) == "" && statusFromDiagnostic(diag) != "") {
				prev.Diagnostic = diag
			}
			return
		}
		index[key] = len(b.Recipients)
		b.Recipients = append(b.Recipients, BounceRecipient{Address: addr, Action: action, Diagnostic: diag})
	}

	lines := strings.Split(expl, "\n")
	for i := 0; i < len(lines); i++ {
		sm := rcptLineRE.FindStringSubmatch(lines[i])
		if sm == nil {
			continue
		}
		diag := strings.TrimSpace(sm[2] + sm[3] + sm[4])
		if strings.EqualFold(diag, sm[1]) {
			diag = ""
		}
		// The reason continues on the following lines up to a blank line
		// or the next recipient. A line indented deeper than the
		// recipient is always reason, even when it starts with an address
		// (Postfix wraps "<a@b>: Recipient address rejected" that way).
		base := indentOf(lines[i])
		for i+1 < len(lines) {
			next := lines[i+1]
			if strings.TrimSpace(next) == "" || (indentOf(next) <= base && rcptLineRE.MatchString(next)) {
				break
			}
			i++
			diag += " " + strings.TrimSpace(next)
		}
		add(sm[1], diag)
	}
	for _, sm := range inlineRcptRE.FindAllStringSubmatch(expl, -1) {
		add(sm[1], "")
	}

	fallback := ""
	if loc := smtpReplyRE.FindString(expl); loc != "" {
		fallback = strings.Join(strings.Fields(loc), " ")
	}
	for i := range b.Recipients {
		r := &b.Recipients[i]
		if r.Diagnostic == "" {
			r.Diagnostic = fallback
		}
		r.Status = statusFromDiagnostic(r.Diagnostic)
		r.Permanent = isPermanent(r.Action, r.Status)
	}
	b.Delayed = delayed
	return b
}

func indentOf(line string) int {
	return len(line) - len(strings.TrimLeft(line, " \t"))
}
