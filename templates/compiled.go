package templates

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"text/template/parse"
)

// A compiled template renders a parsed template without reflection: the
// fields it names are read through the getters the data's Schema gives,
// and the escapers html/template put into its actions run as plain
// functions on strings. Only what the default templates use is compiled
// (text, printing a field, if/with/else on a field, range over a list
// of strings with or without $i, $a, template calls with dot); any other
// construct leaves the template to text/template and html/template
// (nothing compiled), and anything a compiled template meets at render
// time that it does not handle exactly as they would (a nil pointer on
// the way to a field, a value it cannot print) makes Render start over
// with them. The output is byte for byte theirs: TestCompiledSame
// compares them on random templates and data, and package notify's
// golden mails hold both.

// Kind is the type of a field's value as compiled templates see it.
type Kind uint8

// Kinds of values.
const (
	// KindString is a plain string (not a string type with methods, nor
	// html/template's typed strings such as template.HTML).
	KindString Kind = iota + 1
	// KindStrings is a []string.
	KindStrings
	// KindBool is a bool.
	KindBool
	// KindInt is an int.
	KindInt
	// KindStruct is a struct, or a pointer to one (Value.B says the
	// pointer is not nil). Its own fields are separate paths.
	KindStruct
)

// Value is a field's value.
type Value struct {
	Kind Kind
	S    string
	L    []string
	B    bool
	I    int
}

// truth is text/template's idea of a value being true (if, with).
func (v *Value) truth() bool {
	switch v.Kind {
	case KindString:
		return v.S != ""
	case KindStrings:
		return len(v.L) > 0
	case KindInt:
		return v.I != 0
	default:
		return v.B
	}
}

// Getter reads one field of the data given to Render; false when it
// cannot (a nil pointer on the way: text/template fails there, and the
// render starts over with it to fail alike).
type Getter func(data any) (Value, bool)

// Schema is implemented by data whose templates may be compiled.
type Schema interface {
	// TemplateField returns the getter of the field at path from the
	// data (e.g. ["Ticket", "Key"] for {{.Ticket.Key}}) and its kind,
	// or nil when the data has no such field of a kind listed above.
	// The getter must return what text/template would find there.
	TemplateField(path []string) (Getter, Kind)
}

type opKind uint8

const (
	opText opKind = iota
	opPrint
	opIf
	opWith
	opRange
)

// src is where a value comes from: a field of the data, the dot (a
// with's or range's value), or a variable of a range.
type src struct {
	get  Getter // a field of the data, when not nil
	dot  bool
	slot int // a variable's slot, when get is nil and dot is false
}

type op struct {
	kind     opKind
	text     []byte
	src      src
	esc      []escaper
	list     []op
	elseList []op
	// range: the slots of $i and $a (-1 for none), and whether the
	// dot is the element.
	idxSlot, elemSlot int
	// with: the dot becomes the value (a string or list); a struct's
	// fields are read from the data instead.
	setDot bool
}

// maxSlots bounds the variables of a compiled template; maxDepth its
// nesting of template calls.
const (
	maxSlots = 8
	maxDepth = 8
)

type compiled struct {
	ops []op
}

// scope is what the dot and $ are while compiling: a path of struct
// fields from the data (prefix, for a struct value), or a value
// (valueDot: a with's string or a range's element).
type scope struct {
	prefix   []string
	valueDot bool
	dotKind  Kind
	dollar   *scope
}

type compiler struct {
	schema Schema
	lookup func(name string) *parse.Tree
	html   bool
	slots  int
	depth  int
}

// compile returns the compiled form of tree, nil when it uses what
// compiled templates do not do.
func compile(tree *parse.Tree, schema Schema, lookup func(string) *parse.Tree, html bool) *compiled {
	if tree == nil || tree.Root == nil {
		return nil
	}
	c := &compiler{schema: schema, lookup: lookup, html: html}
	root := &scope{}
	root.dollar = root
	ops, ok := c.list(tree.Root, root, map[string]int{})
	if !ok {
		return nil
	}
	return &compiled{ops: ops}
}

