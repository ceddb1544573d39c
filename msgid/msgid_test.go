package msgid

import (
	"fmt"
	"testing"
)

func TestCanonical(t *testing.T) {
	cases := map[string]string{
		"<Abc.123@Mail.Example.COM>":  "Abc.123@mail.example.com",
		"  <abc@x.example>  ":         "abc@x.example",
		"<abc\r\n @x.example>":        "abc@x.example",
		"<abc@x.example> (a comment)": "abc@x.example",
		"(c) <abc@X.example>":         "abc@x.example",
		"abc@X.EXAMPLE":               "abc@x.example",
		"<<double@brackets.example>>": "double@brackets.example",
		"<no-at-sign>":                "no-at-sign",
		"<a@b@Multi.Example>":         "a@b@multi.example",
		"":                            "",
	}
	for in, want := range cases {
		if got := Canonical(in); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseList(t *testing.T) {
	cases := map[string]string{
		"<a@x> <b@y>":    "[a@x b@y]",
		"<a@x><b@y>":     "[a@x b@y]",
		"<a@x>,<b@y>":    "[a@x b@y]",
		"a@x b@y":        "[a@x b@y]",
		"<a@x> b@y <c@z": "[a@x b@y c@z]",
		"<a@x> <a@x>":    "[a@x]",
		`Your message of "Mon, 1 Jan 2001 10:00:00" <a@x>`: "[a@x]",
		"<a@X.Example>\r\n\t<b@Y.Example>":                 "[a@x.example b@y.example]",
		"single-token-without-at":                          "[single-token-without-at]",
		"some words without ids":                           "[]",
	}
	for in, want := range cases {
		if got := fmt.Sprint(ParseList(in)); got != want {
			t.Errorf("ParseList(%q) = %s, want %s", in, got, want)
		}
	}
}
