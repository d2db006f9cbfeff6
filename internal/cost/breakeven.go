package cost

import "math"

// MaxScanSteps bounds the replica steps a comparison walks through. Two
// deployments whose long-run costs per call are equal never settle on a
// cheaper one; past this many steps the comparison keeps the order it has.
const MaxScanSteps = 1_000_000

// BreakEvenPoint compares two profiles over all positive volumes.
type BreakEvenPoint struct {
	// A and B are the pair's ids. When Crosses, A is the one cheaper at
	// every volume above CallsPerDay and B the one cheaper just below it.
	A, B        string
	CallsPerDay float64
	// MonthlyUSD is what A costs at CallsPerDay.
	MonthlyUSD float64
	Crosses    bool
	// Cheaper names the profile that costs less at every positive volume
	// when the lines do not cross; "" when both always cost the same.
	Cheaper string
	// Switches lists, ascending, every volume where the cheaper of the
	// two changes, when there is more than one: a deployment that adds
	// replicas in steps can be the dearer one just above each step and
	// the cheaper one again further on. The last is CallsPerDay.
	Switches []float64 `json:",omitempty"`
}

// BreakEven returns the volume, in calls per day, above which a's monthly
// cost stays below b's. ok is false when there is no such positive volume:
// a is cheaper everywhere, never cheaper from some volume on, or both cost
// the same (then BreakEven(b, a) may have it).
func BreakEven(a, b Profile) (callsPerDay float64, ok bool) {
	switches, final := scan(a, b)
	if len(switches) == 0 || final >= 0 {
		return 0, false
	}
	return switches[len(switches)-1], true
}

// BreakEvens compares every pair of profiles, in input order.
func BreakEvens(profiles []Profile) []BreakEvenPoint {
	var out []BreakEvenPoint
	for i, a := range profiles {
		for _, b := range profiles[i+1:] {
			out = append(out, compare(a, b))
		}
	}
	return out
}

func compare(a, b Profile) BreakEvenPoint {
	switches, final := scan(a, b)
	pt := BreakEvenPoint{A: a.ID, B: b.ID}
	if len(switches) == 0 {
		switch {
		case final < 0:
			pt.Cheaper = a.ID
		case final > 0:
			pt.Cheaper = b.ID
		}
		return pt
	}
	winner := a
	if final > 0 {
		// The pair is turned so that A is the one cheaper in the end.
		winner = b
		pt.A, pt.B = b.ID, a.ID
	}
	pt.Crosses = true
	pt.CallsPerDay = switches[len(switches)-1]
	pt.MonthlyUSD = MonthlyCost(winner, pt.CallsPerDay)
	if len(switches) > 1 {
		pt.Switches = switches
	}
	return pt
}

// scan walks the difference between a's and b's monthly cost from zero
// volume up, and returns every positive volume where its sign changes and
// the sign it ends with (negative: a is the cheaper one at high volume; 0:
// they cost the same there).
//
// Between two replica steps of either profile the difference is a
// straight line, so each such interval is checked for a root, and each
// step for a jump across zero. The walk stops once it is past the volume
// beyond which the long-run rates decide the order for good: each
// profile's hosting lies within one replica of its rate times the volume,
// so past (base difference + one replica) / rate difference the sign can
// no longer change.
func scan(a, b Profile) (switches []float64, final int) {
	ra, rb := a.rate(), b.rate()
	r := a.base() - b.base()
	horizon := math.Inf(1)
	switch {
	case ra < rb:
		horizon = max(0, (r+a.stepUSD())/(rb-ra))
	case ra > rb:
		horizon = max(0, (b.stepUSD()-r)/(ra-rb))
	}
	next := func(p Profile, k int) float64 {
		if !p.stepped() {
			return math.Inf(1)
		}
		return float64(k) * p.CapacityPerDay
	}
	ka, kb := 1, 1 // replicas of each on the current interval
	c1 := a.slope() - b.slope()
	lo, state := 0.0, 0
	for steps := 0; steps <= MaxScanSteps; steps++ {
		na, nb := next(a, ka), next(b, kb)
		hi := min(na, nb)
		c0 := r + a.stepUSD()*float64(ka) - b.stepUSD()*float64(kb)
		// The sign just above lo, then after a root inside the interval.
		s := sign(c0+c1*lo, c0, c1, lo)
		if s == 0 {
			s = sgn(c1)
		}
		if s != 0 {
			if state != 0 && s != state {
				switches = append(switches, lo)
			}
			state = s
		}
		if c1 != 0 {
			if root := -c0 / c1; root > lo && root < hi {
				if s2 := sgn(c1); s2 != state {
					switches = append(switches, root)
					state = s2
				}
			}
		}
		// Past the horizon the sign is settled; an interval ending exactly
		// on it may still be followed by a jump, so that one is not the last.
		if math.IsInf(hi, 1) || hi > horizon {
			break
		}
		if hi == na {
			ka++
		}
		if hi == nb {
			kb++
		}
		lo = hi
	}
	return switches, state
}

// sign is the sign of x, counting as zero a value lost in the rounding of
// the terms it was computed from (c0 and c1·v), so that two equal costs
// summed in different orders do not make a crossing.
func sign(x, c0, c1, v float64) int {
	tol := 1e-9 * max(1, math.Abs(c0), math.Abs(c1*v))
	switch {
	case x > tol:
		return 1
	case x < -tol:
		return -1
	}
	return 0
}

func sgn(x float64) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}
