package message

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	// go-message's own header helpers (mail.Header.Subject and friends,
	// used outside this parser) need its charset table registered.
	_ "github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// Charset handling.
//
// go-message keeps its charset hook in a package variable
// (message.CharsetReader) that its charset sub-package sets at init. We do
// not overwrite it: every place where the parser decodes text (bodies,
// RFC 2047 words, RFC 2231 parameters) calls our own lookup directly, so the
// aliases below work without touching state shared with the rest of the
// process. Other packages that want the same behaviour (the IMAP source's
// ENVELOPE decoding, say) can pass CharsetReader to a mime.WordDecoder.

// charsetAlias maps labels seen in real mail that neither the IANA nor the
// WHATWG index knows (or knows as something else) to one they know. ok is
// false when s is not an alias.
func charsetAlias(s string) (string, bool) {
	switch s {
	// GBK is a superset of GB2312; iso-gb2312 is in Zammad fixture mail060.
	case "iso-gb2312", "x-gbk", "gb_2312-80", "chinese":
		return "gbk", true
	case "x-euc-jp":
		return "euc-jp", true
	case "x-sjis", "sjis", "shift-jis", "ms_kanji", "windows-31j", "cp932":
		return "shift_jis", true
	case "ks_c_5601", "ks_c_5601-1987", "ksc5601", "cp949", "x-windows-949":
		return "euc-kr", true
	// As browsers do: 0x80-0x9F in "latin1" mail is cp1252 punctuation.
	case "cp1252", "cp-1252", "win-1252", "ansi", "latin1", "latin-1", "l1", "iso-8859-1", "iso8859-1", "iso_8859-1":
		return "windows-1252", true
	case "tis620", "tis-620", "iso-8859-11":
		return "windows-874", true
	case "x-mac-roman", "mac":
		return "macintosh", true
	case "utf8", "utf-8-sig", "x-utf-8", "unicode-1-1-utf-8":
		return "utf-8", true
	case "ascii", "us", "ansi_x3.4-1968", "ansi-x3.4-1968", "iso-646-us", "iso-ir-6", "cp367", "ibm367", "7bit":
		return "us-ascii", true
	// Labels that declare nothing.
	case "8bit", "none", "default":
		return "", true
	case "unicode-1-1-utf-7", "x-unicode-2-0-utf-7", "csunicode11utf7", "utf7":
		return "utf-7", true
	// "unicode" is what Windows means by UTF-16LE.
	case "unicode":
		return "utf-16le", true
	}
	return "", false
}

// normalizeCharset lower-cases a charset label and strips the junk found in
// the wild: quotes, whitespace, a repeated "charset=" and an RFC 2231
// language suffix ("utf-8*en"). An empty result means "not declared".
func normalizeCharset(label string) string {
	s := strings.ToLower(strings.TrimSpace(label))
	for {
		t := strings.Trim(s, " \t\"';,")
		t = strings.TrimPrefix(t, "charset=")
		if t == s {
			break
		}
		s = t
	}
	if i := strings.IndexAny(s, "* \t;,"); i >= 0 {
		s = s[:i]
	}
	if a, ok := charsetAlias(s); ok {
		return a
	}
	return s
}

// charsetKind says how a normalised label is to be decoded.
type charsetKind int

const (
	csUndeclared charsetKind = iota // no label: UTF-8 if valid, else windows-1252
	csUTF8                          // utf-8 or us-ascii
	csUTF7
	csEncoding // enc is set
	csUnknown
)

type charsetInfo struct {
	kind  charsetKind
	enc   encoding.Encoding
	name  string // normalised label
	label string // the label as declared (lower-case), for problem texts
}

func lookupCharset(label string) charsetInfo {
	info := lookupNormalized(normalizeCharset(label))
	info.label = strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))
	return info
}

func lookupNormalized(name string) charsetInfo {
	switch name {
	case "":
		return charsetInfo{kind: csUndeclared}
	case "utf-8", "us-ascii":
		return charsetInfo{kind: csUTF8, name: name}
	case "utf-7":
		return charsetInfo{kind: csUTF7, name: name}
	}
	if enc := knownEncoding(name); enc != nil {
		return charsetInfo{kind: csEncoding, enc: enc, name: name}
	}
	// Labels such as "windows1252" or "iso8859-15" miss a dash that the
	// indexes insist on.
	for _, p := range []string{"windows", "iso", "cp", "x-"} {
		if !strings.HasPrefix(name, p) {
			continue
		}
		var alt string
		switch p {
		case "windows":
			alt = "windows-" + strings.TrimLeft(name[len(p):], "-_")
		case "iso":
			alt = "iso-" + strings.TrimLeft(strings.ReplaceAll(name[len(p):], "_", "-"), "-")
		case "cp":
			alt = "windows-" + strings.TrimLeft(name[len(p):], "-_")
		case "x-":
			alt = name[len(p):]
		}
		if enc := knownEncoding(normalizeCharset(alt)); enc != nil {
			return charsetInfo{kind: csEncoding, enc: enc, name: name}
		}
	}
	return charsetInfo{kind: csUnknown, name: name}
}

