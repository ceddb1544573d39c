// Package leaftest checks in a package's own tests that the package stays a
// leaf of the module: it imports no package of the gateway but the ones
// named.
package leaftest

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Module is the gateway's module path.
const Module = "github.com/ticketgate/ticketgate/"

// Check fails t for every import of a gateway package by the non-test Go
// files in the current directory, except the allowed ones (full paths).
func Check(t *testing.T, allowed ...string) {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("leaftest: no Go files in the current directory")
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, Module) && !slices.Contains(allowed, path) {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}
