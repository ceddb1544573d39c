package decide

import (
	"regexp"
	"strings"

	"github.com/ticketgate/ticketgate/store"
)

// Threading rules, recorded on every message (the order is the order of
// trust).
const (
	ByNew          = "new"
	ByReplyToken   = "reply-token"
	ByReferences   = "references"
	BySubjectToken = "subject-token"
)

// MaxReferences is how many referenced Message-IDs threading considers.
// A reply's parent is In-Reply-To or among the newest References; each ID
// costs an index look-up, and anyone can send a References field of
// 100,000 IDs.
const MaxReferences = 100

// ReferencedIDs lists In-Reply-To first, then References newest first
// (the most specific parent wins), without repeats, at most
// MaxReferences. It is linear in the size of the fields.
func ReferencedIDs(inReplyTo, references []string) []string {
	out := make([]string, 0, min(MaxReferences, len(inReplyTo)+len(references)))
	seen := make(map[string]struct{}, cap(out))
	add := func(id string) bool {
		if _, dup := seen[id]; !dup && id != "" {
			seen[id] = struct{}{}
			out = append(out, id)
		}
		return len(out) < MaxReferences
	}
	for _, id := range inReplyTo {
		if !add(id) {
			return out
		}
	}
	for i := len(references) - 1; i >= 0; i-- {
		if !add(references[i]) {
			return out
		}
	}
	return out
}

// MessageIDPrefix starts every Message-ID we mint; the reply token follows.
const MessageIDPrefix = "tg."

// TokenFromMessageID extracts the reply token from a Message-ID we minted
// ("tg.<token>@domain"), if it looks like one.
func TokenFromMessageID(id string) (string, bool) {
	if !strings.HasPrefix(id, MessageIDPrefix) {
		return "", false
	}
	rest := id[len(MessageIDPrefix):]
	at := strings.IndexByte(rest, '@')
	if at <= 0 {
		return "", false
	}
	tok := rest[:at]
	if i := strings.IndexByte(tok, '.'); i >= 0 {
		tok = tok[:i]
	}
	return tok, tok != ""
}

// ReplyTokens lists the reply tokens a mail may carry: the recipient's
// plus-address tag first, then those inside Message-IDs of ours it refers
// to (refs as ReferencedIDs returns them).
func ReplyTokens(rcptTag string, refs []string) []string {
	var out []string
	if rcptTag != "" {
		out = append(out, rcptTag)
	}
	for _, id := range refs {
		if tok, ok := TokenFromMessageID(id); ok {
			out = append(out, tok)
		}
	}
	return out
}

var subjectTokenRE = regexp.MustCompile(`\[([A-Za-z][A-Za-z0-9]{1,9})-([0-9]{1,12})\]`)

// SubjectToken returns the ticket key of the leftmost [KEY-N] token of
// project in subject, or "".
func SubjectToken(project, subject string) string {
	for _, sm := range subjectTokenRE.FindAllStringSubmatch(subject, -1) {
		if strings.EqualFold(sm[1], project) {
			return project + "-" + strings.TrimLeft(sm[2], "0")
		}
	}
	return ""
}

var replyPrefixRE = regexp.MustCompile(`(?i)^\s*((re|aw|sv|vs|antw|antwort|fwd?|wg|tr|rv|odp|ynt|r|enc|res)\s*(\[\d+\])?\s*[:：]\s*)+`)

// CleanSubject strips reply/forward prefixes (many languages) for a new
// ticket's title; an empty subject gets a placeholder title.
func CleanSubject(s string) string {
	s = strings.TrimSpace(replyPrefixRE.ReplaceAllString(s, ""))
	if s == "" {
		return "(no subject)"
	}
	return s
}

// ThreadFacts are what threading looked up for a mail.
type ThreadFacts struct {
	// Tokens are the reply tokens of ours the mail carries that exist
	// (ReplyTokens, looked up; unknown ones left out), in order.
	Tokens []*store.Token
	// Reference is the ticket of the first referenced Message-ID found in
	// the project's index ("" when none was).
	Reference string
	// Subject is the ticket the subject token names, when the author may
	// post into it ("" otherwise).
	Subject string
}

// Threading is where a mail goes.
type Threading struct {
	// Key is the ticket ("" for a new one).
	Key  string
	Rule string
	// TokenFor is whom the reply token that threaded the mail was sent to,
	// when it travelled only in that recipient's own copies (Proof): only
	// then does it prove its recipient, and only as the mail's From.
	TokenFor string
}

// Thread picks the ticket a mail of author belongs to in project, by the
// rules in order of trust: a reply token of ours, a reference to a
// message we stored or sent, the subject token.
func Thread(project, author string, f ThreadFacts) Threading {
	var found *store.Token
	for _, t := range f.Tokens {
		if t == nil || t.Kind != store.TokenReply || t.Project != project {
			continue
		}
		// Prefer a token that was sent to this sender: it proves them.
		if found == nil || (strings.EqualFold(t.Recipient, author) && !strings.EqualFold(found.Recipient, author)) {
			found = t
		}
	}
	if found != nil {
		// Only a token that travelled in its recipient's own copies alone
		// says who may be writing; an older one may sit in other
		// recipients' References: it threads, it proves nothing.
		th := Threading{Key: found.Ticket, Rule: ByReplyToken}
		if found.Proof {
			th.TokenFor = strings.ToLower(found.Recipient)
		}
		return th
	}
	if f.Reference != "" {
		return Threading{Key: f.Reference, Rule: ByReferences}
	}
	if f.Subject != "" {
		return Threading{Key: f.Subject, Rule: BySubjectToken}
	}
	return Threading{Rule: ByNew}
}
