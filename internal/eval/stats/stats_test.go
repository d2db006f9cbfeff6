package stats

import (
	"math"
	"slices"
	"testing"
)

func near(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

func TestMean(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want float64
	}{
		{"empty is NaN", nil, math.NaN()},
		{"one value", []float64{7}, 7},
		{"pass rate", []float64{1, 0, 1, 1}, 0.75},
		{"negatives", []float64{-2, 2, -4}, -4.0 / 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Mean(tc.xs); !near(got, tc.want, 1e-12) {
				t.Fatalf("Mean(%v) = %v, want %v", tc.xs, got, tc.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		p    float64
		want float64
	}{
		// Values checked against numpy.percentile (method="linear").
		{"median of even count interpolates", []float64{1, 2, 3, 4}, 50, 2.5},
		{"lower quartile", []float64{1, 2, 3, 4}, 25, 1.75},
		{"p0 is the minimum", []float64{4, 1, 3, 2}, 0, 1},
		{"p100 is the maximum", []float64{4, 1, 3, 2}, 100, 4},
		{"unsorted input", []float64{50, 15, 40, 20, 35}, 40, 29},
		{"p95 of 1..20", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, 95, 19.05},
		{"single value", []float64{3.5}, 95, 3.5},
		{"ties", []float64{2, 2, 2, 9}, 50, 2},
		{"empty is NaN", nil, 50, math.NaN()},
		{"p below 0 is NaN", []float64{1, 2}, -1, math.NaN()},
		{"p above 100 is NaN", []float64{1, 2}, 100.5, math.NaN()},
		{"NaN p is NaN", []float64{1, 2}, math.NaN(), math.NaN()},
		{"NaN value is NaN", []float64{1, math.NaN(), 3}, 50, math.NaN()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.xs)
			got := Percentile(in, tc.p)
			if !near(got, tc.want, 1e-9) {
				t.Fatalf("Percentile(%v, %v) = %v, want %v", tc.xs, tc.p, got, tc.want)
			}
			if len(tc.xs) > 0 && !math.IsNaN(tc.xs[0]) && !slices.EqualFunc(in, tc.xs, func(a, b float64) bool { return near(a, b, 0) }) {
				t.Fatalf("Percentile modified its input: %v, was %v", in, tc.xs)
			}
		})
	}
}

func TestWilsonCI(t *testing.T) {
	tests := []struct {
		name       string
		s, n       int
		conf       float64
		wantLo     float64
		wantHi     float64
		tol        float64
		wantUndefd bool
	}{
		// Newcombe (1998), "Two-sided confidence intervals for the single
		// proportion", Statistics in Medicine 17:857-872, Table II, method 3.
		{name: "Newcombe 81/263", s: 81, n: 263, conf: 0.95, wantLo: 0.2553, wantHi: 0.3662, tol: 5e-5},
		{name: "Newcombe 15/148", s: 15, n: 148, conf: 0.95, wantLo: 0.0624, wantHi: 0.1605, tol: 5e-5},
		{name: "Newcombe 0/20", s: 0, n: 20, conf: 0.95, wantLo: 0, wantHi: 0.1611, tol: 5e-5},
		{name: "Newcombe 1/29", s: 1, n: 29, conf: 0.95, wantLo: 0.0061, wantHi: 0.1718, tol: 5e-5},
		{name: "all successes reaches 1", s: 20, n: 20, conf: 0.95, wantLo: 1 - 0.1611, wantHi: 1, tol: 5e-5},
		{name: "half of ten", s: 5, n: 10, conf: 0.95, wantLo: 0.2366, wantHi: 0.7634, tol: 5e-5},
		{name: "wider at 99%", s: 5, n: 10, conf: 0.99, wantLo: 0.1842, wantHi: 0.8158, tol: 5e-5},
		{name: "n zero", s: 0, n: 0, conf: 0.95, wantUndefd: true},
		{name: "successes above n", s: 3, n: 2, conf: 0.95, wantUndefd: true},
		{name: "negative successes", s: -1, n: 2, conf: 0.95, wantUndefd: true},
		{name: "confidence 1", s: 1, n: 2, conf: 1, wantUndefd: true},
		{name: "confidence 0", s: 1, n: 2, conf: 0, wantUndefd: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi := WilsonCI(tc.s, tc.n, tc.conf)
			if tc.wantUndefd {
				if !math.IsNaN(lo) || !math.IsNaN(hi) {
					t.Fatalf("WilsonCI(%d, %d, %v) = (%v, %v), want NaN", tc.s, tc.n, tc.conf, lo, hi)
				}
				return
			}
			if !near(lo, tc.wantLo, tc.tol) || !near(hi, tc.wantHi, tc.tol) {
				t.Fatalf("WilsonCI(%d, %d, %v) = (%.5f, %.5f), want (%.4f, %.4f)", tc.s, tc.n, tc.conf, lo, hi, tc.wantLo, tc.wantHi)
			}
		})
	}
}

func TestZFor(t *testing.T) {
	tests := []struct {
		name string
		conf float64
		want float64
	}{
		{"95%", 0.95, 1.959964},
		{"99%", 0.99, 2.575829},
		{"90%", 0.90, 1.644854},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := zFor(tc.conf); !near(got, tc.want, 1e-6) {
				t.Fatalf("zFor(%v) = %v, want %v", tc.conf, got, tc.want)
			}
		})
	}
}
