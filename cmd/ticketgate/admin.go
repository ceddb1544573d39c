package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/admin"
	"github.com/ticketgate/ticketgate/config"
	tgdaemon "github.com/ticketgate/ticketgate/daemon"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/retention"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// adminFlags are the flags every API command takes.
type adminFlags struct {
	cfgPath string
	as      string
	json    bool
}

func newAdminFlags(name string, stderr io.Writer) (*flag.FlagSet, *adminFlags) {
	af := &adminFlags{}
	fs := newFlags(name, stderr, &af.cfgPath)
	fs.StringVar(&af.as, "as", os.Getenv("TICKETGATE_AS"), "the agent you act as (default $TICKETGATE_AS)")
	fs.BoolVar(&af.json, "json", false, "print JSON for scripts")
	return fs, af
}

// client loads the config only to find data_dir/admin.sock.
func (af *adminFlags) client(stderr io.Writer) (*admin.Client, int) {
	cfg, err := config.LoadClient(af.cfgPath)
	if err != nil {
		printConfigErrors(stderr, af.cfgPath, err)
		return nil, exitConfig
	}
	c := admin.NewSocketClient(filepath.Join(cfg.DataDir, tgdaemon.AdminSocketName))
	c.As = af.as
	return c, exitOK
}

// apiFail prints an API error and picks the exit status.
func apiFail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "ticketgate: %v\n", err)
	if errors.Is(err, admin.ErrNotRunning) {
		return exitUnavail
	}
	return exitFailure
}

func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func cmdTickets(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("tickets", stderr)
	project := fs.String("project", "", "only this project")
	status := fs.String("status", "", "only this status")
	customer := fs.String("customer", "", "only tickets this customer reported or follows")
	q := fs.String("q", "", "text in subject or conversation")
	c, code := af.connect(fs, args, stderr)
	if c == nil {
		return code
	}
	list, err := c.Tickets(context.Background(), *project, *status, *customer, *q)
	if err != nil {
		return apiFail(stderr, err)
	}
	if af.json {
		printJSON(stdout, list)
		return exitOK
	}
	printTable(stdout, list, "KEY\tSTATUS\tTYPE\tREPORTER\tUPDATED\tSUBJECT", func(t admin.TicketSummary) string {
		typ := orDashCLI(t.Type)
		if t.Visibility == store.VisibilityInternal {
			typ += " (internal)"
		}
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", t.Key, t.Status, typ, t.Reporter, t.Updated.Local().Format("2006-01-02 15:04"), t.Subject)
	})
	if len(list) == 0 {
		fmt.Fprintln(stderr, "no tickets match")
	}
	return exitOK
}

func cmdShow(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("show", stderr)
	if parseFlags(fs, args) != nil {
		return exitConfig
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: ticketgate show [flags] ACME-12")
		return exitConfig
	}
	c, code := af.client(stderr)
	if c == nil {
		return code
	}
	d, err := c.Ticket(context.Background(), fs.Arg(0))
	if err != nil {
		return apiFail(stderr, err)
	}
	if af.json {
		printJSON(stdout, d)
		return exitOK
	}
	printTicket(stdout, d)
	return exitOK
}

