package stats

import (
	"math"
	"math/bits"
	"slices"
)

// sampler draws uniform indices for resampling with wyrand, a 64-bit
// generator that passes BigCrush and costs one multiply per draw, and
// Lemire's multiply-shift reduction to [0, n). The bootstrap draws millions
// of indices per interval (10,000 resamples of 1,000 cases is ten million),
// and math/rand/v2's PCG behind rand.IntN made those draws most of its
// time. The reduction's bias is at most n/2^64, far below anything an
// interval can show.
type sampler struct {
	state uint64
}

func newSampler(seed int64) sampler {
	return sampler{state: uint64(seed)}
}

func (s *sampler) next() uint64 {
	s.state += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(s.state, s.state^0xe7037ed1a0b428db)
	return hi ^ lo
}

func (s *sampler) index(n uint64) int {
	hi, _ := bits.Mul64(s.next(), n)
	return int(hi)
}

// resampleMeans fills out with the means of len(out) resamples of xs (drawn
// with replacement, same size as xs) minus shift, and sorts it. It
// allocates nothing.
func resampleMeans(xs []float64, out []float64, shift float64, seed int64) {
	r := newSampler(seed)
	n := uint64(len(xs))
	inv := 1 / float64(len(xs))
	for i := range out {
		// Two accumulators halve the chain of dependent float adds.
		var s0, s1 float64
		j := 0
		for ; j+1 < len(xs); j += 2 {
			s0 += xs[r.index(n)]
			s1 += xs[r.index(n)]
		}
		if j < len(xs) {
			s0 += xs[r.index(n)]
		}
		out[i] = (s0+s1)*inv - shift
	}
	slices.Sort(out)
}

func hasNaN(xs []float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) {
			return true
		}
	}
	return false
}

// BootstrapCI is the percentile bootstrap confidence interval of the mean
// of xs: the mean is recomputed on iters resamples of xs drawn with
// replacement, and the interval is the (1-conf)/2 and (1+conf)/2
// percentiles of those means. Resample i always uses the same draws for a
// given seed, so the interval is reproducible. The per-case values are the
// independent unit: pass the per-case means, not every repeat.
//
// It returns NaN, NaN for an empty xs, a NaN value, iters <= 0 or conf
// outside (0, 1); for a single value it returns that value twice.
func BootstrapCI(xs []float64, iters int, conf float64, seed int64) (lo, hi float64) {
	if len(xs) == 0 || iters <= 0 || !validConf(conf) || hasNaN(xs) {
		return math.NaN(), math.NaN()
	}
	if len(xs) == 1 {
		return xs[0], xs[0]
	}
	means := make([]float64, iters)
	resampleMeans(xs, means, 0, seed)
	return percentileSorted(means, (1-conf)/2*100), percentileSorted(means, (1+conf)/2*100)
}

// pairedConf is the confidence level of PairedBootstrap's interval; it
// matches the 0.05 significance level its p-value is read against.
const pairedConf = 0.95

// PairedBootstrap compares two candidates scored on the same cases (a[i]
// and b[i] are the same case). It returns the mean difference a-b, its 95%
// percentile bootstrap interval, and a two-sided p-value for "no
// difference".
//
// The p-value comes from the same resamples, shifted to the null: the
// resampled mean differences are centred on zero, and p is the share of
// them at least as far from zero as the observed difference, counting the
// observed one, (k+1)/(iters+1), so it is never exactly 0 from a finite
// number of resamples. Pairing matters: both candidates meet the same hard
// and easy cases, and resampling the differences keeps that.
//
// It returns NaN for every value when the slices are empty, of different
// lengths, contain NaN, or iters <= 0.
func PairedBootstrap(a, b []float64, iters int, seed int64) (meanDiff, lo, hi, p float64) {
	nan := math.NaN()
	if len(a) == 0 || len(a) != len(b) || iters <= 0 || hasNaN(a) || hasNaN(b) {
		return nan, nan, nan, nan
	}
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	meanDiff = Mean(d)
	boot := make([]float64, iters)
	// Centred resamples: percentiles of (m* - mean) + mean give the
	// interval, and |m* - mean| against |mean| gives the p-value.
	resampleMeans(d, boot, meanDiff, seed)
	lo = percentileSorted(boot, (1-pairedConf)/2*100) + meanDiff
	hi = percentileSorted(boot, (1+pairedConf)/2*100) + meanDiff
	obs := math.Abs(meanDiff)
	// A tolerance keeps "all differences zero" (every resample exactly 0)
	// and floating-point noise from reading as evidence.
	tol := 1e-12 * math.Max(1, obs)
	k := 0
	for _, m := range boot {
		if math.Abs(m) >= obs-tol {
			k++
		}
	}
	p = float64(k+1) / float64(iters+1)
	return meanDiff, lo, hi, p
}
