package templates

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	texttemplate "text/template"
)

// Macros (issue 21): canned answers in <dir>/<lang>/macros/<name>.txt,
// rendered with the notification templates' values. They are read on
// every use (a new file works without a reload).

// ErrNoMacro is returned (wrapped) for a macro no language has.
var ErrNoMacro = errors.New("templates: no such macro")

// macroName is what a macro may be called: no paths, no dots.
var macroName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Macro renders the macro name in lang (falling back to
// DefaultLanguage) with data.
func (s *Set) Macro(lang, name string, data any) (string, error) {
	name = strings.ToLower(name)
	if !macroName.MatchString(name) {
		return "", fmt.Errorf("%w: %q", ErrNoMacro, name)
	}
	for _, l := range []string{lang, DefaultLanguage} {
		src, err := s.read(path.Join(l, "macros", name+".txt"))
		if err != nil {
			continue
		}
		t, err := texttemplate.New(name).Funcs(funcs).Option("missingkey=error").Parse(src)
		if err != nil {
			return "", fmt.Errorf("templates: macro %s/%s: %w", l, name, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return "", fmt.Errorf("templates: macro %s/%s: %w", l, name, err)
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("%w: %s", ErrNoMacro, name)
}

// Macros lists the macros of lang and of DefaultLanguage, sorted.
func (s *Set) Macros(lang string) []string {
	var out []string
	for _, l := range []string{lang, DefaultLanguage} {
		for _, f := range s.fsys {
			entries, err := fs.ReadDir(f, path.Join(l, "macros"))
			if err != nil {
				continue
			}
			for _, e := range entries {
				n, ok := strings.CutSuffix(e.Name(), ".txt")
				if ok && !e.IsDir() && macroName.MatchString(n) && !slices.Contains(out, n) {
					out = append(out, n)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}