// printTicket writes show's text form of a ticket.
func printTicket(stdout io.Writer, d *admin.TicketDetail) {
	t := d.Ticket
	fmt.Fprintf(stdout, "%s  %s\nstatus: %s   reporter: %s", t.Key, t.Subject, t.Status, t.Reporter)
	if t.Assignee != "" {
		fmt.Fprintf(stdout, "   assignee: %s", t.Assignee)
	}
	if t.Type != "" {
		fmt.Fprintf(stdout, "   type: %s", t.Type)
	}
	if t.Internal() {
		fmt.Fprint(stdout, "   visibility: INTERNAL")
	}
	fmt.Fprintln(stdout)
	for _, p := range t.Participants {
		fmt.Fprintf(stdout, "participant: %s\n", p.Address)
	}
	att := 0
	for _, m := range d.Messages {
		vis := "public"
		if m.Internal {
			vis = "INTERNAL"
		}
		fmt.Fprintf(stdout, "\n--- %s  %s  %s  [%s, %s, threaded by %s]\n", m.Received.Local().Format("2006-01-02 15:04"), m.From, m.Kind, vis, m.Source, m.ThreadedBy)
		if m.Auto != "" {
			fmt.Fprintf(stdout, "    automatic: %s\n", m.Auto)
		}
		switch {
		case m.Held != "" && m.Discarded:
			fmt.Fprintf(stdout, "    held (%s), discarded: message %d reaches nobody\n", m.Held, m.ID)
		case m.Held != "":
			fmt.Fprintf(stdout, "    held: %s — message %d (ticketgate held publish|discard %s %d)\n", m.Held, m.ID, t.Key, m.ID)
		}
		if m.FromFallback != "" {
			fmt.Fprintf(stdout, "    from: no usable From header; the sender's address was taken from %s (proves nothing)\n", fallbackHeader(m.FromFallback))
		}
		fmt.Fprintln(stdout, strings.TrimSpace(m.Text))
		for _, a := range m.Attach {
			// The number `ticketgate attachment` takes.
			att++
			gone := ""
			if a.Blob == "" {
				gone = ", deleted by retention"
			}
			fmt.Fprintf(stdout, "    attachment %d: %s (%s, %d bytes%s)\n", att, a.Filename, a.ContentType, a.Size, gone)
		}
	}
	if o := d.Offer; o != nil {
		fmt.Fprintf(stdout, "\n--- offer (round %d)", o.Round)
		if o.TakenBy != "" {
			fmt.Fprintf(stdout, ", taken by %s", o.TakenBy)
		} else if o.End != "" {
			fmt.Fprintf(stdout, ", over: %s", o.End)
		}
		fmt.Fprintln(stdout)
		for _, a := range o.Agents {
			seen := "unseen"
			if !a.Seen.IsZero() {
				seen = "seen " + a.Seen.Local().Format("2006-01-02 15:04")
			}
			fmt.Fprintf(stdout, "%-30s %-10s %s\n", a.Address, a.State, seen)
		}
	}
	if len(d.Webhooks) > 0 {
		fmt.Fprintln(stdout, "\n--- webhook deliveries queued")
		printHooks(stdout, d.Webhooks)
	}
	fmt.Fprintln(stdout, "\n--- history")
	for _, e := range d.Events {
		fmt.Fprintf(stdout, "%s  %-22s %s %s\n", e.Time.Local().Format("2006-01-02 15:04:05"), e.Kind, e.Actor, ticket.Describe(e))
	}
}

func cmdOutbox(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("outbox", stderr)
	c, code := af.connect(fs, args, stderr)
	if c == nil {
		return code
	}
	ctx := context.Background()
	switch fs.Arg(0) {
	case "":
		return showList(c, af, "/api/outbox", stdout, stderr, "ID\tTICKET\tTO\tEVENT\tATTEMPTS\tNEXT\tLAST ERROR", func(it admin.OutboxEntry) string {
			return fmt.Sprintf("%d\t%s\t%s\t%s\t%d\t%s\t%s", it.ID, it.Ticket, it.Recipient, it.Event, it.Attempts, it.NextAttempt.Local().Format("15:04:05"), it.LastError)
		})
	case "requeue", "drop":
		if fs.NArg() != 2 {
			fmt.Fprintln(stderr, "usage: ticketgate outbox requeue|drop ID --as AGENT")
			return exitConfig
		}
		method, path := http.MethodPost, "/api/outbox/"+fs.Arg(1)+"/requeue"
		if fs.Arg(0) == "drop" {
			method, path = http.MethodDelete, "/api/outbox/"+fs.Arg(1)
		}
		if err := c.Call(ctx, method, path, nil, nil); err != nil {
			return apiFail(stderr, err)
		}
		done := map[string]string{"requeue": "requeued", "drop": "dropped"}[fs.Arg(0)]
		fmt.Fprintf(stdout, "outbox item %s %s\n", fs.Arg(1), done)
		return exitOK
	default:
		fmt.Fprintln(stderr, "usage: ticketgate outbox [requeue|drop ID]")
		return exitConfig
	}
}

