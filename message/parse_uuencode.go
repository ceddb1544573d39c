package message

import (
	"regexp"
	"strings"
)

// Old mailers (Lotus Notes, scripts piping `uuencode` into mail) put files
// into the text itself as "begin 644 name" … "end" blocks. The text is left
// as it is, but each block is also decoded and stored as an attachment so
// agents can open the file.

var uuBeginRE = regexp.MustCompile(`(?m)^begin [0-7]{3,4} ([^\r\n]+)\r?$`)

// uuBlock is one uuencoded file found in a text.
type uuBlock struct {
	name string
	data []byte
}

// findUUBlocks decodes the uuencoded files in text. Blocks that are not
// closed by "end" or contain invalid lines are skipped: a text that merely
// talks about "begin 644" must not turn into a broken attachment.
func findUUBlocks(text string, limit int) []uuBlock {
	var blocks []uuBlock
	for _, loc := range uuBeginRE.FindAllStringSubmatchIndex(text, 10) {
		name := strings.TrimSpace(text[loc[2]:loc[3]])
		rest := text[loc[1]:]
		var (
			data   []byte
			closed bool
			ok     = true
		)
		// Walk the lines after "begin" without splitting the whole rest
		// of the text, which may be megabytes, once per block.
		if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
			rest = rest[nl+1:]
		} else {
			rest = ""
		}
		for rest != "" {
			line := rest
			if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
				line, rest = rest[:nl], rest[nl+1:]
			} else {
				rest = ""
			}
			line = strings.TrimRight(line, "\r")
			if line == "end" {
				closed = true
				break
			}
			b, valid := uudecodeLine(line)
			if !valid || len(data)+len(b) > limit {
				ok = false
				break
			}
			data = append(data, b...)
		}
		if ok && closed && name != "" {
			blocks = append(blocks, uuBlock{name: name, data: data})
		}
	}
	return blocks
}

// uudecodeLine decodes one line: a length character, then groups of four
// characters for three bytes each. "`" stands for a space (zero).
func uudecodeLine(line string) ([]byte, bool) {
	if line == "" {
		return nil, true
	}
	val := func(c byte) (byte, bool) {
		if c < ' ' || c > '`' {
			return 0, false
		}
		return (c - ' ') & 63, true
	}
	n, ok := val(line[0])
	if !ok {
		return nil, false
	}
	body := line[1:]
	need := (int(n) + 2) / 3 * 4
	if len(body) < need {
		// Trailing spaces are often stripped in transit.
		body += strings.Repeat(" ", need-len(body))
	}
	out := make([]byte, 0, n+2)
	for i := 0; i+4 <= need; i += 4 {
		var q [4]byte
		for j := range q {
			v, ok := val(body[i+j])
			if !ok {
				return nil, false
			}
			q[j] = v
		}
		out = append(out, q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2, q[2]<<6|q[3])
	}
	if len(out) < int(n) {
		return nil, false
	}
	return out[:n], true
}
