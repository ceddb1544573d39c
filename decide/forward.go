package decide

import (
	"regexp"
	"strings"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/message"
	"github.com/ticketgate/ticketgate/msgid"
	"github.com/ticketgate/ticketgate/store"
)

// Forwarded on a customer's behalf (issue 20): a proven agent who forwards
// a customer's mail to the project address, or writes "#requester
// ADDRESS" on a new request, opens the ticket in the customer's name.

// Forward shapes.
const (
	ForwardInline  = "inline"  // "---------- Forwarded message ---------" and a header block
	ForwardOutlook = "outlook" // Outlook's "From:/Sent:/To:/Subject:" block
	ForwardRFC822  = "rfc822"  // an attached message/rfc822
)

// Forwarded is a forwarded mail found in an agent's mail.
type Forwarded struct {
	Shape string
	// From and Name are the original sender (From lower-cased; "" when
	// the block names no address).
	From, Name string
	// MessageID is the original's Message-ID, canonical ("" when the
	// shape carries none: inline forwards rarely do).
	MessageID string
	Subject   string
	// Text is the original's text; Note what the agent wrote above it.
	Text, Note string
	// Attach are the original's attachments (an attached message's own
	// parts); nil: the mail's attachments are the original's.
	Attach []store.Attachment
}

// forwardMarkerRE matches the separator line mail clients write above an
// inline forward: Gmail's "---------- Forwarded message ---------",
// Thunderbird's "-------- Forwarded Message --------", Apple Mail's "Begin
// forwarded message:", and their translations.
var forwardMarkerRE = regexp.MustCompile(`(?i)^\s*(?:-{2,}\s*)?(?:forwarded message|original message|weitergeleitete nachricht|ursprüngliche nachricht|message transféré|message d'origine|mensaje reenviado|mensaje original|messaggio inoltrato|messaggio originale|doorgestuurd bericht|oorspronkelijk bericht|mensagem encaminhada|mensagem original|vidarebefordrat meddelande|videresendt meddelelse|videresendt melding|välitetty viesti|przekazana wiadomość|přeposlaná zpráva|begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié)\s*:?\s*(?:-{2,})?\s*$`)

// headerLabels maps the labels of a forwarded header block, in the
// languages mail clients write them, to the field they name.
var headerLabels = map[string]string{
	"from": "from", "von": "from", "de": "from", "da": "from", "van": "from", "od": "from", "från": "from", "fra": "from", "lähettäjä": "from", "feladó": "from", "от": "from",
	"sent": "date", "date": "date", "datum": "date", "gesendet": "date", "envoyé": "date", "enviado": "date", "enviada": "date", "inviato": "date", "verzonden": "date", "skickat": "date", "sendt": "date", "lähetetty": "date", "wysłano": "date", "odesláno": "date", "fecha": "date", "data": "date", "отправлено": "date",
	"to": "to", "an": "to", "à": "to", "a": "to", "para": "to", "aan": "to", "till": "to", "til": "to", "vastaanottaja": "to", "do": "to", "komu": "to", "кому": "to",
	"cc": "cc", "kopie": "cc", "copie à": "cc",
	"subject": "subject", "betreff": "subject", "objet": "subject", "asunto": "subject", "oggetto": "subject", "onderwerp": "subject", "ämne": "subject", "emne": "subject", "aihe": "subject", "temat": "subject", "předmět": "subject", "assunto": "subject", "тема": "subject",
	"message-id": "message-id",
}

// headerLine splits "Label: value" into the field the label names and
// the value; ok is false for any other line.
func headerLine(l string) (field, value string, ok bool) {
	l = strings.TrimLeft(strings.TrimSpace(l), "*") // Outlook's HTML made text: "*From:* …"
	label, value, found := strings.Cut(l, ":")
	if !found || len(label) > 24 {
		return "", "", false
	}
	field, ok = headerLabels[strings.ToLower(strings.Trim(strings.TrimSpace(label), "*"))]
	return field, strings.TrimSpace(strings.TrimLeft(value, "*")), ok
}

// FindForward finds an inline forward in an agent's text: a forward
// marker line followed by a header block naming the sender, or an
// Outlook block ("From:" then "Sent:"/"Date:" and "To:" or "Subject:"
// within the next lines). The text above is the agent's note, the text
// below the header block the original's. nil when there is none.
func FindForward(text string) *Forwarded {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		start, shape := -1, ""
		switch {
		case forwardMarkerRE.MatchString(lines[i]):
			start, shape = i+1, ForwardInline
		default:
			if f, _, ok := headerLine(lines[i]); ok && f == "from" && outlookBlock(lines[i:]) {
				start, shape = i, ForwardOutlook
			}
		}
		if start < 0 {
			continue
		}
		fields := map[string]string{}
		j := start
		for ; j < len(lines); j++ {
			if strings.TrimSpace(lines[j]) == "" {
				if len(fields) == 0 {
					continue // a blank line between the marker and the block
				}
				break
			}
			f, v, ok := headerLine(lines[j])
			if !ok {
				if len(fields) > 0 && strings.HasPrefix(lines[j], " ") {
					continue // a folded value
				}
				break
			}
			if _, seen := fields[f]; !seen {
				fields[f] = v
			}
		}
		if fields["from"] == "" {
			continue
		}
		from, name := addressIn(fields["from"])
		if shape == ForwardInline && strings.Contains(strings.ToLower(lines[i]), "original") {
			// "-----Original Message-----" is Outlook's, not a forward marker.
			shape = ForwardOutlook
		}
		return &Forwarded{
			Shape: shape, From: from, Name: name, Subject: fields["subject"],
			MessageID: canonicalID(fields["message-id"]),
			Note:      strings.TrimSpace(strings.Join(lines[:i], "\n")),
			Text:      strings.TrimSpace(strings.Join(lines[j:], "\n")),
		}
	}
	return nil
}

