package cost

import (
	"math"
	"slices"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// The profiles the tests share. Their figures are chosen so the expected
// values below can be checked by hand.
var (
	// tuned: 300 USD of training over 12 months = 25/month; calls at
	// 0.0002 = 0.00608/month per daily call.
	tuned = Profile{ID: "tuned", PerCallUSD: 0.0002, TrainingUSD: 300}
	// fewShot: a long prompt, 0.0012 a call = 0.03648/month per daily call.
	fewShot = Profile{ID: "few-shot", PerCallUSD: 0.0012}
	// hosted: a dedicated deployment at 2,000/month, calls free.
	hosted = Profile{ID: "hosted", FixedMonthlyUSD: 2000}
	// api: 0.001 a call = 0.0304/month per daily call.
	api = Profile{ID: "api", PerCallUSD: 0.001}
)

func TestMonthlyCost(t *testing.T) {
	tests := []struct {
		name string
		p    Profile
		v    float64
		want float64
	}{
		{name: "no calls costs the amortised training", p: tuned, v: 0, want: 25},
		// 25 + 0.0002·30.4·20,000 = 25 + 121.6.
		{name: "tuned at 20k", p: tuned, v: 20_000, want: 146.6},
		// 0.0012·30.4·20,000.
		{name: "few-shot at 20k", p: fewShot, v: 20_000, want: 729.6},
		{name: "hosting does not scale", p: hosted, v: 2_000_000, want: 2000},
		// 600/6 + 100 + 0.01·30.4·1,000 = 100 + 100 + 304.
		{name: "explicit amortisation", p: Profile{PerCallUSD: 0.01, TrainingUSD: 600, AmortizeMonths: 6, FixedMonthlyUSD: 100}, v: 1000, want: 504},
		{name: "negative amortisation uses the default", p: Profile{TrainingUSD: 120, AmortizeMonths: -3}, v: 0, want: 10},
		{name: "negative volume is no volume", p: api, v: -5, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MonthlyCost(tc.p, tc.v); !near(got, tc.want) {
				t.Errorf("MonthlyCost = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestProjection(t *testing.T) {
	tests := []struct {
		name      string
		volume    float64
		wantVols  []float64
		wantTuned []float64
	}{
		{name: "no task volume", volume: 0, wantVols: []float64{20_000, 200_000, 2_000_000},
			// 25 + 0.00608·v.
			wantTuned: []float64{146.6, 1241, 12185}},
		{name: "task volume between standard ones", volume: 5000, wantVols: []float64{5000, 20_000, 200_000, 2_000_000},
			wantTuned: []float64{55.4, 146.6, 1241, 12185}},
		{name: "task volume equal to a standard one is not repeated", volume: 200_000, wantVols: []float64{20_000, 200_000, 2_000_000},
			wantTuned: []float64{146.6, 1241, 12185}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pr := Project([]Profile{tuned, fewShot}, tc.volume)
			if !slices.Equal(pr.Volumes, tc.wantVols) {
				t.Fatalf("volumes %v, want %v", pr.Volumes, tc.wantVols)
			}
			if pr.TaskVolume != tc.volume {
				t.Errorf("task volume %v, want %v", pr.TaskVolume, tc.volume)
			}
			if len(pr.Rows) != 2 || pr.Rows[0].ID != "tuned" || pr.Rows[1].ID != "few-shot" {
				t.Fatalf("rows %+v", pr.Rows)
			}
			for i, want := range tc.wantTuned {
				if got := pr.Rows[0].MonthlyUSD[i]; !near(got, want) {
					t.Errorf("tuned at %v: %v, want %v", pr.Volumes[i], got, want)
				}
				if got, want := pr.Rows[1].MonthlyUSD[i], 0.0012*30.4*pr.Volumes[i]; !near(got, want) {
					t.Errorf("few-shot at %v: %v, want %v", pr.Volumes[i], got, want)
				}
			}
		})
	}
	// The standard volumes must not be changed by a projection.
	if !slices.Equal(StandardVolumes, []float64{20_000, 200_000, 2_000_000}) {
		t.Errorf("StandardVolumes changed: %v", StandardVolumes)
	}
}

func TestBreakEven(t *testing.T) {
	tests := []struct {
		name   string
		a, b   Profile
		want   float64
		wantOK bool
	}{
		// 25 / (0.03648 - 0.00608) = 25 / 0.0304.
		{name: "tuned beats few-shot above the crossing", a: tuned, b: fewShot, want: 25 / 0.0304, wantOK: true},
		{name: "few-shot never becomes the cheaper one", a: fewShot, b: tuned, wantOK: false},
		// 2000 / 0.0304.
		{name: "dedicated deployment against per-call api", a: hosted, b: api, want: 2000 / 0.0304, wantOK: true},
		{name: "dearer per call and to have", a: Profile{PerCallUSD: 0.002, FixedMonthlyUSD: 10}, b: api, wantOK: false},
		{name: "parallel lines", a: Profile{PerCallUSD: 0.001, FixedMonthlyUSD: 10}, b: api, wantOK: false},
		{name: "crossing at zero volume", a: Profile{PerCallUSD: 0.0005}, b: api, wantOK: false},
		{name: "identical", a: api, b: api, wantOK: false},
		// Training 1200/12 = 100 plus 50 hosting against 0.0001·30.4
		// cheaper calls: 150 / 0.00304.
		{name: "training and hosting together", a: Profile{PerCallUSD: 0.0009, FixedMonthlyUSD: 50, TrainingUSD: 1200}, b: api, want: 150 / 0.00304, wantOK: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := BreakEven(tc.a, tc.b)
			if ok != tc.wantOK || !near(got, tc.want) {
				t.Fatalf("BreakEven = %v, %v; want %v, %v", got, ok, tc.want, tc.wantOK)
			}
			if !ok {
				return
			}
			// At the crossing both cost the same; above it a is cheaper.
			if ca, cb := MonthlyCost(tc.a, got), MonthlyCost(tc.b, got); !near(ca, cb) {
				t.Errorf("at %v: %v against %v", got, ca, cb)
			}
			if MonthlyCost(tc.a, got*2) >= MonthlyCost(tc.b, got*2) {
				t.Errorf("a is not cheaper above the break-even")
			}
			if MonthlyCost(tc.a, got/2) <= MonthlyCost(tc.b, got/2) {
				t.Errorf("a is not dearer below the break-even")
			}
		})
	}
}

func TestBreakEvens(t *testing.T) {
	cheap := Profile{ID: "cheap", PerCallUSD: 0.0001}
	twin := Profile{ID: "twin", PerCallUSD: 0.001}
	got := BreakEvens([]Profile{fewShot, tuned, cheap, api, twin})
	want := []BreakEvenPoint{
		// The pair is turned so A is the one cheaper at high volume.
		{A: "tuned", B: "few-shot", CallsPerDay: 25 / 0.0304, MonthlyUSD: 25 + 0.00608*25/0.0304, Crosses: true},
		{A: "few-shot", B: "cheap", Cheaper: "cheap"},
		{A: "few-shot", B: "api", Cheaper: "api"},
		{A: "few-shot", B: "twin", Cheaper: "twin"},
		{A: "tuned", B: "cheap", Cheaper: "cheap"},
		// 25 / (0.0304 - 0.00608).
		{A: "tuned", B: "api", CallsPerDay: 25 / 0.02432, MonthlyUSD: 0.0304 * 25 / 0.02432, Crosses: true},
		{A: "tuned", B: "twin", CallsPerDay: 25 / 0.02432, MonthlyUSD: 0.0304 * 25 / 0.02432, Crosses: true},
		{A: "cheap", B: "api", Cheaper: "cheap"},
		{A: "cheap", B: "twin", Cheaper: "cheap"},
		{A: "api", B: "twin"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d points, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		t.Run(w.A+"/"+w.B, func(t *testing.T) {
			g := got[i]
			if g.A != w.A || g.B != w.B || g.Crosses != w.Crosses || g.Cheaper != w.Cheaper ||
				!near(g.CallsPerDay, w.CallsPerDay) || !near(g.MonthlyUSD, w.MonthlyUSD) {
				t.Errorf("got %+v, want %+v", g, w)
			}
		})
	}
}
