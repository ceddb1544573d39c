// Package dovecottest starts a throwaway Dovecot 2.3 IMAP server for
// integration tests: loopback port, passwd-file user, Maildir in a temp
// folder, no TLS. Tests using it skip when dovecot is not installed (CI
// installs dovecot-imapd).
package dovecottest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// User and Password are the one account of the server.
const (
	User     = "support"
	Password = "secret"
)

// Server is a running Dovecot.
type Server struct {
	Dir  string
	Host string
	Port int

	cmd  *exec.Cmd
	log  *bytes.Buffer
	once sync.Once
}

// Addr is host:port of the IMAP listener.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Binary returns the dovecot executable, or "" when it is not installed.
func Binary() string {
	if p, err := exec.LookPath("dovecot"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/dovecot"); err == nil {
		return "/usr/sbin/dovecot"
	}
	return ""
}

// Start starts Dovecot and stops it when the test ends; it skips the test
// when dovecot is not installed.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin := Binary()
	if bin == "" {
		tb.Skip("dovecot is not installed (apt-get install dovecot-imapd); skipping the IMAP integration test")
	}
	dir := tb.TempDir()
	port := freePort(tb)
	conf, err := writeConfig(dir, port)
	if err != nil {
		tb.Fatalf("dovecottest: %v", err)
	}
	s := &Server{Dir: dir, Host: "127.0.0.1", Port: port, log: &bytes.Buffer{}}
	s.cmd = exec.Command(bin, "-F", "-c", conf)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	// Its own process group: Stop can end the imap processes too.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		tb.Fatalf("dovecottest: start: %v", err)
	}
	tb.Cleanup(s.Stop)
	// Dovecot gives this test no sign that it listens (no sd_notify
	// outside systemd): a short dial loop with a deadline is the one wait
	// here that polls.
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			s.Stop()
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			tb.Fatalf("dovecottest: dovecot did not listen on %s: %v\n%s\n%s", s.Addr(), err, s.log.String(), log)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

// Stop stops Dovecot. Connected clients are kicked first (doveadm kick):
// with a client in IDLE, Dovecot's own shutdown waits 10 s for its imap
// processes. Then SIGTERM, and SIGKILL to its process group if it has not
// exited after 10 s.
func (s *Server) Stop() {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		exec.CommandContext(ctx, "doveadm", "-c", filepath.Join(s.Dir, "dovecot.conf"), "kick", User).Run()
		cancel()
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
}

// Log returns Dovecot's log file.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "dovecot.log"))
	return string(b)
}

// Client returns a logged-in client, closed when the test ends.
func (s *Server) Client(tb testing.TB) *imapclient.Client {
	tb.Helper()
	c, err := imapclient.DialInsecure(s.Addr(), nil)
	if err != nil {
		tb.Fatalf("dovecottest: dial: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	if err := c.Login(User, Password).Wait(); err != nil {
		tb.Fatalf("dovecottest: login: %v", err)
	}
	return c
}

// Watch calls notify after every change Dovecot reports for mailbox (a
// message added, moved out or expunged) until the test ends, through a
// client of its own that IDLEs in it: a test waits for what a daemon does
// to the mailbox instead of polling it. notify must not block.
func (s *Server) Watch(tb testing.TB, mailbox string, notify func()) {
	tb.Helper()
	c, err := imapclient.DialInsecure(s.Addr(), &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Expunge: func(uint32) { notify() },
		Mailbox: func(*imapclient.UnilateralDataMailbox) { notify() },
	}})
	if err != nil {
		tb.Fatalf("dovecottest: dial: %v", err)
	}
	if err := c.Login(User, Password).Wait(); err != nil {
		c.Close()
		tb.Fatalf("dovecottest: login: %v", err)
	}
	if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		c.Close()
		tb.Fatalf("dovecottest: select %s: %v", mailbox, err)
	}
	idle, err := c.Idle()
	if err != nil {
		c.Close()
		tb.Fatalf("dovecottest: idle in %s: %v", mailbox, err)
	}
	tb.Cleanup(func() {
		idle.Close()
		c.Close()
	})
}

// Append adds raw to mailbox (created if needed) and returns its UID.
func Append(tb testing.TB, c *imapclient.Client, mailbox string, raw []byte) imap.UID {
	tb.Helper()
	cmd := c.Append(mailbox, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		tb.Fatalf("dovecottest: append: %v", err)
	}
	if err := cmd.Close(); err != nil {
		tb.Fatalf("dovecottest: append: %v", err)
	}
	ad, err := cmd.Wait()
	if err != nil {
		tb.Fatalf("dovecottest: append to %s: %v", mailbox, err)
	}
	return ad.UID
}

// Count returns the number of messages in mailbox (0 when it does not
// exist).
func Count(tb testing.TB, c *imapclient.Client, mailbox string) int {
	tb.Helper()
	sd, err := c.Status(mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		return 0
	}
	return int(*sd.NumMessages)
}

func freePort(tb testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// writeConfig writes dovecot.conf and the users file into dir. As root,
// Dovecot refuses to run its login and internal processes as root: its own
// users take over, and the folder must be reachable for them.
func writeConfig(dir string, port int) (string, error) {
	me, err := user.Current()
	if err != nil {
		return "", err
	}
	grp, err := user.LookupGroupId(me.Gid)
	if err != nil {
		return "", err
	}
	internalUser, internalGroup, loginUser := me.Username, grp.Name, me.Username
	mailUser, mailGroup := me.Username, grp.Name
	if me.Uid == "0" {
		internalUser, loginUser, mailUser = "dovecot", "dovenull", "dovecot"
		g, err := user.LookupGroup("dovecot")
		if err != nil {
			return "", fmt.Errorf("running as root needs the dovecot user and group: %w", err)
		}
		internalGroup, mailGroup = g.Name, g.Name
		// The parent of t.TempDir() is private to the test binary.
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o777); err != nil {
				return "", err
			}
		}
	}
	for _, d := range []string{"run", "state", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o777); err != nil {
			return "", err
		}
		os.Chmod(filepath.Join(dir, d), 0o777)
	}
	users := filepath.Join(dir, "users")
	if err := os.WriteFile(users, []byte(User+":{PLAIN}"+Password+"::::::\n"), 0o644); err != nil {
		return "", err
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
instance_name = dovecot-test-%[2]d
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = %[3]s
default_internal_group = %[4]s
default_login_user = %[5]s
mail_location = maildir:%[1]s/mail/%%u/Maildir
mail_uid = %[6]s
mail_gid = %[7]s
first_valid_uid = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/users
}
userdb {
  driver = static
  args = uid=%[6]s gid=%[7]s home=%[1]s/mail/%%u
}
namespace inbox {
  inbox = yes
  separator = /
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %[2]d
  }
  inet_listener imaps {
    port = 0
  }
}
service auth-worker {
  user = %[8]s
}
service anvil {
  chroot =
}
`, dir, port, internalUser, internalGroup, loginUser, mailUser, mailGroup, me.Username)
	path := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return "", err
	}
	return path, nil
}
