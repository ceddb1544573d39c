package templates

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cdata is render data with a Schema: strings, lists, an int, a bool, a
// pointer to a struct (maybe nil) and a struct.
type cdata struct {
	A, B string
	L, E []string
	N    int
	F    bool
	P    *csub
	S    csub
}

type csub struct {
	X string
	Y []string
}

func (d *cdata) TemplateField(path []string) (Getter, Kind) {
	type field struct {
		get  func(d *cdata) (Value, bool)
		kind Kind
	}
	s := func(f func(d *cdata) string) field {
		return field{func(d *cdata) (Value, bool) { return Value{Kind: KindString, S: f(d)}, true }, KindString}
	}
	l := func(f func(d *cdata) []string) field {
		return field{func(d *cdata) (Value, bool) { return Value{Kind: KindStrings, L: f(d)}, true }, KindStrings}
	}
	fields := map[string]field{
		"A": s(func(d *cdata) string { return d.A }),
		"B": s(func(d *cdata) string { return d.B }),
		"L": l(func(d *cdata) []string { return d.L }),
		"E": l(func(d *cdata) []string { return d.E }),
		"N": {func(d *cdata) (Value, bool) { return Value{Kind: KindInt, I: d.N}, true }, KindInt},
		"F": {func(d *cdata) (Value, bool) { return Value{Kind: KindBool, B: d.F}, true }, KindBool},
		"P": {func(d *cdata) (Value, bool) { return Value{Kind: KindStruct, B: d.P != nil}, true }, KindStruct},
		"P.X": {func(d *cdata) (Value, bool) {
			if d.P == nil {
				return Value{}, false
			}
			return Value{Kind: KindString, S: d.P.X}, true
		}, KindString},
		"P.Y": {func(d *cdata) (Value, bool) {
			if d.P == nil {
				return Value{}, false
			}
			return Value{Kind: KindStrings, L: d.P.Y}, true
		}, KindStrings},
		"S":   {func(*cdata) (Value, bool) { return Value{Kind: KindStruct, B: true}, true }, KindStruct},
		"S.X": s(func(d *cdata) string { return d.S.X }),
		"S.Y": l(func(d *cdata) []string { return d.S.Y }),
	}
	f, ok := fields[strings.Join(path, ".")]
	if !ok {
		return nil, 0
	}
	return func(v any) (Value, bool) { return f.get(v.(*cdata)) }, f.kind
}

// cvalues are strings that exercise the escapers: HTML specials, NUL,
// URLs with and without a safe scheme, percent signs, non-ASCII and
// invalid UTF-8.
var cvalues = []string{"", "plain", "<b>&amp;</b>", `"q" 'a' +p`, "\x00", "javascript:alert(1)", "JavaScript:x", "http://h.example/a b?c=d&e=%zz%41%4",
	"HTTPS://X", "mailto:a@b.example", "/rel:ative", "rel/x:y", "é ü 日本", "\xff\xfe", "%", "a%2", "100%25", "#frag", "ftp://x", " ", "\n\t", "?&=+#!$*,;@[]~-._"}

func randData(r *rand.Rand) *cdata {
	pick := func() string {
		var b strings.Builder
		for range r.IntN(3) {
			b.WriteString(cvalues[r.IntN(len(cvalues))])
		}
		return b.String()
	}
	list := func() []string {
		var l []string
		for range r.IntN(4) {
			l = append(l, pick())
		}
		return l
	}
	d := &cdata{A: pick(), B: pick(), L: list(), E: list(), N: r.IntN(3) - 1, F: r.IntN(2) == 0, S: csub{X: pick(), Y: list()}}
	if r.IntN(3) > 0 {
		d.P = &csub{X: pick(), Y: list()}
	}
	return d
}

