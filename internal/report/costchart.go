package report

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"

	"github.com/tunelab/tunelab/internal/cost"
)

// The cost chart spans 1k to 10M calls a day: below that every option is
// cheap enough not to matter, above it a team negotiates its own prices.
const (
	chartMinCalls = 1e3
	chartMaxCalls = 1e7
	// chartSamples is how many points draw each line. A straight line in
	// volume bends on log-log axes, so it is drawn as a polyline.
	chartSamples = 61
	legendRow    = 20
	// chartSteps is how many replica steps of a dedicated deployment are
	// drawn as steps, from the first on the axis; further ones are closer
	// together than a few pixels on the log axis, and the samples show
	// them as the slope they add up to.
	chartSteps = 50
)

// Dash patterns vary alongside colour so lines stay apart for readers who
// cannot tell the colours apart, and in print.
var dashes = []string{"", "8 4", "2 3", "10 3 2 3"}

type costLine struct {
	Label, Color, Dash, Points string
	Summary                    string // its cost at the task's volume, for the legend
	LegendY                    float64
}

type costMarker struct {
	X, Y  float64
	Title string
}

type costChart struct {
	W, H, Left, Right, Top, Bottom float64
	PlotBottom                     float64
	Label, Desc                    string
	XTicks, YTicks                 []axisTick
	Lines                          []costLine
	BreakEvens                     []costMarker
	Volume                         *costMarker // nil when no volume is in range
}

var costTmpl = template.Must(template.New("costchart").Parse(`<svg role="img" aria-label="{{.Label}}" style="max-width: 100%; height: auto" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}">
<title>{{.Label}}</title>
<desc>{{.Desc}}</desc>
<rect x="0" y="0" width="{{.W}}" height="{{.H}}" fill="#fff"/>
{{range .YTicks}}<line x1="{{$.Left}}" x2="{{$.W}}" y1="{{.Pos}}" y2="{{.Pos}}" stroke="#eee"/><text x="{{$.Left}}" dx="-6" y="{{.Pos}}" dy="4" text-anchor="end" font-size="12">{{.Label}}</text>
{{end}}{{range .XTicks}}<line x1="{{.Pos}}" x2="{{.Pos}}" y1="{{$.Top}}" y2="{{$.PlotBottom}}" stroke="#eee"/><text x="{{.Pos}}" y="{{$.PlotBottom}}" dy="18" text-anchor="middle" font-size="12">{{.Label}}</text>
{{end}}<text x="{{.Left}}" y="{{.PlotBottom}}" dy="40" font-size="12">calls per day (log scale); monthly cost in USD (log scale)</text>
{{with .Volume}}<g class="volume"><line x1="{{.X}}" x2="{{.X}}" y1="{{$.Top}}" y2="{{$.PlotBottom}}" stroke="#555" stroke-dasharray="4 4"/><text x="{{.X}}" y="{{$.Top}}" dx="4" dy="10" font-size="12">{{.Title}}</text></g>
{{end}}{{range .Lines}}<polyline fill="none" stroke="{{.Color}}" stroke-width="2"{{if .Dash}} stroke-dasharray="{{.Dash}}"{{end}} points="{{.Points}}"><title>{{.Label}}</title></polyline>
{{end}}{{range .BreakEvens}}<circle class="breakeven" cx="{{.X}}" cy="{{.Y}}" r="5" fill="#fff" stroke="#000" stroke-width="1.5"><title>{{.Title}}</title></circle>
{{end}}<g class="legend">{{range .Lines}}<path d="M{{$.Left}} {{.LegendY}}h28" stroke="{{.Color}}" stroke-width="2"{{if .Dash}} stroke-dasharray="{{.Dash}}"{{end}}/><text x="{{$.Left}}" dx="36" y="{{.LegendY}}" dy="4" font-size="12">{{.Label}}{{if .Summary}}: {{.Summary}}{{end}}</text>
{{end}}</g>
<text x="{{.Left}}" y="{{.H}}" dy="-6" font-size="12">○ break-even: where two lines cross</text>
</svg>`))

// CostVolumeSVG draws the monthly cost of each profile against calls per
// day, both on log scales from 1k to 10M calls a day, with a marker at the
// task's volume (0 for none) and a circle where two lines cross. The SVG
// is inline and self-contained, with its legend inside, so it can be put
// into any page. It returns "" when there is nothing to draw.
func CostVolumeSVG(profiles []cost.Profile, volume float64) template.HTML {
	if len(profiles) == 0 {
		return ""
	}
	c := costVolumeChart(profiles, volume)
	var buf bytes.Buffer
	if err := costTmpl.Execute(&buf, c); err != nil {
		// The template is fixed and its data plain values, so this is a
		// programming error, not something a user can cause.
		panic(fmt.Sprintf("render cost chart: %v", err))
	}
	// html/template escaped every label, so the result is safe HTML.
	return template.HTML(buf.String())
}

