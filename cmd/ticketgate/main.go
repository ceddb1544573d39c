// Command ticketgate is the email ticket gateway: `serve` runs the daemon;
// `deliver` hands one message from an MTA alias to it; `check-config`,
// `inspect` and `version` help the sysadmin.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
)

// init keeps the main goroutine on the main thread. internal/lowprio
// lowers the thread of the work it runs for good and lets it end with
// the work; the main thread cannot end, so Go would keep it, at nice 10,
// and ps and top, which show a process's main thread, would show the
// daemon niced.
func init() { runtime.LockOSThread() }

// version is stamped at build time: -ldflags "-X main.version=…".
var version = ""

// Exit codes (sysexits where an MTA reads them).
const (
	exitOK        = 0
	exitFailure   = 1
	exitConfig    = 2  // bad config or usage: systemd must not restart
	exitDataErr   = 65 // EX_DATAERR
	exitNoUser    = 67 // EX_NOUSER
	exitUnavail   = 69 // EX_UNAVAILABLE
	exitSoftware  = 70 // EX_SOFTWARE
	exitTempFail  = 75 // EX_TEMPFAIL
	defaultConfig = "/etc/ticketgate/config.yaml"
)

const usage = `usage: ticketgate <command> [flags] [arguments]

commands:
  serve          run the daemon
  check-config   validate the configuration; exit 0 when valid, 2 when not
                 [--user NAME]: also check NAME (default ticketgate) can
                 read the secret files and write data_dir
  deliver        read one message on stdin and hand it to the running daemon
                 [--recipient ADDR]... [-f|--sender ADDR] [ADDR...]
  inspect FILE   parse a message as the daemon does and print JSON
  version        print the version

admin commands (through the running daemon's data_dir/admin.sock; --json for
scripts; you act as the agent admin.users maps your Unix user to, limited
to that agent's projects; --as AGENT or $TICKETGATE_AS must name that agent):
  tickets [--project P] [--status S] [--customer ADDR] [--q TEXT]
  show ACME-12
  attachment ACME-12 N [-o FILE]   save attachment N (as "show" numbers them)
  outbox [requeue ID | drop ID]
  webhooks [--project P]   queued webhook deliveries (never their URLs)
  webhooks test --project P [--hook NAME]   send a test push now and print
                 what each endpoint answered
  suppressions [clear ADDRESS]
  sessions [revoke AGENT | revoke --all]   the agents' desk sessions; revoke
                 ends them on every node (--all: admin.operators only)
  digest [--agent A] [off | on | at HH:MM [ZONE]]   show or set the daily
                 digest of your queue by mail, as #digest does
  backup FILE [--force]   a consistent hot copy (store and message files) as
                 one archive; an existing FILE is kept unless --force
  restore FILE   daemon stopped: unpack a backup into an empty data_dir
  compact        daemon stopped: give space freed by retention back to the disk
  check-store [--dir DIR]  daemon stopped: full consistency check of the
                 store; exit 0 when sound, 3 when damaged (restore a backup)
  store copy --from CONFIG_A --to CONFIG_B   every daemon stopped: move the
                 whole installation to another store (bbolt ↔ PostgreSQL),
                 verified
  purge [--dry-run]  run retention now, or list what its next run deletes
                 (backup and purge: admin.operators only)
  trace MESSAGE-ID   what happened to a mail: received, threaded, what it
                 caused to be sent and how each delivery went (or, for one of
                 our outbound ids, its deliveries and what caused it)
  status ACME-12 STATUS          assign ACME-12 AGENT|me|-
  reply ACME-12 TEXT|-           note ACME-12 TEXT|-      (- reads stdin)
  invite ACME-12 ADDRESS         participant add|remove ACME-12 ADDRESS
  merge ACME-12 ACME-7           spam ACME-12             block PROJECT ADDRESS
  share ACME-12 ORG              org set PROJECT NAME DOMAINS MEMBERS | org delete PROJECT NAME
  due ACME-12 +20h|2026-12-24 15:00 [ZONE]     snooze ACME-12 +48h|2026-12-28 [ZONE]|off
  held publish|discard ACME-12 MESSAGE   send a held mail to the customers, or
                 keep it from everybody for good (MESSAGE: the number show prints)
  orgs [--project P]
  report [--project P] [--since 30d|2w|12h|2026-11-01] [--json]
                 new, resolved and reopened tickets, first-response and
                 resolution times in business time, targets met/missed,
                 per agent
  new --project P --from ADDRESS --subject TEXT [--internal]   open a request
                 for a customer, the body on stdin (normal notifications;
                 --internal: no customer mail until it is made public)
  visibility ACME-12 public   publish an internal ticket: its requester gets
                 the request-created mail
  drafts [--project P]   mail kept until its sender is entitled (open_to)
  accept ACME-D12        turn a draft into a request (auto-reply, agents' mail)
  keys check [--project P] [--sender ADDRESS] KEY   is a support key valid
                 (for that sender)? exit 0 valid, 1 not
  ratings [--project P] [--since 30d]   customers' ratings: count, average,
                 how many gave each score
  pgp keygen|import|export --project P, pgp keys [--address A], pgp forget|verify ADDRESS

flags for every command, before or after the arguments ("--" ends them):
  -c, --config FILE   configuration file (default $TICKETGATE_CONFIG or ` + defaultConfig + `)
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitConfig
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(rest, stderr)
	case "search-worker":
		return cmdSearchWorker(rest, stdin, stdout, stderr)
	case "check-config":
		return cmdCheckConfig(rest, stdout, stderr)
	case "deliver":
		return cmdDeliver(rest, stdin, stderr)
	case "inspect":
		return cmdInspect(rest, stdout, stderr)
	case "tickets":
		return cmdTickets(rest, stdout, stderr)
	case "show":
		return cmdShow(rest, stdout, stderr)
	case "attachment":
		return cmdAttachment(rest, stdout, stderr)
	case "outbox":
		return cmdOutbox(rest, stdout, stderr)
	case "sessions":
		return cmdSessions(rest, stdout, stderr)
	case "digest":
		return cmdDigest(rest, stdout, stderr)
	case "suppressions":
		return cmdSuppressions(rest, stdout, stderr)
	case "backup":
		return cmdBackup(rest, stdout, stderr)
	case "restore":
		return cmdRestore(rest, stdout, stderr)
	case "compact":
		return cmdCompact(rest, stdout, stderr)
	case "check-store":
		return cmdCheckStore(rest, stdout, stderr)
	case "store":
		return cmdStore(rest, stdout, stderr)
	case "orgs":
		return cmdOrgs(rest, stdout, stderr)
	case "report":
		return cmdReport(rest, stdout, stderr)
	case "purge":
		return cmdPurge(rest, stdout, stderr)
	case "ratings":
		return cmdRatings(rest, stdout, stderr)
	case "trace":
		return cmdTrace(rest, stdout, stderr)
	case "new":
		return cmdNew(rest, stdin, stdout, stderr)
	case "visibility":
		return cmdVisibility(rest, stdout, stderr)
	case "drafts":
		return cmdDrafts(rest, stdout, stderr)
	case "accept":
		return cmdAccept(rest, stdout, stderr)
	case "keys":
		return cmdKeys(rest, stdout, stderr)
	case "pgp":
		return cmdPGP(rest, stdin, stdout, stderr)
	case "webhooks":
		return cmdWebhooks(rest, stdout, stderr)
	case "status", "assign", "reply", "note", "invite", "participant", "merge", "spam", "block", "share", "org", "due", "snooze", "held":
		return cmdOp(cmd, rest, stdin, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "ticketgate", versionString())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "ticketgate: unknown command %q\n\n%s", cmd, usage)
		return exitConfig
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if dirty {
				rev += "-dirty"
			}
			return "devel-" + rev
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "devel"
}