// randTemplate makes a template of the constructs compiled templates do
// (and some they do not), for text or (html) HTML: in HTML every action
// is in a complete frame (text, attributes, URLs, RCDATA, script), so
// the branches of a condition end in the same context.
func randTemplate(r *rand.Rand, html bool, depth int) string {
	// operands in the data's scope; elem: the dot is a string.
	// One in ten of the operands, frames and conditions is one compiled
	// templates leave to text/template and html/template (or an error).
	rare := func(common, uncommon []string) string {
		if r.IntN(10) == 0 {
			return uncommon[r.IntN(len(uncommon))]
		}
		return common[r.IntN(len(common))]
	}
	op := func() string {
		return rare([]string{".A", ".B", ".P.X", ".S.X", "$.A", ".N"}, []string{".F", ".L", ".P", ".Zz"})
	}
	frame := func() string { return "%s" }
	if html {
		frame = func() string {
			return rare([]string{"<p>%s</p>", `<a title="%s">t</a>`, `<a href="%s">u</a>`, `<a href="/s?q=%s&amp;k=1">q</a>`, `<a href='%s'>s</a>`,
				`<img src="%s/x.png">`, "<textarea>%s</textarea>", "<title>%s</title>"},
				[]string{"<a title=%s>n</a>", "<script>var x = %s;</script>", `<p style="color: %s">c</p>`})
		}
	}
	var b strings.Builder
	for range 1 + r.IntN(5) {
		switch k := r.IntN(10); {
		case k < 3:
			b.WriteString(rare([]string{"Hello ", " & ", "\n", "<i>x</i>", "é", "{{/* c */}}", " {{- /* trim */ -}} "}, []string{` {{- " " -}} `, `{{"const"}}`}))
		case k < 6:
			fmt.Fprintf(&b, frame(), "{{"+op()+"}}")
		case depth > 2:
			continue
		case k == 6:
			cond := rare([]string{".A", ".L", ".P", ".N", ".F", ".E", "$.B"}, []string{"not .A", `eq .A "plain"`})
			fmt.Fprintf(&b, "{{if %s}}%s{{else}}%s{{end}}", cond, randTemplate(r, html, depth+1), randTemplate(r, html, depth+1))
		case k == 7:
			switch r.IntN(3) {
			case 0:
				fmt.Fprintf(&b, "{{with .A}}%s{{else}}%s{{end}}", strings.ReplaceAll(randElem(r, html), "ELEM", "."), randTemplate(r, html, depth+1))
			case 1:
				fmt.Fprintf(&b, "{{with .P}}%s{{end}}", strings.NewReplacer("{{.P.X}}", "{{.X}}", "$.A", "$.B").Replace(randTemplate(r, html, depth+1)))
			default:
				fmt.Fprintf(&b, "{{with .S}}{{.X}}{{range .Y}}[{{.}}]{{end}}{{end}}")
			}
		case k == 8:
			list := []string{".L", ".E", ".P.Y", ".S.Y"}[r.IntN(4)]
			switch r.IntN(3) {
			case 0:
				fmt.Fprintf(&b, "{{range $i, $a := %s}}{{if $i}}, {{end}}%s{{else}}none{{end}}", list, strings.ReplaceAll(randElem(r, html), "ELEM", "$a"))
			case 1:
				fmt.Fprintf(&b, "{{range $a := %s}}%s{{$.A}}{{end}}", list, strings.ReplaceAll(randElem(r, html), "ELEM", "$a"))
			default:
				fmt.Fprintf(&b, "{{range %s}}%s{{end}}", list, strings.ReplaceAll(randElem(r, html), "ELEM", "."))
			}
		default:
			b.WriteString(`{{template "part" .}}`)
		}
	}
	return b.String()
}

// randElem prints ELEM (a string) in a frame.
func randElem(r *rand.Rand, html bool) string {
	if !html {
		return "<{{ELEM}}>"
	}
	return []string{"<b>{{ELEM}}</b>", `<a href="{{ELEM}}">e</a>`, `<a title="{{ELEM}}">e</a>`, "<li>{{ELEM}}</li>"}[r.IntN(4)]
}

// TestCompiledSame renders random templates with random data through a
// set that compiles them and through one that never does: text, HTML and
// errors must be the same, on the first render (text/template's) and on
// the following ones (compiled where the template could be).
func TestCompiledSame(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 23))
	dir := t.TempDir()
	const n = 400
	if err := os.MkdirAll(filepath.Join(dir, "en", "t"), 0o755); err != nil {
		t.Fatal(err)
	}
	layout := "<!DOCTYPE html><html><body>{{if .A}}<p>{{.A}}</p>{{end}}\n{{template \"body\" .}}\n<p>{{.B}} · {{.S.X}}</p></body></html>"
	if err := os.WriteFile(filepath.Join(dir, "en", "layout.html"), []byte(layout), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		text := randTemplate(r, false, 0) + `{{define "part"}}[{{.B}}{{with .P}}{{.X}}{{end}}]{{end}}`
		html := `{{define "body"}}` + randTemplate(r, true, 0) + `{{end}}{{define "part"}}<i>{{.B}}</i>{{end}}`
		for ext, src := range map[string]string{"txt": text, "html": html} {
			if err := os.WriteFile(filepath.Join(dir, "en", "t", fmt.Sprintf("%d.%s", i, ext)), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	fast, general := New(dir), NewGeneral(dir)
	compiled, fellBack := 0, 0
	for i := range n {
		name := fmt.Sprintf("t/%d", i)
		for j := range 25 {
			d := randData(r)
			ft, fh, ferr := fast.Render("en", name, d)
			gt, gh, gerr := general.Render("en", name, d)
			if ft != gt || fh != gh || fmt.Sprint(ferr) != fmt.Sprint(gerr) {
				src, _ := os.ReadFile(filepath.Join(dir, "en", "t", fmt.Sprintf("%d.html", i)))
				txt, _ := os.ReadFile(filepath.Join(dir, "en", "t", fmt.Sprintf("%d.txt", i)))
				t.Fatalf("template %d, render %d, data %+v (P %+v):\ntext template %q\nhtml template %q\ncompiled: %q %q %v\ngeneral:  %q %q %v",
					i, j, d, d.P, txt, src, ft, fh, ferr, gt, gh, gerr)
			}
		}
		if fast.Compiled("en", name) {
			compiled++
		} else if _, _, err := general.Render("en", name, &cdata{P: &csub{}}); err == nil {
			fellBack++
		}
	}
	t.Logf("%d of %d templates compiled, %d left to text/template and html/template", compiled, n, fellBack)
	if compiled < n/5 || fellBack < n/10 {
		t.Errorf("%d templates compiled and %d not: the test no longer exercises both", compiled, fellBack)
	}
	if general.Compiled("en", "t/0") {
		t.Error("NewGeneral's set compiled a template")
	}
}
