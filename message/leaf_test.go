package message

import (
	goparser "go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLeaf: message imports no package of the gateway but msgid (issue 13,
// item 7): every part of the gateway may read mail with it, and it knows
// nothing of tickets, policy or transports.
func TestLeaf(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := goparser.ParseFile(token.NewFileSet(), f, nil, goparser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/ticketgate/ticketgate/") && path != "github.com/ticketgate/ticketgate/msgid" {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}
