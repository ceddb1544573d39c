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
)

// asDataDirOwner runs an offline command that writes data_dir files
// (restore, compact) so that the daemon can still open them afterwards:
// the unit runs as the data_dir's owner, and a root-owned ticketgate.db
// makes it restart-loop. Run as that owner, fn just runs. Run as root,
// fn runs and every file and folder in dir is then given back to the
// owner, with ticketgate.db's mode kept. Run as anyone else, it refuses:
// the new files would be that user's.
func asDataDirOwner(dir, what string, fn func() error) error {
	st, err := os.Stat(dir)
	euid := os.Geteuid()
	if errors.Is(err, fs.ErrNotExist) {
		if euid == 0 {
			return fmt.Errorf("data_dir %s does not exist; create it owned by the service user first (install -d -o ticketgate -g ticketgate -m 0750 %s), so that the restored files can be given to that user", dir, dir)
		}
		return fn() // created by us, for us
	}
	if err != nil {
		return err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fn()
	}
	uid, gid := int(sys.Uid), int(sys.Gid)
	switch euid {
	case uid:
		return fn()
	case 0:
	default:
		return fmt.Errorf("data_dir %s belongs to %s, but you are %s: run it as that user (sudo -u %s ticketgate %s …), or the daemon could not open the files written now", dir, userName(uid), userName(euid), userName(uid), what)
	}
	db := filepath.Join(dir, "ticketgate.db")
	var dbMode fs.FileMode
	if dst, err := os.Stat(db); err == nil {
		dbMode = dst.Mode().Perm()
	}
	ferr := fn()
	if dbMode != 0 {
		if err := os.Chmod(db, dbMode); err != nil && !errors.Is(err, fs.ErrNotExist) && ferr == nil {
			ferr = err
		}
	}
	// Even after a failure: whatever fn left behind must not be root's.
	werr := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if s, ok := info.Sys().(*syscall.Stat_t); ok && (int(s.Uid) != uid || int(s.Gid) != gid) {
			return os.Lchown(path, uid, gid)
		}
		return nil
	})
	if ferr != nil {
		return ferr
	}
	if werr != nil {
		return fmt.Errorf("giving the files in %s back to %s: %w", dir, userName(uid), werr)
	}
	return nil
}

func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return "uid " + strconv.Itoa(uid)
}