func cmdSuppressions(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("suppressions", stderr)
	c, code := af.connect(fs, args, stderr)
	if c == nil {
		return code
	}
	ctx := context.Background()
	if fs.Arg(0) == "clear" && fs.NArg() == 2 {
		if err := c.Call(ctx, http.MethodDelete, "/api/suppressions/"+url.PathEscape(fs.Arg(1)), nil, nil); err != nil {
			return apiFail(stderr, err)
		}
		fmt.Fprintf(stdout, "%s may receive mail again\n", fs.Arg(1))
		return exitOK
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: ticketgate suppressions [clear ADDRESS]")
		return exitConfig
	}
	return showList(c, af, "/api/suppressions", stdout, stderr, "ADDRESS\tUNTIL\tTICKET\tREASON", func(s *store.Suppression) string {
		return fmt.Sprintf("%s\t%s\t%s\t%s", s.Address, s.Until.Local().Format("2006-01-02"), s.Ticket, s.Reason)
	})
}

func cmdBackup(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("backup", stderr)
	force := fs.Bool("force", false, "overwrite FILE when it exists")
	if parseFlags(fs, args) != nil {
		return exitConfig
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: ticketgate backup FILE [--force]   (a hot copy while the daemon runs)")
		return exitConfig
	}
	dst := fs.Arg(0)
	if dst == "-" {
		c, code := af.client(stderr)
		if c == nil {
			return code
		}
		if err := c.Backup(context.Background(), stdout); err != nil {
			return apiFail(stderr, err)
		}
		return exitOK
	}
	if _, err := os.Lstat(dst); err == nil && !*force {
		// It may be the only good backup there is.
		fmt.Fprintf(stderr, "ticketgate backup: %s exists; choose another name or add --force to overwrite it\n", dst)
		return exitFailure
	}
	c, code := af.client(stderr)
	if c == nil {
		return code
	}
	tmp := dst + ".partial"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "ticketgate backup: %v\n", err)
		return exitFailure
	}
	err = c.Backup(context.Background(), f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return apiFail(stderr, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		fmt.Fprintf(stderr, "ticketgate backup: %v\n", err)
		return exitFailure
	}
	st, _ := os.Stat(dst)
	fmt.Fprintf(stdout, "backup written to %s (%d bytes)\n", dst, st.Size())
	return exitOK
}

// offlineConfig loads the config for commands that need the daemon
// stopped, refusing while it runs.
func offlineConfig(af *adminFlags, stderr io.Writer) (*config.Config, int) {
	cfg, err := config.LoadClient(af.cfgPath)
	if err != nil {
		printConfigErrors(stderr, af.cfgPath, err)
		return nil, exitConfig
	}
	c := admin.NewSocketClient(filepath.Join(cfg.DataDir, tgdaemon.AdminSocketName))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := c.Tickets(ctx, "", "", "", "\x00"); err == nil || !errors.Is(err, admin.ErrNotRunning) {
		fmt.Fprintln(stderr, "ticketgate: the daemon is running; stop it first (systemctl stop ticketgate)")
		return nil, exitTempFail
	}
	return cfg, exitOK
}

func cmdRestore(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("restore", stderr)
	if parseFlags(fs, args) != nil {
		return exitConfig
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: ticketgate restore FILE   (daemon stopped, data_dir without a store)")
		return exitConfig
	}
	cfg, code := offlineConfig(af, stderr)
	if cfg == nil {
		return code
	}
	if cfg.Store.Driver == config.StoreDriverPostgres {
		fmt.Fprintln(stderr, "ticketgate restore: store.driver is postgres: restore the database with pg_restore from a pg_dump -Fc backup (records and blobs are all in it)")
		return exitFailure
	}
	dir := cfg.DataDir
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "ticketgate restore: %v\n", err)
		return exitConfig
	}
	defer f.Close()
	if err := asDataDirOwner(dir, "restore", func() error { return store.Restore(f, dir) }); err != nil {
		fmt.Fprintf(stderr, "ticketgate restore: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", fs.Arg(0), dir)
	return exitOK
}

