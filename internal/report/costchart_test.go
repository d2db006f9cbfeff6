package report

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/cost"
)

func chartProfiles() []cost.Profile {
	return []cost.Profile{
		{ID: "gpt-4o-mini/few-shot", PerCallUSD: 0.0012},
		{ID: "ft:gpt-4o-mini/zero-shot", PerCallUSD: 0.0002, TrainingUSD: 300},
		{ID: "local/llama", FixedMonthlyUSD: 2000},
	}
}

var polylineRE = regexp.MustCompile(`<polyline [^>]*points="([^"]+)"`)

// TestCostStepsDrawn checks that a replica step is drawn as a step: at
// 100k calls a day (x = 80 + 620·2/4 = 390) the line goes straight up from
// one machine's cost to two machines'.
func TestCostStepsDrawn(t *testing.T) {
	got := string(CostVolumeSVG([]cost.Profile{{ID: "box", FixedMonthlyUSD: 500, CapacityPerDay: 100_000}}, 0))
	m := polylineRE.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("no line in:\n%s", got)
	}
	var ys []string
	for _, pt := range strings.Fields(m[1]) {
		if x, y, _ := strings.Cut(pt, ","); x == "390.0" {
			ys = append(ys, y)
		}
	}
	if len(ys) != 2 || ys[0] == ys[1] {
		t.Errorf("at x=390 the line has points at y %v, want two, one machine's and two machines'", ys)
	}
	// Past the 50th step on the axis none is drawn as a step (10M calls a
	// day is the 100th); two samples, 100k and 1M, fall on steps.
	if n := strings.Count(m[1], " ") + 1; n != chartSamples+2*chartSteps-2 {
		t.Errorf("%d points, want %d samples and both sides of %d steps, less the 2 samples on steps", n, chartSamples, chartSteps)
	}
}

