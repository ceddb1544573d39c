package main

import (
	"flag"
	"io"
	"os"
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
