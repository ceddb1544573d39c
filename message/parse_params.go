package message

import (
	"sort"
	"strconv"
	"strings"
)

// mediaValue is a parsed Content-Type or Content-Disposition field.
type mediaValue struct {
	value  string            // lower-case: "text/plain", "attachment"
	params map[string]string // lower-case keys, values decoded to UTF-8
}

// parseMediaValue parses "value; key=val; ..." tolerantly. It is used
// instead of mime.ParseMediaType, which rejects the whole field for one
// duplicate or badly quoted parameter and silently drops RFC 2231 values in
// any charset but UTF-8 and US-ASCII — both everyday sights in attachment
// filenames. It never fails; note receives charset guesses.
func parseMediaValue(s string, note func(string)) mediaValue {
	mv := mediaValue{params: map[string]string{}}
	head, rest, _ := strings.Cut(s, ";")
	head = strings.ToLower(strings.Trim(head, " \t\"'"))
	if strings.Contains(head, "=") {
		// "Content-Type: charset=utf-8" and similar: no value at all.
		rest = s
		head = ""
	}
	if i := strings.IndexAny(head, " \t,"); i >= 0 {
		// "text/plain charset=utf-8" (missing semicolon): keep the token.
		if mv2 := strings.TrimSpace(head[i:]); strings.Contains(mv2, "=") {
			rest = mv2 + ";" + rest
		}
		head = head[:i]
	}
	mv.value = head

	type section struct {
		idx      int
		extended bool
		val      string
	}
	plain := map[string]string{}
	sections := map[string][]section{}
	var order []string
	for _, kv := range splitParams(rest) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "" {
			continue
		}
		v = unquoteParam(strings.TrimSpace(v))
		base, idx, ext := splitParamKey(k)
		if idx < 0 && !ext {
			if _, dup := plain[base]; !dup {
				plain[base] = v
				order = append(order, base)
			}
			continue
		}
		if _, seen := sections[base]; !seen {
			order = append(order, base)
		}
		sections[base] = append(sections[base], section{idx: idx, extended: ext, val: v})
	}
	for _, base := range order {
		if secs, ok := sections[base]; ok {
			sort.SliceStable(secs, func(i, j int) bool { return secs[i].idx < secs[j].idx })
			var (
				buf []byte
				cs  string
			)
			for i, sec := range secs {
				v := sec.val
				if sec.extended {
					if i == 0 {
						// charset'language'percent-encoded
						if parts := strings.SplitN(v, "'", 3); len(parts) == 3 {
							cs, v = parts[0], parts[2]
						}
					}
					buf = append(buf, percentDecode(v)...)
				} else {
					buf = append(buf, v...)
				}
			}
			text, problem := decodeBytes(buf, cs)
			if problem != "" && note != nil {
				note("parameter " + base + ": " + problem)
			}
			// The extended form is the better one when both exist.
			mv.params[base] = text
			continue
		}
		if _, ok := mv.params[base]; !ok {
			mv.params[base] = plain[base]
		}
	}
	return mv
}

// splitParams splits on semicolons outside double quotes.
func splitParams(s string) []string {
	var (
		out   []string
		start int
		inQ   bool
		esc   bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			esc = false
		case c == '\\' && inQ:
			esc = true
		case c == '"':
			inQ = !inQ
		case c == ';' && !inQ:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if inQ {
		// A missing closing quote: re-split the unterminated part
		// without quote awareness so later parameters survive.
		tail := strings.Split(s[start:], ";")
		return append(out, tail...)
	}
	return append(out, s[start:])
}

func unquoteParam(v string) string {
	if len(v) == 0 || v[0] != '"' {
		return strings.TrimSpace(v)
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			i++
			b.WriteByte(v[i])
			continue
		}
		if c == '"' {
			break
		}
		b.WriteByte(c)
	}
	return b.String()
}

// splitParamKey splits an RFC 2231 key: "name*2*" → ("name", 2, true),
// "name*" → ("name", -1, true), "name" → ("name", -1, false).
func splitParamKey(k string) (base string, idx int, extended bool) {
	idx = -1
	if strings.HasSuffix(k, "*") {
		extended = true
		k = k[:len(k)-1]
	}
	if i := strings.LastIndexByte(k, '*'); i > 0 {
		if n, err := strconv.Atoi(k[i+1:]); err == nil && n >= 0 && n < 1000 {
			return k[:i], n, extended
		}
	}
	if extended {
		return k, 0, true
	}
	return k, -1, false
}

func percentDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return out
}
