package config

import (
	"fmt"
	"net"
	"net/mail"
	"os"
	"os/user"
	"slices"
	"strings"
)

// Admin configures the admin API: always on data_dir/admin.sock (mode
// 0660; the socket's group decides who may use it), optionally on TCP with
// per-agent tokens.
type Admin struct {
	// SocketGroup owns data_dir/admin.sock (and lmtp.sock), so agents'
	// shells and the MTA need no root. Empty: the daemon's own group.
	SocketGroup string `mapstructure:"socket_group"`
	// Listen is an optional TCP address; TLS is required unless it is
	// loopback.
	Listen      string       `mapstructure:"listen"`
	TLSCertFile string       `mapstructure:"tls_cert_file"`
	TLSKeyFile  string       `mapstructure:"tls_key_file"`
	Tokens      []AdminToken `mapstructure:"tokens"`
	// Users maps a Unix user (name or numeric uid) to the agent address it
	// acts as on admin.sock: the kernel reports who connected
	// (SO_PEERCRED), so nobody can claim another agent's identity there.
	// A user not listed may only ask for the version.
	Users map[string]string `mapstructure:"users"`
	// Operators are the addresses (agents, or addresses only Users map
	// to) that may run backup and purge and see every project.
	Operators []string `mapstructure:"operators"`
}

// AdminToken gives one agent an API token (read from a file) for TCP.
type AdminToken struct {
	Agent     string `mapstructure:"agent"`
	TokenFile string `mapstructure:"token_file"`
}

// IsOperator reports whether addr is listed in admin.operators.
func (a *Admin) IsOperator(addr string) bool {
	for _, o := range a.Operators {
		if strings.EqualFold(strings.TrimSpace(o), strings.TrimSpace(addr)) {
			return true
		}
	}
	return false
}

// IsStaffAnywhere reports whether addr is an agent or admin of any project.
func (c *Config) IsStaffAnywhere(addr string) bool {
	for i := range c.Projects {
		if c.Projects[i].IsStaff(addr) {
			return true
		}
	}
	return false
}

func (a *Admin) validate(c *Config) []error {
	var errs []error
	if a.Listen != "" {
		host, _, err := net.SplitHostPort(a.Listen)
		if err != nil {
			errs = append(errs, fieldErr("admin.listen", "invalid address %q", a.Listen))
		} else if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" && (a.TLSCertFile == "" || a.TLSKeyFile == "") {
			errs = append(errs, fieldErr("admin.listen", "TLS (tls_cert_file, tls_key_file) is required on a non-loopback address"))
		}
		if len(a.Tokens) == 0 {
			errs = append(errs, fieldErr("admin.tokens", "required when admin.listen is set: every TCP request needs an agent's token"))
		}
	}
	for i, t := range a.Tokens {
		key := fmt.Sprintf("admin.tokens[%d]", i)
		if !c.IsStaffAnywhere(t.Agent) && !a.IsOperator(t.Agent) {
			errs = append(errs, fieldErr(key+".agent", "%q is no project's agent or admin, nor an operator", t.Agent))
		}
		if t.TokenFile == "" {
			errs = append(errs, fieldErr(key+".token_file", "required"))
		}
	}
	users := make([]string, 0, len(a.Users))
	for u := range a.Users {
		users = append(users, u)
	}
	slices.Sort(users)
	for _, u := range users {
		addr := a.Users[u]
		key := "admin.users." + u
		switch {
		case strings.TrimSpace(u) == "":
			errs = append(errs, fieldErr("admin.users", "a Unix user name must not be empty"))
		case !c.IsStaffAnywhere(addr) && !a.IsOperator(addr):
			errs = append(errs, fieldErr(key, "%q is no project's agent or admin, nor an operator", addr))
		}
	}
	for i, o := range a.Operators {
		if _, err := mail.ParseAddress(o); err != nil || strings.Contains(o, "<") {
			errs = append(errs, fieldErr(fmt.Sprintf("admin.operators[%d]", i), "%q is not a bare mail address", o))
		}
	}
	if a.SocketGroup != "" {
		if _, err := user.LookupGroup(a.SocketGroup); err != nil {
			errs = append(errs, fieldErr("admin.socket_group", "no such group %q", a.SocketGroup))
		}
	}
	return errs
}

// LoadTokens reads every token file: token → agent.
func (a *Admin) LoadTokens() (map[string]string, error) {
	out := map[string]string{}
	for i, t := range a.Tokens {
		b, err := os.ReadFile(t.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("admin.tokens[%d].token_file: %w", i, err)
		}
		tok := strings.TrimSpace(string(b))
		if len(tok) < 16 {
			return nil, fmt.Errorf("admin.tokens[%d].token_file: token shorter than 16 characters", i)
		}
		out[tok] = strings.ToLower(t.Agent)
	}
	return out, nil
}
