package ticket

import (
	"slices"
	"testing"
)

func TestParseCommands(t *testing.T) {
	for _, c := range []struct {
		text  string
		names []string
		rest  string
	}{
		{"#status resolved\r\n#assign me\r\n\r\nThanks!\r\n", []string{"status", "assign"}, "Thanks!\n"},
		{"\n\n#Close\nbye", []string{"close"}, "bye"},
		{"#1 is broken\nsee above", nil, "#1 is broken\nsee above"},
		{"# Heading\ntext", nil, "# Heading\ntext"},
		{"Hello\n#close", nil, "Hello\n#close"},
		{"#frobnicate now\ntext", []string{"frobnicate"}, "text"},
		{"", nil, ""},
	} {
		cmds, rest := parseCommands(c.text)
		var names []string
		for _, x := range cmds {
			names = append(names, x.name)
		}
		if !slices.Equal(names, c.names) || rest != c.rest {
			t.Errorf("parseCommands(%q) = %v, %q; want %v, %q", c.text, names, rest, c.names, c.rest)
		}
	}
	cmds, _ := parseCommands("#participant add <dana@customer.example>\n")
	if len(cmds) != 1 || !slices.Equal(cmds[0].args, []string{"add", "<dana@customer.example>"}) {
		t.Errorf("args: %+v", cmds)
	}
}

func TestNormLines(t *testing.T) {
	got := normLines("> Customer is on the  Legacy plan\r\n\r\n>>  second\tline ")
	if !slices.Equal(got, []string{"customer is on the legacy plan", "second line"}) {
		t.Errorf("normLines: %q", got)
	}
}
