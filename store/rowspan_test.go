package store

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestStringSpanEveryOffset holds the row reader's string scan (eight
// bytes at a time) to encoding/json for every special byte — quote,
// backslash escapes, a control character, bytes that are not ASCII, a
// broken escape — at every offset across two words, with and without
// the rest of a row after the string.
func TestStringSpanEveryOffset(t *testing.T) {
	specials := []string{`\"`, `\\`, `\n`, `\u00e9`, `\ud83d\ude00`, "\x01", "\x1f", "é", "\xff", "\x7f", ` `, `\x`, `\`}
	for _, tail := range []string{``, `,"k":1}`, `}`} {
		for pre := 0; pre <= 17; pre++ {
			for _, sp := range specials {
				for post := 0; post <= 9; post++ {
					body := strings.Repeat("a", pre) + sp + strings.Repeat("b", post)
					row := `"` + body + `"` + tail
					// The first value of the row, as encoding/json reads it.
					var want string
					dec := json.NewDecoder(strings.NewReader(row))
					werr := dec.Decode(&want)
					r := newRowReader([]byte(row))
					got := r.str()
					if werr != nil {
						if !r.bad {
							t.Errorf("%q: read %q, encoding/json: %v", row, got, werr)
						}
						continue
					}
					if r.bad || got != want {
						t.Errorf("%q: read %q (bad %v), want %q", row, got, r.bad, want)
					}
					if int64(r.i) != dec.InputOffset() {
						t.Errorf("%q: stopped at %d, want %d", row, r.i, dec.InputOffset())
					}
				}
			}
		}
	}
	// Unterminated strings are bad whatever their length.
	for n := 0; n <= 17; n++ {
		r := newRowReader([]byte(`"` + strings.Repeat("a", n)))
		if r.str(); !r.bad {
			t.Errorf("unterminated string of %d bytes read", n)
		}
	}
}
