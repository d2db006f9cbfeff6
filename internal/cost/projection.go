package cost

import (
	"math"
	"slices"
)

// DaysPerMonth is the average month (365/12, rounded as finance teams
// do), so a monthly figure times 12 is close to the yearly bill.
const DaysPerMonth = 30.4

// DefaultAmortizeMonths spreads a one-off training cost over a year when
// a profile does not say otherwise: long enough that a tuned model is not
// penalised for its first month, short enough that retraining is likely
// before the cost is paid off.
const DefaultAmortizeMonths = 12

// StandardVolumes are the calls per day every projection shows, besides
// the task's own volume: three orders of magnitude, so a team sees where
// the choice would flip if the product took off.
var StandardVolumes = []float64{20_000, 200_000, 2_000_000}

// Profile is what running one candidate costs, reduced to the three
// things that scale differently with volume.
type Profile struct {
	ID         string
	PerCallUSD float64
	// FixedMonthlyUSD is what a dedicated deployment costs to host
	// whether or not it is called.
	FixedMonthlyUSD float64
	// TrainingUSD is a one-off cost (fine-tuning), spread over
	// AmortizeMonths.
	TrainingUSD float64
	// AmortizeMonths is how many months TrainingUSD is spread over; zero
	// or less means DefaultAmortizeMonths.
	AmortizeMonths int
}

// fixed is the part of the monthly bill that does not depend on volume.
func (p Profile) fixed() float64 {
	months := p.AmortizeMonths
	if months <= 0 {
		months = DefaultAmortizeMonths
	}
	return p.FixedMonthlyUSD + p.TrainingUSD/float64(months)
}

// slope is the monthly cost of one more call per day.
func (p Profile) slope() float64 { return p.PerCallUSD * DaysPerMonth }

// MonthlyCost is p's monthly bill in USD at callsPerDay: calls, hosting,
// and the month's share of training.
func MonthlyCost(p Profile, callsPerDay float64) float64 {
	return p.fixed() + p.slope()*max(callsPerDay, 0)
}

// Projection is the monthly cost of every profile at a few volumes.
type Projection struct {
	// Volumes are calls per day, ascending.
	Volumes []float64
	// TaskVolume is the task's own volume, one of Volumes; 0 if the task
	// did not declare one.
	TaskVolume float64
	Rows       []ProjectionRow
}

// ProjectionRow is one profile's monthly cost at each of the projection's
// volumes, in the same order.
type ProjectionRow struct {
	ID         string
	MonthlyUSD []float64
}

// Project computes the monthly cost of every profile at the standard
// volumes and at taskVolume when it is positive.
func Project(profiles []Profile, taskVolume float64) Projection {
	vols := slices.Clone(StandardVolumes)
	pr := Projection{}
	if taskVolume > 0 {
		pr.TaskVolume = taskVolume
		if !slices.Contains(vols, taskVolume) {
			vols = append(vols, taskVolume)
		}
	}
	slices.Sort(vols)
	pr.Volumes = vols
	for _, p := range profiles {
		row := ProjectionRow{ID: p.ID, MonthlyUSD: make([]float64, len(vols))}
		for i, v := range vols {
			row.MonthlyUSD[i] = MonthlyCost(p, v)
		}
		pr.Rows = append(pr.Rows, row)
	}
	return pr
}

// BreakEven returns the volume, in calls per day, above which a's monthly
// cost drops below b's. Monthly cost is a straight line in volume, so this
// is where the lines cross; ok is false when they do not cross at a
// positive volume, or when a is the dearer one above the crossing (then
// BreakEven(b, a) has it).
func BreakEven(a, b Profile) (callsPerDay float64, ok bool) {
	da, db := a.slope(), b.slope()
	fa, fb := a.fixed(), b.fixed()
	// a must be cheaper per call and dearer to have at all.
	if da >= db || fa <= fb {
		return 0, false
	}
	v := (fa - fb) / (db - da)
	if v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// BreakEvenPoint compares two profiles over all positive volumes.
type BreakEvenPoint struct {
	// A and B are the pair's ids. When Crosses, A is the one cheaper
	// above CallsPerDay and B the one cheaper below it.
	A, B        string
	CallsPerDay float64
	// MonthlyUSD is what either costs at CallsPerDay.
	MonthlyUSD float64
	Crosses    bool
	// Cheaper names the profile that costs less at every positive volume
	// when the lines do not cross; "" when both always cost the same.
	Cheaper string
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
	if v, ok := BreakEven(a, b); ok {
		return BreakEvenPoint{A: a.ID, B: b.ID, CallsPerDay: v, MonthlyUSD: MonthlyCost(a, v), Crosses: true}
	}
	if v, ok := BreakEven(b, a); ok {
		return BreakEvenPoint{A: b.ID, B: a.ID, CallsPerDay: v, MonthlyUSD: MonthlyCost(b, v), Crosses: true}
	}
	pt := BreakEvenPoint{A: a.ID, B: b.ID}
	// Without a crossing at a positive volume one line is below the other
	// everywhere past zero: compare the slopes, then the fixed parts, as
	// the order at large volume decides it and equal slopes leave the
	// fixed part.
	switch da, db, fa, fb := a.slope(), b.slope(), a.fixed(), b.fixed(); {
	case da < db || (da == db && fa < fb):
		pt.Cheaper = a.ID
	case db < da || (da == db && fb < fa):
		pt.Cheaper = b.ID
	}
	return pt
}
