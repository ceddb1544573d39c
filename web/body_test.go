package web

import (
	"reflect"
	"testing"
)

func TestLinkify(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []segment
	}{
		{"no links", []segment{{Text: "no links"}}},
		{"see https://example.com/a?b=1.", []segment{{Text: "see "}, {Text: "https://example.com/a?b=1", URL: "https://example.com/a?b=1"}, {Text: "."}}},
		{"(https://en.wikipedia.org/wiki/Fire_(disambiguation))", []segment{{Text: "("},
			{Text: "https://en.wikipedia.org/wiki/Fire_(disambiguation)", URL: "https://en.wikipedia.org/wiki/Fire_(disambiguation)"}, {Text: ")"}}},
		{"<http://a.example/x>", []segment{{Text: "<"}, {Text: "http://a.example/x", URL: "http://a.example/x"}, {Text: ">"}}},
		{"http:// alone", []segment{{Text: "http:// alone"}}},
		{"javascript:alert(1) ftp://x.example", []segment{{Text: "javascript:alert(1) ftp://x.example"}}},
	} {
		if got := linkify(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("linkify(%q) = %#v, want %#v", c.in, got, c.want)
		}
	}
}

func TestSizesAndStatusNames(t *testing.T) {
	en, de := newTexts()
	for _, c := range []struct {
		tx   *texts
		n    int64
		want string
	}{
		{en, 0, "0 bytes"}, {en, 1023, "1023 bytes"}, {en, 1024, "1 KB"}, {en, 1536, "1.5 KB"},
		{en, 12345, "12 KB"}, {en, 5 << 20, "5 MB"}, {de, 1536, "1,5 KB"}, {de, 3 << 30, "3 GB"}, {de, 10, "10 Bytes"},
	} {
		if got := c.tx.Size(c.n); got != c.want {
			t.Errorf("%s Size(%d) = %q, want %q", c.tx.Lang, c.n, got, c.want)
		}
	}
	for _, c := range []struct {
		tx       *texts
		in, want string
	}{
		{en, "waiting_for_customer", "Waiting For Customer"}, {en, "new", "New"}, {en, "élevé", "Élevé"},
		{de, "waiting_for_customer", "Wartet auf Ihre Antwort"}, {de, "Closed", "Geschlossen"}, {de, "on_review", "On Review"},
	} {
		if got := c.tx.Status(c.in); got != c.want {
			t.Errorf("%s Status(%q) = %q, want %q", c.tx.Lang, c.in, got, c.want)
		}
	}
}

func TestLanguageChoice(t *testing.T) {
	c := newCatalog()
	for tag, want := range map[string]string{"": "en", "en": "en", "de": "de", "de-CH": "de", "fr": "en", "not a tag!": "en"} {
		if got := c.forTag(tag).Lang; got != want {
			t.Errorf("forTag(%q) = %s, want %s", tag, got, want)
		}
	}
	for header, want := range map[string]string{"": "en", "de-DE,de;q=0.9": "de", "fr;q=0.9, de;q=0.8": "de", "fr": "en", "en-GB,de;q=0.5": "en", ";;;": "en"} {
		if got := c.forRequest(header).Lang; got != want {
			t.Errorf("forRequest(%q) = %s, want %s", header, got, want)
		}
	}
}
