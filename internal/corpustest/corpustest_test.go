package corpustest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDir finds the corpus with its manifest and the replies the reply
// stripping is measured on.
func TestDir(t *testing.T) {
	dir := Dir(t)
	for _, p := range []string{"MANIFEST.tsv", filepath.Join("replies", "cases")} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
