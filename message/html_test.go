package message

import "testing"

func TestHTMLToText(t *testing.T) {
	cases := map[string]string{
		"<p>one</p><p>two</p>":                                  "one\n\ntwo",
		"<div>a</div><div>b</div>":                              "a\nb",
		"a<br>b<br/>c<br />d<BR clear=all>e":                    "a\nb\nc\nd\ne",
		"<ul><li>x</li><li>y</li></ul>":                         "- x\n- y",
		"<table><tr><td>k</td><td>v</td></tr></table>":          "k v",
		"&lt;b&gt; &amp; &quot;q&quot; &euro;&nbsp;5":           "<b> & \"q\" € 5",
		`<a href="https://x.example/a?b=1&amp;c=2">go</a>`:      "go <https://x.example/a?b=1&c=2>",
		`<a href="https://x.example/">x.example</a>`:            "x.example",
		`<a href="mailto:a@b.example">a@b.example</a>`:          "a@b.example",
		"<a\nhref=\"https://x.example/\">multi\nline</a> after": "multi line <https://x.example/> after",
		// html2text alone hides everything after these.
		`<a name="top"></a>still visible`:                            "still visible",
		"<head><title>T</title><body>text":                           "text",
		"<html><head><style>p{}</style></head><body>x</body></html>": "x",
		"<!-- <p>hidden</p> -->shown":                                "shown",
		"<!--[if mso]><b>mso</b><![endif]-->shown":                   "shown",
		"<script>var a = '<p>';</script>shown":                       "shown",
		"<body>inside</body><div>after body</div>":                   "inside\nafter body",
		"text<div>block</div>more":                                   "text\nblock\nmore",
		"<p>\n  spaced   out\n</p>":                                  "spaced out",
		"":                                                           "",
	}
	for in, want := range cases {
		if got := htmlToText(in); got != want {
			t.Errorf("htmlToText(%q) = %q, want %q", in, got, want)
		}
	}
}
