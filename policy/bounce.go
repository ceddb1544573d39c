package policy

import (
	"regexp"
	"strings"

	"github.com/ticketgate/ticketgate/message"
	"github.com/ticketgate/ticketgate/msgid"
)

// Bounce is a delivery report about mail we sent.
type Bounce struct {
	// Recipients lists every recipient the report names. It may be empty
	// when the report names none that could be read (a truncated DSN, a
	// bounce text in an unknown layout).
	Recipients []BounceRecipient
	// OriginalMessageID is the canonical Message-ID of the bounced
	// message, used to find the ticket (and notification) it belongs to:
	// from the attached original's header, else the report's
	// X-Original-Message-ID, else a "Message-ID:" line quoted in the body,
	// else the report's In-Reply-To. "" when none was found.
	OriginalMessageID string
	// Delayed is true for a delay notice: some recipient is still being
	// retried and none has failed. Nothing is wrong with the address yet.
	Delayed bool
	// Format says how the report was read: "dsn" for RFC 3464, otherwise
	// the family of the plain-text bounce ("qmail", "exim", "postfix",
	// "sendmail", "exchange", "gmail", "yahoo", "unknown"). For the audit
	// log.
	Format string
}

// BounceRecipient is one recipient's fate in a Bounce.
type BounceRecipient struct {
	// Address is the recipient as we addressed it: the DSN's
	// Original-Recipient when present, else its Final-Recipient.
	Address string
	// Action is the lower-case RFC 3464 action: failed, delayed,
	// delivered, relayed or expanded. Plain-text bounces give failed or
	// delayed.
	Action string
	// Status is the enhanced status code "x.y.z" (RFC 3463). When the
	// report has no Status field, it is taken from the diagnostic
	// ("550 5.1.1 …"), and a bare SMTP reply code becomes "5.0.0" or
	// "4.0.0". "" when nothing gave one.
	Status string
	// Permanent: this address should not be mailed again for a while.
	// True when the action is failed (or missing) and the status class is
	// 5, or the action is failed with no status at all. Delay notices and
	// failures with a 4.x.x status (the sender's MTA gave up on a
	// temporary problem) are not permanent.
	Permanent bool
	// Diagnostic is the remote server's explanation, whitespace folded,
	// without the diagnostic type ("smtp;").
	Diagnostic string
}

// PermanentFailures returns the recipients that should be put on the
// suppression list.
func (b *Bounce) PermanentFailures() []BounceRecipient {
	if b == nil {
		return nil
	}
	var out []BounceRecipient
	for _, r := range b.Recipients {
		if r.Permanent {
			out = append(out, r)
		}
	}
	return out
}

// ParseBounce returns the delivery report m carries, or nil when m is not
// one.
//
// m is a report when it is, or carries, an RFC 3464 delivery-status
// (m.DeliveryStatus, or multipart/report with report-type=delivery-status),
// or when it comes from a bounce sender (From MAILER-DAEMON, postmaster or
// Exchange's MicrosoftExchange… system mailbox, or a null Return-Path) and
// its subject or text reads like one of the common non-standard bounces:
// qmail ("Hi. This is the qmail-send program…"), Yahoo, Exim ("This message
// was created automatically by mail delivery software…"), Postfix without a
// report part, sendmail, Microsoft Exchange/Office 365 NDRs and Gmail
// ("Delivery to the following recipient failed permanently"). The bounce
// sender is required for those because customers forward bounces to the
// helpdesk ("I got this, help?"), and their text must not put anyone on a
// suppression list.
//
// A DSN whose status part cannot be read (or is prose, as some MTAs write)
// falls back to the status fields quoted in the text, then to the
// plain-text rules.
func ParseBounce(m *message.Message) *Bounce {
	if m == nil {
		return nil
	}
	isDSN := strings.TrimSpace(m.DeliveryStatus) != "" ||
		(strings.EqualFold(strings.TrimSpace(m.ContentType), "multipart/report") &&
			strings.EqualFold(strings.TrimSpace(m.ReportType), "delivery-status"))

	var b *Bounce
	var perMessage map[string]string
	switch {
	case isDSN:
		b = &Bounce{Format: "dsn"}
		perMessage, b.Recipients = parseDSN(m.DeliveryStatus)
		if len(b.Recipients) == 0 {
			var inline map[string]string
			inline, b.Recipients = parseDSN(m.Text)
			if perMessage == nil {
				perMessage = inline
			}
		}
		if len(b.Recipients) == 0 {
			tb := parseTextBounce(m)
			b.Recipients = tb.Recipients
			b.Delayed = tb.Delayed
		}
	case bounceSender(m) && looksLikeBounce(m):
		pm, rcpts := parseDSN(m.Text)
		if len(rcpts) > 0 {
			b = &Bounce{Format: "dsn", Recipients: rcpts}
			perMessage = pm
		} else {
			b = parseTextBounce(m)
		}
	default:
		return nil
	}
	if len(b.Recipients) > 0 {
		b.Delayed = onlyDelayed(b.Recipients)
	}
	b.OriginalMessageID = originalMessageID(m, perMessage)
	return b
}

// onlyDelayed: at least one recipient is delayed and none failed.
func onlyDelayed(rs []BounceRecipient) bool {
	delayed := false
	for _, r := range rs {
		switch r.Action {
		case "failed", "":
			return false
		case "delayed":
			delayed = true
		}
	}
	return delayed
}

var bodyMessageID = regexp.MustCompile(`(?im)^[ \t>]*message-id:[ \t]*(<[^<>\s]+>)`)

