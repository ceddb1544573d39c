package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/daemon"
	"github.com/ticketgate/ticketgate/internal/waitfor"
	"github.com/ticketgate/ticketgate/store"
)

// readmeCommand is one `ticketgate …` command line of README.md.
type readmeCommand struct {
	line    int    // where it starts in README.md
	text    string // continuation lines joined, leading "$ " removed
	section string // the "## " heading it stands under
	offline bool   // after "# with the daemon stopped" in its block
}

// readmeCommands returns every command line in README.md's shell blocks
// (```sh, or a "$ " prompt in any block) that runs ticketgate (`ticketgate …`, `… | go run ./cmd/ticketgate …`,
// `VAR=value go run ./cmd/ticketgate …`).
func readmeCommands(t *testing.T) []readmeCommand {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []readmeCommand
	inBlock, shell, section, offline := false, false, "", false
	lines := strings.Split(string(raw), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "```") {
			inBlock, shell, offline = !inBlock, strings.TrimSpace(l) == "```sh", false
			continue
		}
		if !inBlock {
			if strings.HasPrefix(l, "## ") {
				section = l[3:]
			}
			continue
		}
		start := i
		for strings.HasSuffix(l, "\\") && i+1 < len(lines) {
			i++
			l = strings.TrimSuffix(l, "\\") + " " + strings.TrimSpace(lines[i])
		}
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "# with the daemon stopped") {
			offline = true
		}
		// Shell blocks hold commands; elsewhere (config files,
		// transcripts) only a "$ " prompt marks one.
		if p, ok := strings.CutPrefix(l, "$ "); ok {
			l = p
		} else if !shell {
			continue
		}
		words := strings.Fields(l)
		for len(words) > 0 && strings.Contains(words[0], "=") {
			words = words[1:] // environment assignments
		}
		if len(words) == 0 || (words[0] != "ticketgate" && !strings.Contains(l, "go run ./cmd/ticketgate")) {
			continue
		}
		out = append(out, readmeCommand{line: start + 1, text: l, section: section, offline: offline})
	}
	return out
}

