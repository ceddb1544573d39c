package config

import (
	"fmt"
	"time"
)

// Limits protects the gateway and everyone it mails: rate limits on what
// we send automatically, suppression after permanent bounces, and an
// inbound flood limit per sender.
type Limits struct {
	// AutoPerRecipient, AutoPerTicket and AutoPerProject cap automatic
	// mail (auto-replies, status notifications, refusals — never a
	// person's written answer) in a sliding window.
	AutoPerRecipient Rate `mapstructure:"auto_per_recipient"`
	AutoPerTicket    Rate `mapstructure:"auto_per_ticket"`
	AutoPerProject   Rate `mapstructure:"auto_per_project"`
	// NewTicketsPerSender caps the tickets one sender opens; more mail
	// that would open a ticket is answered 451 (SMTP/LMTP) so the sending
	// server backs off.
	NewTicketsPerSender Rate `mapstructure:"new_tickets_per_sender"`
	// RelayPerTicket and RelayPerSender cap the copies of customers'
	// comments mailed to a ticket's other customers (a person's mail, so
	// the auto_* limits do not count it). Past either, the copies of a
	// comment are held (recorded, not sent) and the agents told.
	RelayPerTicket Rate `mapstructure:"relay_per_ticket"`
	RelayPerSender Rate `mapstructure:"relay_per_sender"`
	// SuppressDays keeps mail away from an address after a permanent
	// bounce.
	SuppressDays int `mapstructure:"suppress_days"`
	// MaxAttachments, MaxHeaderBytes and MaxMIMEDepth refuse mail beyond
	// them (the sender is told, the agents see a note).
	MaxAttachments int `mapstructure:"max_attachments"`
	MaxHeaderBytes int `mapstructure:"max_header_bytes"`
	MaxMIMEDepth   int `mapstructure:"max_mime_depth"`
}

// Rate is "Count events per Per".
type Rate struct {
	Count int           `mapstructure:"count"`
	Per   time.Duration `mapstructure:"per"`
}

func defaultLimits() Limits {
	return Limits{
		AutoPerRecipient:    Rate{Count: 10, Per: 3 * time.Hour},
		AutoPerTicket:       Rate{Count: 20, Per: time.Hour},
		AutoPerProject:      Rate{Count: 1000, Per: time.Hour},
		NewTicketsPerSender: Rate{Count: 30, Per: time.Hour},
		RelayPerTicket:      Rate{Count: 60, Per: time.Hour},
		RelayPerSender:      Rate{Count: 100, Per: 24 * time.Hour},
		SuppressDays:        60,
		MaxAttachments:      100,
		MaxHeaderBytes:      1 << 20,
		MaxMIMEDepth:        20,
	}
}

func (l *Limits) validate() []error {
	var errs []error
	// Slices, not maps: problems are reported in the order of the keys
	// in the file, the same on every run.
	for _, lr := range []struct {
		key string
		r   Rate
	}{
		{"limits.auto_per_recipient", l.AutoPerRecipient}, {"limits.auto_per_ticket", l.AutoPerTicket},
		{"limits.auto_per_project", l.AutoPerProject}, {"limits.new_tickets_per_sender", l.NewTicketsPerSender},
		{"limits.relay_per_ticket", l.RelayPerTicket}, {"limits.relay_per_sender", l.RelayPerSender},
	} {
		key, r := lr.key, lr.r
		if r.Count <= 0 {
			errs = append(errs, fieldErr(key+".count", "must be greater than 0"))
		}
		if r.Per <= 0 {
			errs = append(errs, fieldErr(key+".per", "must be a positive duration"))
		}
	}
	for _, kv := range []struct {
		key string
		v   int
	}{{"limits.suppress_days", l.SuppressDays}, {"limits.max_attachments", l.MaxAttachments},
		{"limits.max_header_bytes", l.MaxHeaderBytes}, {"limits.max_mime_depth", l.MaxMIMEDepth}} {
		if kv.v <= 0 {
			errs = append(errs, fieldErr(kv.key, "must be greater than 0"))
		}
	}
	return errs
}

// String says a rate the way logs and notes do: "10 per 3h0m0s".
func (r Rate) String() string { return fmt.Sprintf("%d per %s", r.Count, r.Per) }

// AlwaysMail reports whether addr is on the project's allow-list: it gets
// automatic mail whatever the rate limits say.
func (p *Project) AlwaysMail(addr string) bool {
	for _, a := range p.AlwaysMailTo {
		if equalFoldASCII(a, addr) {
			return true
		}
	}
	return false
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
