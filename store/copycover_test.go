package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// declaredBuckets lists every bucket name the package declares: each
// package-level variable b[A-Z]… = []byte("name") of its non-test
// sources, read from the source so that a bucket added tomorrow (created
// on first use or not) is listed without anyone updating this test.
func declaredBuckets(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	varName := regexp.MustCompile(`^b[A-Z]`)
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !varName.MatchString(n.Name) || i >= len(vs.Values) {
						continue
					}
					call, ok := vs.Values[i].(*ast.CallExpr)
					if !ok || len(call.Args) != 1 {
						continue
					}
					if at, ok := call.Fun.(*ast.ArrayType); !ok || at.Len != nil || types(at.Elt) != "byte" {
						continue
					}
					lit, ok := call.Args[0].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Errorf("%s: bucket variable %s is not a string literal: classify it in CopyCoverage and teach this test", f, n.Name)
						continue
					}
					name, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					out[name] = f + ": " + n.Name
				}
			}
		}
	}
	return out
}

func types(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// TestCopyCoverageBolt: every bucket the package declares, and every
// bucket a new store has, is classified in CopyCoverage for bbolt; every
// bbolt entry names a declared bucket; every copied entry has a record
// kind and every record kind is copied from exactly one bucket.
func TestCopyCoverageBolt(t *testing.T) {
	declared := declaredBuckets(t)
	if len(declared) < len(allBuckets) {
		t.Fatalf("found %d bucket declarations, fewer than allBuckets' %d: the scan is broken", len(declared), len(allBuckets))
	}
	for name, where := range declared {
		if _, ok := CoverageOf(BackendBolt, name); !ok {
			t.Errorf("bucket %q (%s) is not in CopyCoverage: `store copy` would leave it out", name, where)
		}
	}
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	backend, cs, err := s.(Layout).Layout()
	if err != nil {
		t.Fatal(err)
	}
	if backend != BackendBolt || len(cs) < len(allBuckets) {
		t.Fatalf("layout %s with %d buckets", backend, len(cs))
	}
	for _, c := range cs {
		if _, ok := CoverageOf(BackendBolt, c.Name); !ok {
			t.Errorf("bucket %q of a new store is not in CopyCoverage", c.Name)
		}
	}
	kinds := map[RecordKind]int{}
	for _, e := range CopyCoverage() {
		if e.Backend == BackendPostgres {
			continue
		}
		if _, ok := declared[e.Name]; !ok {
			t.Errorf("CopyCoverage names bucket %q, which the package does not declare", e.Name)
		}
		if e.Cover == CoverCopied {
			kinds[e.Kind]++
		} else if e.Why == "" {
			t.Errorf("%s is %s without saying why", e.Name, e.Cover)
		}
	}
	for _, k := range RecordKinds() {
		if k == RecSequence {
			continue // the buckets' own sequences
		}
		if kinds[k] != 1 {
			t.Errorf("record kind %s is copied from %d buckets, want 1", k, kinds[k])
		}
	}
}