func (c *compiler) list(l *parse.ListNode, sc *scope, vars map[string]int) ([]op, bool) {
	if l == nil {
		return nil, true
	}
	var ops []op
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			if len(n.Text) == 0 {
				continue
			}
			ops = append(ops, op{kind: opText, text: n.Text})
		case *parse.ActionNode:
			o, ok := c.print(n.Pipe, sc, vars)
			if !ok {
				return nil, false
			}
			ops = append(ops, o)
		case *parse.IfNode:
			o, ok := c.branch(opIf, &n.BranchNode, sc, vars)
			if !ok {
				return nil, false
			}
			ops = append(ops, o)
		case *parse.WithNode:
			o, ok := c.branch(opWith, &n.BranchNode, sc, vars)
			if !ok {
				return nil, false
			}
			ops = append(ops, o)
		case *parse.RangeNode:
			o, ok := c.rangeOp(n, sc, vars)
			if !ok {
				return nil, false
			}
			ops = append(ops, o)
		case *parse.TemplateNode:
			sub, ok := c.call(n, sc)
			if !ok {
				return nil, false
			}
			ops = append(ops, sub...)
		default:
			// comments, break, continue, anything new
			return nil, false
		}
	}
	return ops, true
}

// operand compiles a pipeline's only operand: a field of the data or
// of a struct dot, the dot, $ with fields, or a variable.
func (c *compiler) operand(n parse.Node, sc *scope, vars map[string]int) (src, Kind, bool) {
	field := func(sc *scope, path []string) (src, Kind, bool) {
		if sc.valueDot {
			return src{}, 0, false
		}
		full := append(append([]string(nil), sc.prefix...), path...)
		if len(full) == 0 {
			return src{}, 0, false
		}
		g, k := c.schema.TemplateField(full)
		if g == nil {
			return src{}, 0, false
		}
		return src{get: g}, k, true
	}
	switch n := n.(type) {
	case *parse.FieldNode:
		return field(sc, n.Ident)
	case *parse.DotNode:
		if sc.valueDot {
			return src{dot: true}, sc.dotKind, true
		}
		return field(sc, nil)
	case *parse.VariableNode:
		if n.Ident[0] == "$" {
			if len(n.Ident) == 1 {
				return c.operand(&parse.DotNode{}, sc.dollar, vars)
			}
			return field(sc.dollar, n.Ident[1:])
		}
		slot, ok := vars[n.Ident[0]]
		if !ok || len(n.Ident) != 1 {
			return src{}, 0, false
		}
		kind := KindString
		if slot < 0 {
			kind, slot = KindInt, -slot-1
		}
		return src{slot: slot}, kind, true
	}
	return src{}, 0, false
}

// pipe compiles a pipeline of one operand (and, in HTML, the escapers
// html/template added after it).
func (c *compiler) pipe(p *parse.PipeNode, sc *scope, vars map[string]int, escapers bool) (src, Kind, []escaper, bool) {
	if p == nil || len(p.Decl) > 0 || p.IsAssign || len(p.Cmds) == 0 || len(p.Cmds[0].Args) != 1 {
		return src{}, 0, nil, false
	}
	s, k, ok := c.operand(p.Cmds[0].Args[0], sc, vars)
	if !ok {
		return src{}, 0, nil, false
	}
	if len(p.Cmds) > 1 && (!escapers || !c.html) {
		return src{}, 0, nil, false
	}
	var esc []escaper
	for _, cmd := range p.Cmds[1:] {
		if len(cmd.Args) != 1 {
			return src{}, 0, nil, false
		}
		id, isID := cmd.Args[0].(*parse.IdentifierNode)
		if !isID {
			return src{}, 0, nil, false
		}
		e, known := escapersByName[id.Ident]
		if !known {
			return src{}, 0, nil, false
		}
		esc = append(esc, e)
	}
	return s, k, esc, true
}

func (c *compiler) print(p *parse.PipeNode, sc *scope, vars map[string]int) (op, bool) {
	s, k, esc, ok := c.pipe(p, sc, vars, true)
	if !ok || (k != KindString && k != KindInt) {
		return op{}, false
	}
	if c.html && len(esc) == 0 {
		// html/template escapes every action it prints.
		return op{}, false
	}
	return op{kind: opPrint, src: s, esc: esc}, true
}

