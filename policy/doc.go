// Package policy classifies inbound mail before it touches a ticket: is it
// machine-sent (never auto-answer it), our own mail coming back, spam, a
// bounce of something we sent, and can its From address be trusted for
// privileged acts?
//
// Everything here is a pure function of a parsed *message.Message plus the
// envelope facts the transport knew. Nothing does I/O or keeps state, so
// the rules can be tested one header at a time and replayed over a corpus.
// Each check returns a short reason (for the audit log: "suppressed
// auto-reply: precedence: bulk") or "" when it does not apply.
//
// Authentication-Results are only believed after StripForgedAuthResults
// has removed the ones a sender could have written; Authenticated then says
// whether From is proven. Proof from a reply token or one of our
// Message-IDs is not this package's business: it shows only that the
// sender saw our mail, never who the sender is.
package policy
