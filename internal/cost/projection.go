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

// Profile is what running one candidate costs, reduced to the parts that
// scale differently with volume.
type Profile struct {
	ID         string
	PerCallUSD float64
	// FixedMonthlyUSD is what a dedicated deployment costs to host
	// whether or not it is called: with CapacityPerDay set, what one
	// replica of it costs.
	FixedMonthlyUSD float64
	// CapacityPerDay is how many calls a day one replica can serve. Above
	// it another replica is needed, each at FixedMonthlyUSD, so hosting
	// rises in steps rather than along a line. Zero means one deployment
	// serves any volume (a provider's, scaled by its own quota).
	CapacityPerDay float64
	// TrainingUSD is a one-off cost (fine-tuning), spread over
	// AmortizeMonths.
	TrainingUSD float64
	// AmortizeMonths is how many months TrainingUSD is spread over; zero
	// or less means DefaultAmortizeMonths.
	AmortizeMonths int
}

// stepped says whether p's hosting rises in replica steps.
func (p Profile) stepped() bool { return p.FixedMonthlyUSD > 0 && p.CapacityPerDay > 0 }

// base is the part of the monthly bill that does not depend on volume and
// does not step: the month's share of training, and a deployment that
// serves any volume.
func (p Profile) base() float64 {
	months := p.AmortizeMonths
	if months <= 0 {
		months = DefaultAmortizeMonths
	}
	b := p.TrainingUSD / float64(months)
	if !p.stepped() {
		b += p.FixedMonthlyUSD
	}
	return b
}

// stepUSD is what one replica adds, 0 when hosting does not step.
func (p Profile) stepUSD() float64 {
	if p.stepped() {
		return p.FixedMonthlyUSD
	}
	return 0
}

// slope is the monthly cost of one more call per day.
func (p Profile) slope() float64 { return p.PerCallUSD * DaysPerMonth }

// rate is the monthly cost of one more call per day in the long run: the
// calls, plus each replica's share of its hosting.
func (p Profile) rate() float64 {
	if p.stepped() {
		return p.slope() + p.FixedMonthlyUSD/p.CapacityPerDay
	}
	return p.slope()
}

// Replicas is how many replicas of p's dedicated deployment callsPerDay
// needs: none without hosting, one for a deployment that serves any
// volume, else enough that none is over its capacity, and at least one,
// since a dedicated deployment is paid for while it idles.
func Replicas(p Profile, callsPerDay float64) int {
	switch {
	case p.FixedMonthlyUSD <= 0:
		return 0
	case p.CapacityPerDay <= 0:
		return 1
	}
	// The tolerance keeps a volume of exactly n replicas' capacity at n
	// when the division rounds a hair above n.
	return max(1, int(math.Ceil(callsPerDay/p.CapacityPerDay-1e-9)))
}

// HostingUSD is what p's dedicated hosting costs a month at callsPerDay.
func HostingUSD(p Profile, callsPerDay float64) float64 {
	return float64(Replicas(p, callsPerDay)) * p.FixedMonthlyUSD
}

// MonthlyCost is p's monthly bill in USD at callsPerDay: calls, hosting,
// and the month's share of training.
func MonthlyCost(p Profile, callsPerDay float64) float64 {
	v := max(callsPerDay, 0)
	months := p.AmortizeMonths
	if months <= 0 {
		months = DefaultAmortizeMonths
	}
	return p.TrainingUSD/float64(months) + HostingUSD(p, v) + p.slope()*v
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