// outlookBlock reports whether lines start an Outlook header block: From,
// then a date line and a To or Subject line among the next four.
func outlookBlock(lines []string) bool {
	date, other := false, false
	for k := 1; k < len(lines) && k <= 4; k++ {
		f, _, ok := headerLine(lines[k])
		if !ok {
			break
		}
		switch f {
		case "date":
			date = true
		case "to", "subject", "cc":
			other = true
		}
	}
	return date && other
}

var (
	mailtoRE = regexp.MustCompile(`(?i)\[mailto:([^\]\s]+)\]`)
	bareRE   = regexp.MustCompile(`[^\s<>\[\]"',;:()]+@[^\s<>\[\]"',;:()]+\.[^\s<>\[\]"',;:()]+`)
)

// addressIn reads the sender of a forwarded header block's From value:
// "Name <addr>", Outlook's "Name [mailto:addr]", or a bare address.
func addressIn(v string) (addr, name string) {
	if m := mailtoRE.FindStringSubmatchIndex(v); m != nil {
		return strings.ToLower(v[m[2]:m[3]]), strings.Trim(strings.TrimSpace(v[:m[0]]), `"'`)
	}
	if list := message.ParseAddressList(v); len(list) > 0 && UsableFrom(list[0].Address) {
		return strings.ToLower(list[0].Address), list[0].Name
	}
	if a := bareRE.FindString(v); a != "" {
		return strings.ToLower(a), ""
	}
	return "", ""
}

func canonicalID(v string) string {
	if ids := msgid.ParseList(v); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// Requester reads the "#requester ADDRESS" command among cmds: the one
// place it is parsed. found is false when there is none; problem says
// what is wrong with one that is there ("" when addr is usable).
func Requester(cmds []Command) (addr string, found bool, problem string) {
	for _, c := range cmds {
		if c.Name != "requester" {
			continue
		}
		// One parser of the argument for every use of #requester
		// (RequesterArg, also for internal tickets).
		a, err := RequesterArg(c)
		if err != nil {
			return "", true, err.Error()
		}
		return a, true, ""
	}
	return "", false, ""
}

// What an agent's mail on a customer's behalf does.
const (
	BehalfNone   = iota // an ordinary mail
	BehalfOpen          // opens a ticket with the customer as reporter
	BehalfThread        // the forwarded mail is known: the agent's text is a note on its ticket
)

// BehalfFacts are what OnBehalf decides from.
type BehalfFacts struct {
	// Agent: staff of the project whose mail is proven (not a fallback
	// identity); ToInternal: sent to the internal address.
	Agent, ToInternal bool
	// Threaded: the agent's mail threads into an existing ticket by its
	// own headers or subject token.
	Threaded bool
	// Forward is the forwarded mail found (nil: none).
	Forward *Forwarded
	// Requester is the address of a "#requester" command ("" none).
	Requester string
	// Text is the mail's text without its command lines.
	Text string
	// Known is the ticket holding Forward.MessageID ("" unknown).
	Known string
}

// Behalf is OnBehalf's decision.
type Behalf struct {
	Kind int
	// Reporter and Name: the customer the ticket is opened for.
	Reporter, Name string
	// Text is the request's text (the customer's words); Note the
	// agent's own text, stored as an internal note ("" none).
	Text, Note string
	// Ticket is the known ticket (BehalfThread).
	Ticket string
	// Attach: the request's attachments when they are not the mail's
	// (an attached message's own); nil otherwise.
	Attach []store.Attachment
}

// OnBehalf decides whether an agent's mail opens a ticket for a
// customer. Only a proven agent's new mail to the project address does;
// the customer must be a customer (not staff, not one of our addresses).
func OnBehalf(p *config.Project, own func(string) bool, f BehalfFacts) Behalf {
	if !f.Agent || f.ToInternal || f.Threaded {
		return Behalf{}
	}
	customer := func(a string) bool { return UsableFrom(a) && !p.IsStaff(a) && !own(a) }
	if fw := f.Forward; fw != nil && fw.MessageID != "" && f.Known != "" {
		return Behalf{Kind: BehalfThread, Ticket: f.Known, Note: fw.Note}
	}
	switch {
	case f.Requester != "" && customer(f.Requester):
		b := Behalf{Kind: BehalfOpen, Reporter: f.Requester, Text: f.Text}
		if fw := f.Forward; fw != nil {
			b.Text, b.Note, b.Attach = fw.Text, fw.Note, fw.Attach
			if fw.From == f.Requester {
				b.Name = fw.Name
			}
		}
		return b
	case f.Requester != "":
		return Behalf{}
	case f.Forward != nil && customer(f.Forward.From):
		fw := f.Forward
		return Behalf{Kind: BehalfOpen, Reporter: fw.From, Name: fw.Name, Text: fw.Text, Note: fw.Note, Attach: fw.Attach}
	}
	return Behalf{}
}