func costVolumeChart(profiles []cost.Profile, volume float64) costChart {
	c := costChart{W: 720, Left: 80, Right: 20, Top: 20, Bottom: 50}
	plotH := 320.0
	c.PlotBottom = c.Top + plotH
	c.H = c.PlotBottom + c.Bottom + float64(len(profiles))*legendRow + 24
	pw := c.W - c.Left - c.Right

	lx0, lx1 := math.Log10(chartMinCalls), math.Log10(chartMaxCalls)
	calls := make([]float64, chartSamples)
	for i := range calls {
		calls[i] = math.Pow(10, lx0+(lx1-lx0)*float64(i)/float64(chartSamples-1))
	}
	// The y range covers every positive cost drawn, in whole decades.
	lo, hi := math.Inf(1), 0.0
	for _, p := range profiles {
		for _, v := range calls {
			if m := cost.MonthlyCost(p, v); m > 0 {
				lo, hi = math.Min(lo, m), math.Max(hi, m)
			}
		}
	}
	if hi == 0 {
		lo, hi = 1, 10
	}
	ly0, ly1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if ly1 <= ly0 {
		ly1 = ly0 + 1
	}
	x := func(v float64) float64 { return c.Left + pw*(math.Log10(v)-lx0)/(lx1-lx0) }
	// Costs below the axis (a free option) sit on its floor.
	y := func(m float64) float64 {
		l := ly0
		if m > 0 {
			l = math.Max(math.Log10(m), ly0)
		}
		return c.Top + plotH*(1-(l-ly0)/(ly1-ly0))
	}
	for e := lx0; e <= lx1; e++ {
		v := math.Pow(10, e)
		c.XTicks = append(c.XTicks, axisTick{Pos: round1(x(v)), Label: shortCount(v)})
	}
	step := math.Max(1, math.Ceil((ly1-ly0)/8))
	for e := ly0; e <= ly1; e += step {
		m := math.Pow(10, e)
		c.YTicks = append(c.YTicks, axisTick{Pos: round1(y(m)), Label: "$" + shortCount(m)})
	}

	for i, p := range profiles {
		var pts strings.Builder
		for j, v := range linePoints(p, calls) {
			if j > 0 {
				pts.WriteByte(' ')
			}
			fmt.Fprintf(&pts, "%.1f,%.1f", x(v), y(cost.MonthlyCost(p, v)))
		}
		line := costLine{
			Label: p.ID, Color: palette[i%len(palette)], Dash: dashes[i%len(dashes)], Points: pts.String(),
			LegendY: c.PlotBottom + c.Bottom + float64(i)*legendRow + legendRow/2,
		}
		if volume > 0 {
			line.Summary = fmt.Sprintf("$%s/month at %s calls/day", money(cost.MonthlyCost(p, volume)), shortCount(volume))
		}
		c.Lines = append(c.Lines, line)
	}

	var crossings []string
	for _, be := range cost.BreakEvens(profiles) {
		if !be.Crosses {
			continue
		}
		title := fmt.Sprintf("%s is cheaper than %s above %s calls/day ($%s/month)", be.A, be.B, shortCount(be.CallsPerDay), money(be.MonthlyUSD))
		crossings = append(crossings, title)
		if be.CallsPerDay < chartMinCalls || be.CallsPerDay > chartMaxCalls {
			continue
		}
		c.BreakEvens = append(c.BreakEvens, costMarker{X: round1(x(be.CallsPerDay)), Y: round1(y(be.MonthlyUSD)), Title: title})
	}

	c.Label = fmt.Sprintf("Monthly cost in USD against calls per day, both on log scales from 1k to 10M calls a day, for %d option(s)", len(profiles))
	if volume > 0 {
		c.Label += fmt.Sprintf("; the task's volume is %s calls/day", shortCount(volume))
		if volume >= chartMinCalls && volume <= chartMaxCalls {
			c.Volume = &costMarker{X: round1(x(volume)), Title: "your volume: " + shortCount(volume) + "/day"}
		}
	}
	if len(crossings) == 0 {
		c.Desc = "No two lines cross: at every volume the cheaper option stays the cheaper one."
	} else {
		c.Desc = "Break-even points: " + strings.Join(crossings, "; ") + "."
	}
	return c
}

// linePoints is where a profile's line is drawn: the chart's samples and,
// for hosting that rises in replica steps, both sides of each of the first
// chartSteps steps on the axis, so that a step shows as a step and not as a
// slope between two samples.
func linePoints(p cost.Profile, samples []float64) []float64 {
	if p.FixedMonthlyUSD <= 0 || p.CapacityPerDay <= 0 {
		return samples
	}
	first := math.Max(1, math.Ceil(chartMinCalls/p.CapacityPerDay))
	last := math.Min(math.Floor(chartMaxCalls/p.CapacityPerDay), first+chartSteps-1)
	out := slices.Clone(samples)
	for n := first; n <= last; n++ {
		// At n times the capacity n replicas serve it; a call more needs
		// another.
		v := n * p.CapacityPerDay
		out = append(out, v, math.Min(v*(1+1e-6), chartMaxCalls))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// shortCount writes a count or amount the way axes label it: 950, 1.2k,
// 20k, 3.5M.
func shortCount(v float64) string {
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if math.Abs(v) >= u.div {
			return trimZero(v/u.div) + u.suffix
		}
	}
	if math.Abs(v) >= 1 || v == 0 {
		return trimZero(v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", v), "0"), ".")
}

func trimZero(v float64) string {
	s := fmt.Sprintf("%.1f", v)
	if v >= 100 {
		s = fmt.Sprintf("%.0f", v)
	}
	return strings.TrimSuffix(s, ".0")
}