func TestCostVolumeSVG(t *testing.T) {
	tests := []struct {
		name           string
		profiles       []cost.Profile
		volume         float64
		wantLines      int
		wantBreakEvens int
		wantVolume     bool
		wantText       []string
	}{
		{name: "no profiles draws nothing", profiles: nil, volume: 5000},
		{
			name: "three options at a task volume", profiles: chartProfiles(), volume: 20_000,
			// tuned/few-shot cross at 822/day (off the chart); llama
			// crosses few-shot at 54.8k and tuned at 325k.
			wantLines: 3, wantBreakEvens: 2, wantVolume: true,
			wantText: []string{
				`role="img"`, `aria-label="Monthly cost`, "<title>", "<desc>Break-even points:",
				"gpt-4o-mini/few-shot: $729.60/month at 20k calls/day",
				"ft:gpt-4o-mini/zero-shot: $146.60/month at 20k calls/day",
				"local/llama is cheaper than gpt-4o-mini/few-shot above 54.8k calls/day",
				"ft:gpt-4o-mini/zero-shot is cheaper than gpt-4o-mini/few-shot above 822 calls/day",
				"your volume: 20k/day", ">1k<", ">10M<",
			},
		},
		{
			name: "no task volume", profiles: chartProfiles()[:1], volume: 0,
			wantLines: 1, wantText: []string{"No two lines cross", "$1k"},
		},
		{
			name: "volume off the axis is named but not drawn", profiles: chartProfiles()[:2], volume: 50,
			wantLines: 2, wantText: []string{"the task&#39;s volume is 50 calls/day"},
		},
		{
			// A machine of 500 a month per 100k calls a day against 0.0002
			// a call: cheaper for good above 2,500 / 0.00608 = 411k.
			name: "dedicated machines drawn in steps", profiles: []cost.Profile{{ID: "box", FixedMonthlyUSD: 500, CapacityPerDay: 100_000}, {ID: "api", PerCallUSD: 0.0002}},
			volume: 50_000, wantLines: 2, wantBreakEvens: 1, wantVolume: true,
			wantText: []string{"box: $500.00/month at 50k calls/day", "box is cheaper than api above 411k calls/day ($2500.00/month)"},
		},
		{
			name: "labels are escaped", profiles: []cost.Profile{{ID: `<b onclick="x">&`, PerCallUSD: 0.001}}, volume: 0,
			wantLines: 1, wantText: []string{"&lt;b onclick=&#34;x&#34;&gt;&amp;"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(CostVolumeSVG(tc.profiles, tc.volume))
			if tc.profiles == nil {
				if got != "" {
					t.Fatalf("want nothing, got %q", got)
				}
				return
			}
			if !strings.HasPrefix(got, "<svg ") || !strings.HasSuffix(got, "</svg>") {
				t.Fatalf("not one svg element:\n%s", got)
			}
			if n := len(polylineRE.FindAllString(got, -1)); n != tc.wantLines {
				t.Errorf("%d lines, want %d", n, tc.wantLines)
			}
			if n := strings.Count(got, `class="breakeven"`); n != tc.wantBreakEvens {
				t.Errorf("%d break-even markers, want %d", n, tc.wantBreakEvens)
			}
			if has := strings.Contains(got, `class="volume"`); has != tc.wantVolume {
				t.Errorf("volume marker drawn: %v, want %v", has, tc.wantVolume)
			}
			for _, p := range tc.profiles {
				if !strings.Contains(got, "<title>"+strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;", `"`, "&#34;").Replace(p.ID)+"</title></polyline>") {
					t.Errorf("no line titled %q", p.ID)
				}
			}
			for _, w := range tc.wantText {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			// Self-contained: nothing is fetched and nothing runs.
			for _, bad := range []string{"http:", "https:", "//", "href", "url(", "<script", "<image", "<b "} {
				if strings.Contains(got, bad) {
					t.Errorf("contains %q", bad)
				}
			}
		})
	}
}

// TestCostVolumeSVGGeometry checks the lines' shape: they span the x axis,
// a cost that grows with volume climbs, and a fixed cost stays level.
func TestCostVolumeSVGGeometry(t *testing.T) {
	svg := string(CostVolumeSVG(chartProfiles(), 20_000))
	lines := polylineRE.FindAllStringSubmatch(svg, -1)
	if len(lines) != 3 {
		t.Fatalf("%d lines", len(lines))
	}
	tests := []struct {
		name  string
		line  int
		level bool
	}{
		{name: "per-call cost climbs", line: 0},
		{name: "tuned cost climbs", line: 1},
		{name: "hosting is level", line: 2, level: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pts := strings.Fields(lines[tc.line][1])
			first, last := parsePoint(t, pts[0]), parsePoint(t, pts[len(pts)-1])
			if first[0] != 80 || last[0] != 700 {
				t.Errorf("x spans %v to %v, want 80 to 700", first[0], last[0])
			}
			prevY := first[1]
			for _, p := range pts[1:] {
				y := parsePoint(t, p)[1]
				if tc.level && y != first[1] {
					t.Fatalf("level line moves: %v then %v", first[1], y)
				}
				if !tc.level && y > prevY {
					t.Fatalf("cost falls as volume grows: y %v then %v", prevY, y)
				}
				prevY = y
			}
			if !tc.level && last[1] >= first[1] {
				t.Errorf("line does not climb: %v to %v", first[1], last[1])
			}
		})
	}
}

func parsePoint(t *testing.T, s string) [2]float64 {
	t.Helper()
	xs, ys, ok := strings.Cut(s, ",")
	if !ok {
		t.Fatalf("bad point %q", s)
	}
	x, err1 := strconv.ParseFloat(xs, 64)
	y, err2 := strconv.ParseFloat(ys, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad point %q", s)
	}
	return [2]float64{x, y}
}

func TestShortCount(t *testing.T) {
	tests := []struct {
		name string
		v    float64
		want string
	}{
		{name: "zero", v: 0, want: "0"},
		{name: "small", v: 950, want: "950"},
		{name: "fraction", v: 0.01, want: "0.01"},
		{name: "thousands", v: 1200, want: "1.2k"},
		{name: "round thousands", v: 20_000, want: "20k"},
		{name: "hundreds of thousands", v: 329_000, want: "329k"},
		{name: "millions", v: 2_500_000, want: "2.5M"},
		{name: "ten million", v: 1e7, want: "10M"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := shortCount(tc.v); got != tc.want {
				t.Errorf("shortCount(%v) = %q, want %q", tc.v, got, tc.want)
			}
		})
	}
}
