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
	"reflect"
	"strings"
	"sync"
	texttemplate "text/template"
	"text/template/parse"
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
	// tmps lends compiled templates' escapers their intermediate
	// buffers (compiled.go).
	tmps sync.Pool
	// fast holds the compiled forms of templates rendered once (see
	// compiled.go), by the key of text and html; a nil form marks a
	// template that cannot be compiled.
	fast map[string]*fastForm
	// resolved names the key of a template found in the language asked
	// for (lang, name), so that a render does not build the key again;
	// a language that falls back to DefaultLanguage is looked up anew
	// each time, as before.
	resolved map[[2]string]string
	// general: never compile (NewGeneral).
	general bool
	// idents holds, by key, every identifier the template pair names
	// (Names), collected when it is parsed, before a render can change
	// its trees.
	idents map[string]map[string]bool
}

// fastForm is a template pair compiled for data of one type.
type fastForm struct {
	typ        reflect.Type
	text, html *compiled
}

// New returns a set that prefers files in overrideDir ("" = none).
func New(overrideDir string) *Set {
	s := &Set{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}, fast: map[string]*fastForm{}, resolved: map[[2]string]string{}, idents: map[string]map[string]bool{}}
	if overrideDir != "" {
		s.fsys = append(s.fsys, os.DirFS(overrideDir))
	}
	sub, _ := fs.Sub(defaults, "default")
	s.fsys = append(s.fsys, sub)
	return s
}

// NewGeneral returns a set like New's that always renders through
// text/template and html/template, never compiling a template: for tests
// that hold compiled templates to them.
func NewGeneral(overrideDir string) *Set {
	s := New(overrideDir)
	s.general = true
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
//
// Data that implements Schema is rendered by the templates' compiled form
// from the second time a template renders (see compiled.go), with the
// same output; anything the compiled form cannot do exactly renders
// through text/template and html/template as before.
func (s *Set) Render(lang, name string, data any) (string, string, error) {
	tt, ht, key, f, err := s.lookupFast(lang, name)
	if err != nil {
		return "", "", err
	}
	b := s.buffer()
	defer s.release(b)
	if f != nil && f.typ == reflect.TypeOf(data) {
		if f.text.exec(b, data, &s.tmps) {
			text := b.String()
			b.Reset()
			if f.html.exec(b, data, &s.tmps) {
				return text, b.String(), nil
			}
		}
		b.Reset()
	}
	if err := tt.Execute(b, data); err != nil {
		return "", "", fmt.Errorf("templates: %s text: %w", name, err)
	}
	text := b.String()
	b.Reset()
	if err := ht.Execute(b, data); err != nil {
		return "", "", fmt.Errorf("templates: %s html: %w", name, err)
	}
	if f == nil {
		s.compile(key, tt, ht, data)
	}
	return text, b.String(), nil
}

// compile makes the compiled form of the template pair at key for data's
// type, once it rendered (html/template escapes a template on its first
// render: the escapers are then in its tree).
func (s *Set) compile(key string, tt *texttemplate.Template, ht *htmltemplate.Template, data any) {
	if s.general {
		return
	}
	s.mu.Lock()
	_, tried := s.fast[key]
	s.mu.Unlock()
	if tried {
		return
	}
	var f *fastForm
	if schema, ok := data.(Schema); ok {
		text := compile(tt.Tree, schema, func(name string) *parse.Tree {
			if t := tt.Lookup(name); t != nil {
				return t.Tree
			}
			return nil
		}, false)
		html := compile(ht.Tree, schema, func(name string) *parse.Tree {
			if t := ht.Lookup(name); t != nil {
				return t.Tree
			}
			return nil
		}, true)
		if text != nil && html != nil {
			f = &fastForm{typ: reflect.TypeOf(data), text: text, html: html}
		}
	}
	s.mu.Lock()
	s.fast[key] = f
	s.mu.Unlock()
}

// Compiled reports whether name in lang (or DefaultLanguage) renders
// through its compiled form: for tests that it does for the templates
// the daemon renders most.
func (s *Set) Compiled(lang, name string) bool {
	_, _, _, f, err := s.lookupFast(lang, name)
	return err == nil && f != nil
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
	tt, ht, _, _, err := s.lookupFast(lang, name)
	return tt, ht, err
}

// lookupFast returns the templates, their key and their compiled form
// (nil when there is none yet, or cannot be).
func (s *Set) lookupFast(lang, name string) (*texttemplate.Template, *htmltemplate.Template, string, *fastForm, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key, ok := s.resolved[[2]string{lang, name}]; ok {
		return s.text[key], s.html[key], key, s.fast[key], nil
	}
	for _, l := range []string{lang, DefaultLanguage} {
		key := l + "/" + name
		if tt, ok := s.text[key]; ok {
			if l == lang {
				s.resolved[[2]string{lang, name}] = key
			}
			return tt, s.html[key], key, s.fast[key], nil
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
				return nil, nil, "", nil, fmt.Errorf("templates: layout.html: %w", err)
			}
		}
		tt, err := texttemplate.New(name).Funcs(funcs).Parse(txt)
		if err != nil {
			return nil, nil, "", nil, fmt.Errorf("templates: %s.txt: %w", key, err)
		}
		ht, err := htmltemplate.New("layout").Funcs(funcs).Parse(layout)
		if err == nil {
			_, err = ht.Parse(htm)
		}
		if err != nil {
			return nil, nil, "", nil, fmt.Errorf("templates: %s.html: %w", key, err)
		}
		s.text[key], s.html[key] = tt, ht
		ids := map[string]bool{}
		for _, t := range tt.Templates() {
			collectIdents(t.Tree.Root, ids)
		}
		for _, t := range ht.Templates() {
			collectIdents(t.Tree.Root, ids)
		}
		s.idents[key] = ids
		if l == lang {
			s.resolved[[2]string{lang, name}] = key
		}
		return tt, ht, key, nil, nil
	}
	return nil, nil, "", nil, fmt.Errorf("%w: %s (%s)", ErrNoTemplate, name, lang)
}

