package report

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
)

// CurvePoint is one loss measurement of a training job.
type CurvePoint struct {
	Step float64
	Loss float64
}

// Verdict is the recommendation a ladder report leads with.
type Verdict struct {
	Pick    string
	Basis   string
	Reasons []string
	Changes []string
}

type curveLine struct {
	Label, Color, Points string
	Dots                 []curveDot
}

type curveDot struct{ X, Y float64 }

type curveChart struct {
	W, H, Left, Bottom, Top, PlotRight float64
	YTicks, XTicks                     []axisTick
	Lines                              []curveLine
}

var curveTmpl = template.Must(template.New("curve").Parse(`<svg role="img" aria-label="Training and validation loss by step" style="max-width: 100%; height: auto" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}">
<rect x="0" y="0" width="{{.W}}" height="{{.H}}" fill="#fff"/>
{{range .YTicks}}<line x1="{{$.Left}}" x2="{{$.PlotRight}}" y1="{{.Pos}}" y2="{{.Pos}}" stroke="#eee"/><text x="{{$.Left}}" dx="-6" y="{{.Pos}}" dy="4" text-anchor="end" font-size="12">{{.Label}}</text>
{{end}}{{range .XTicks}}<text x="{{.Pos}}" y="{{$.Bottom}}" dy="18" text-anchor="middle" font-size="12">{{.Label}}</text>
{{end}}<text x="{{.Left}}" y="{{.H}}" dy="-4" font-size="12">optimiser step</text>
{{range .Lines}}<g><title>{{.Label}}</title>{{if .Points}}<polyline fill="none" stroke="{{.Color}}" stroke-width="1.5" points="{{.Points}}"/>{{end}}
{{$c := .Color}}{{range .Dots}}<circle cx="{{.X}}" cy="{{.Y}}" r="4" fill="{{$c}}"/>{{end}}</g>
{{end}}{{range $i, $l := .Lines}}<text x="{{$.PlotRight}}" y="{{$.Top}}" dy="{{$i}}em" text-anchor="end" font-size="12" style="fill: {{$l.Color}}">{{$l.Label}}</text>
{{end}}</svg>`))

// LossCurveSVG draws a training job's loss by step: the training loss as
// a line, the validation loss (one per epoch) as dots. "" when there is
// nothing to draw.
func LossCurveSVG(train, valid []CurvePoint) template.HTML {
	if len(train) == 0 {
		return ""
	}
	c := curveChart{W: 720, H: 300, Left: 60, Top: 20}
	c.Bottom, c.PlotRight = c.H-40, c.W-20
	maxStep, lo, hi := 1.0, math.Inf(1), math.Inf(-1)
	for _, ps := range [][]CurvePoint{train, valid} {
		for _, p := range ps {
			maxStep = math.Max(maxStep, p.Step)
			lo, hi = math.Min(lo, p.Loss), math.Max(hi, p.Loss)
		}
	}
	if hi-lo < 1e-9 {
		hi = lo + 1
	}
	pad := (hi - lo) * 0.05
	lo, hi = math.Max(0, lo-pad), hi+pad
	x := func(s float64) float64 { return round1(c.Left + (c.PlotRight-c.Left)*s/maxStep) }
	y := func(l float64) float64 { return round1(c.Bottom - (c.Bottom-c.Top)*(l-lo)/(hi-lo)) }
	for i := 0; i <= 4; i++ {
		v := lo + (hi-lo)*float64(i)/4
		c.YTicks = append(c.YTicks, axisTick{Pos: y(v), Label: fmt.Sprintf("%.2f", v)})
		s := maxStep * float64(i) / 4
		c.XTicks = append(c.XTicks, axisTick{Pos: x(s), Label: fmt.Sprintf("%.0f", s)})
	}
	var pts bytes.Buffer
	// Long jobs have thousands of steps; a few hundred points draw the
	// same line.
	stride := max(1, len(train)/400)
	for i := 0; i < len(train); i += stride {
		fmt.Fprintf(&pts, "%g,%g ", x(train[i].Step), y(train[i].Loss))
	}
	c.Lines = append(c.Lines, curveLine{Label: "training loss", Color: "#1f77b4", Points: pts.String()})
	if len(valid) > 0 {
		l := curveLine{Label: "validation loss", Color: "#d62728"}
		for _, p := range valid {
			l.Dots = append(l.Dots, curveDot{X: x(p.Step), Y: y(p.Loss)})
		}
		c.Lines = append(c.Lines, l)
	}
	var buf bytes.Buffer
	if err := curveTmpl.Execute(&buf, c); err != nil {
		panic(fmt.Sprintf("render loss curve: %v", err)) // fixed template, plain data: a programming error
	}
	return template.HTML(buf.String())
}
