package desk

import "github.com/ticketgate/ticketgate/store"

// Issue 22: held mail on the desk. A held message shows why it was held
// and offers "publish" and "discard"; both POST to the ticket's /do with
// op held-publish or held-discard and the message number, and run the
// mail command "#held publish|discard N" through ticket.Engine.Command.

// heldTexts are the words of the held-mail and participant buttons.
type heldTexts struct {
	Publish, Discard, Discarded, PublishHint, DiscardHint, RemoveParticipant string
}

var heldEnglish = &heldTexts{Publish: "Publish", Discard: "Discard", Discarded: "discarded",
	PublishHint: "send it to the customers as if it had not been held", DiscardHint: "it never reaches anybody",
	RemoveParticipant: "Remove participant"}

var heldGerman = &heldTexts{Publish: "Veröffentlichen", Discard: "Verwerfen", Discarded: "verworfen",
	PublishHint: "den Kunden senden, als wäre sie nicht zurückgehalten worden", DiscardHint: "sie erreicht niemanden",
	RemoveParticipant: "Beteiligten entfernen"}

// HeldText returns the held-mail words in tx's language.
func (tx *texts) HeldText() *heldTexts {
	if tx.Lang == "de" {
		return heldGerman
	}
	return heldEnglish
}

// heldArgs are the values of a held message's or a participant's forms.
type heldArgs struct {
	V *ticketView
	M *messageView
	P *store.Participant
}

// heldArgsOf builds heldArgs for the template from the page and a
// message view or a participant.
func heldArgsOf(v *ticketView, item any) heldArgs {
	a := heldArgs{V: v}
	switch x := item.(type) {
	case messageView:
		a.M = &x
	case store.Participant:
		a.P = &x
	}
	return a
}
