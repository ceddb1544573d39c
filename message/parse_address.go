package message

import (
	"net/mail"
	"regexp"
	"strings"

	"github.com/ticketgate/ticketgate/msgid"
)

// ParseAddressList parses an address header value (From, To, Cc, Reply-To)
// and never fails: when the value is not a valid RFC 5322 address list, the
// local@domain tokens in it are picked out instead. Display names are RFC
// 2047-decoded (also when wrongly quoted) and kept as written; addresses are
// lower-cased as a whole, because helpdesks match them case-insensitively
// and local parts that differ only in case are the same mailbox in practice.
func ParseAddressList(s string) []Address {
	list, _ := parseAddressList(s, nil)
	return list
}

// parseAddressList is ParseAddressList that also says whether the strict
// parse worked. note receives charset problems of encoded words.
func parseAddressList(s string, note func(string)) ([]Address, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true
	}
	if name, addr, ok := simpleAddress(s); ok {
		return []Address{makeAddress(name, addr, note)}, true
	}
	ap := mail.AddressParser{WordDecoder: newWordDecoder(note)}
	if list, err := ap.ParseList(s); err == nil {
		out := make([]Address, 0, len(list))
		for _, a := range list {
			out = append(out, makeAddress(a.Name, a.Address, note))
		}
		return out, true
	}
	var out []Address
	for _, chunk := range splitAddressList(s) {
		if a, err := ap.Parse(chunk); err == nil {
			out = append(out, makeAddress(a.Name, a.Address, note))
			continue
		}
		// A stray bracket (`"Name"@example.com>`) is the whole problem
		// surprisingly often.
		if strings.Count(chunk, "<") != strings.Count(chunk, ">") {
			if a, err := ap.Parse(strings.NewReplacer("<", "", ">", "").Replace(chunk)); err == nil {
				out = append(out, makeAddress(a.Name, a.Address, note))
				continue
			}
		}
		if a, ok := angleAddress(chunk, note); ok {
			out = append(out, a)
			continue
		}
		out = append(out, extractAddresses(chunk, note)...)
	}
	return out, false
}

// angleAddress reads "name <local@domain>" whose name breaks RFC 5322
// (an unquoted "@" or other specials): the angle address is the address
// all the same — it is what the receiving MTA's DMARC check evaluated —
// and whatever precedes it is only a name, even when it looks like an
// address.
func angleAddress(chunk string, note func(string)) (Address, bool) {
	i, j := strings.LastIndexByte(chunk, '<'), strings.LastIndexByte(chunk, '>')
	if i < 0 || j < i || strings.TrimSpace(chunk[j+1:]) != "" || strings.ContainsAny(chunk[:i], "<>") {
		return Address{}, false
	}
	addr := strings.TrimSpace(chunk[i+1 : j])
	if k := strings.LastIndexByte(addr, ':'); k >= 0 {
		addr = addr[k+1:] // an obsolete route: <@relay:local@domain>
	}
	if !addrTokenRE.MatchString(addr) || addrTokenRE.FindString(addr) != addr {
		return Address{}, false
	}
	name := strings.Trim(strings.TrimSpace(msgid.StripComments(chunk[:i])), `"'`)
	return makeAddress(decodeWords(name, note), addr, note), true
}

// NameAddress returns the address a display name holds when it differs
// from the address it names ("ceo@customer.example <x@attacker.example>"),
// else "".
func NameAddress(a Address) string {
	for _, tok := range addrTokenRE.FindAllString(a.Name, -1) {
		tok = strings.ToLower(strings.Trim(tok, ".'"))
		if tok != a.Address {
			return tok
		}
	}
	return ""
}

func makeAddress(name, addr string, note func(string)) Address {
	if strings.Contains(name, "=?") {
		// Encoded words inside a quoted string are not allowed, so
		// net/mail leaves them alone; Outlook writes them anyway.
		name = decodeWords(name, note)
	}
	name = stripNUL(strings.ToValidUTF8(strings.TrimSpace(name), "\uFFFD"))
	addr = stripNUL(strings.ToValidUTF8(strings.ToLower(strings.TrimSpace(addr)), ""))
	return Address{Name: name, Address: addr}
}

// splitAddressList splits at commas and semicolons that are outside
// quotes, angle brackets and comments.
func splitAddressList(s string) []string {
	var (
		out    []string
		start  int
		inQ    bool
		angle  int
		paren  int
		escape bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escape:
			escape = false
		case c == '\\':
			escape = true
		case inQ:
			inQ = c != '"'
		case c == '"':
			inQ = true
		case c == '(':
			paren++
		case c == ')' && paren > 0:
			paren--
		case c == '<' && paren == 0:
			angle++
		case c == '>' && angle > 0 && paren == 0:
			angle--
		case (c == ',' || c == ';') && angle == 0 && paren == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	out = append(out, s[start:])
	res := out[:0]
	for _, c := range out {
		if c = strings.TrimSpace(c); c != "" {
			res = append(res, c)
		}
	}
	return res
}

var (
	addrTokenRE = regexp.MustCompile(`[^\s<>()\[\]",;:]+@[^\s<>()\[\]",;:]+`)
	// localWordRE is a bare local part such as MAILER-DAEMON.
	localWordRE = regexp.MustCompile(`^[A-Za-z0-9._+=-]+$`)
)

// extractAddresses picks local@domain tokens out of a chunk that is not a
// valid address. The rest of the chunk, if any, becomes the display name of
// the first one. A lone word (MAILER-DAEMON, postmaster) is kept as an
// address without domain, because the bounce and loop checks look for it.
func extractAddresses(chunk string, note func(string)) []Address {
	chunk = msgid.StripComments(chunk)
	// A group's "name:" prefix is not part of the first address.
	if i := strings.IndexByte(chunk, ':'); i >= 0 && !strings.ContainsAny(chunk[:i], "<@\"") {
		chunk = strings.TrimSpace(chunk[i+1:])
	}
	toks := addrTokenRE.FindAllStringIndex(chunk, -1)
	if len(toks) == 0 {
		word := strings.TrimSpace(chunk)
		name := ""
		if i := strings.LastIndexByte(word, '<'); i >= 0 {
			name = strings.Trim(strings.TrimSpace(word[:i]), `"'`)
			word = word[i+1:]
		}
		word = strings.Trim(word, "<> \t\"'")
		if !localWordRE.MatchString(word) {
			return nil
		}
		return []Address{makeAddress(decodeWords(name, note), word, note)}
	}
	var out []Address
	prev := 0
	for _, t := range toks {
		// The display name is what precedes the address: "Name <a@b>",
		// "Name a@b", or the route-less part of "Name <@route:a@b>".
		seg := chunk[prev:t[0]]
		if i := strings.IndexByte(seg, '<'); i >= 0 {
			seg = seg[:i]
		}
		name := strings.Trim(strings.TrimSpace(seg), `"'()<>,;.`)
		out = append(out, makeAddress(decodeWords(name, note), strings.Trim(chunk[t[0]:t[1]], ".'"), note))
		prev = t[1]
	}
	return out
}
