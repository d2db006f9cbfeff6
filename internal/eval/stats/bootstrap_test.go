package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// binary returns n pass/fail values with k passes, in a shuffled but fixed
// order.
func binary(n, k int, seed uint64) []float64 {
	xs := make([]float64, n)
	for i := range k {
		xs[i] = 1
	}
	r := rand.New(rand.NewPCG(seed, 1))
	r.Shuffle(n, func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
	return xs
}

func TestBootstrapCI(t *testing.T) {
	tests := []struct {
		name           string
		xs             []float64
		iters          int
		conf           float64
		wantLo, wantHi float64
		tol            float64
		undefined      bool
	}{
		{name: "empty", xs: nil, iters: 100, conf: 0.95, undefined: true},
		{name: "no iterations", xs: []float64{1, 0}, iters: 0, conf: 0.95, undefined: true},
		{name: "bad confidence", xs: []float64{1, 0}, iters: 100, conf: 1.5, undefined: true},
		{name: "NaN value", xs: []float64{1, math.NaN()}, iters: 100, conf: 0.95, undefined: true},
		{name: "single value", xs: []float64{0.4}, iters: 100, conf: 0.95, wantLo: 0.4, wantHi: 0.4},
		{name: "constant values", xs: []float64{1, 1, 1, 1, 1}, iters: 500, conf: 0.95, wantLo: 1, wantHi: 1},
		// For pass/fail data the percentile bootstrap and the Wilson interval
		// should nearly agree at this size: 120/200 gives Wilson
		// (0.5308, 0.6654) and the normal interval (0.5321, 0.6679).
		{name: "close to Wilson for 120 of 200", xs: binary(200, 120, 7), iters: 20000, conf: 0.95, wantLo: 0.5308, wantHi: 0.6654, tol: 0.01},
		// Normal interval 0.3 ± 1.96·√(0.21/1000) = (0.2716, 0.3284).
		{name: "close to normal for 300 of 1000", xs: binary(1000, 300, 3), iters: 20000, conf: 0.95, wantLo: 0.2716, wantHi: 0.3284, tol: 0.005},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi := BootstrapCI(tc.xs, tc.iters, tc.conf, 42)
			if tc.undefined {
				if !math.IsNaN(lo) || !math.IsNaN(hi) {
					t.Fatalf("BootstrapCI = (%v, %v), want NaN", lo, hi)
				}
				return
			}
			if !near(lo, tc.wantLo, tc.tol) || !near(hi, tc.wantHi, tc.tol) {
				t.Fatalf("BootstrapCI = (%.4f, %.4f), want (%.4f, %.4f) ± %v", lo, hi, tc.wantLo, tc.wantHi, tc.tol)
			}
			if m := Mean(tc.xs); lo > m || hi < m {
				t.Fatalf("interval (%v, %v) does not contain the mean %v", lo, hi, m)
			}
		})
	}
}

func TestBootstrapCIReproducible(t *testing.T) {
	xs := binary(300, 170, 11)
	lo1, hi1 := BootstrapCI(xs, 2000, 0.95, 1)
	lo2, hi2 := BootstrapCI(xs, 2000, 0.95, 1)
	if lo1 != lo2 || hi1 != hi2 {
		t.Fatalf("same seed gave (%v, %v) then (%v, %v)", lo1, hi1, lo2, hi2)
	}
	lo3, hi3 := BootstrapCI(xs, 2000, 0.95, 2)
	if lo1 == lo3 && hi1 == hi3 {
		t.Fatalf("seeds 1 and 2 gave the identical interval (%v, %v): the seed is ignored", lo1, hi1)
	}
	wlo, whi := BootstrapCI(xs, 2000, 0.80, 1)
	if wlo <= lo1 || whi >= hi1 {
		t.Fatalf("80%% interval (%v, %v) is not inside the 95%% one (%v, %v)", wlo, whi, lo1, hi1)
	}
}