func originalMessageID(m *message.Message, perMessage map[string]string) string {
	for _, f := range m.OriginalHeaders {
		if strings.EqualFold(f.Name, "Message-ID") {
			if id := msgid.Canonical(f.Value); id != "" {
				return id
			}
		}
	}
	for _, k := range []string{"x-original-message-id", "original-message-id"} {
		if id := msgid.Canonical(perMessage[k]); id != "" {
			return id
		}
	}
	if sm := bodyMessageID.FindStringSubmatch(m.Text); sm != nil {
		return msgid.Canonical(sm[1])
	}
	if len(m.InReplyTo) > 0 {
		return msgid.Canonical(m.InReplyTo[0])
	}
	return ""
}

// dsnField is one "Name: value" line of a delivery-status body, folded
// continuation lines joined.
type dsnField struct{ name, value string }

// parseDSN reads the field groups of an RFC 3464 message/delivery-status
// body: a per-message group, then one group per recipient, separated by
// blank lines. It is lenient the way real MTAs require: prose lines are
// skipped, so it can also be run over a text body quoting a DSN; a group
// that repeats Final-Recipient (a missing blank line) is split; a group
// without recipient fields is per-message. perMessage maps lower-case
// field names to the first value seen.
func parseDSN(raw string) (perMessage map[string]string, rcpts []BounceRecipient) {
	if raw == "" {
		return nil, nil
	}
	var groups [][]dsnField
	var cur []dsnField
	lastWasField := false
	flush := func() {
		if len(cur) > 0 {
			groups = append(groups, cur)
			cur = nil
		}
		lastWasField = false
	}
	for _, line := range strings.Split(strings.ReplaceAll(raw, "\r\n", "\n"), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if lastWasField {
				cur[len(cur)-1].value += " " + strings.TrimSpace(line)
			}
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !isFieldName(name) {
			lastWasField = false
			continue
		}
		cur = append(cur, dsnField{strings.ToLower(name), strings.TrimSpace(value)})
		lastWasField = true
	}
	flush()

	for _, g := range groups {
		fields := map[string]string{}
		isRecipient := false
		emit := func() {
			if r, ok := dsnRecipient(fields); ok {
				rcpts = append(rcpts, r)
			}
			fields = map[string]string{}
		}
		for _, f := range g {
			switch f.name {
			case "final-recipient", "original-recipient", "action", "status", "diagnostic-code":
				if _, seen := fields[f.name]; seen && isRecipient {
					emit()
				}
				isRecipient = true
			}
			if _, seen := fields[f.name]; !seen {
				fields[f.name] = f.value
			}
		}
		if isRecipient {
			emit()
			continue
		}
		if perMessage == nil {
			perMessage = map[string]string{}
		}
		for k, v := range fields {
			if _, seen := perMessage[k]; !seen {
				perMessage[k] = v
			}
		}
	}
	return perMessage, rcpts
}

// isFieldName accepts RFC 5322 field names (printable ASCII without space
// or colon), which is what tells "Action: failed" from a prose line.
func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func dsnRecipient(f map[string]string) (BounceRecipient, bool) {
	addr := dsnAddress(f["original-recipient"])
	if addr == "" {
		addr = dsnAddress(f["final-recipient"])
	}
	if addr == "" {
		return BounceRecipient{}, false
	}
	r := BounceRecipient{
		Address:    addr,
		Action:     message.LeadingToken(f["action"]),
		Diagnostic: diagnosticText(f["diagnostic-code"]),
	}
	r.Status = enhancedStatus(f["status"])
	if r.Status == "" {
		r.Status = statusFromDiagnostic(r.Diagnostic)
	}
	r.Permanent = isPermanent(r.Action, r.Status)
	return r, true
}

// isPermanent implements BounceRecipient.Permanent's rule.
func isPermanent(action, status string) bool {
	switch action {
	case "failed":
		return status == "" || status[0] == '5'
	case "":
		return status != "" && status[0] == '5'
	}
	return false
}

// dsnAddress turns an address-type field ("rfc822; a@b", "RFC822;<a@b>",
// or a bare "<a@b>") into the bare address.
func dsnAddress(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[i+1:]
	}
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(v, "<")
	if i := strings.IndexByte(v, '>'); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSuffix(strings.TrimSpace(v), ".")
}

// diagnosticText drops the diagnostic type ("smtp;", "X-Postfix;") and
// folds whitespace.
func diagnosticText(v string) string {
	if t, rest, ok := strings.Cut(v, ";"); ok && !strings.ContainsAny(strings.TrimSpace(t), " \t") {
		v = rest
	}
	return strings.Join(strings.Fields(v), " ")
}

// enhancedRE finds an RFC 3463 status code not embedded in a longer
// dotted number (so the "2.3.4" in an IP address 1.2.3.4 does not count).
var enhancedRE = regexp.MustCompile(`(?:^|[^0-9.])([245]\.[0-9]{1,3}\.[0-9]{1,3})(?:[^0-9.]|\.(?:[^0-9]|$)|$)`)

// basicCodeRE finds an SMTP reply code where servers write one: at the
// start, or after ":", ";", "#" or "(".
var basicCodeRE = regexp.MustCompile(`(?:^|[:;#(]\s*|\s)([45])[0-9]{2}(?:[ -]|$)`)

func enhancedStatus(v string) string {
	if sm := enhancedRE.FindStringSubmatch(v); sm != nil {
		return sm[1]
	}
	return ""
}

func statusFromDiagnostic(diag string) string {
	if s := enhancedStatus(diag); s != "" {
		return s
	}
	if sm := basicCodeRE.FindStringSubmatch(diag); sm != nil {
		return sm[1] + ".0.0"
	}
	return ""
}
