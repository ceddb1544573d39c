package message

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestUTF7(t *testing.T) {
	cases := map[string]string{
		// RFC 2152 examples.
		"A+ImIDkQ.":         "A≢Α.",
		"Hi Mom -+Jjo--!":   "Hi Mom -☺-!",
		"+ZeVnLIqe-":        "日本語",
		"Item 3 is +AKM-1.": "Item 3 is £1.",
		// "+-" is a literal plus; a run ends at any non-base64 byte.
		"1 +- 1 = 2": "1 + 1 = 2",
		"+AGEAYgBj.": "abc.",
		"+AGEAYgBj":  "abc",
		// A surrogate pair (U+1F4E7) and broken input.
		"+2D3c5w-":   "📧",
		"+2D0-x":     "\uFFFDx",
		"caf\xe9":    "caf\uFFFD",
		"trailing +": "trailing +",
		"":           "",
	}
	for in, want := range cases {
		got, problem := decodeBytes([]byte(in), "UTF-7")
		if got != want || problem != "" {
			t.Errorf("UTF-7 %q = %q (%q), want %q", in, got, problem, want)
		}
		// The streaming reader must agree, even one byte at a time.
		r, err := CharsetReader("unicode-1-1-utf-7", iotest.OneByteReader(strings.NewReader(in)))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		if err != nil || string(b) != want {
			t.Errorf("streaming UTF-7 %q = %q %v, want %q", in, b, err, want)
		}
	}
}

func TestCharsetReader(t *testing.T) {
	cases := []struct{ label, in, want string }{
		{"iso-gb2312", "\xc4\xe3\xba\xc3", "你好"},
		{"WINDOWS-874", "\xca\xc7\xd1\xca\xb4\xd5", "สวัสดี"},
		{"ks_c_5601-1987", "\xbe\xc8\xb3\xe7", "안녕"},
		{"x-sjis", "\x83\x65\x83\x58\x83\x67", "テスト"},
		{"cp1252", "\x80", "€"},
		{"latin1", "\xe9", "é"},
		{"iso-8859-1", "\x93", "“"},
		{"utf8", "é", "é"},
		{"ascii", "abc", "abc"},
		{"us-ascii", "abc", "abc"},
		{`"charset=us-ascii"`, "abc", "abc"},
		{"koi8-r", "\xd4\xc5\xd3\xd4", "тест"},
		{"windows1251", "\xf2\xe5\xf1\xf2", "тест"},
		{"iso8859-15", "\xa4", "€"},
		{"utf-8*en", "é", "é"},
	}
	for _, c := range cases {
		r, err := CharsetReader(c.label, strings.NewReader(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.label, err)
			continue
		}
		b, _ := io.ReadAll(r)
		if string(b) != c.want {
			t.Errorf("%s: %q, want %q", c.label, b, c.want)
		}
	}
	for _, unknown := range []string{"x-unknown", "fakescii", "x-invalid", "us-askey"} {
		if _, err := CharsetReader(unknown, strings.NewReader("x")); err == nil {
			t.Errorf("%s: want an error from CharsetReader for an unknown charset", unknown)
		}
	}
}

func TestDecodeBytesGuesses(t *testing.T) {
	cases := []struct{ label, in, want, problem string }{
		{"", "plain", "plain", ""},
		{"", "Grüße", "Grüße", ""},
		{"", "Gr\xfc\xdfe", "Grüße", "undeclared 8-bit text decoded as windows-1252"},
		{"us-ascii", "Gr\xfc\xdfe", "Grüße", "text labelled us-ascii is not; decoded as windows-1252"},
		{"utf-8", "Gr\xfc\xdfe", "Grüße", "text labelled utf-8 is not; decoded as windows-1252"},
		{"utf-8", "Grüße \xff", "Grüße \uFFFD", "invalid UTF-8 sequences replaced"},
		{"iso-8859-1", "Grüße", "Grüße", "text labelled iso-8859-1 is UTF-8; read as such"},
		{"x-martian", "Gr\xfc\xdfe", "Grüße", `unknown charset "x-martian"; text decoded as windows-1252`},
		{"utf-8", "a\x00b", "ab", ""},
		{"utf-16le", "h\x00i\x00", "hi", ""},
	}
	for _, c := range cases {
		got, problem := decodeBytes([]byte(c.in), c.label)
		if got != c.want || problem != c.problem {
			t.Errorf("decodeBytes(%q, %q) = %q, %q; want %q, %q", c.in, c.label, got, problem, c.want, c.problem)
		}
	}
}
