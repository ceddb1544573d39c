// Command skipcheck reads `go test -json` on stdin, prints what a plain
// `go test` would (package results, the output of failed tests), then
// every skipped test with its reason, and exits 1 when a test failed or a
// test that CI must run skipped: the ones needing the shared mail corpus,
// Dovecot, Chromium, Postfix, systemd-analyze or Debian's tnef, which CI
// provides.
//
//	go test -json ./... | go run ./internal/skipcheck
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

// required matches the skip reasons CI must never see.
var required = regexp.MustCompile(`(?i)corpus|dovecot|chromium|postfix|systemd-analyze|gnupg|gpg|tnef|postgresql`)

type event struct {
	Action     string
	Package    string
	ImportPath string // build-output
	Test       string
	Output     string
	Elapsed    float64
}

func main() {
	os.Exit(run(os.Stdin, os.Stdout))
}

func run(in io.Reader, out io.Writer) int {
	outputs := map[string]*strings.Builder{} // package/test → its output
	var skipped []string
	failed := false
	dec := json.NewDecoder(bufio.NewReader(in))
	for {
		var e event
		if err := dec.Decode(&e); err == io.EOF {
			break
		} else if err != nil {
			fmt.Fprintf(out, "skipcheck: reading go test -json: %v\n", err)
			return 1
		}
		key := e.Package + "/" + e.Test
		switch e.Action {
		case "build-output":
			fmt.Fprint(out, e.Output)
		case "build-fail":
			failed = true
		case "output":
			b := outputs[key]
			if b == nil {
				b = &strings.Builder{}
				outputs[key] = b
			}
			b.WriteString(e.Output)
		case "skip":
			if e.Test != "" {
				skipped = append(skipped, fmt.Sprintf("%s %s: %s", e.Package, e.Test, reason(outputs[key])))
			}
			delete(outputs, key)
		case "pass":
			if e.Test == "" {
				fmt.Fprintf(out, "ok  \t%s\t%.3fs\n", e.Package, e.Elapsed)
			}
			delete(outputs, key)
		case "fail":
			failed = true
			if b := outputs[key]; b != nil {
				fmt.Fprint(out, b.String()) // a package's ends in its FAIL line
			} else if e.Test == "" {
				fmt.Fprintf(out, "FAIL\t%s\t%.3fs\n", e.Package, e.Elapsed)
			}
			delete(outputs, key)
		}
	}
	sort.Strings(skipped)
	fmt.Fprintf(out, "== %d skipped test(s)\n", len(skipped))
	missing := 0
	for _, s := range skipped {
		mark := "  "
		if required.MatchString(s) {
			mark, missing = "!!", missing+1
		}
		fmt.Fprintf(out, "%s %s\n", mark, s)
	}
	if missing > 0 {
		fmt.Fprintf(out, "FAIL: %d test(s) that CI must run skipped (marked !!): install what they name\n", missing)
		return 1
	}
	if failed {
		return 1
	}
	return 0
}

// reason is the skip message: the test's last output line before its
// "--- SKIP" line.
func reason(b *strings.Builder) string {
	if b == nil {
		return "(no reason given)"
	}
	var last string
	for _, l := range strings.Split(b.String(), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		last = l
	}
	return last
}
