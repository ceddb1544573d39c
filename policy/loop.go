package policy

import (
	"strings"

	"github.com/ticketgate/ticketgate/message"
	"github.com/ticketgate/ticketgate/msgid"
)

// LoopHeader is the header every mail the gateway sends carries, naming the
// project address it was sent from. Seeing it on inbound mail means our own
// message came back: through a forwarding rule, an alias pointing at us, or
// an auto-responder that copies headers.
const LoopHeader = "X-Ticketgate-Loop"

// OwnMail answers the two questions OwnLoop needs about what the gateway
// itself sends. It is implemented by whoever knows the configured project
// addresses and the Message-ID minting key.
type OwnMail interface {
	// IsOwnAddress reports whether addr (a bare address such as
	// "acme@support.example.com", in the case the header wrote it) is one
	// of our project addresses.
	IsOwnAddress(addr string) bool
	// MintedMessageID reports whether id (canonical: no angle brackets,
	// no whitespace) is a Message-ID the gateway generated.
	MintedMessageID(id string) bool
}

// OwnLoop returns why m is our own mail coming back, or "". Such mail is
// recorded but never answered: answering it would mail ourselves again.
//
// It looks at the LoopHeader and at X-Loop (any comma-separated value
// naming an address own.IsOwnAddress accepts: "x-ticketgate-loop: acme@…";
// by the procmail convention X-Loop names the address that already
// processed the message, so naming ours means it has been through us), and
// at the message's own Message-ID ("message-id minted by us"). References
// and In-Reply-To are deliberately not consulted: every honest reply
// carries our IDs there.
func OwnLoop(m *message.Message, own OwnMail) string {
	if m == nil || own == nil {
		return ""
	}
	for _, name := range []string{LoopHeader, "X-Loop"} {
		for _, v := range m.Values(name) {
			for _, part := range strings.Split(v, ",") {
				a := message.BareAddress(part)
				if strings.Contains(a, "@") && own.IsOwnAddress(a) {
					return strings.ToLower(name) + ": " + a
				}
			}
		}
	}
	id := m.MessageID
	if id == "" {
		id = msgid.Canonical(m.Get("Message-ID"))
	}
	if id != "" && own.MintedMessageID(id) {
		return "message-id minted by us"
	}
	return ""
}
