package config

import (
	"fmt"
	"time"
)

// Alerts configures the intake health alerts (issue 21): when a mailbox
// cannot log in, fetch or IDLE, the outbox is stuck or the relay refuses
// every mail for longer than After, one alert mail goes to the projects'
// admins and To (plus each project's alerts_to), and one "recovered" mail
// when it works again.
type Alerts struct {
	// After is how long a cause must last before it is announced
	// (default 15m).
	After time.Duration `mapstructure:"after"`
	// To receives every alert, besides the admins of the projects
	// concerned.
	To []string `mapstructure:"to"`
}

// AlertAfter is alerts.after, 15 minutes when unset.
func (c *Config) AlertAfter() time.Duration {
	if c.Alerts.After > 0 {
		return c.Alerts.After
	}
	return 15 * time.Minute
}

// AlertRecipients are the addresses an alert about project goes to ("":
// about the whole daemon — the outbox, the relay — then every project's
// admins and alerts_to): the project's admins and alerts_to and alerts.to,
// each once.
func (c *Config) AlertRecipients(project string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(list []string) {
		for _, a := range list {
			if a != "" && !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	for i := range c.Projects {
		p := &c.Projects[i]
		if project == "" || p.Key == project {
			add(p.Admins)
			add(p.AlertsTo)
		}
	}
	add(c.Alerts.To)
	return out
}

func (c *Config) validateAlerts() []error {
	var errs []error
	if c.Alerts.After < 0 {
		errs = append(errs, fieldErr("alerts.after", "must not be negative"))
	}
	for i, a := range c.Alerts.To {
		if !validAddress(a) {
			errs = append(errs, fieldErr(fmt.Sprintf("alerts.to[%d]", i), "not an address: %q", a))
		}
	}
	for i := range c.Projects {
		for j, a := range c.Projects[i].AlertsTo {
			if !validAddress(a) {
				errs = append(errs, fieldErr(fmt.Sprintf("projects[%d].alerts_to[%d]", i, j), "not an address: %q", a))
			}
		}
	}
	return errs
}
