package decide

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
)

// DigestChange is what an agent's "#digest …" line asks for (issue 21):
// digests off, on, or on at a time of day (in a zone).
type DigestChange struct {
	// On: the agent wants digests; false: no more digests.
	On bool
	// At is the time of day ("07:30", normalised), "" to keep the one in
	// force; TimeZone the zone it is in, "" to keep the one in force.
	At       string
	TimeZone string
}

// errDigestUsage is the answer to a #digest line that is not understood.
var errDigestUsage = errors.New("use #digest off, #digest on or #digest at 07:30 (optionally followed by a time zone like Europe/Vienna)")

// DigestCommand reads the arguments of #digest: "off", "on", "at 07:30"
// or "at 07:30 Europe/Vienna". Its error is the answer for the agent.
func DigestCommand(args []string) (DigestChange, error) {
	if len(args) == 0 {
		return DigestChange{}, errDigestUsage
	}
	switch strings.ToLower(args[0]) {
	case "off":
		if len(args) != 1 {
			return DigestChange{}, errDigestUsage
		}
		return DigestChange{On: false}, nil
	case "on":
		if len(args) != 1 {
			return DigestChange{}, errDigestUsage
		}
		return DigestChange{On: true}, nil
	case "at":
		if len(args) < 2 || len(args) > 3 {
			return DigestChange{}, errDigestUsage
		}
		m, ok := config.ParseDigestTime(args[1])
		if !ok {
			return DigestChange{}, fmt.Errorf("%q is not a time of day like 07:30", args[1])
		}
		c := DigestChange{On: true, At: config.FormatDigestTime(m)}
		if len(args) == 3 {
			// "Local" would mean the daemon's zone, which the agent
			// cannot know: only named zones.
			if _, err := time.LoadLocation(args[2]); err != nil || args[2] == "Local" || args[2] == "" {
				return DigestChange{}, fmt.Errorf("%q is not a time zone like Europe/Vienna", args[2])
			}
			c.TimeZone = args[2]
		}
		return c, nil
	}
	return DigestChange{}, errDigestUsage
}
