package ingest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/message"
)

func nested(depth int) string {
	var b strings.Builder
	b.WriteString("From: a@b.example\r\nSubject: deep\r\nMIME-Version: 1.0\r\n")
	for i := range depth {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\nhello\r\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.String()
}

func TestRefuse(t *testing.T) {
	cfg := config.Default()
	cfg.Limits.MaxMIMEDepth = 5
	cfg.Limits.MaxHeaderBytes = 2000
	cases := []struct {
		name, raw, want string
	}{
		{"shallow", nested(5), ""},
		{"too deep", nested(6), "nested too deep (6 levels, at most 5)"},
		{"header too large", "From: a@b.example\r\nX-Junk: " + strings.Repeat("x", 3000) + "\r\n\r\nhi\r\n", "header too large"},
		{"ordinary", "From: a@b.example\r\nSubject: hi\r\n\r\nhi\r\n", ""},
	}
	for _, c := range cases {
		m, err := message.Parse(strings.NewReader(c.raw), message.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := refuse(cfg, m)
		switch {
		case c.want == "" && got != nil:
			t.Errorf("%s: refused: %v", c.name, got)
		case c.want != "" && (got == nil || !strings.Contains(got.Message, c.want)):
			t.Errorf("%s: got %v, want %q", c.name, got, c.want)
		}
	}
}
