package ticket

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/store"
)

// The agents' daily digest (issue 21): an agent's own choice (#digest by
// mail, `ticketgate digest`) is the one kind of digest state the domain
// writes; package digest reads it, makes the digests and marks the days.

// DigestPlanOf is agent's digest schedule in force: the configured one
// (config.DigestFor) overlaid by the agent's own choice pref (nil: none).
func DigestPlanOf(cfg *config.Config, agent string, pref *store.DigestPref) config.DigestPlan {
	plan := cfg.DigestFor(agent)
	if pref == nil {
		return plan
	}
	switch pref.Mode {
	case store.DigestOn:
		plan.On = true
	case store.DigestOff:
		plan.On = false
	}
	if at, ok := config.ParseDigestTime(pref.At); ok {
		plan.At = at
	}
	if pref.TimeZone != "" {
		if loc, err := time.LoadLocation(pref.TimeZone); err == nil {
			plan.Loc = loc
		}
	}
	return plan
}

// DescribeDigest puts a schedule into words for the agent ("at 07:30
// Europe/Berlin on mon, tue, wed, thu, fri", "off").
func DescribeDigest(plan config.DigestPlan) string {
	if !plan.On {
		return "off: no daily digest"
	}
	names := []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	var days []string
	for _, d := range []int{1, 2, 3, 4, 5, 6, 0} {
		if plan.Days[d] {
			days = append(days, names[d])
		}
	}
	if len(days) == 0 {
		return fmt.Sprintf("on at %s %s, but on no day of the week (see digests in the configuration)", config.FormatDigestTime(plan.At), plan.Loc)
	}
	return fmt.Sprintf("daily digest at %s %s on %s", config.FormatDigestTime(plan.At), plan.Loc, strings.Join(days, ", "))
}

// setDigest stores agent's choice, inside tx, and says what is in force
// now.
func (e *Engine) setDigest(tx store.Tx, agent string, c decide.DigestChange, now time.Time) (string, error) {
	agent = strings.ToLower(agent)
	pref, err := tx.DigestPref(agent)
	if err != nil {
		return "", err
	}
	if pref == nil {
		pref = &store.DigestPref{Agent: agent}
	}
	pref.Mode = store.DigestOff
	if c.On {
		pref.Mode = store.DigestOn
	}
	if c.At != "" {
		pref.At = c.At
	}
	if c.TimeZone != "" {
		pref.TimeZone = c.TimeZone
	}
	pref.Updated = now
	if err := tx.PutDigestPref(pref); err != nil {
		return "", err
	}
	return DescribeDigest(DigestPlanOf(e.cfg(), agent, pref)), nil
}

// digestCommand runs an agent's #digest line; the answer says what is in
// force now.
func (e *Engine) digestCommand(tx store.Tx, c decide.Command, cc commandContext) (string, error) {
	if !cc.agent {
		return "", refused("only agents may use #digest")
	}
	change, err := decide.DigestCommand(c.Args)
	if err != nil {
		return "", refused("%s", err.Error())
	}
	return e.setDigest(tx, cc.author, change, cc.now)
}

// SetDigest stores agent's digest choice (`ticketgate digest`), who must
// be an agent or admin of some project, and says what is in force now.
func (e *Engine) SetDigest(ctx context.Context, agent string, c decide.DigestChange) (string, error) {
	agent = strings.ToLower(strings.TrimSpace(agent))
	if !isStaffAnywhere(e.cfg(), agent) {
		return "", refused("%s is not an agent or admin of any project", agent)
	}
	var said string
	err := e.store.Update(ctx, func(tx store.Tx) error {
		var err error
		said, err = e.setDigest(tx, agent, c, e.now().UTC())
		return err
	})
	return said, err
}

// Digest says what digest schedule is in force for agent.
func (e *Engine) Digest(agent string) (string, error) {
	agent = strings.ToLower(strings.TrimSpace(agent))
	var pref *store.DigestPref
	if err := e.store.View(func(tx store.Tx) error {
		var err error
		pref, err = tx.DigestPref(agent)
		return err
	}); err != nil {
		return "", err
	}
	return DescribeDigest(DigestPlanOf(e.cfg(), agent, pref)), nil
}

func isStaffAnywhere(cfg *config.Config, addr string) bool {
	for i := range cfg.Projects {
		if cfg.Projects[i].IsStaff(addr) {
			return true
		}
	}
	return false
}
