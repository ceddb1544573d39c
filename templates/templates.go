// Package templates renders the text and HTML bodies of outbound mail from
// embedded default templates, per event and language, with an optional
// override folder laid out the same way (<dir>/<lang>/<audience>/<event>.txt
// and .html).
package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	texttemplate "text/template"
)

//go:embed default
var defaults embed.FS

// DefaultLanguage is used when a template is missing in the wanted language.
const DefaultLanguage = "en"

// Set renders templates. It caches parsed templates; a new Set (on reload)
// picks up changed override files.
type Set struct {
	fsys []fs.FS // searched in order: override dir, then embedded defaults
	mu   sync.Mutex
	text map[string]*texttemplate.Template
	html map[string]*htmltemplate.Template
	// bufs lends Render its output buffers: every mail sent renders two
	// bodies, which grew a new buffer from nothing each time.
	bufs sync.Pool
}

// New returns a set that prefers files in overrideDir ("" = none).
func New(overrideDir string) *Set {
	s := &Set{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	if overrideDir != "" {
		s.fsys = append(s.fsys, os.DirFS(overrideDir))
	}
	sub, _ := fs.Sub(defaults, "default")
	s.fsys = append(s.fsys, sub)
	return s
}

// Languages lists the languages of the embedded defaults.
func Languages() []string {
	entries, _ := defaults.ReadDir("default")
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// ErrNoTemplate is returned when no language has the template.
var ErrNoTemplate = errors.New("templates: no such template")

var funcs = map[string]any{
	"quote": func(s string) string {
		lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
		for i, l := range lines {
			lines[i] = "> " + l
		}
		return strings.Join(lines, "\n")
	},
	"paragraphs": func(s string) []string {
		return strings.Split(strings.TrimSpace(s), "\n")
	},
}

// Render renders <audience>/<event> (e.g. "customer/request_created") in
// lang, falling back to DefaultLanguage, and returns the text and HTML
// bodies. HTML output escapes everything from data.
func (s *Set) Render(lang, name string, data any) (string, string, error) {
	tt, ht, err := s.lookup(lang, name)
	if err != nil {
		return "", "", err
	}
	b := s.buffer()
	defer s.release(b)
	if err := tt.Execute(b, data); err != nil {
		return "", "", fmt.Errorf("templates: %s text: %w", name, err)
	}
	text := b.String()
	b.Reset()
	if err := ht.Execute(b, data); err != nil {
		return "", "", fmt.Errorf("templates: %s html: %w", name, err)
	}
	return text, b.String(), nil
}

// maxPooled is the largest buffer kept for reuse: a digest of a busy day
// must not pin its megabytes.
const maxPooled = 64 << 10

func (s *Set) buffer() *bytes.Buffer {
	if b, ok := s.bufs.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

func (s *Set) release(b *bytes.Buffer) {
	if b.Cap() > maxPooled {
		return
	}
	b.Reset()
	s.bufs.Put(b)
}

// Has reports whether the set can render name in lang (or in
// DefaultLanguage).
func (s *Set) Has(lang, name string) bool {
	_, _, err := s.lookup(lang, name)
	return err == nil
}

func (s *Set) lookup(lang, name string) (*texttemplate.Template, *htmltemplate.Template, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range []string{lang, DefaultLanguage} {
		key := l + "/" + name
		if tt, ok := s.text[key]; ok {
			return tt, s.html[key], nil
		}
		txt, err1 := s.read(path.Join(l, name+".txt"))
		htm, err2 := s.read(path.Join(l, name+".html"))
		if err1 != nil || err2 != nil {
			continue
		}
		layout, err := s.read(path.Join(l, "layout.html"))
		if err != nil {
			layout, err = s.read(path.Join(DefaultLanguage, "layout.html"))
			if err != nil {
				return nil, nil, fmt.Errorf("templates: layout.html: %w", err)
			}
		}
		tt, err := texttemplate.New(name).Funcs(funcs).Parse(txt)
		if err != nil {
			return nil, nil, fmt.Errorf("templates: %s.txt: %w", key, err)
		}
		ht, err := htmltemplate.New("layout").Funcs(funcs).Parse(layout)
		if err == nil {
			_, err = ht.Parse(htm)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("templates: %s.html: %w", key, err)
		}
		s.text[key], s.html[key] = tt, ht
		return tt, ht, nil
	}
	return nil, nil, fmt.Errorf("%w: %s (%s)", ErrNoTemplate, name, lang)
}

func (s *Set) read(name string) (string, error) {
	var firstErr error
	for _, f := range s.fsys {
		b, err := fs.ReadFile(f, name)
		if err == nil {
			return string(b), nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return "", firstErr
}

// Strings holds the short localised phrases used outside templates (the
// reply marker that cuts agents' replies).
var markers = map[string]string{
	"en": "## Reply above this line ##",
	"de": "## Bitte oberhalb dieser Zeile antworten ##",
}

// ReplyMarker returns the localised "reply above this line" marker.
func ReplyMarker(lang string) string {
	if m, ok := markers[lang]; ok {
		return m
	}
	return markers[DefaultLanguage]
}

// AllReplyMarkers returns every known marker, for cutting replies whatever
// language the notification was in.
func AllReplyMarkers() []string {
	out := make([]string, 0, len(markers))
	for _, m := range markers {
		out = append(out, m)
	}
	return out
}
