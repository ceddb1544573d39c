package main

import (
	"flag"
	"io"
	"os"
	"strings"
)

// newFlags returns a flag set with -c/--config bound to *cfgPath.
func newFlags(name string, stderr io.Writer, cfgPath *string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := os.Getenv("TICKETGATE_CONFIG")
	if def == "" {
		def = defaultConfig
	}
	fs.StringVar(cfgPath, "c", def, "configuration file")
	fs.StringVar(cfgPath, "config", def, "configuration file")
	return fs
}

// parseFlags parses flags wherever they stand among the arguments
// (`ticketgate assign ACME-12 me --as alice@…`), unlike flag.Parse, which
// stops at the first argument. "--" ends the flags: everything after it is
// an argument, for note text that starts with "-". A lone "-" (read stdin)
// is an argument. Afterwards fs.Args() holds the arguments in their order.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			rest = append(rest, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // fs.Parse reports it
		}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return fs.Parse(append(append(flags, "--"), rest...))
}
