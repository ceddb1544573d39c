package decide

import (
	"strings"
	"testing"
)

// TestDigestCommand: what each #digest line asks for, and the answer to
// one that is not understood (issue 21).
func TestDigestCommand(t *testing.T) {
	for _, tc := range []struct {
		line string
		want DigestChange
		err  string
	}{
		{line: "#digest off", want: DigestChange{On: false}},
		{line: "#digest OFF", want: DigestChange{On: false}},
		{line: "#digest on", want: DigestChange{On: true}},
		{line: "#digest at 07:30", want: DigestChange{On: true, At: "07:30"}},
		{line: "#digest at 7:05", want: DigestChange{On: true, At: "07:05"}},
		{line: "#digest at 07:30 Europe/Vienna", want: DigestChange{On: true, At: "07:30", TimeZone: "Europe/Vienna"}},
		{line: "#digest at 23:59 UTC", want: DigestChange{On: true, At: "23:59", TimeZone: "UTC"}},
		{line: "#digest", err: "use #digest off, #digest on or #digest at 07:30"},
		{line: "#digest sometimes", err: "use #digest off"},
		{line: "#digest off please", err: "use #digest off"},
		{line: "#digest at", err: "use #digest off"},
		{line: "#digest at 24:00", err: `"24:00" is not a time of day like 07:30`},
		{line: "#digest at 7.30", err: `"7.30" is not a time of day like 07:30`},
		{line: "#digest at 07:30 Mars/Olympus", err: `"Mars/Olympus" is not a time zone like Europe/Vienna`},
		{line: "#digest at 07:30 Local", err: `"Local" is not a time zone`},
		{line: "#digest at 07:30 Europe/Vienna extra", err: "use #digest off"},
	} {
		cmds, _ := ParseCommands(tc.line)
		if len(cmds) != 1 || cmds[0].Name != "digest" {
			t.Fatalf("%q: parsed as %+v", tc.line, cmds)
		}
		got, err := DigestCommand(cmds[0].Args)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want one containing %q", tc.line, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.line, err)
		case tc.err == "" && got != tc.want:
			t.Errorf("%q: got %+v, want %+v", tc.line, got, tc.want)
		}
	}
}
