package decide

import "strings"

// Where the author's address of a mail without a usable From came from
// (issue 20): recorded on the message (store.Message.FromFallback), "" when
// From was usable.
const (
	FromReplyTo  = "reply-to"
	FromSender   = "sender"
	FromEnvelope = "envelope"
)

// UsableFrom reports whether a From address can name the author: it is
// there and has a domain ("From: \"x\" <>" and a bare "root" do not).
func UsableFrom(from string) bool {
	local, domain, ok := strings.Cut(strings.TrimSpace(from), "@")
	return ok && local != "" && domain != ""
}

// FallbackFrom chooses the author of a mail whose From is not usable:
// the first usable Reply-To address, else the Sender header's, else the
// envelope sender. via says which ("" when none is usable: the mail has
// no author's address at all). Whatever it returns proves nothing: the
// caller marks the mail (Fallback in WhoFacts), which is then never
// proven, never staff, and runs no command.
func FallbackFrom(replyTo []string, sender, mailFrom string) (addr, via string) {
	for _, a := range replyTo {
		if UsableFrom(a) {
			return strings.ToLower(strings.TrimSpace(a)), FromReplyTo
		}
	}
	if UsableFrom(sender) {
		return strings.ToLower(strings.TrimSpace(sender)), FromSender
	}
	if UsableFrom(mailFrom) {
		return strings.ToLower(strings.TrimSpace(mailFrom)), FromEnvelope
	}
	return "", ""
}

// RunsCommands reports whether a person's mail may carry commands: not
// when its author's address is a fallback (FallbackFrom), which anyone
// may have written.
func RunsCommands(person bool, fromFallback string) bool {
	return person && fromFallback == ""
}
