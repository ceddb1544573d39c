package tnef

import (
	"encoding/binary"
	"hash/crc32"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// The compressed RTF header's type field ([MS-OXRTFCP] 2.1.3.1.1).
const (
	compressedLZFu   = 0x75465A4C // "LZFu"
	uncompressedMELA = 0x414C454D // "MELA"
)

// rtfPrebuffer is the dictionary's initial content ([MS-OXRTFCP] 3.1.3.1).
const rtfPrebuffer = "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx"

// DecompressRTF decodes a PidTagRtfCompressed value ([MS-OXRTFCP]): LZFu
// compressed (the CRC is checked) or stored ("MELA"). It returns at most
// max bytes; more is a KindLimit error.
func DecompressRTF(b []byte, max int) ([]byte, error) {
	if len(b) < 16 {
		return nil, newError(KindRTF, 0, "%d bytes, too short for a compressed RTF header", len(b))
	}
	compSize := int64(binary.LittleEndian.Uint32(b[0:]))
	rawSize := int64(binary.LittleEndian.Uint32(b[4:]))
	typ := binary.LittleEndian.Uint32(b[8:])
	crc := binary.LittleEndian.Uint32(b[12:])
	if rawSize > int64(max) {
		return nil, newError(KindLimit, 4, "RTF body of %d bytes, more than %d", rawSize, max)
	}
	in := b[16:]
	if compSize >= 12 && compSize-12 < int64(len(in)) {
		in = in[:compSize-12]
	}
	switch typ {
	case uncompressedMELA:
		if rawSize > int64(len(in)) {
			return nil, newError(KindRTF, 16, "stored RTF of %d bytes has %d", rawSize, len(in))
		}
		return append([]byte(nil), in[:rawSize]...), nil
	case compressedLZFu:
	default:
		return nil, newError(KindRTF, 8, "compression type %#08x", typ)
	}
	if got := ^crc32.Update(^uint32(0), crc32.IEEETable, in); got != crc {
		return nil, newError(KindRTF, 12, "CRC %#08x, want %#08x", got, crc)
	}
	var dict [4096]byte
	copy(dict[:], rtfPrebuffer)
	w := len(rtfPrebuffer)
	out := make([]byte, 0, rawSize)
	put := func(c byte) error {
		if len(out) >= max {
			return newError(KindLimit, 0, "RTF body larger than %d bytes", max)
		}
		out = append(out, c)
		dict[w] = c
		w = (w + 1) % len(dict)
		return nil
	}
	for i := 0; i < len(in); {
		control := in[i]
		i++
		for bit := 0; bit < 8 && i < len(in); bit++ {
			if control&(1<<bit) == 0 {
				if err := put(in[i]); err != nil {
					return nil, err
				}
				i++
				continue
			}
			if i+1 >= len(in) {
				return nil, newError(KindRTF, int64(16+i), "reference cut off")
			}
			ref := int(in[i])<<8 | int(in[i+1])
			i += 2
			offset, length := ref>>4, ref&0xF+2
			if offset == w {
				return trimRaw(out, rawSize), nil
			}
			for k := 0; k < length; k++ {
				if err := put(dict[(offset+k)%len(dict)]); err != nil {
					return nil, err
				}
			}
		}
	}
	return trimRaw(out, rawSize), nil
}

func trimRaw(out []byte, rawSize int64) []byte {
	if int64(len(out)) > rawSize {
		return out[:rawSize]
	}
	return out
}

// rtfSkip lists the destinations whose content is not text.
var rtfSkip = map[string]bool{
	"fonttbl": true, "colortbl": true, "stylesheet": true, "info": true, "pict": true,
	"object": true, "header": true, "footer": true, "headerl": true, "headerr": true,
	"headerf": true, "footerl": true, "footerr": true, "footerf": true, "themedata": true,
	"colorschememapping": true, "latentstyles": true, "datastore": true, "xmlnstbl": true,
	"listtable": true, "listoverridetable": true, "rsidtbl": true, "generator": true,
	"fldinst": true, "filetbl": true, "revtbl": true, "mmathPr": true, "pgdsctbl": true,
}

// maxRTFDepth bounds the group nesting RTFText follows; deeper groups are
// skipped.
const maxRTFDepth = 256

// RTFText turns an RTF document into plain text: paragraphs and line
// breaks become newlines, \'hh and \uN become characters, and what is
// not text (font and colour tables, pictures, fields' instructions, the
// RTF-only parts of HTML wrapped in RTF) is left out. Its work is linear
// in the input.
func RTFText(rtf []byte) string {
	type group struct {
		skip bool
		uc   int
	}
	var sb strings.Builder
	stack := []group{{uc: 1}}
	cp := charmap.Windows1252
	htmlrtf := false
	pendingSkip := 0 // characters still to skip after \uN
	emit := func(s string) {
		if pendingSkip > 0 {
			pendingSkip--
			return
		}
		if !stack[len(stack)-1].skip && !htmlrtf {
			sb.WriteString(s)
		}
	}
	for i := 0; i < len(rtf); {
		c := rtf[i]
		switch c {
		case '{':
			g := stack[len(stack)-1]
			if len(stack) >= maxRTFDepth {
				g.skip = true
			}
			stack = append(stack, g)
			i++
			continue
		case '}':
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			i++
			continue
		case '\r', '\n', 0:
			i++
			continue
		case '\\':
		default:
			if c < 0x80 {
				emit(string(rune(c)))
			} else {
				emit(string(cp.DecodeByte(c)))
			}
			i++
			continue
		}
		// A control symbol or word.
		i++
		if i >= len(rtf) {
			break
		}
		c = rtf[i]
		if !isLetter(c) {
			i++
			switch c {
			case '\\', '{', '}':
				emit(string(rune(c)))
			case '\'':
				if i+2 <= len(rtf) {
					if v, err := strconv.ParseUint(string(rtf[i:i+2]), 16, 8); err == nil {
						emit(string(cp.DecodeByte(byte(v))))
					}
					i += 2
				}
			case '*':
				stack[len(stack)-1].skip = true
			case '~':
				emit("\u00a0")
			case '_':
				emit("-")
			case '\n', '\r':
				emit("\n")
			case '\t':
				emit("\t")
			}
			continue
		}
		j := i
		for j < len(rtf) && isLetter(rtf[j]) && j-i < 32 {
			j++
		}
		word := string(rtf[i:j])
		k := j
		if k < len(rtf) && rtf[k] == '-' {
			k++
		}
		for k < len(rtf) && rtf[k] >= '0' && rtf[k] <= '9' && k-j < 10 {
			k++
		}
		param, hasParam := 0, k > j
		if hasParam {
			p, err := strconv.Atoi(string(rtf[j:k]))
			hasParam = err == nil
			param = p
		}
		if k < len(rtf) && rtf[k] == ' ' {
			k++
		}
		i = k
		g := &stack[len(stack)-1]
		switch word {
		case "par", "line", "row", "sect", "page":
			emit("\n")
		case "tab", "cell":
			emit("\t")
		case "emdash":
			emit("—")
		case "endash":
			emit("–")
		case "bullet":
			emit("•")
		case "lquote":
			emit("‘")
		case "rquote":
			emit("’")
		case "ldblquote":
			emit("“")
		case "rdblquote":
			emit("”")
		case "uc":
			if hasParam && param >= 0 && param < 10 {
				g.uc = param
			}
		case "u":
			if hasParam {
				r := rune(param)
				if r < 0 {
					r += 65536
				}
				if !utf8.ValidRune(r) {
					r = utf8.RuneError
				}
				emit(string(r))
				pendingSkip = g.uc
			}
		case "ansicpg":
			if enc, ok := codepage(uint32(param)).(*charmap.Charmap); ok {
				cp = enc
			}
		case "htmlrtf":
			htmlrtf = !hasParam || param != 0
		case "bin":
			if hasParam && param > 0 {
				i += min(param, len(rtf)-i)
			}
		default:
			if rtfSkip[word] {
				g.skip = true
			}
		}
	}
	lines := strings.Split(sb.String(), "\n")
	for n, l := range lines {
		lines[n] = strings.TrimRight(l, " \t")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