// knownEncoding resolves an already normalised label through the same IANA
// and WHATWG indexes go-message/charset uses; nil when none knows it.
func knownEncoding(name string) encoding.Encoding {
	switch name {
	case "windows-1252":
		return charmap.Windows1252
	case "windows-874":
		return charmap.Windows874
	case "gbk", "gb2312":
		return simplifiedchinese.GBK
	case "shift_jis":
		return japanese.ShiftJIS
	case "euc-jp":
		return japanese.EUCJP
	case "iso-2022-jp":
		return japanese.ISO2022JP
	case "":
		return nil
	}
	if enc, _ := ianaindex.MIME.Encoding(name); enc != nil {
		return enc
	}
	if enc, _ := ianaindex.MIME.Encoding("cs" + name); enc != nil {
		return enc
	}
	if enc, _ := htmlindex.Get(name); enc != nil {
		return enc
	}
	return nil
}

// CharsetReader returns a reader that converts input from the named charset
// to UTF-8. It knows everything go-message/charset knows plus UTF-7 and the
// misspelt labels found in real mail (iso-gb2312, x-sjis, ks_c_5601-1987,
// cp1252, latin1, utf8, "charset=us-ascii" …). For an unknown label it
// returns an error, as mime.WordDecoder and message.CharsetReader expect; the
// parser itself never drops text for that reason (see decodeBytes).
func CharsetReader(label string, input io.Reader) (io.Reader, error) {
	info := lookupCharset(label)
	switch info.kind {
	case csUndeclared, csUTF8:
		return input, nil
	case csUTF7:
		return transform.NewReader(input, &utf7Decoder{}), nil
	case csEncoding:
		return info.enc.NewDecoder().Reader(input), nil
	}
	return nil, fmt.Errorf("message: unknown charset %q", label)
}

// decodeBytes converts b from the declared charset to valid UTF-8 without
// NUL bytes. It never fails: a charset it cannot honour is replaced by a
// best-effort guess, and the returned problem (empty when all went well)
// says what was guessed.
func decodeBytes(b []byte, label string) (string, string) {
	info := lookupCharset(label)
	var (
		s       string
		problem string
	)
	switch info.kind {
	case csUndeclared:
		if utf8.Valid(b) {
			s = string(b)
		} else {
			s = decodeWith(charmap.Windows1252, b)
			problem = "undeclared 8-bit text decoded as windows-1252"
		}
	case csUTF8:
		s, problem = decodeUTF8ish(b, info)
	case csUTF7:
		s = decodeWith(utf7Encoding{}, b)
	case csEncoding:
		if info.enc == japanese.ISO2022JP && hasHighBit(b) {
			// ISO-2022-JP is a 7-bit encoding. Japanese mailers that
			// label Shift_JIS or EUC-JP text as ISO-2022-JP are common
			// enough that guessing beats replacement characters.
			if t, ok := decodeClean(japanese.ShiftJIS, b); ok {
				return stripNUL(t), "text labelled iso-2022-jp is Shift_JIS; decoded as such"
			}
			if t, ok := decodeClean(japanese.EUCJP, b); ok {
				return stripNUL(t), "text labelled iso-2022-jp is EUC-JP; decoded as such"
			}
		}
		if _, single := info.enc.(*charmap.Charmap); single && hasValidMultibyte(b) && utf8.Valid(b) {
			// UTF-8 labelled as Latin-1 and friends: decoding it as
			// labelled would give "Ã¤"; real Latin-1 text is virtually
			// never valid UTF-8 with multi-byte sequences.
			return stripNUL(string(b)), fmt.Sprintf("text labelled %s is UTF-8; read as such", info.label)
		}
		s = decodeWith(info.enc, b)
	default:
		if utf8.Valid(b) {
			s = string(b)
			problem = fmt.Sprintf("unknown charset %q; text kept as UTF-8", info.label)
		} else {
			s = decodeWith(charmap.Windows1252, b)
			problem = fmt.Sprintf("unknown charset %q; text decoded as windows-1252", info.label)
		}
	}
	return stripNUL(s), problem
}

// decodeUTF8ish handles text declared as UTF-8 or US-ASCII that may not be.
func decodeUTF8ish(b []byte, info charsetInfo) (string, string) {
	if utf8.Valid(b) {
		return string(b), ""
	}
	// Legacy 8-bit text with a wrong label has no valid multi-byte
	// sequence at all; real UTF-8 with a few broken bytes has many.
	if info.name == "us-ascii" || !hasValidMultibyte(b) {
		return decodeWith(charmap.Windows1252, b), fmt.Sprintf("text labelled %s is not; decoded as windows-1252", info.label)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD"), "invalid UTF-8 sequences replaced"
}

func hasHighBit(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

func hasValidMultibyte(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r != utf8.RuneError && n > 1 {
			return true
		}
		b = b[n:]
	}
	return false
}

func decodeWith(enc encoding.Encoding, b []byte) string {
	out, _, err := transform.Bytes(enc.NewDecoder(), b)
	if err != nil {
		// x/text decoders replace what they cannot map; an error means
		// something structural, so fall back rather than lose the text.
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

// decodeClean decodes b and reports whether no replacement character was
// needed, i.e. whether the guess at the encoding is plausible.
func decodeClean(enc encoding.Encoding, b []byte) (string, bool) {
	out, _, err := transform.Bytes(enc.NewDecoder(), b)
	if err != nil || !utf8.Valid(out) || bytes.ContainsRune(out, utf8.RuneError) {
		return "", false
	}
	return string(out), true
}

func stripNUL(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "")
}