func cmdCompact(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("compact", stderr)
	if parseFlags(fs, args) != nil {
		return exitConfig
	}
	cfg, code := offlineConfig(af, stderr)
	if cfg == nil {
		return code
	}
	if cfg.Store.Driver == config.StoreDriverPostgres {
		fmt.Fprintln(stdout, "store.driver is postgres: nothing to compact (PostgreSQL's autovacuum reuses the space of deleted rows; VACUUM FULL returns it to the system)")
		return exitOK
	}
	dir := cfg.DataDir
	var before, after int64
	err := asDataDirOwner(dir, "compact", func() (err error) {
		before, after, err = store.Compact(dir)
		return err
	})
	if err != nil {
		fmt.Fprintf(stderr, "ticketgate compact: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "compacted %s: %d → %d bytes\n", filepath.Join(dir, "ticketgate.db"), before, after)
	return exitOK
}

func cmdPurge(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("purge", stderr)
	dry := fs.Bool("dry-run", false, "list what the next retention run would delete")
	c, code := af.connect(fs, args, stderr)
	if c == nil {
		return code
	}
	ctx := context.Background()
	if *dry {
		var items []retention.Item
		if err := c.Call(ctx, http.MethodGet, "/api/purge", nil, &items); err != nil {
			return apiFail(stderr, err)
		}
		if af.json {
			printJSON(stdout, items)
			return exitOK
		}
		var total int64
		printTable(stdout, items, "TICKET\tCLOSED\tWHAT\tNAME\tBYTES", func(it retention.Item) string {
			total += it.Size
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%d", it.Ticket, it.Closed.Local().Format("2006-01-02"), it.What, it.Name, it.Size)
		})
		fmt.Fprintf(stdout, "%d item(s), %d bytes would be deleted\n", len(items), total)
		return exitOK
	}
	var rep retention.Report
	if err := c.Call(ctx, http.MethodPost, "/api/purge", nil, &rep); err != nil {
		return apiFail(stderr, err)
	}
	if af.json {
		printJSON(stdout, rep)
		return exitOK
	}
	fmt.Fprintf(stdout, "deleted %d item(s), %d bytes, from %d ticket(s); %d file(s) removed\n", len(rep.Items), rep.Bytes, rep.Tickets, rep.FilesRemoved)
	return exitOK
}

// cmdAttachment saves attachment N of a ticket (numbered as `show` prints
// them): into -o FILE ("-" for stdout), else under its own name in the
// current folder. An existing file is never overwritten.
func cmdAttachment(args []string, stdout, stderr io.Writer) int {
	fs, af := newAdminFlags("attachment", stderr)
	var out string
	fs.StringVar(&out, "o", "", "write it to FILE (- for standard output); default: its own name in the current folder")
	if parseFlags(fs, args) != nil {
		return exitConfig
	}
	n, err := strconv.Atoi(fs.Arg(1))
	if fs.NArg() != 2 || err != nil || n < 1 {
		fmt.Fprintln(stderr, "usage: ticketgate attachment ACME-12 N [-o FILE]   (N as `ticketgate show` numbers them)")
		return exitConfig
	}
	c, code := af.client(stderr)
	if c == nil {
		return code
	}
	ctx := context.Background()
	if out == "-" {
		if _, err := c.Attachment(ctx, fs.Arg(0), n, stdout); err != nil {
			return apiFail(stderr, err)
		}
		return exitOK
	}
	dir := "."
	if out != "" {
		dir = filepath.Dir(out)
	}
	tmp, err := os.CreateTemp(dir, ".ticketgate-attachment-*")
	if err != nil {
		fmt.Fprintf(stderr, "ticketgate attachment: %v\n", err)
		return exitFailure
	}
	defer os.Remove(tmp.Name())
	name, err := c.Attachment(ctx, fs.Arg(0), n, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return apiFail(stderr, err)
	}
	if out == "" {
		out = safeFileName(name)
	}
	// A hard link fails when the name exists: nothing is overwritten.
	if err := os.Link(tmp.Name(), out); err != nil {
		fmt.Fprintf(stderr, "ticketgate attachment: %v (choose another name with -o FILE)\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "saved %s\n", out)
	return exitOK
}

// safeFileName makes a sender's attachment name a plain name in the
// current folder: no folders, no hidden file, no control characters, no
// bidi controls.
func safeFileName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		switch {
		case r < ' ', r == 0x7f, r == '/':
			return '_'
		case r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return -1 // bidi controls: "invoice\u202efdp.exe" is an .exe
		}
		return r
	}, name)
	name = strings.TrimLeft(name, ".")
	if name == "" {
		return "attachment"
	}
	return name
}

func orDashCLI(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// fallbackHeader names where a message's From came from for people.
func fallbackHeader(via string) string {
	switch via {
	case decide.FromReplyTo:
		return "Reply-To"
	case decide.FromSender:
		return "Sender"
	case decide.FromEnvelope:
		return "the envelope sender"
	}
	return via
}
