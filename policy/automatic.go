package policy

import (
	"strings"
	"unicode"

	"github.com/ticketgate/ticketgate/message"
)

// Transport names for Envelope.Source, the same words mailin.Envelope
// uses.
const (
	SourceSMTP = "smtp"
	SourceLMTP = "lmtp"
	SourceIMAP = "imap"
	SourcePipe = "pipe"
)

// Envelope holds what the transport knew about a message besides its bytes.
type Envelope struct {
	// MailFrom is the SMTP/LMTP reverse path without angle brackets; "" is
	// the null sender <>.
	MailFrom string
	// Source is how the message arrived: SourceSMTP, SourceLMTP,
	// SourceIMAP or SourcePipe. Only over SMTP and LMTP is MailFrom the
	// real envelope. An IMAP mailbox has no envelope, and `ticketgate
	// deliver` run from an MTA alias may not have been told the sender, so
	// for those MailFrom is ignored and the Return-Path header the final
	// delivery agent wrote is read instead.
	Source string
}

// Options tunes Automatic.
type Options struct {
	// IntakeLists are List-Id identifiers (the part inside <...>, e.g.
	// "support.lists.example.com"; brackets optional, case ignored) of
	// mailing lists or groups that feed human mail into a project. Mail
	// carrying one of them is not automatic merely for being list mail:
	// its List-Id and the list's own "Precedence: list/bulk" are ignored,
	// every other rule still applies.
	IntakeLists []string
}

// Automatic returns why m was sent by a machine, or "" when a human sent
// it. Automatic mail is still recorded on its ticket, but it never gets an
// auto-reply and never triggers a customer notification, which is what
// keeps two auto-responders from mailing each other forever.
//
// The rules, checked in this order (the first match is the reason):
//
//   - a report (multipart/report): "delivery status notification" when it
//     is, or carries, an RFC 3464 delivery-status; "read receipt" for
//     report-type=disposition-notification; "report: <type>" otherwise,
//     because RFC 6522 reports (abuse feedback, TLS reports) are always
//     machine-generated.
//   - Auto-Submitted (RFC 3834) present and its keyword, compared without
//     case, comments and ";" parameters, is not "no":
//     "auto-submitted: auto-replied".
//   - X-Autoreply or X-Autorespond present: "x-autoreply", "x-autorespond".
//     Responders put all sorts of values there (yes, true, 1, an address),
//     so presence is what counts; only an explicit no, false or 0 reads as
//     human, the same reading OTRS/Znuny give their X-OTRS-Loop header
//     (Zammad does not look at these two headers at all).
//   - X-Auto-Response-Suppress listing All, OOF or AutoReply (any order,
//     case or spacing): "x-auto-response-suppress: OOF". Exchange sets
//     "DR, RN, NRN" and similar on ordinary mail; those alone are human.
//   - Precedence bulk, junk, list or auto_reply (case-insensitive):
//     "precedence: bulk". auto_reply is a pre-RFC 3834 responder marking
//     that Discourse's mail receiver also treats as automatic.
//     "first-class" and "normal" are human.
//   - List-Id present and not one of opt.IntakeLists: "list-id: <x.y>".
//   - Null envelope sender: "empty envelope sender". Over SMTP/LMTP that
//     is env.MailFrom == ""; otherwise the topmost Return-Path reading <>
//     (or <MAILER-DAEMON>, the way sendmail-style local delivery writes
//     the null sender).
//   - From local part MAILER-DAEMON or postmaster, any case, any domain:
//     "from mailer-daemon", "from postmaster".
//
// Our own mail coming back is OwnLoop's business, spam is SpamFlagged's.
func Automatic(m *message.Message, env Envelope, opt Options) string {
	if m == nil {
		return ""
	}
	if r := reportReason(m); r != "" {
		return r
	}
	for _, v := range m.Values("Auto-Submitted") {
		t := message.LeadingToken(v)
		if t == "no" {
			continue
		}
		if t == "" {
			t = "(empty)"
		}
		return "auto-submitted: " + t
	}
	for _, name := range []string{"X-Autoreply", "X-Autorespond"} {
		for _, v := range m.Values(name) {
			switch message.LeadingToken(v) {
			case "no", "false", "0":
				continue
			}
			return strings.ToLower(name)
		}
	}
	if r := suppressReason(m); r != "" {
		return r
	}

	intake := false
	var listReason string
	for _, v := range m.Values("List-Id") {
		id := listID(v)
		if id == "" {
			continue
		}
		if containsFold(normalizeListIDs(opt.IntakeLists), id) {
			intake = true
			continue
		}
		if listReason == "" {
			listReason = "list-id: <" + id + ">"
		}
	}
	for _, v := range m.Values("Precedence") {
		switch t := message.LeadingToken(v); t {
		case "bulk", "list":
			if intake {
				// The intake list stamps this on every post it relays,
				// including the human ones it exists for.
				continue
			}
			return "precedence: " + t
		case "junk", "auto_reply":
			return "precedence: " + t
		}
	}
	if listReason != "" {
		return listReason
	}

	if nullSender(m, env) {
		return "empty envelope sender"
	}
	switch strings.ToLower(localPart(fromAddress(m))) {
	case "mailer-daemon":
		return "from mailer-daemon"
	case "postmaster":
		return "from postmaster"
	}
	return ""
}

