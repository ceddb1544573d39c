package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// postfixBaseMain and postfixBaseMaster are what a throwaway Postfix
// instance needs besides the README's lines: its own queue and data folders, no network listener,
// a log file, and no chroot (the queue is not a chroot jail).
const postfixBaseMain = `compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
myhostname = mx.test
myorigin = mx.test
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
maillog_file_prefixes = /tmp, /var, /dev/stdout
maillog_file = %[1]s/maillog
alias_maps =
alias_database =
relayhost =
`

const postfixBaseMaster = `pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`

// readmePostfixFiles returns the README's Postfix lines per file name
// (master.cf, main.cf, transport): the code blocks that start with
// "# /etc/postfix/<file>", except alternatives ("instead").
func readmePostfixFiles(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	blocks := strings.Split(string(raw), "```")
	for i := 1; i < len(blocks); i += 2 {
		b := strings.TrimPrefix(blocks[i], "\n")
		first, rest, _ := strings.Cut(b, "\n")
		name, ok := strings.CutPrefix(first, "# /etc/postfix/")
		if !ok || strings.Contains(first, "instead") {
			continue
		}
		name, _, _ = strings.Cut(name, " ")
		if _, seen := out[name]; !seen {
			out[name] = rest
		}
	}
	return out
}

// TestPostfixPipeTransport runs a throwaway Postfix instance (its own
// config folder and queue in a temp dir, no network listener; never the
// machine's /etc/postfix) with the README's Postfix lines applied, the
// pipe transport's user standing in for ticketgate as "nobody". Mail
// sent with Postfix's sendmail becomes a ticket, and a proven agent's
// mail to acme+internal@ arrives as an internal note: the original
// recipient survives.
func TestPostfixPipeTransport(t *testing.T) {
	postfix, err := exec.LookPath("postfix")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/postfix"); err != nil {
			t.Skip("postfix not installed (Debian package postfix; .ci/run installs it)")
		}
		postfix = "/usr/sbin/postfix"
	}
	if os.Geteuid() != 0 {
		t.Skip("a Postfix instance's master must start as root")
	}
	pipeUser, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody to run the pipe as: %v", err)
	}
	group, err := user.LookupGroupId(pipeUser.Gid)
	if err != nil {
		t.Fatal(err)
	}
	files := readmePostfixFiles(t)
	for _, f := range []string{"master.cf", "main.cf", "transport"} {
		if files[f] == "" {
			t.Fatalf("README.md has no /etc/postfix/%s block", f)
		}
	}

	dir := t.TempDir()
	// Postfix's daemons and the pipe user walk into these folders.
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	bin := buildBinary(t, dir)
	path := writeConfig(t, dir, "trusted_authserv_ids: [mx.test]\n")
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(raw), "admin:\n", "admin:\n  socket_group: "+group.Name+"\n", 1)), 0o600)
	os.Chmod(path, 0o644)
	os.Mkdir(filepath.Join(dir, "data"), 0o755)
	d, ev := serveWatched(t, path)

	pf := filepath.Join(dir, "postfix")
	for _, sub := range []string{"", "queue", "data"} {
		if err := os.Mkdir(filepath.Join(pf, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if pu, err := user.Lookup("postfix"); err == nil {
		uid, _ := strconv.Atoi(pu.Uid)
		os.Chown(filepath.Join(pf, "data"), uid, -1)
	}
	subst := strings.NewReplacer("/etc/postfix/", pf+"/", "/usr/local/bin/ticketgate", bin,
		"/etc/ticketgate/config.yaml", path, "user=ticketgate", "user="+pipeUser.Username)
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(pf, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.cf", fmt.Sprintf(postfixBaseMain, pf)+subst.Replace(files["main.cf"]))
	write("master.cf", postfixBaseMaster+subst.Replace(files["master.cf"]))
	write("transport", subst.Replace(files["transport"]))
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			log, _ := os.ReadFile(filepath.Join(pf, "maillog"))
			t.Fatalf("%s %v: %v\n%s\n%s", name, args, err, out, log)
		}
	}
	run("postmap", "-c", pf, "hash:"+filepath.Join(pf, "transport"))
	run(postfix, "-c", pf, "start")
	t.Cleanup(func() { exec.Command(postfix, "-c", pf, "stop").Run() })

	sendmail := func(from, rcpt, raw string) {
		t.Helper()
		cmd := exec.Command("sendmail", "-C", pf, "-f", from, rcpt)
		cmd.Stdin = strings.NewReader(raw)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sendmail: %v\n%s", err, out)
		}
	}
	waitMessages := func(key string, n int) []*store.Message {
		t.Helper()
		// Postfix hands the mail on by itself (sendmail returns once it is
		// queued): look again after every commit of the daemon.
		var msgs []*store.Message
		if ev.Until(60*time.Second, func() bool {
			d.Store().View(func(tx store.Tx) error { msgs, _ = tx.TicketMessages(key); return nil })
			return len(msgs) >= n
		}) != nil {
			log, _ := os.ReadFile(filepath.Join(pf, "maillog"))
			t.Fatalf("%s has %d message(s), want %d; Postfix log:\n%s", key, len(msgs), n, lastLines(string(log), 30))
		}
		return msgs
	}

	sendmail("carl@customer.example", "acme@support.example.com",
		"From: carl@customer.example\nTo: acme@support.example.com\nSubject: Printer on fire\nMessage-ID: <pf1@customer.example>\n\nIt is on fire.\n")
	msgs := waitMessages("ACME-1", 1)
	if m := msgs[0]; m.Subject != "Printer on fire" || m.Source != "pipe" || m.MailFrom != "carl@customer.example" {
		t.Fatalf("stored as %+v", m)
	}

	sendmail("alice@example.com", "acme+internal@support.example.com",
		"From: alice@example.com\nTo: acme+internal@support.example.com\nSubject: Re: [ACME-1] Printer on fire\n"+
			"Authentication-Results: mx.test; dmarc=pass header.from=example.com\nMessage-ID: <pf2@example.com>\n\nHe owes us money.\n")
	msgs = waitMessages("ACME-1", 2)
	if m := msgs[1]; !m.Internal || !strings.Contains(m.Text, "He owes us money.") {
		t.Fatalf("the agent's mail to the internal address through Postfix: %+v", m)
	}
	if !bytes.Contains([]byte(files["master.cf"]), []byte("${original_recipient}")) {
		t.Error("the README's pipe transport does not pass ${original_recipient}")
	}
}