func (c *compiler) branch(kind opKind, b *parse.BranchNode, sc *scope, vars map[string]int) (op, bool) {
	s, k, _, ok := c.pipe(b.Pipe, sc, vars, false)
	if !ok {
		return op{}, false
	}
	o := op{kind: kind, src: s}
	inner := sc
	if kind == opWith {
		switch {
		case k == KindStruct && s.get != nil && !sc.valueDot:
			// The struct's fields are paths of the data.
			path := b.Pipe.Cmds[0].Args[0]
			var rel []string
			switch n := path.(type) {
			case *parse.FieldNode:
				inner = &scope{prefix: append(append([]string(nil), sc.prefix...), n.Ident...), dollar: sc.dollar}
			case *parse.VariableNode:
				rel = n.Ident[1:]
				if n.Ident[0] != "$" {
					return op{}, false
				}
				inner = &scope{prefix: append(append([]string(nil), sc.dollar.prefix...), rel...), dollar: sc.dollar}
			default:
				inner = sc
			}
		case k == KindString || k == KindStrings || k == KindInt:
			o.setDot = true
			inner = &scope{valueDot: true, dotKind: k, dollar: sc.dollar}
		default:
			return op{}, false
		}
	}
	var okList, okElse bool
	o.list, okList = c.list(b.List, inner, vars)
	o.elseList, okElse = c.list(b.ElseList, sc, vars)
	return o, okList && okElse
}

func (c *compiler) rangeOp(n *parse.RangeNode, sc *scope, vars map[string]int) (op, bool) {
	p := n.Pipe
	if p == nil || p.IsAssign || len(p.Decl) > 2 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return op{}, false
	}
	s, k, ok := c.operand(p.Cmds[0].Args[0], sc, vars)
	if !ok || k != KindStrings {
		return op{}, false
	}
	o := op{kind: opRange, src: s, idxSlot: -1, elemSlot: -1}
	inner := map[string]int{}
	for name, slot := range vars {
		inner[name] = slot
	}
	newSlot := func() (int, bool) {
		if c.slots >= maxSlots {
			return 0, false
		}
		c.slots++
		return c.slots - 1, true
	}
	switch len(p.Decl) {
	case 1:
		if o.elemSlot, ok = newSlot(); !ok {
			return op{}, false
		}
		inner[p.Decl[0].Ident[0]] = o.elemSlot
	case 2:
		if o.idxSlot, ok = newSlot(); !ok {
			return op{}, false
		}
		if o.elemSlot, ok = newSlot(); !ok {
			return op{}, false
		}
		// An index slot is stored negated (-slot-1): it holds an int.
		inner[p.Decl[0].Ident[0]] = -o.idxSlot - 1
		inner[p.Decl[1].Ident[0]] = o.elemSlot
	}
	elem := &scope{valueDot: true, dotKind: KindString, dollar: sc.dollar}
	var okList, okElse bool
	o.list, okList = c.list(n.List, elem, inner)
	o.elseList, okElse = c.list(n.ElseList, sc, vars)
	return o, okList && okElse
}

// call inlines {{template "name" .}}: the called template's $ is the
// dot given.
func (c *compiler) call(n *parse.TemplateNode, sc *scope) ([]op, bool) {
	if n.Pipe == nil || len(n.Pipe.Decl) > 0 || len(n.Pipe.Cmds) != 1 || len(n.Pipe.Cmds[0].Args) != 1 {
		return nil, false
	}
	if _, isDot := n.Pipe.Cmds[0].Args[0].(*parse.DotNode); !isDot || sc.valueDot || c.depth >= maxDepth {
		return nil, false
	}
	t := c.lookup(n.Name)
	if t == nil || t.Root == nil {
		return nil, false
	}
	callee := &scope{prefix: sc.prefix}
	callee.dollar = callee
	c.depth++
	defer func() { c.depth-- }()
	return c.list(t.Root, callee, map[string]int{})
}

// state is one render of a compiled template.
type state struct {
	data any
	out  *bytes.Buffer
	vars [maxSlots]Value
	tmp  *[]byte
	tmps *sync.Pool
}

// exec renders c into out; false when it met what only text/template
// or html/template can do exactly (out then holds part of the output).
// tmps lends the buffer for escapers' intermediate results (the Set's).
func (c *compiled) exec(out *bytes.Buffer, data any, tmps *sync.Pool) bool {
	st := state{data: data, out: out, tmps: tmps}
	ok := st.run(c.ops, Value{})
	if st.tmp != nil && cap(*st.tmp) <= 4<<10 {
		tmps.Put(st.tmp)
	}
	return ok
}

func (st *state) value(s src, dot Value) (Value, bool) {
	switch {
	case s.get != nil:
		return s.get(st.data)
	case s.dot:
		return dot, true
	default:
		return st.vars[s.slot], true
	}
}

