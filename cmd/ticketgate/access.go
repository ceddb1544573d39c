package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/ticketgate/ticketgate/config"
)

// serviceUser is the User= of the shipped unit: the user check-config
// checks by default.
const serviceUser = "ticketgate"

// neededFile is a file or folder the daemon must reach, with its key.
type neededFile struct {
	key, path string
	write     bool
}

// daemonFiles lists the secret files the daemon reads and the data_dir it
// writes, for `check-config --user`.
func daemonFiles(cfg *config.Config) []neededFile {
	var out []neededFile
	add := func(key, path string) {
		if path != "" {
			out = append(out, neededFile{key: key, path: path})
		}
	}
	oauth := func(pre string, o *config.OAuth2) {
		if o != nil {
			add(pre+".client_secret_file", o.ClientSecretFile)
			add(pre+".refresh_token_file", o.RefreshTokenFile)
		}
	}
	if cfg.Outbound.Transport == "smtp" {
		add("outbound.smtp.password_file", cfg.Outbound.SMTP.PasswordFile)
		oauth("outbound.smtp.oauth2", cfg.Outbound.SMTP.OAuth2)
	}
	for i, p := range cfg.Projects {
		if m := p.IMAP; m != nil {
			pre := fmt.Sprintf("projects[%d].imap", i)
			add(pre+".password_file", m.PasswordFile)
			add(pre+".token_file", m.TokenFile)
			oauth(pre+".oauth2", m.OAuth2)
		}
		for j, w := range p.Webhooks {
			pre := fmt.Sprintf("projects[%d].webhooks[%d]", i, j)
			add(pre+".url_file", w.URLFile)
			add(pre+".secret_file", w.SecretFile)
		}
	}
	for i, t := range cfg.Admin.Tokens {
		add(fmt.Sprintf("admin.tokens[%d].token_file", i), t.TokenFile)
	}
	if o := cfg.Web.OIDC; o != nil {
		add("web.oidc.client_secret_file", o.ClientSecretFile)
	}
	add("admin.tls_cert_file", cfg.Admin.TLSCertFile)
	add("admin.tls_key_file", cfg.Admin.TLSKeyFile)
	out = append(out, neededFile{key: "data_dir", path: cfg.DataDir, write: true})
	if db := filepath.Join(cfg.DataDir, "ticketgate.db"); exists(db) {
		out = append(out, neededFile{key: "data_dir", path: db, write: true})
	}
	return out
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// accessProblems says which of the daemon's files u could not read (or,
// for data_dir, write), judged by the permission bits along each path.
func accessProblems(cfg *config.Config, u *user.User) []string {
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return []string{fmt.Sprintf("user %s: uid %q", u.Username, u.Uid)}
	}
	gids := map[int]bool{}
	ids, _ := u.GroupIds()
	for _, g := range append(ids, u.Gid) {
		if n, err := strconv.Atoi(g); err == nil {
			gids[n] = true
		}
	}
	var out []string
	for _, f := range daemonFiles(cfg) {
		verb, bits := "read", uint32(4)
		if f.write {
			verb, bits = "write", 2
		}
		if err := reach(f.path, uid, gids, bits); err != nil {
			if errors.Is(err, fs.ErrNotExist) && f.key == "data_dir" {
				continue // created at start (systemd: StateDirectory)
			}
			out = append(out, fmt.Sprintf("%s: user %s cannot %s %s: %v", f.key, u.Username, verb, f.path, err))
		}
	}
	return out
}

// reach checks that uid (with groups gids) may pass every folder above
// path and has bits (4 read, 2 write) on path itself; a folder needs
// search permission as well.
func reach(path string, uid int, gids map[int]bool, bits uint32) error {
	path, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if err := allowed(dir, uid, gids, 1); err != nil {
			return err
		}
		if dir == filepath.Dir(dir) {
			break
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.IsDir() {
		bits |= 1
	}
	return allowed(path, uid, gids, bits)
}

func allowed(path string, uid int, gids map[int]bool, bits uint32) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if uid == 0 {
		return nil
	}
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	mode := uint32(st.Mode().Perm())
	var have uint32
	switch {
	case int(s.Uid) == uid:
		have = mode >> 6 & 7
	case gids[int(s.Gid)]:
		have = mode >> 3 & 7
	default:
		have = mode & 7
	}
	if have&bits != bits {
		return fmt.Errorf("%s is %s:%s %04o", path, userName(int(s.Uid)), groupName(int(s.Gid)), mode)
	}
	return nil
}

func groupName(gid int) string {
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		return g.Name
	}
	return strconv.Itoa(gid)
}
