package policy

import (
	"strings"

	"github.com/emersion/go-msgauth/authres"
	"golang.org/x/net/publicsuffix"

	"github.com/ticketgate/ticketgate/message"
)

// Proof is what a trusted receiving MTA vouched for about a message's From.
type Proof struct {
	// DMARCPass: a trusted Authentication-Results header says dmarc=pass
	// for the From domain.
	DMARCPass bool
	// DKIMAligned: a trusted header says dkim=pass for a signing domain
	// (header.d) equal to the From domain or a parent of it that is not a
	// public suffix (relaxed alignment, RFC 7489 §3.1.1, without DNS).
	DKIMAligned bool
	// DMARCFail: a trusted header says dmarc=fail for the From domain.
	DMARCFail bool
	// AuthservID is the authserv-id of the trusted header that gave the
	// proof, or of the first trusted header seen when none did; "" when no
	// trusted header was present.
	AuthservID string
}

// Proven reports whether From may be trusted for privileged acts (agent
// commands, posting as an agent).
func (p Proof) Proven() bool { return p.DMARCPass || p.DKIMAligned }

// Authenticated reads the Authentication-Results headers of m whose
// authserv-id is one of trustedIDs (case-insensitive) and reports what they
// prove about fromAddr (m.From when fromAddr is ""). Headers from any other
// authserv-id are ignored, whatever they claim.
//
// It trusts every header it reads, so m.Header must already have been
// through StripForgedAuthResults; otherwise a sender could simply write
// "Authentication-Results: <our id>; dmarc=pass" into its own mail.
//
// A dmarc result counts only when its header.from (if given) is the From
// domain, so a message with two From fields cannot borrow the verdict the
// MTA reached about the other one.
func Authenticated(m *message.Message, trustedIDs []string, fromAddr string) Proof {
	var p Proof
	if m == nil {
		return p
	}
	if fromAddr == "" {
		fromAddr = fromAddress(m)
	}
	dom := domainOf(fromAddr)
	var provenBy string
	for _, v := range m.Values("Authentication-Results") {
		id, results := parseAuthResults(v)
		if !containsFold(trustedIDs, id) {
			continue
		}
		if p.AuthservID == "" {
			p.AuthservID = id
		}
		if dom == "" {
			continue
		}
		for _, r := range results {
			switch r := r.(type) {
			case *authres.DMARCResult:
				if r.From != "" && normalizeDomain(r.From) != dom {
					continue
				}
				switch r.Value {
				case authres.ResultPass:
					p.DMARCPass = true
					if provenBy == "" {
						provenBy = id
					}
				case authres.ResultFail:
					p.DMARCFail = true
				}
			case *authres.DKIMResult:
				if r.Value != authres.ResultPass {
					continue
				}
				d := r.Domain
				if d == "" {
					d = domainOf(r.Identifier)
				}
				if dkimAligned(normalizeDomain(d), dom) {
					p.DKIMAligned = true
					if provenBy == "" {
						provenBy = id
					}
				}
			}
		}
	}
	if provenBy != "" {
		p.AuthservID = provenBy
	}
	return p
}

// parseAuthResults parses one Authentication-Results value. authres.Parse
// splits on ";" without knowing about comments, and real MTAs write
// comments such as "(2048-bit key; unprotected)", so comments go first.
// Results parsed before a malformed one are kept: each stands on its own.
func parseAuthResults(v string) (id string, results []authres.Result) {
	id, results, _ = authres.Parse(message.StripComments(v))
	return normalizeDomain(id), results
}

// dkimAligned reports whether signing domain d is aligned with From domain
// from: equal, or a parent of it that an organisation can own. Without the
// public-suffix check, d=co.uk would vouch for every From under co.uk.
func dkimAligned(d, from string) bool {
	if d == "" || from == "" {
		return false
	}
	if d == from {
		return true
	}
	if !strings.HasSuffix(from, "."+d) {
		return false
	}
	suffix, _ := publicsuffix.PublicSuffix(d)
	return suffix != d
}

// StripForgedAuthResults removes Authentication-Results headers that claim
// one of trustedIDs but cannot have been written by the trusted MTA
// (RFC 8601 §5), and returns the remaining header in its original order
// together with how many fields it removed. Run it before Authenticated.
//
// Headers are prepended as a message travels, so the trusted MTA's own
// Authentication-Results sit at the top, above the Received field that
// recorded the message entering our side. Anything claiming a trusted id
// further down was already in the message when it arrived: the sender (or
// a hop before us) wrote it.
//
// Precisely:
//   - A field is a candidate only when its name is Authentication-Results
//     and its authserv-id (the first word, comments removed) equals one of
//     trustedIDs, ignoring case and a trailing dot. Fields of other
//     authserv-ids are always kept: Authenticated ignores them anyway, and
//     they are useful to a human reading the headers.
//   - trustedPath false (the mail did not reach us through the trusted
//     MTA, the local socket or a configured IMAP account): every candidate
//     is removed, because nothing we trust had a chance to write one.
//   - trustedPath true: a candidate is kept when it appears above the
//     first Received field, and removed when it appears below it. A header
//     without any Received field keeps all candidates.
//
// The rule assumes the trusted MTA writes its Authentication-Results above
// every Received field, which holds for an MTA that hands the message
// straight to us. Where more of our own infrastructure adds Received
// fields on top after authentication (a mailbox provider read over IMAP,
// an extra LMTP hop), the genuine result sits below those and is removed:
// the mail then proves nothing, which fails safe.
func StripForgedAuthResults(header []message.HeaderField, trustedIDs []string, trustedPath bool) (kept []message.HeaderField, removed int) {
	firstReceived := len(header)
	for i, f := range header {
		if strings.EqualFold(f.Name, "Received") {
			firstReceived = i
			break
		}
	}
	kept = make([]message.HeaderField, 0, len(header))
	for i, f := range header {
		if strings.EqualFold(f.Name, "Authentication-Results") &&
			containsFold(trustedIDs, authservID(f.Value)) &&
			(!trustedPath || i > firstReceived) {
			removed++
			continue
		}
		kept = append(kept, f)
	}
	return kept, removed
}

// authservID returns the authserv-id of an Authentication-Results value:
// its first word before any ";", comments removed.
func authservID(v string) string {
	v = message.StripComments(v)
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	f := strings.Fields(v)
	if len(f) == 0 {
		return ""
	}
	return normalizeDomain(f[0])
}
