package stats

import "math"

// exactBelow is the number of discordant pairs under which McNemar uses the
// exact binomial test. Below it the chi-square approximation is poor; at
// and above it the two agree closely and the approximation is the
// textbook's choice.
const exactBelow = 25

// McNemar tests whether two candidates that answered the same cases with a
// pass or fail differ. Only discordant cases carry evidence: b01 counts
// cases a failed and b passed, b10 cases a passed and b failed. Under the
// null each discordant case is a fair coin, so:
//
//   - with fewer than 25 discordant pairs, p is the exact two-sided binomial
//     test, p = min(1, 2·Σ_{k=0}^{min(b01,b10)} C(n,k)/2^n), n = b01+b10;
//   - otherwise p comes from the chi-square statistic with Edwards'
//     continuity correction, (|b01-b10|-1)²/n, on one degree of freedom.
//
// With no discordant pairs p is 1. It returns 0, 0, NaN when the slices are
// empty or of different lengths.
func McNemar(a, b []bool) (b01, b10 int, p float64) {
	if len(a) == 0 || len(a) != len(b) {
		return 0, 0, math.NaN()
	}
	for i := range a {
		switch {
		case !a[i] && b[i]:
			b01++
		case a[i] && !b[i]:
			b10++
		}
	}
	return b01, b10, mcnemarP(b01, b10)
}

func mcnemarP(b01, b10 int) float64 {
	n := b01 + b10
	if n == 0 {
		return 1
	}
	if n < exactBelow {
		k := min(b01, b10)
		// Σ C(n,i) for i<=k, exact in float64 for n < 25 (C(24,12) < 2^53).
		var tail, c float64 = 0, 1
		for i := 0; i <= k; i++ {
			tail += c
			c = c * float64(n-i) / float64(i+1)
		}
		return math.Min(1, 2*tail/math.Ldexp(1, n))
	}
	d := math.Abs(float64(b01-b10)) - 1
	if d < 0 {
		d = 0
	}
	chi2 := d * d / float64(n)
	return chiSquare1Survival(chi2)
}

// chiSquare1Survival is P(X > x) for X chi-square with one degree of
// freedom: X is a squared standard normal, so P(X > x) = P(|Z| > √x).
func chiSquare1Survival(x float64) float64 {
	return math.Erfc(math.Sqrt(x / 2))
}
