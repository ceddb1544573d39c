package dist

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const unitPath = "systemd/ticketgate.service"

// TestUnitSettings keeps the properties the README and the daemon rely on.
func TestUnitSettings(t *testing.T) {
	b, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Type=notify", "WatchdogSec=30", "Restart=on-failure", "RestartPreventExitStatus=2 3",
		"ExecReload=/bin/kill -HUP $MAINPID", "StateDirectory=ticketgate", "ConfigurationDirectory=ticketgate",
		"ProtectSystem=strict", "User=ticketgate", "Group=ticketgate", "Documentation=man:ticketgate(8)"} {
		if !bytes.Contains(b, []byte("\n"+want+"\n")) {
			t.Errorf("unit lacks %q", want)
		}
	}
}

// TestUnitAllowsWhatTheDaemonCalls works out the unit's system call
// filter as systemd does (its groups listed by `systemd-analyze
// syscall-filter`; an allow list, then each line taking away "~" or
// adding) and checks the calls the daemon makes beyond the usual ones
// are allowed: setpriority (internal/lowprio, the search worker's start)
// and those that start and end the search worker.
func TestUnitAllowsWhatTheDaemonCalls(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed (apt-get install systemd)")
	}
	b, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string][]string{}
	var expand func(name string, into map[string]bool)
	expand = func(name string, into map[string]bool) {
		if !strings.HasPrefix(name, "@") {
			into[name] = true
			return
		}
		if _, ok := groups[name]; !ok {
			out, err := exec.Command("systemd-analyze", "syscall-filter", name).Output()
			if err != nil {
				t.Fatalf("systemd-analyze syscall-filter %s: %v", name, err)
			}
			for _, l := range strings.Split(string(out), "\n")[1:] {
				l = strings.TrimSpace(l)
				if l != "" && !strings.HasPrefix(l, "#") {
					groups[name] = append(groups[name], l)
				}
			}
		}
		for _, m := range groups[name] {
			expand(m, into)
		}
	}
	var allowed map[string]bool
	for _, l := range strings.Split(string(b), "\n") {
		v, ok := strings.CutPrefix(l, "SystemCallFilter=")
		if !ok {
			continue
		}
		deny := strings.HasPrefix(v, "~")
		set := map[string]bool{}
		for _, name := range strings.Fields(strings.TrimPrefix(v, "~")) {
			expand(name, set)
		}
		switch {
		case allowed == nil && deny:
			t.Fatal("the unit's filter starts with a deny list; this test reads allow lists")
		case allowed == nil:
			allowed = set
		default:
			for c := range set {
				if deny {
					delete(allowed, c)
				} else {
					allowed[c] = true
				}
			}
		}
	}
	if allowed == nil {
		t.Fatal("the unit has no SystemCallFilter")
	}
	for _, c := range []string{"setpriority", "getpriority", "execve", "clone", "clone3", "pipe2", "wait4", "waitid", "kill", "fdatasync"} {
		if !allowed[c] {
			t.Errorf("the unit's system call filter refuses %s", c)
		}
	}
	for _, c := range []string{"setrlimit", "sched_setattr", "mount"} {
		if allowed[c] {
			t.Errorf("the unit's system call filter allows %s", c)
		}
	}
	if !bytes.Contains(b, []byte("\nSystemCallErrorNumber=EPERM\n")) {
		t.Error("a refused call kills the daemon: the unit sets no SystemCallErrorNumber")
	}
}

// installUnit builds the binary and writes a copy of the unit whose
// ExecStart points at it (systemd-analyze verify wants the binary to
// exist), with a MANPATH holding our man page for Documentation=.
func installUnit(t *testing.T) (unit string, env []string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "ticketgate")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/ticketgate").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	b, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	u := strings.ReplaceAll(string(b), "/usr/local/bin/ticketgate", bin)
	env = os.Environ()
	if _, err := exec.LookPath("man"); err == nil {
		man := filepath.Join(dir, "man", "man8")
		os.MkdirAll(man, 0o755)
		page, err := os.ReadFile("../docs/ticketgate.8")
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(man, "ticketgate.8"), page, 0o644)
		env = append(env, "MANPATH="+filepath.Join(dir, "man"))
	} else {
		// verify runs man(1) for man: links; without it that check
		// cannot pass anywhere.
		t.Log("man(1) not installed: Documentation= left out of the verified copy")
		u = regexp.MustCompile(`(?m)^Documentation=.*\n`).ReplaceAllString(u, "")
	}
	unit = filepath.Join(dir, "ticketgate.service")
	if err := os.WriteFile(unit, []byte(u), 0o644); err != nil {
		t.Fatal(err)
	}
	return unit, env
}

// TestUnitVerifies runs `systemd-analyze verify` (Debian's systemd
// package; no systemd as PID 1 needed) on the unit.
func TestUnitVerifies(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed (apt-get install systemd)")
	}
	unit, env := installUnit(t)
	cmd := exec.Command("systemd-analyze", "verify", unit)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	if len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify warns:\n%s", out)
	}
}

// TestUnitExposureMatchesReadme runs `systemd-analyze security
// --offline=true` and checks the README quotes the score it gives.
func TestUnitExposureMatchesReadme(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed (apt-get install systemd)")
	}
	unit, env := installUnit(t)
	cmd := exec.Command("systemd-analyze", "security", "--offline=true", unit)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for ticketgate\.service: ([0-9.]+) (\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	score := string(m[1]) + " " + string(m[2])
	t.Logf("systemd-analyze security --offline=true: %s", score)
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, []byte("exposure level "+score)) {
		t.Errorf("README does not quote the exposure level %q", "exposure level "+score)
	}
}

// TestManPageCoversEveryCommand: each command the CLI dispatches is
// described in docs/ticketgate.8.
func TestManPageCoversEveryCommand(t *testing.T) {
	src, err := os.ReadFile("../cmd/ticketgate/main.go")
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile("../docs/ticketgate.8")
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(string(src), "switch cmd {")
	var cmds []string
	for _, m := range regexp.MustCompile(`case ([^:]+):`).FindAllStringSubmatch(body, -1) {
		for _, q := range regexp.MustCompile(`"([a-z][a-z-]*)"`).FindAllStringSubmatch(m[1], -1) {
			if q[1] != "help" {
				cmds = append(cmds, q[1])
			}
		}
	}
	if len(cmds) < 10 {
		t.Fatalf("found only %v in main.go's dispatch", cmds)
	}
	for _, c := range cmds {
		roff := strings.ReplaceAll(c, "-", `\-`)
		if !regexp.MustCompile(`(?m)^\.BI? ` + regexp.QuoteMeta(roff) + `( |$)`).Match(page) {
			t.Errorf("docs/ticketgate.8 does not describe %q (want a .B/.BI %s line)", c, roff)
		}
	}
}
