package cost

import (
	"slices"
	"testing"
)

// box is a dedicated machine at 500 USD a month that serves 100,000 calls
// a day; calls on it cost nothing more. Against api's 0.0002 a call
// (0.00608 a month per daily call) it is dearer just above each step and
// cheaper in the long run (0.005 a month per daily call).
var (
	box    = Profile{ID: "box", FixedMonthlyUSD: 500, CapacityPerDay: 100_000}
	cheapy = Profile{ID: "api-0.0002", PerCallUSD: 0.0002}
)

func TestReplicas(t *testing.T) {
	tests := []struct {
		name string
		p    Profile
		v    float64
		want int
	}{
		{name: "no hosting", p: api, v: 1e6, want: 0},
		{name: "a deployment that serves any volume", p: hosted, v: 1e7, want: 1},
		{name: "idle box is still paid for", p: box, v: 0, want: 1},
		{name: "at capacity", p: box, v: 100_000, want: 1},
		{name: "one call over", p: box, v: 100_001, want: 2},
		{name: "exactly three boxes' worth", p: Profile{FixedMonthlyUSD: 1, CapacityPerDay: 0.1}, v: 0.3, want: 3},
		{name: "capacity without a price", p: Profile{CapacityPerDay: 10}, v: 100, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Replicas(tc.p, tc.v); got != tc.want {
				t.Errorf("Replicas = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestMonthlyCostSteps(t *testing.T) {
	tests := []struct {
		name string
		p    Profile
		v    float64
		want float64
	}{
		{name: "idle box", p: box, v: 0, want: 500},
		{name: "full box", p: box, v: 100_000, want: 500},
		{name: "second box", p: box, v: 100_001, want: 1000},
		{name: "three boxes", p: box, v: 250_000, want: 1500},
		// 2 boxes + 0.0001·30.4·150,000 + 1,200/12.
		{name: "boxes, calls and training", p: Profile{FixedMonthlyUSD: 500, CapacityPerDay: 100_000, PerCallUSD: 0.0001, TrainingUSD: 1200}, v: 150_000, want: 1000 + 456 + 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MonthlyCost(tc.p, tc.v); !near(got, tc.want) {
				t.Errorf("MonthlyCost = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBreakEvenSteps(t *testing.T) {
	tests := []struct {
		name string
		a, b Profile
		// want is the comparison as BreakEvens gives it.
		want BreakEvenPoint
	}{
		{
			// Below each step the box wins from 500·n / 0.00608 on, and
			// loses again when the (n+1)th box is bought; from the fifth
			// step on a new box no longer costs more than the calls:
			// 2,500 < 0.00608·400,000 = 2,432 is false, 3,000 < 3,040 holds.
			name: "box against per-call api", a: box, b: cheapy,
			want: BreakEvenPoint{A: "box", B: "api-0.0002", Crosses: true, CallsPerDay: 2500 / 0.00608, MonthlyUSD: 2500,
				Switches: []float64{500 / 0.00608, 100_000, 1000 / 0.00608, 200_000, 1500 / 0.00608, 300_000, 2000 / 0.00608, 400_000, 2500 / 0.00608}},
		},
		{
			// The same pair the other way round is turned.
			name: "order does not matter", a: cheapy, b: box,
			want: BreakEvenPoint{A: "box", B: "api-0.0002", Crosses: true, CallsPerDay: 2500 / 0.00608, MonthlyUSD: 2500,
				Switches: []float64{500 / 0.00608, 100_000, 1000 / 0.00608, 200_000, 1500 / 0.00608, 300_000, 2000 / 0.00608, 400_000, 2500 / 0.00608}},
		},
		{
			// A box of 50,000 calls a day costs 0.01 a month per daily call
			// in the long run, more than a tuned API model's 0.0003 a call
			// (0.00912) with 100 a month of training: the box wins only
			// from 400 / 0.00912 to its capacity and from 900 / 0.00912 to
			// twice it; above 100,000 the gap only grows.
			name: "a deployment dearer in the long run", a: Profile{ID: "box50", FixedMonthlyUSD: 500, CapacityPerDay: 50_000},
			b: Profile{ID: "tuned-api", PerCallUSD: 0.0003, TrainingUSD: 1200},
			want: BreakEvenPoint{A: "tuned-api", B: "box50", Crosses: true, CallsPerDay: 100_000, MonthlyUSD: 100 + 912,
				Switches: []float64{400 / 0.00912, 50_000, 900 / 0.00912, 100_000}},
		},
		{
			// Equal long-run rates, and the small box never dearer: 500
			// against 1,000 on odd hundreds of thousands, even on even ones.
			name: "equal rates never cross", a: box, b: Profile{ID: "big", FixedMonthlyUSD: 1000, CapacityPerDay: 200_000},
			want: BreakEvenPoint{A: "box", B: "big", Cheaper: "box"},
		},
		{
			// Two boxes at 500 a month serving 100k and 150k calls a day
			// cost the same up to 100k, and the smaller one is dearer or
			// equal everywhere above: the bigger is the cheaper one, with
			// no crossing.
			name: "equal up to the first step", a: box, b: Profile{ID: "big", FixedMonthlyUSD: 500, CapacityPerDay: 150_000},
			want: BreakEvenPoint{A: "box", B: "big", Cheaper: "big"},
		},
		{
			// Training of 1,200 (100 a month) on the box moves each
			// crossing by 100 / 0.00608 = 16,447 calls/day; a new box stops
			// costing more than the calls only at the seventh:
			// 100 + 3,500 < 0.00608·600,000 = 3,648.
			name: "training shifts the steps", a: Profile{ID: "tuned-box", FixedMonthlyUSD: 500, CapacityPerDay: 100_000, TrainingUSD: 1200}, b: cheapy,
			want: BreakEvenPoint{A: "tuned-box", B: "api-0.0002", Crosses: true, CallsPerDay: 3100 / 0.00608, MonthlyUSD: 3100,
				Switches: []float64{600 / 0.00608, 100_000, 1100 / 0.00608, 200_000, 1600 / 0.00608, 300_000, 2100 / 0.00608, 400_000, 2600 / 0.00608, 500_000, 3100 / 0.00608}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := BreakEvens([]Profile{tc.a, tc.b})[0]
			w := tc.want
			if got.A != w.A || got.B != w.B || got.Crosses != w.Crosses || got.Cheaper != w.Cheaper ||
				!near(got.CallsPerDay, w.CallsPerDay) || !near(got.MonthlyUSD, w.MonthlyUSD) || len(got.Switches) != len(w.Switches) {
				t.Fatalf("got %+v\nwant %+v", got, w)
			}
			for i := range w.Switches {
				if !near(got.Switches[i], w.Switches[i]) {
					t.Errorf("switch %d at %v, want %v", i, got.Switches[i], w.Switches[i])
				}
			}
			checkAgainstCosts(t, tc.a, tc.b, got)
		})
	}
}

// checkAgainstCosts samples volumes between and around the switches and
// checks that MonthlyCost agrees on which of the pair is cheaper.
func checkAgainstCosts(t *testing.T, a, b Profile, pt BreakEvenPoint) {
	t.Helper()
	byID := map[string]Profile{a.ID: a, b.ID: b}
	switches := pt.Switches
	if pt.Crosses && len(switches) == 0 {
		switches = []float64{pt.CallsPerDay}
	}
	// cheaperAt says which profile the comparison claims is cheaper at v:
	// A above the last switch, and alternating below it.
	cheaperAt := func(v float64) string {
		if !pt.Crosses {
			return pt.Cheaper
		}
		above := 0
		for _, s := range switches {
			if v > s {
				above++
			}
		}
		if (len(switches)-above)%2 == 0 {
			return pt.A
		}
		return pt.B
	}
	var vols []float64
	for v := 1000.0; v < 2e6; v *= 1.07 {
		vols = append(vols, v)
	}
	for _, s := range switches {
		vols = append(vols, s*0.999, s*1.001)
	}
	slices.Sort(vols)
	for _, v := range vols {
		ca, cb := MonthlyCost(byID[pt.A], v), MonthlyCost(byID[pt.B], v)
		want := cheaperAt(v)
		switch {
		case near(ca, cb):
			continue // equal here: either answer is right
		case ca < cb && want != pt.A && want != "":
			t.Errorf("at %.0f calls/day %s costs %.2f and %s %.2f, but the comparison says %q is cheaper", v, pt.A, ca, pt.B, cb, want)
		case cb < ca && want != pt.B && want != "":
			t.Errorf("at %.0f calls/day %s costs %.2f and %s %.2f, but the comparison says %q is cheaper", v, pt.A, ca, pt.B, cb, want)
		}
	}
}

func TestHostingHelpers(t *testing.T) {
	tests := []struct {
		name      string
		got, want float64
	}{
		// 1.7 · 24 · 30.4.
		{name: "an hourly fee a month", got: MonthlyFromHourly(1.7), want: 1240.32},
		{name: "no fee", got: MonthlyFromHourly(0), want: 0},
		// 86,400 / 2 s, one slot.
		{name: "one slot at 2 s a call", got: CapacityPerDay(2, 1), want: 43_200},
		{name: "four slots at 2 s a call", got: CapacityPerDay(2, 4), want: 172_800},
		{name: "parallel 0 counts as one slot", got: CapacityPerDay(0.5, 0), want: 172_800},
		{name: "no measured time", got: CapacityPerDay(0, 4), want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !near(tc.got, tc.want) {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}
