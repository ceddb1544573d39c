package desk

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// The dashboard's charts (issue 22): SVG drawn on the server with
// html/template, so the browser needs no script and the desk's CSP stays
// as strict as it is. Each chart is an <svg role="img"> with a <title> and
// a <desc> naming every figure, and a <title> on each bar and point (a
// tooltip, and what a screen reader reads); the page adds a table of the
// same numbers. The viewBox makes it scale to the width it gets, so the
// same drawing serves a phone and a desktop. Colours come from classes
// the page styles (light and dark), with fill attributes as the fallback.

// chartWidth is the width of every chart's coordinate system.
const chartWidth = 600

// Bar is one bar of a BarChart.
type Bar struct {
	Label string
	Value float64
	// Text is the value as people read it ("3", "4h05m"); empty: Value.
	Text string
}

// BarChart is a horizontal bar chart: a row per bar with its label, the
// bar and its value, and optionally a target line across the rows.
type BarChart struct {
	ID    string // unique on the page: the ids of its title and desc
	Title string
	Bars  []Bar
	// Target, when positive, is drawn as a line at that value, labelled
	// TargetText.
	Target     float64
	TargetText string
}

// Series is one named line of a DayChart; Values has one value per day.
type Series struct {
	Name   string
	Values []float64
}

// DayChart is a per-day series chart: the first series as an area, the
// others as lines, days along the bottom.
type DayChart struct {
	ID     string
	Title  string
	Days   []string // labels of the days, oldest first
	Series []Series
}

type svgRow struct {
	Y, LabelY, W      float64
	Label, Full, Text string
}

type svgBars struct {
	ID, Title, Desc string
	Height          float64
	Rows            []svgRow
	HasTarget       bool
	TargetX         float64
	TargetBottom    float64
	TargetText      string
	TargetKeyY      float64
}

type svgPoint struct {
	X, Y  float64
	Title string
}

type svgLine struct {
	Class  string
	Points string
	Area   string
	Dots   []svgPoint
}

type svgTick struct {
	X, Y   float64
	Label  string
	Anchor string
}

type svgDays struct {
	ID, Title, Desc string
	Height          float64
	Left, Right     float64
	Top, Bottom     float64
	Lines           []svgLine
	YTicks, XTicks  []svgTick
	Legend          []svgTick
	Columns         []svgColumn
}

// svgColumn is the hover area of one day: its <title> names every
// series' value that day.
type svgColumn struct {
	X, W  float64
	Title string
}