func (st *state) run(ops []op, dot Value) bool {
	for i := range ops {
		o := &ops[i]
		switch o.kind {
		case opText:
			st.out.Write(o.text)
		case opPrint:
			v, ok := st.value(o.src, dot)
			if !ok {
				return false
			}
			var s string
			switch v.Kind {
			case KindString:
				s = v.S
			case KindInt:
				s = strconv.Itoa(v.I)
			default:
				return false
			}
			if len(o.esc) == 0 {
				st.out.WriteString(s)
				continue
			}
			// Every escaper but the last makes a string for the next
			// (a new one only when it changed something: a URL that
			// is already normal stays the same string).
			for _, e := range o.esc[:len(o.esc)-1] {
				if st.tmp == nil {
					if st.tmp, _ = st.tmps.Get().(*[]byte); st.tmp == nil {
						b := make([]byte, 0, 256)
						st.tmp = &b
					}
				}
				*st.tmp = e((*st.tmp)[:0], s)
				if string(*st.tmp) != s {
					s = string(*st.tmp)
				}
			}
			// The last appends to the output's own free space.
			st.out.Write(o.esc[len(o.esc)-1](st.out.AvailableBuffer(), s))
		case opIf, opWith:
			v, ok := st.value(o.src, dot)
			if !ok {
				return false
			}
			if v.truth() {
				inner := dot
				if o.setDot {
					inner = v
				}
				if !st.run(o.list, inner) {
					return false
				}
			} else if !st.run(o.elseList, dot) {
				return false
			}
		case opRange:
			v, ok := st.value(o.src, dot)
			if !ok || v.Kind != KindStrings {
				return false
			}
			if len(v.L) == 0 {
				if !st.run(o.elseList, dot) {
					return false
				}
				continue
			}
			for i, e := range v.L {
				elem := Value{Kind: KindString, S: e}
				if o.idxSlot >= 0 {
					st.vars[o.idxSlot] = Value{Kind: KindInt, I: i}
				}
				if o.elemSlot >= 0 {
					st.vars[o.elemSlot] = elem
				}
				if !st.run(o.list, elem) {
					return false
				}
			}
		}
	}
	return true
}

// An escaper appends s escaped to dst, as the html/template function
// of its name does to a plain string.
type escaper func(dst []byte, s string) []byte

var escapersByName = map[string]escaper{
	"_html_template_htmlescaper":   escapeHTML,
	"_html_template_attrescaper":   escapeHTML,
	"_html_template_rcdataescaper": escapeHTML,
	"_html_template_urlfilter":     filterURL,
	"_html_template_urlnormalizer": func(dst []byte, s string) []byte { return processURL(dst, s, true) },
	"_html_template_urlescaper":    func(dst []byte, s string) []byte { return processURL(dst, s, false) },
}

// htmlEscapes are html/template's replacements in text, quoted
// attributes and RCDATA. Bytes of multi-byte UTF-8 sequences (and
// invalid bytes, which it reads as U+FFFD) are never among them, so a
// byte loop replaces what its rune loop does.
var htmlEscapes = [256]string{
	0:    "\uFFFD",
	'"':  "&#34;",
	'&':  "&amp;",
	'\'': "&#39;",
	'+':  "&#43;",
	'<':  "&lt;",
	'>':  "&gt;",
}

func escapeHTML(dst []byte, s string) []byte {
	written := 0
	for i := 0; i < len(s); i++ {
		if r := htmlEscapes[s[i]]; r != "" {
			dst = append(dst, s[written:i]...)
			dst = append(dst, r...)
			written = i + 1
		}
	}
	return append(dst, s[written:]...)
}

// filterURL is html/template's urlFilter: a URL with a scheme other
// than http, https and mailto becomes "#ZgotmplZ".
func filterURL(dst []byte, s string) []byte {
	if protocol, _, ok := strings.Cut(s, ":"); ok && !strings.Contains(protocol, "/") {
		if !strings.EqualFold(protocol, "http") && !strings.EqualFold(protocol, "https") && !strings.EqualFold(protocol, "mailto") {
			return append(dst, "#ZgotmplZ"...)
		}
	}
	return append(dst, s...)
}

// processURL is html/template's urlNormalizer (norm) and urlEscaper:
// bytes outside the unreserved set (and, when not normalizing, the
// reserved ones and every "%") written as %xx in lower case.
func processURL(dst []byte, s string, norm bool) []byte {
	const hex = "0123456789abcdef"
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '!', '#', '$', '&', '*', '+', ',', '/', ':', ';', '=', '?', '@', '[', ']':
			if norm {
				continue
			}
		case '-', '.', '_', '~':
			continue
		case '%':
			if norm && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				continue
			}
		default:
			if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
				continue
			}
		}
		dst = append(dst, s[written:i]...)
		dst = append(dst, '%', hex[c>>4], hex[c&0xf])
		written = i + 1
	}
	return append(dst, s[written:]...)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
