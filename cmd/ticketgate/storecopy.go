package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ticketgate/ticketgate/admin"
	"github.com/ticketgate/ticketgate/config"
	tgdaemon "github.com/ticketgate/ticketgate/daemon"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/storecopy"
)

const storeUsage = `usage: ticketgate store copy --from CONFIG_A --to CONFIG_B
  moves a whole installation (records and message files) from the store
  CONFIG_A names to the empty store CONFIG_B names — bbolt to PostgreSQL or
  back — and verifies counts and blob hashes. Every daemon of both stores
  must be stopped.
`

// cmdStore runs `ticketgate store SUBCOMMAND`.
func cmdStore(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "copy" {
		fmt.Fprint(stderr, storeUsage)
		return exitConfig
	}
	fs := flag.NewFlagSet("store copy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "configuration of the store to copy from")
	to := fs.String("to", "", "configuration of the (empty) store to copy to")
	if fs.Parse(args[1:]) != nil || fs.NArg() != 0 || *from == "" || *to == "" {
		fmt.Fprint(stderr, storeUsage)
		return exitConfig
	}
	var cfgs [2]*config.Config
	for i, path := range []string{*from, *to} {
		cfg, err := config.LoadClient(path)
		if err != nil {
			printConfigErrors(stderr, path, err)
			return exitConfig
		}
		if daemonAnswers(cfg) {
			fmt.Fprintf(stderr, "ticketgate store copy: the daemon of %s is running; stop every node of both stores first\n", path)
			return exitTempFail
		}
		cfgs[i] = cfg
	}
	if sameStore(cfgs[0], cfgs[1]) {
		fmt.Fprintln(stderr, "ticketgate store copy: --from and --to name the same store")
		return exitConfig
	}
	src, err := openForCopy(cfgs[0], true)
	if err != nil {
		fmt.Fprintf(stderr, "ticketgate store copy: open the source: %v\n", err)
		return exitFailure
	}
	defer src.Close()
	var dst store.DB
	open := func() (err error) { dst, err = openForCopy(cfgs[1], false); return err }
	if cfgs[1].Store.Driver == config.StoreDriverPostgres {
		err = open()
	} else {
		err = asDataDirOwner(cfgs[1].DataDir, "store copy", open)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ticketgate store copy: open the target: %v\n", err)
		return exitFailure
	}
	defer dst.Close()
	start := time.Now()
	p := newProgress(stdout)
	rep, err := storecopy.Copy(context.Background(), src, dst, storecopy.Options{Progress: p.show})
	p.end()
	if err != nil {
		fmt.Fprintf(stderr, "ticketgate store copy: %v\n", err)
		if errors.Is(err, storecopy.ErrNotEmpty) {
			return exitConfig
		}
		return exitFailure
	}
	fmt.Fprintf(stdout, "copied %s → %s in %s, verified:\n", describeStore(cfgs[0]), describeStore(cfgs[1]), time.Since(start).Round(time.Millisecond))
	for _, k := range store.RecordKinds() {
		if n := rep.Records[k].Count; n > 0 {
			fmt.Fprintf(stdout, "  %-16s %d\n", k.String()+":", n)
		}
	}
	fmt.Fprintf(stdout, "  %-16s %d (%d bytes, every hash checked)\n", "blobs:", rep.Blobs, rep.BlobBytes)
	for _, e := range rep.NotCopied {
		fmt.Fprintf(stdout, "not copied: %s (%s)\n", e.Name, e.Why)
	}
	fmt.Fprintf(stdout, "the target is a new installation (id %s); point every node's config at it before starting them\n", dst.InstallationID())
	return exitOK
}

// daemonAnswers reports whether a daemon answers on cfg's admin socket.
func daemonAnswers(cfg *config.Config) bool {
	c := admin.NewSocketClient(cfg.DataDir + "/" + tgdaemon.AdminSocketName)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := c.Tickets(ctx, "", "", "", "\x00")
	return err == nil || !errors.Is(err, admin.ErrNotRunning)
}

func sameStore(a, b *config.Config) bool {
	if a.Store.Driver != b.Store.Driver {
		return false
	}
	if a.Store.Driver == config.StoreDriverPostgres {
		da, _ := config.SecretFromFile(a.Store.Postgres.DSNFile)
		db, _ := config.SecretFromFile(b.Store.Postgres.DSNFile)
		return da == db
	}
	return a.DataDir == b.DataDir
}

func describeStore(cfg *config.Config) string {
	if cfg.Store.Driver == config.StoreDriverPostgres {
		return "PostgreSQL (" + cfg.Store.Postgres.DSNFile + ")"
	}
	return "bbolt (" + cfg.DataDir + ")"
}

// openForCopy opens the store cfg names: the source read-only (a
// PostgreSQL source is not migrated), the target created or migrated.
func openForCopy(cfg *config.Config, source bool) (store.DB, error) {
	if cfg.Store.Driver == config.StoreDriverPostgres {
		if source {
			return openPostgresForCheck(cfg)
		}
		return tgdaemon.OpenStore(cfg, slog.New(slog.DiscardHandler))
	}
	return store.Open(cfg.DataDir, store.Options{ReadOnly: source})
}

// progress shows the copy's progress: on a terminal a line redrawn at
// most ten times a second, elsewhere one line per stage when it ends.
type progress struct {
	w     io.Writer
	tty   bool
	stage storecopy.Stage
	last  time.Time
	line  string
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
		p.tty = err == nil
	}
	return p
}

func (p *progress) show(stage storecopy.Stage, done, total int64) {
	if stage != p.stage && p.stage != "" {
		p.finish()
	}
	p.stage = stage
	if total > 0 {
		p.line = fmt.Sprintf("%-16s %s %d/%d", stage, bar(done, total, 30), done, total)
	} else {
		p.line = fmt.Sprintf("%-16s %d", stage, done)
	}
	if p.tty && (time.Since(p.last) > 100*time.Millisecond || done == total) {
		fmt.Fprintf(p.w, "\r%s\x1b[K", p.line)
		p.last = time.Now()
	}
}

// finish ends the current stage's line.
func (p *progress) finish() {
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K\n", p.line)
	} else {
		fmt.Fprintln(p.w, p.line)
	}
}

func (p *progress) end() {
	if p.stage != "" {
		p.finish()
		p.stage = ""
	}
}

// bar draws done/total as width characters.
func bar(done, total int64, width int) string {
	n := int(done * int64(width) / total)
	n = min(max(n, 0), width)
	b := make([]byte, 0, width+2)
	b = append(b, '[')
	for i := range width {
		if i < n {
			b = append(b, '#')
		} else {
			b = append(b, '.')
		}
	}
	return string(append(b, ']'))
}