var chartTemplates = template.Must(template.New("charts").Parse(`
{{- define "bars" -}}
<svg xmlns="http://www.w3.org/2000/svg" class="chart bars" viewBox="0 0 600 {{printf "%.0f" .Height}}" width="100%" role="img" aria-labelledby="{{.ID}}-t {{.ID}}-d" preserveAspectRatio="xMinYMin meet" font-size="20">
<title id="{{.ID}}-t">{{.Title}}</title>
<desc id="{{.ID}}-d">{{.Desc}}</desc>
{{- range .Rows}}
<g class="row"><title>{{.Full}}: {{.Text}}</title>
<text class="label" x="0" y="{{printf "%.1f" .LabelY}}" fill="currentColor">{{.Label}}</text>
<text class="value" x="600" y="{{printf "%.1f" .LabelY}}" text-anchor="end" fill="currentColor">{{.Text}}</text>
<rect class="track" x="0" y="{{printf "%.1f" .Y}}" width="600" height="16" rx="4" fill="#8882"></rect>
<rect class="bar" x="0" y="{{printf "%.1f" .Y}}" width="{{printf "%.1f" .W}}" height="16" rx="4" fill="#2f6fb3"></rect>
</g>
{{- end}}
{{- if .HasTarget}}
<g class="target"><title>{{.TargetText}}</title>
<line class="target-line" x1="{{printf "%.1f" .TargetX}}" x2="{{printf "%.1f" .TargetX}}" y1="20" y2="{{printf "%.1f" .TargetBottom}}" stroke="#d1242f" stroke-width="3" stroke-dasharray="6 4"></line>
<line class="target-key" x1="0" x2="28" y1="{{printf "%.1f" .TargetKeyY}}" y2="{{printf "%.1f" .TargetKeyY}}" stroke="#d1242f" stroke-width="3" stroke-dasharray="6 4"></line>
<text class="target-label" x="36" y="{{printf "%.1f" .Height}}" dy="-6" fill="#d1242f">{{.TargetText}}</text>
</g>
{{- end}}
</svg>
{{- end}}
{{- define "days" -}}
<svg xmlns="http://www.w3.org/2000/svg" class="chart days" viewBox="0 0 600 {{printf "%.0f" .Height}}" width="100%" role="img" aria-labelledby="{{.ID}}-t {{.ID}}-d" preserveAspectRatio="xMinYMin meet" font-size="18">
<title id="{{.ID}}-t">{{.Title}}</title>
<desc id="{{.ID}}-d">{{.Desc}}</desc>
{{- range .YTicks}}
<line class="grid" x1="{{printf "%.1f" $.Left}}" x2="{{printf "%.1f" $.Right}}" y1="{{printf "%.1f" .Y}}" y2="{{printf "%.1f" .Y}}" stroke="#8889" stroke-width="1"></line>
<text class="tick" x="{{printf "%.1f" $.Left}}" dx="-6" y="{{printf "%.1f" .Y}}" dy="4" text-anchor="end" fill="currentColor">{{.Label}}</text>
{{- end}}
{{- range .XTicks}}
<text class="tick" x="{{printf "%.1f" .X}}" y="{{printf "%.1f" .Y}}" text-anchor="{{.Anchor}}" fill="currentColor">{{.Label}}</text>
{{- end}}
{{- range .Lines}}
<g class="{{.Class}}">
{{- if .Area}}<polygon class="area" points="{{.Area}}" fill="#2f6fb3" fill-opacity="0.25"></polygon>{{end}}
<polyline class="line" points="{{.Points}}" fill="none" stroke="#2f6fb3" stroke-width="2"></polyline>
{{- range .Dots}}
<circle class="dot" cx="{{printf "%.1f" .X}}" cy="{{printf "%.1f" .Y}}" r="2.5" fill="#2f6fb3"><title>{{.Title}}</title></circle>
{{- end}}
</g>
{{- end}}
{{- range .Columns}}
<rect class="hover" x="{{printf "%.1f" .X}}" y="{{printf "%.1f" $.Top}}" width="{{printf "%.1f" .W}}" height="{{printf "%.1f" $.Bottom}}" fill="transparent"><title>{{.Title}}</title></rect>
{{- end}}
{{- range $i, $l := .Legend}}
<g class="legend {{(index $.Lines $i).Class}}"><rect x="{{printf "%.1f" .X}}" y="4" width="16" height="16" rx="3" fill="#2f6fb3"></rect><text x="{{printf "%.1f" .X}}" dx="22" y="18" fill="currentColor">{{.Label}}</text></g>
{{- end}}
</svg>
{{- end}}`))

// clip shortens a label that would not fit its column.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// SVG draws the bar chart: per row the label and the value on a line,
// the bar below them across the whole width (so the text can be large
// enough to read on a phone, where the chart is drawn small).
func (c *BarChart) SVG() (template.HTML, error) {
	const rowH = 52.0
	v := svgBars{ID: c.ID, Title: c.Title}
	most := c.Target
	for _, b := range c.Bars {
		most = math.Max(most, b.Value)
	}
	var desc []string
	for i, b := range c.Bars {
		text := b.Text
		if text == "" {
			text = num(b.Value)
		}
		w := 0.0
		if most > 0 && b.Value > 0 {
			w = math.Max(2, b.Value/most*chartWidth)
		}
		y := float64(i) * rowH
		v.Rows = append(v.Rows, svgRow{Y: y + 26, LabelY: y + 20, W: w, Label: clip(b.Label, 40), Full: b.Label, Text: text})
		desc = append(desc, b.Label+": "+text)
	}
	v.Height = float64(len(c.Bars))*rowH + 4
	if c.Target > 0 && most > 0 {
		v.HasTarget = true
		v.TargetX = math.Max(2, math.Min(chartWidth-2, c.Target/most*chartWidth))
		v.TargetBottom = v.Height
		v.TargetText = c.TargetText
		// Below the rows, at the left (where it fits at any size), keyed
		// by a piece of the line.
		v.Height += 30
		v.TargetKeyY = v.Height - 13
		desc = append(desc, c.TargetText)
	}
	v.Desc = strings.Join(desc, "; ")
	return execute("bars", v)
}

