package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/retrieval"
)

//go:embed report.html.tmpl
var htmlTemplate string

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":   pct,
	"ci":    ci,
	"money": money,
	"f0":    func(x float64) string { return fmt.Sprintf("%.0f", x) },
	"cons": func(c *float64) string {
		if c == nil {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", 100**c)
	},
	"vs": func(c eval.CandidateSummary) string {
		if c.VsBest == nil {
			return "-" // no results to compare
		}
		return fmt.Sprintf("%+.1f pts (%+.1f to %+.1f), p=%.3f", 100*c.VsBest.Diff, 100*c.VsBest.DiffLow, 100*c.VsBest.DiffHigh, c.VsBest.P)
	},
}).Parse(htmlTemplate))

// point is one candidate on the quality-versus-cost chart, in pixels.
type point struct {
	X, Y, YLo, YHi float64
	N              int // its number in the legend
	Label          string
	Color          string
}

type axisTick struct {
	Pos   float64
	Label string
}

type chart struct {
	W, H, Left, Right, Top, Bottom float64
	Points                         []point
	XTicks, YTicks                 []axisTick
	XLabel                         string
}

// disagreement is a case the top candidates did not all get right.
type disagreement struct {
	ID, Input, Expected string
	Answers             []answerCell
}

type answerCell struct {
	Answer string
	Pass   bool
	Error  string
	// Retrieved lists the chunk ids a retrieval candidate was given.
	Retrieved string
}

type htmlData struct {
	Doc           Document
	Chart         chart
	Top           []string
	Disagreements []disagreement
	Hidden        int
	Retrieval     []eval.CandidateSummary
	GroundedPct   string
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"}

// WriteHTML writes a self-contained report page: no scripts or styles
// are fetched from anywhere, so it opens offline and can be mailed.
func WriteHTML(path string, d Document) error {
	data := htmlData{Doc: d, Chart: qualityCostChart(d.Summary), Retrieval: retrievalRows(d.Summary), GroundedPct: pct(retrieval.GroundedThreshold)}
	if d.Knowledge != nil {
		k := *d.Knowledge
		k.fill()
		data.Doc.Knowledge = &k
	}
	for i, c := range d.Summary.Candidates {
		if i == 4 {
			break
		}
		data.Top = append(data.Top, c.ID)
	}
	data.Disagreements, data.Hidden = disagreements(d, data.Top, 100)
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return fsutil.WriteFileAtomic(path, buf.Bytes(), 0o644)
}

func qualityCostChart(s eval.Summary) chart {
	c := chart{W: 720, H: 380, Left: 70, Right: 20, Top: 20, Bottom: 50, XLabel: "cost per 1,000 calls (USD)"}
	maxCost := 0.0
	for _, cs := range s.Candidates {
		maxCost = math.Max(maxCost, cs.CostPer1K)
	}
	if maxCost == 0 {
		maxCost = 1
		c.XLabel = "cost per 1,000 calls (USD; all free)"
	}
	maxCost *= 1.1
	pw, ph := c.W-c.Left-c.Right, c.H-c.Top-c.Bottom
	x := func(v float64) float64 { return c.Left + pw*v/maxCost }
	y := func(v float64) float64 { return c.Top + ph*(1-v) }
	for i := 0; i <= 5; i++ {
		v := float64(i) / 5
		c.YTicks = append(c.YTicks, axisTick{Pos: y(v), Label: fmt.Sprintf("%.0f%%", 100*v)})
		cv := maxCost * float64(i) / 5
		c.XTicks = append(c.XTicks, axisTick{Pos: x(cv), Label: money(cv)})
	}
	for i, cs := range s.Candidates {
		if math.IsNaN(cs.Accuracy) {
			continue
		}
		c.Points = append(c.Points, point{
			X: x(cs.CostPer1K), Y: y(cs.Accuracy), YLo: y(cs.CILow), YHi: y(cs.CIHigh),
			N: len(c.Points) + 1, Label: cs.ID, Color: palette[i%len(palette)],
		})
	}
	return c
}

func disagreements(d Document, top []string, limit int) ([]disagreement, int) {
	type key struct{ cand, cs string }
	first := map[key]lab.CallResult{}
	for _, r := range d.Results {
		if r.Repeat == 0 {
			first[key{r.CandidateID, r.CaseID}] = r
		}
	}
	var out []disagreement
	hidden := 0
	cases := append([]lab.Example(nil), d.Cases...)
	sort.SliceStable(cases, func(i, j int) bool { return cases[i].ID < cases[j].ID })
	for _, ex := range cases {
		row := disagreement{ID: ex.ID, Input: shorten(ex.Input, 300), Expected: ex.Expected}
		passes := 0
		for _, id := range top {
			r := first[key{id, ex.ID}]
			if r.Pass {
				passes++
			}
			row.Answers = append(row.Answers, answerCell{Answer: shorten(r.Answer, 200), Pass: r.Pass, Error: shorten(r.Error, 120), Retrieved: strings.Join(r.Retrieved, " ")})
		}
		if passes == len(top) {
			continue
		}
		if len(out) == limit {
			hidden++
			continue
		}
		out = append(out, row)
	}
	return out, hidden
}
