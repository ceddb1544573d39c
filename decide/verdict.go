// Package decide holds the inbound decision as small pure steps: what the
// policy stage makes of a message (Verdict), which ticket it threads into
// (Thread), who wrote it and with what proof (Identify), what the mail
// becomes on the ticket (Classify), which commands run (Commands) and
// which events follow (Follow). Each step is a function of its inputs:
// the facts it needs (tokens, tickets, index look-ups) are gathered by the
// caller against a read snapshot, and package ticket persists the outcome.
// Nothing here reads the store, the clock or the network.
package decide

// Kind is what the policy stage makes of a message.
type Kind int

// Kinds of verdict, in the order they take precedence.
const (
	// Person: a person's mail, answered as usual.
	Person Kind = iota
	// Loop: our own mail come back; recorded internally, nothing sent.
	Loop
	// Blocked: the sender is blocked; recorded, nobody hears of it.
	Blocked
	// Automatic: an auto-reply, list or bulk mail (RFC 3834): recorded,
	// answers nobody.
	Automatic
	// Refused: over a limit; stored for the agents, refused to the sender.
	Refused
	// Spam: marked as spam by the receiving MTA (no backscatter).
	Spam
	// Forged: a trusted Authentication-Results says dmarc=fail.
	Forged
)

func (k Kind) String() string {
	switch k {
	case Person:
		return "person"
	case Loop:
		return "loop"
	case Blocked:
		return "blocked"
	case Automatic:
		return "automatic"
	case Refused:
		return "refused"
	case Spam:
		return "spam"
	case Forged:
		return "forged"
	}
	return "unknown"
}

// Verdict is the policy stage's decision on one project's copy of a
// message. Auto and Loop are the reasons recorded on the message for
// people to read (never parsed back); Kind is what the program decides by.
type Verdict struct {
	Kind Kind
	// Auto is why the mail answers nobody ("" for a person's mail).
	Auto string
	// Loop is why the mail is our own mail come back ("" otherwise).
	Loop string
	// Refusal is the refusal answered to the sender ("" when none): a
	// refused message still tells the agents, unless its sender is
	// blocked.
	Refusal string
	// Quiet records the mail but sends nothing (a blocked sender, an IMAP
	// mailbox read for the first time).
	Quiet bool
	// human: a person may be waiting for an answer (decided before a
	// block silenced the mail).
	human bool
}

// Signals are what the policy checks found in a message, each "" (or
// false) when it found nothing.
type Signals struct {
	// Automatic is policy.Automatic's reason.
	Automatic string
	// Loop is policy.OwnLoop's reason.
	Loop string
	// Spam is policy.SpamFlagged's reason.
	Spam string
	// DMARCFail: a trusted Authentication-Results says dmarc=fail.
	DMARCFail bool
	// Refusal is the message of a limit the mail broke (refused 552/554).
	Refusal string
	// Blocked is the reason a block on the sender gives; BlockedSender
	// says there is one.
	BlockedSender bool
	Blocked       string
	// Quiet: the source asked for nothing to be sent (IMAP start).
	Quiet bool
}

// Decide turns what the policy checks found into a verdict. An
// automatic mail stays automatic even when refused (its own reason is
// the better one); a block overrides every other reason and silences the
// mail; a loop is recorded as a loop whatever else it is.
func Decide(s Signals) Verdict {
	v := Verdict{Loop: s.Loop, Refusal: s.Refusal, Quiet: s.Quiet,
		human: s.Automatic == "" && s.Loop == "" && s.Spam == "" && !s.DMARCFail}
	switch {
	case s.Automatic != "":
		v.Kind, v.Auto = Automatic, s.Automatic
	case s.Refusal != "":
		// Kept whole for the agents, but answered by nobody: the sender
		// hears of it from our SMTP reply.
		v.Kind, v.Auto = Refused, "refused: "+s.Refusal
	case s.Spam != "":
		// Backscatter: no auto-reply, no mail to participants.
		v.Kind, v.Auto = Spam, "marked as spam by the receiving MTA: "+s.Spam
	case s.DMARCFail:
		v.Kind, v.Auto = Forged, "dmarc=fail: the From address is forged"
	}
	if s.BlockedSender {
		// Kept (nothing is lost), but nobody hears of it.
		v.Kind, v.Auto, v.Quiet = Blocked, "sender blocked: "+s.Blocked, true
	}
	if s.Loop != "" {
		v.Kind = Loop
	}
	return v
}

// Person reports whether the mail is a person's: it may carry commands,
// add participants and reopen its ticket.
func (v Verdict) Person() bool { return v.Auto == "" && v.Loop == "" }

// TellStaff reports whether automatic mail still notifies the agents
// (never customers): a refused message must not go unnoticed, unless its
// sender is blocked.
func (v Verdict) TellStaff() bool { return v.Refusal != "" && v.Kind != Blocked && v.Loop == "" }

// Human reports whether a person may be waiting for an answer: neither
// automatic, nor a loop, spam or forged — a refused person's mail is
// (IMAP tells them by mail, having no reply code), and so is a blocked
// one (a block silences the notifications, not the refusal).
func (v Verdict) Human() bool { return v.human }

// Recorded is the reason stored on the message ("" for a person's mail).
func (v Verdict) Recorded() string {
	if v.Auto != "" {
		return v.Auto
	}
	return v.Loop
}