func TestPairedBootstrap(t *testing.T) {
	ones, zeros := binary(60, 60, 1), binary(60, 0, 1)
	tests := []struct {
		name      string
		a, b      []float64
		wantDiff  float64
		pBelow    float64 // p must be < pBelow (0 to skip)
		pAbove    float64 // p must be > pAbove (-1 to skip)
		undefined bool
	}{
		{name: "empty", undefined: true},
		{name: "different lengths", a: []float64{1, 0}, b: []float64{1}, undefined: true},
		{name: "NaN", a: []float64{1, math.NaN()}, b: []float64{1, 0}, undefined: true},
		{name: "identical candidates", a: binary(50, 30, 2), b: binary(50, 30, 2), wantDiff: 0, pAbove: 0.999},
		{name: "one always right, other always wrong", a: ones, b: zeros, wantDiff: 1, pBelow: 0.001, pAbove: -1},
		// 40 cases where a wins, 10 where b wins, 50 ties: a clear win.
		{name: "clear win", a: concat(fill(40, 1), fill(10, 0), fill(50, 1)), b: concat(fill(40, 0), fill(10, 1), fill(50, 1)), wantDiff: 0.3, pBelow: 0.001, pAbove: -1},
		// 6 against 4 out of 100: noise.
		{name: "noise", a: concat(fill(6, 1), fill(4, 0), fill(90, 0)), b: concat(fill(6, 0), fill(4, 1), fill(90, 0)), wantDiff: 0.02, pAbove: 0.3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			diff, lo, hi, p := PairedBootstrap(tc.a, tc.b, 5000, 9)
			if tc.undefined {
				for _, v := range []float64{diff, lo, hi, p} {
					if !math.IsNaN(v) {
						t.Fatalf("PairedBootstrap = (%v, %v, %v, %v), want all NaN", diff, lo, hi, p)
					}
				}
				return
			}
			if !near(diff, tc.wantDiff, 1e-12) {
				t.Fatalf("diff = %v, want %v", diff, tc.wantDiff)
			}
			if lo > diff || hi < diff {
				t.Fatalf("interval (%v, %v) does not contain the difference %v", lo, hi, diff)
			}
			if tc.pBelow > 0 && p >= tc.pBelow {
				t.Fatalf("p = %v, want below %v", p, tc.pBelow)
			}
			if tc.pAbove >= 0 && p <= tc.pAbove {
				t.Fatalf("p = %v, want above %v", p, tc.pAbove)
			}
			if p <= 0 || p > 1 {
				t.Fatalf("p = %v is not a probability in (0, 1]", p)
			}
		})
	}
}

func TestPairedBootstrapMatchesMcNemarDirection(t *testing.T) {
	// The bootstrap p and McNemar's exact p on the same pass/fail data
	// should both call a 12-vs-2 split significant and a 5-vs-4 split not.
	for _, tc := range []struct {
		name     string
		b01, b10 int
		signif   bool
	}{
		{"12 vs 2", 2, 12, true},
		{"5 vs 4", 4, 5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ab, bb := pairs(30, tc.b01, tc.b10, 10)
			a, b := toFloat(ab), toFloat(bb)
			_, _, _, pb := PairedBootstrap(a, b, 10000, 3)
			_, _, pm := McNemar(ab, bb)
			if (pb < 0.05) != tc.signif || (pm < 0.05) != tc.signif {
				t.Fatalf("bootstrap p %.4f, McNemar p %.4f; want significant=%v for both", pb, pm, tc.signif)
			}
		})
	}
}

func fill(n int, v float64) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = v
	}
	return xs
}

func concat(parts ...[]float64) []float64 {
	var out []float64
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func toFloat(bs []bool) []float64 {
	out := make([]float64, len(bs))
	for i, b := range bs {
		if b {
			out[i] = 1
		}
	}
	return out
}

func BenchmarkBootstrapCI(b *testing.B) {
	xs := make([]float64, 1000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range xs {
		xs[i] = r.Float64()
	}
	b.ReportAllocs()
	for b.Loop() {
		BootstrapCI(xs, 10000, 0.95, 1)
	}
}