// reportReason classifies multipart/report messages and anything carrying
// a message/delivery-status part (some MTAs wrap one in multipart/mixed).
func reportReason(m *message.Message) string {
	isReport := strings.EqualFold(strings.TrimSpace(m.ContentType), "multipart/report")
	rt := strings.ToLower(strings.TrimSpace(m.ReportType))
	switch {
	case strings.TrimSpace(m.DeliveryStatus) != "":
		return "delivery status notification"
	case isReport && rt == "delivery-status":
		return "delivery status notification"
	case isReport && rt == "disposition-notification":
		return "read receipt"
	case isReport && rt != "":
		return "report: " + rt
	case isReport:
		return "report"
	}
	return ""
}

// suppressReason reads X-Auto-Response-Suppress, Exchange's list of the
// automatic answers the sender does not want. A sender that refuses
// out-of-office or auto-replies is itself a machine (Exchange stamps All on
// its own auto-replies and we stamp All on ours); refusing only delivery
// and read receipts (DR, NDR, RN, NRN) is common on person-to-person mail.
func suppressReason(m *message.Message) string {
	for _, v := range m.Values("X-Auto-Response-Suppress") {
		toks := strings.FieldsFunc(message.StripComments(v), func(r rune) bool {
			return r == ',' || r == ';' || unicode.IsSpace(r)
		})
		for _, t := range toks {
			switch strings.ToLower(t) {
			case "all":
				return "x-auto-response-suppress: All"
			case "oof":
				return "x-auto-response-suppress: OOF"
			case "autoreply":
				return "x-auto-response-suppress: AutoReply"
			}
		}
	}
	return ""
}

// listID returns the lower-cased identifier of a List-Id value
// ("Name <id>" per RFC 2919), or the bare value when a sender left out the
// brackets.
func listID(v string) string {
	if i := strings.LastIndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j >= 0 {
			return strings.ToLower(strings.TrimSpace(v[i+1 : i+j]))
		}
	}
	return strings.ToLower(strings.TrimSpace(message.StripComments(v)))
}

func normalizeListIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, strings.Trim(strings.TrimSpace(id), "<>"))
	}
	return out
}

// nullSender reports whether the message came from the null reverse path,
// which RFC 5321 reserves for notifications that must never be answered.
func nullSender(m *message.Message, env Envelope) bool {
	switch strings.ToLower(env.Source) {
	case SourceSMTP, SourceLMTP:
		mf := strings.TrimSpace(env.MailFrom)
		return mf == "" || mf == "<>"
	}
	// Without an envelope the topmost Return-Path is the one the final
	// delivery agent wrote; lower ones may be stale copies from earlier hops.
	rp := m.Values("Return-Path")
	if len(rp) == 0 {
		return false
	}
	v := strings.Join(strings.Fields(message.StripComments(rp[0])), "")
	return v == "<>" || strings.EqualFold(v, "<MAILER-DAEMON>")
}
