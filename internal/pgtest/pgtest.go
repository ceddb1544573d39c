// Package pgtest starts a throwaway PostgreSQL cluster for integration
// tests: initdb in a temp folder, trust authentication, listening only on a
// unix socket in that folder (no TCP port), fsync off. The cluster runs as
// an unprivileged user (initdb refuses root): when the test runs as root it
// runs as the system user "nobody", through runuser. Tests using it skip
// when PostgreSQL is not installed, and fail when CI=true (.ci/run
// installs the Debian package postgresql).
package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Superuser is the cluster's superuser role; authentication is "trust".
const Superuser = "postgres"

// port only names the socket file (.s.PGSQL.5432): the cluster listens on
// no TCP address, so it cannot collide with anything.
const port = 5432

// Server is a running PostgreSQL cluster.
type Server struct {
	// Dir holds the cluster (Dir/data), its socket and its log.
	Dir string

	bin   string
	runAs string // "" when the test is not root
	once  sync.Once
	mu    sync.Mutex
	dbs   map[string]bool
}

// BinDir returns the folder of initdb and pg_ctl of the newest installed
// PostgreSQL, or "" when none is installed.
func BinDir() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start initialises and starts a cluster, stopped when the test ends; it
// skips the test when PostgreSQL is not installed (fails it when CI=true).
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin := BinDir()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			// Issue 16: in CI the PostgreSQL backend must be tested, not skipped.
			tb.Fatal("PostgreSQL is not installed, and CI=true: .ci/run installs the Debian package postgresql")
		}
		tb.Skip("PostgreSQL is not installed (apt-get install postgresql: initdb under /usr/lib/postgresql/*/bin); skipping the PostgreSQL test")
	}
	// Not t.TempDir: its parents are private to root, and the cluster
	// runs as another user.
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	s := &Server{Dir: dir, bin: bin, dbs: map[string]bool{}}
	if os.Geteuid() == 0 {
		s.runAs = "nobody"
		u, err := user.Lookup(s.runAs)
		if err != nil {
			tb.Fatalf("pgtest: running as root and there is no user %q to run PostgreSQL as: %v", s.runAs, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			tb.Fatalf("pgtest: %v", err)
		}
	}
	if out, err := s.run("initdb", "-D", s.data(), "-U", Superuser, "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		tb.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	opts := fmt.Sprintf("-c listen_addresses='' -k %s -p %d -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", dir, port)
	if out, err := s.run("pg_ctl", "start", "-w", "-t", "60", "-D", s.data(), "-l", filepath.Join(dir, "postgres.log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
		tb.Fatalf("pgtest: pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	tb.Cleanup(s.Stop)
	return s
}

func (s *Server) data() string { return filepath.Join(s.Dir, "data") }

// run runs one of the cluster's programs, as the unprivileged user when
// the test is root.
func (s *Server) run(prog string, args ...string) ([]byte, error) {
	path := filepath.Join(s.bin, prog)
	var cmd *exec.Cmd
	if s.runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", s.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = s.Dir
	return cmd.CombinedOutput()
}

// Stop stops the cluster (fast shutdown: sessions are ended).
func (s *Server) Stop() {
	s.once.Do(func() {
		s.run("pg_ctl", "stop", "-w", "-t", "60", "-m", "fast", "-D", s.data())
	})
}

// Log returns the server's log.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "postgres.log"))
	return string(b)
}

// DSN is the connection string of database db as the superuser.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", s.Dir, port, Superuser, db)
}

// Database creates database name unless this server already made it, and
// returns its DSN.
func (s *Server) Database(tb testing.TB, name string) string {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dbs[name] {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err != nil {
			tb.Fatalf("pgtest: connect: %v", err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			tb.Fatalf("pgtest: create database %s: %v", name, err)
		}
		s.dbs[name] = true
	}
	return s.DSN(name)
}

// Exec runs sql in database db (as the superuser): tests that damage or
// age a store write through it.
func (s *Server) Exec(tb testing.TB, db, sql string, args ...any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN(db))
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		tb.Fatalf("pgtest: %s: %v", strings.TrimSpace(sql), err)
	}
}
