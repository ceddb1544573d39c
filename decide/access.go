package decide

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// Issue 17: who may open a ticket, and as what (request types, internal
// tickets). Pure decisions; package ticket applies them.

// Ways a request type was chosen, in the order they are tried.
const (
	TypeBySubaddress = "subaddress"
	TypeByCommand    = "command"
	TypeByKeyword    = "keyword"
	TypeByDefault    = "default"
)

// TypeFacts are what RequestType decides from.
type TypeFacts struct {
	// Subaddress is the +tag of the project address the mail was sent
	// to ("" for none).
	Subaddress string
	// Commands are the mail's command lines; MayType: a "#type NAME" line
	// counts (a proven agent's mail, or the customer's own new request).
	Commands []Command
	MayType  bool
	Subject  string
}

// RequestType picks the request type of a new request: the sub-address
// first, then a "#type NAME" line, then keywords in the subject, then the
// project's default. It returns "" when the project has no types or none
// applies, and how the type was chosen.
func RequestType(p *config.Project, f TypeFacts) (name, by string) {
	if len(p.RequestTypes) == 0 {
		return "", ""
	}
	if f.Subaddress != "" {
		for _, rt := range p.RequestTypes {
			if rt.Match.Subaddress != "" && strings.EqualFold(rt.Match.Subaddress, f.Subaddress) {
				return rt.Name, TypeBySubaddress
			}
		}
	}
	if f.MayType {
		for _, c := range f.Commands {
			if c.Name != "type" || len(c.Args) != 1 {
				continue
			}
			if rt, ok := p.RequestType(c.Args[0]); ok {
				return rt.Name, TypeByCommand
			}
		}
	}
	subject := strings.ToLower(f.Subject)
	for _, rt := range p.RequestTypes {
		for _, kw := range rt.Match.Keywords {
			if kw = strings.ToLower(strings.TrimSpace(kw)); kw != "" && containsWord(subject, kw) {
				return rt.Name, TypeByKeyword
			}
		}
	}
	for _, rt := range p.RequestTypes {
		if rt.Default {
			return rt.Name, TypeByDefault
		}
	}
	return "", ""
}

// containsWord reports whether s contains kw not inside a longer word
// ("down" in "server down", not in "download").
func containsWord(s, kw string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], kw)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(kw)
		if (start == 0 || !wordByte(s[start-1])) && (end == len(s) || !wordByte(s[end])) {
			return true
		}
		i = start + 1
	}
}

func wordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_' || b >= 0x80
}

// TypePriority is the priority a new ticket of type name starts with.
func TypePriority(p *config.Project, name string) string {
	if rt, ok := p.RequestType(name); ok && rt.Priority != "" {
		return strings.ToLower(rt.Priority)
	}
	return "normal"
}

// Visibility decides a new ticket's visibility: internal when a proven
// agent opens it through the internal address or with "#internal";
// otherwise public. An unproven "agent" gets an ordinary ticket whose
// first message is held (see Classify): nobody can make a customer's
// request vanish from the customer by forging an agent's From.
func Visibility(created, toInternal bool, w Who, cmds []Command) string {
	if created && w.Agent && (toInternal || HasCommand(cmds, "internal")) {
		return store.VisibilityInternal
	}
	return store.VisibilityPublic
}

// ErrBadAddress is returned for a command argument that is not one mail
// address.
var ErrBadAddress = errors.New("not one mail address")

// RequesterArg reads the address of "#requester ADDRESS" (angle brackets
// and a display name allowed), lower-cased. It is the one parser of the
// command's argument, for internal tickets and forwarded mail alike.
func RequesterArg(c Command) (string, error) {
	arg := strings.TrimSpace(strings.Join(c.Args, " "))
	if arg == "" {
		return "", fmt.Errorf("#requester needs an address: %w", ErrBadAddress)
	}
	a, err := mail.ParseAddress(arg)
	if err != nil {
		return "", fmt.Errorf("#requester %q: %w", arg, ErrBadAddress)
	}
	return strings.ToLower(a.Address), nil
}
