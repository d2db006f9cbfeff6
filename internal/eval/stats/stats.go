// Package stats holds the statistics tunelab reports with every result:
// means and percentiles, confidence intervals for a pass rate, paired
// significance tests between two candidates scored on the same cases, and
// agreement across repeats.
//
// Every function is pure and, where it resamples, takes an explicit seed, so
// the same results always print the same intervals. Functions return NaN
// (never an error or a panic) when the input cannot support an answer: an
// empty slice, slices of different lengths, a NaN value, a confidence level
// outside (0, 1), or a non-positive iteration count. Callers that print or
// encode the result must check math.IsNaN first (encoding/json refuses NaN).
package stats

import (
	"math"
	"slices"
)

// Mean is the arithmetic mean of xs, or NaN for an empty slice.
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Percentile returns the p-th percentile (p in [0, 100]) of xs by linear
// interpolation between closest ranks: with xs sorted ascending and
// h = (n-1)·p/100, the result is xs[⌊h⌋] + (h-⌊h⌋)·(xs[⌊h⌋+1]-xs[⌊h⌋]).
// This is Hyndman and Fan's definition 7, the default of NumPy, R and
// spreadsheet PERCENTILE.INC, so latency figures match what users compute
// themselves. xs is not modified. It returns NaN for an empty slice, a p
// outside [0, 100] and any NaN in xs.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 || math.IsNaN(p) || p < 0 || p > 100 {
		return math.NaN()
	}
	for _, x := range xs {
		if math.IsNaN(x) {
			return math.NaN()
		}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return percentileSorted(s, p)
}

// percentileSorted is Percentile on an already sorted, NaN-free, non-empty
// slice; the bootstrap calls it on its own buffer to avoid a copy.
func percentileSorted(s []float64, p float64) float64 {
	h := float64(len(s)-1) * p / 100
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	frac := h - float64(lo)
	return s[lo] + frac*(s[lo+1]-s[lo])
}

// zFor returns the two-sided standard normal critical value for a
// confidence level, e.g. 1.959964 for 0.95.
func zFor(conf float64) float64 {
	return math.Sqrt2 * math.Erfinv(conf)
}

func validConf(conf float64) bool {
	return conf > 0 && conf < 1
}

// WilsonCI is the Wilson score interval for a binomial proportion: the
// interval of pass rates p for which successes/n would not be rejected by a
// normal-approximation test at the given confidence. Unlike the plain
// "p ± z·se" interval it stays inside [0, 1] and behaves at 0 and n
// successes, which is why it is the cross-check for the bootstrap interval
// on pass/fail scores. It returns NaN, NaN when n <= 0, successes is outside
// [0, n], or conf is outside (0, 1).
func WilsonCI(successes, n int, conf float64) (lo, hi float64) {
	if n <= 0 || successes < 0 || successes > n || !validConf(conf) {
		return math.NaN(), math.NaN()
	}
	z := zFor(conf)
	nf := float64(n)
	p := float64(successes) / nf
	z2 := z * z
	denom := 1 + z2/nf
	center := (p + z2/(2*nf)) / denom
	half := z / denom * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	lo, hi = center-half, center+half
	// Rounding can push the exact endpoints a hair past the bounds.
	if successes == 0 {
		lo = 0
	}
	if successes == n {
		hi = 1
	}
	return math.Max(lo, 0), math.Min(hi, 1)
}