// TestREADMECommands runs every ticketgate command line of README.md, as
// written, against a daemon on config.example.yaml: the "Try it" demo
// (including the agent's proven answer), the admin CLI examples, the
// offline commands and the rest. Only paths change: the config file, the
// backup file, and `go run ./cmd/ticketgate` is the built binary.
func TestREADMECommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real binary; skipped with -short")
	}
	cmds := readmeCommands(t)
	if len(cmds) < 25 {
		t.Fatalf("only %d ticketgate command lines found in README.md", len(cmds))
	}
	dir := t.TempDir()
	buildBinary(t, dir) // dir/ticketgate, first in the commands' PATH
	example, err := os.ReadFile(filepath.Join("..", "..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.example.yaml")
	// The admin CLI acts as the agent its Unix user is mapped to: here
	// the test's user is alice, an operator (backup, purge).
	example = []byte(strings.Replace(strings.Replace(string(example),
		"  users: {}\n", fmt.Sprintf("  users: { %q: alice@example.com }\n", unixUser(t)), 1),
		"  operators: []\n", "  operators: [alice@example.com]\n", 1))
	if err := os.WriteFile(cfgPath, example, 0o644); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")
	os.MkdirAll(filepath.Join(dir, "backups"), 0o755)
	os.MkdirAll(work, 0o755)
	os.WriteFile(filepath.Join(work, "answer.txt"), []byte("We replaced the toner.\n"), 0o644)
	// The example's fixed ports may be taken on a test machine.
	t.Setenv("TICKETGATE_INBOUND_SMTP_LISTEN", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	t.Setenv("TICKETGATE_WEB_LISTEN", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	t.Setenv("TICKETGATE_CONFIG", cfgPath)
	t.Setenv("TICKETGATE_AS", "")

	var d *daemon.Daemon
	ev := new(waitfor.Signal) // told of the daemon's changes, across restarts
	start := func() {
		t.Helper()
		cfg, err := config.Load(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		if d, err = daemon.Start(cfg, slog.New(slog.DiscardHandler), daemon.Options{Changes: ev}); err != nil {
			t.Fatal(err)
		}
	}
	stop := func() {
		if d != nil {
			d.Shutdown(context.Background())
			d = nil
		}
	}
	t.Cleanup(stop)
	deliver := func(raw string) {
		t.Helper()
		if code, _, e := runCmd([]string{"deliver", "-c", cfgPath}, raw); code != exitOK {
			t.Fatalf("deliver: exit %d %s", code, e)
		}
	}

	checkedDemo, setUp, restored := false, false, false
	for _, c := range cmds {
		text := strings.ReplaceAll(c.text, "go run ./cmd/ticketgate", "ticketgate")
		text = strings.ReplaceAll(text, "-c config.example.yaml", "-c "+cfgPath)
		text = strings.ReplaceAll(text, "-c /etc/ticketgate/config.yaml", "-c "+cfgPath)
		text = strings.ReplaceAll(text, "/var/backups/", filepath.Join(dir, "backups")+"/")
		words := strings.Fields(text)
		var env []string
		for len(words) > 0 && strings.Contains(words[0], "=") {
			env, words = append(env, words[0]), words[1:]
		}
		switch {
		case len(words) > 1 && words[0] == "ticketgate" && words[1] == "serve":
			if !strings.Contains(c.text, "-c config.example.yaml") {
				t.Fatalf("README.md:%d: serve without the example config: %s", c.line, c.text)
			}
			for _, e := range env {
				k, v, _ := strings.Cut(e, "=")
				t.Setenv(k, v)
			}
			start()
			continue
		case c.offline:
			stop()
			if !restored && len(words) > 1 && words[1] == "restore" {
				// restore wants an empty data_dir, owned by the
				// user the daemon runs as (here: the test's).
				os.Mkdir(filepath.Join(dir, "restored"), 0o750)
				t.Setenv("TICKETGATE_DATA_DIR", filepath.Join(dir, "restored"))
				restored = true
			}
		default:
			if c.section != "Try it" && !checkedDemo {
				checkDemo(t, d, ev, dir)
				checkedDemo = true
			}
			if c.section != "Try it" && !setUp {
				setUpREADMETickets(t, deliver)
				setUp = true
			}
			if d == nil {
				start()
			}
		}
		cmd := exec.Command("/bin/sh", "-c", text)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		t.Logf("README.md:%d: %s", c.line, text)
		if err != nil {
			t.Fatalf("README.md:%d: %s\n%v\n%s", c.line, c.text, err, out)
		}
		if strings.Contains(text, "--json") && !json.Valid(out) {
			t.Errorf("README.md:%d: not JSON:\n%s", c.line, out)
		}
	}
	if !setUp || !restored {
		t.Fatalf("README.md lacks the admin CLI or offline examples (set up %v, restored %v)", setUp, restored)
	}
	var msgs []*store.Message
	d.Store().View(func(tx store.Tx) error { msgs, _ = tx.TicketMessages("ACME-12"); return nil })
	found := false
	for _, m := range msgs {
		found = found || strings.Contains(m.Text, "-5 % offered") && m.Internal
	}
	if !found {
		t.Error(`the note after "--" is not on the restored ACME-12`)
	}
}

// checkDemo: after "Try it", Alice's answer is a public comment and
// Carl's copy is in the outbound maildir.
func checkDemo(t *testing.T, d *daemon.Daemon, ev *waitfor.Signal, dir string) {
	t.Helper()
	var msgs []*store.Message
	d.Store().View(func(tx store.Tx) error { msgs, _ = tx.TicketMessages("ACME-1"); return nil })
	var alice *store.Message
	for _, m := range msgs {
		if m.From == "alice@example.com" {
			alice = m
		}
	}
	if alice == nil || alice.Internal || alice.Held != "" {
		t.Fatalf("the demo's agent answer is not a public comment: %+v", alice)
	}
	// The maildir transport writes the file before the commit that takes
	// the mail out of the queue: look again after every commit.
	carlsCopy := func() bool {
		entries, _ := os.ReadDir(filepath.Join(dir, "data", "outbox", "new"))
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(dir, "data", "outbox", "new", e.Name()))
			if strings.Contains(string(b), "To: carl@customer.example") && strings.Contains(string(b), "A technician is on the way.") {
				return true
			}
		}
		return false
	}
	if ev.Until(waitLimit, carlsCopy) != nil {
		t.Fatal("Carl's copy of the agent's answer is not in data/outbox/new")
	}
}

// setUpREADMETickets delivers the mail the README's examples refer to:
// tickets up to ACME-14 (ACME-12 with an attachment, ACME-14 spam) and
// the Message-ID the trace example looks up.
func setUpREADMETickets(t *testing.T, deliver func(string)) {
	t.Helper()
	for n := 2; n <= 14; n++ {
		from, id := "carl@customer.example", fmt.Sprintf("<readme%d@customer.example>", n)
		switch n {
		case 2:
			id = "<CAF=abc@mail.gmail.com>"
		case 14:
			from = "spammer@evil.example"
		}
		body := "\nRequest number " + fmt.Sprint(n) + "\n"
		if n == 12 {
			body = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nThe invoice is wrong.\n" +
				"--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=invoice.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--\n"
		}
		deliver(fmt.Sprintf("From: %s\nTo: acme@support.example.com\nSubject: Request %d\nMessage-ID: %s\n%s", from, n, id, body))
	}
}

// TestExampleConfigCommands: every `ticketgate …` command the example
// config's comments name exists (it said `ticketgate -config …`).
func TestExampleConfigCommands(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	found := regexpMust("`ticketgate ([^` ]+)[^`]*`").FindAllStringSubmatch(string(raw), -1)
	if len(found) == 0 {
		t.Fatal("no `ticketgate …` command in config.example.yaml")
	}
	for _, m := range found {
		if _, _, stderr := runCmd([]string{m[1], "-h"}, ""); strings.Contains(stderr, "unknown command") || strings.HasPrefix(m[1], "-") {
			t.Errorf("config.example.yaml names %s: %s", m[0], stderr)
		}
	}
}
