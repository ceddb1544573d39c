package ticket_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// guardedWrites are the store's write methods of ticket, message and
// event records, and of offers and ratings (issue 18). Only the domain
// (package ticket) may call them; store defines them. Tokens, the
// Message-ID index of ids we mint and the outbox belong to the notifier
// and the sender and are not listed.
var guardedWrites = []string{"NextTicketNumber", "PutTicket", "AddMessage", "PutMessage", "MoveMessage", "AddEvent", "PutOffer", "PutRating",
	// Issue 17: drafts have one writer too.
	"NextDraftNumber", "PutDraft", "DeleteDraft", "MarkDraftAccepted"}

// writersAllowed says whether code in a module folder may call them: the
// domain, and the store with its backends and conformance suite.
func writersAllowed(dir string) bool {
	return dir == "ticket" || dir == "store" || strings.HasPrefix(dir, "store/")
}

// TestOneWriter scans every non-test Go file of the module for calls of
// the guarded store methods and fails, listing them, when any is outside
// package ticket (or the store itself). First it checks that the store's
// contract (an interface in package store) still declares each guarded
// name, so a rename cannot make the scan pass vacuously.
func TestOneWriter(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	defined := map[string]bool{}
	fset := token.NewFileSet()
	var callers []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		dir := filepath.ToSlash(filepath.Dir(rel))
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.InterfaceType:
				if dir == "store" {
					for _, m := range n.Methods.List {
						for _, name := range m.Names {
							if slices.Contains(guardedWrites, name.Name) {
								defined[name.Name] = true
							}
						}
					}
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if ok && slices.Contains(guardedWrites, sel.Sel.Name) && !writersAllowed(dir) {
					callers = append(callers, fset.Position(n.Pos()).String()+": "+sel.Sel.Name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range guardedWrites {
		if !defined[name] {
			t.Errorf("the store's contract no longer declares %s: update guardedWrites", name)
		}
	}
	sort.Strings(callers)
	for _, c := range callers {
		t.Errorf("ticket/message/event record written outside package ticket: %s", c)
	}
}