// Idents are the identifiers a template pair names (Set.Names).
type Idents struct {
	// ids is nil for a pair that is not known: it names everything.
	ids map[string]bool
}

// Has reports whether the pair names ident.
func (i Idents) Has(ident string) bool { return i.ids == nil || i.ids[ident] }

// Names returns what the templates of name in lang (or in
// DefaultLanguage) name anywhere: each identifier of a field (.Message,
// .Message.Text, $.Message), in any template they define, the layout's
// included. A caller may leave out of the data what no template names:
// notify reads and strips a mail's message only for templates that show
// it. An unknown template names everything.
func (s *Set) Names(lang, name string) Idents {
	_, _, key, _, err := s.lookupFast(lang, name)
	if err != nil {
		return Idents{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return Idents{ids: s.idents[key]}
}

// collectIdents adds every field and variable identifier under n to ids.
func collectIdents(n parse.Node, ids map[string]bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			collectIdents(c, ids)
		}
	case *parse.ActionNode:
		collectIdents(n.Pipe, ids)
	case *parse.IfNode:
		collectBranch(&n.BranchNode, ids)
	case *parse.RangeNode:
		collectBranch(&n.BranchNode, ids)
	case *parse.WithNode:
		collectBranch(&n.BranchNode, ids)
	case *parse.TemplateNode:
		collectIdents(n.Pipe, ids)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			collectIdents(c, ids)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			collectIdents(a, ids)
		}
	case *parse.FieldNode:
		for _, id := range n.Ident {
			ids[id] = true
		}
	case *parse.VariableNode:
		for _, id := range n.Ident {
			ids[id] = true
		}
	case *parse.ChainNode:
		collectIdents(n.Node, ids)
		for _, id := range n.Field {
			ids[id] = true
		}
	}
}

func collectBranch(b *parse.BranchNode, ids map[string]bool) {
	collectIdents(b.Pipe, ids)
	collectIdents(b.List, ids)
	collectIdents(b.ElseList, ids)
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
