// Package corpustest finds the shared mail corpus for tests: the folder
// ../shared/corpus beside the repository, which CI and the shared
// workspace always have and a user's clone does not. Tests that read it
// skip with a message naming the corpus when it is absent (internal/
// skipcheck makes CI fail on such a skip).
package corpustest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Root is the corpus folder, "" when it is not there (e.g. to seed a fuzz
// test only when it is).
func Root() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	// file is <repo>/internal/corpustest/corpustest.go.
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus")
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.tsv")); err != nil {
		return ""
	}
	return filepath.Clean(dir)
}

// Dir is Root, or skips tb when the corpus is not there.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir := Root()
	if dir == "" {
		tb.Skip("mail corpus not found at ../shared/corpus beside the repository (only CI and the shared workspace have it)")
	}
	return dir
}