// SVG draws the per-day chart.
func (c *DayChart) SVG() (template.HTML, error) {
	const height, top, bottom = 270.0, 36.0, 236.0
	v := svgDays{ID: c.ID, Title: c.Title, Height: height, Left: 44, Right: chartWidth - 10, Top: top, Bottom: bottom - top}
	most := 0.0
	for _, s := range c.Series {
		if len(s.Values) != len(c.Days) {
			return "", fmt.Errorf("chart %s: series %q has %d values for %d days", c.ID, s.Name, len(s.Values), len(c.Days))
		}
		for _, x := range s.Values {
			most = math.Max(most, x)
		}
	}
	// A round top: 1, 2, 5, 10, 20, 50 … at or above the largest value.
	step := niceStep(most)
	ceil := step * math.Max(1, math.Ceil(most/step))
	y := func(x float64) float64 { return bottom - x/ceil*(bottom-top) }
	n := len(c.Days)
	slot := (v.Right - v.Left) / math.Max(1, float64(n))
	x := func(i int) float64 { return v.Left + slot*(float64(i)+0.5) }
	for t := 0.0; t <= ceil+step/2; t += step {
		v.YTicks = append(v.YTicks, svgTick{Y: y(t), Label: num(t)})
	}
	for i, d := range c.Days {
		// About five labels along the bottom, counted back from the last
		// day.
		if (n-1-i)%max(1, (n+4)/5) == 0 {
			anchor := "middle"
			if i == n-1 {
				anchor = "end"
			}
			v.XTicks = append(v.XTicks, svgTick{X: x(i), Y: height - 8, Label: d, Anchor: anchor})
		}
		var parts []string
		for _, s := range c.Series {
			parts = append(parts, s.Name+" "+num(s.Values[i]))
		}
		v.Columns = append(v.Columns, svgColumn{X: v.Left + slot*float64(i), W: slot, Title: d + ": " + strings.Join(parts, ", ")})
	}
	var desc []string
	for si, s := range c.Series {
		l := svgLine{Class: "series-" + strconv.Itoa(si)}
		var pts []string
		total := 0.0
		for i, val := range s.Values {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(val)))
			l.Dots = append(l.Dots, svgPoint{X: x(i), Y: y(val), Title: c.Days[i] + ": " + s.Name + " " + num(val)})
			total += val
		}
		l.Points = strings.Join(pts, " ")
		if si == 0 && n > 0 {
			l.Area = fmt.Sprintf("%.1f,%.1f %s %.1f,%.1f", x(0), bottom, l.Points, x(n-1), bottom)
		}
		v.Lines = append(v.Lines, l)
		v.Legend = append(v.Legend, svgTick{X: v.Left + float64(si)*200, Label: s.Name})
		desc = append(desc, s.Name+": "+num(total))
	}
	if n > 0 {
		v.Desc = c.Days[0] + " – " + c.Days[n-1] + ". " + strings.Join(desc, "; ")
	}
	return execute("days", v)
}

// niceStep is a grid step of 1, 2 or 5 times a power of ten giving at
// most about four lines up to most.
func niceStep(most float64) float64 {
	if most <= 4 {
		return 1
	}
	raw := most / 4
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func execute(name string, data any) (template.HTML, error) {
	var b bytes.Buffer
	if err := chartTemplates.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("chart: %w", err)
	}
	// The output is html/template's, escaped in its context.
	return template.HTML(b.String()), nil
}
