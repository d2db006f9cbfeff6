package cost

import (
	"math"
	"testing"
)

func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestCallCost(t *testing.T) {
	mini := Price{InputPerM: 0.15, OutputPerM: 0.60, CachedInputPerM: 0.075}
	tests := []struct {
		name            string
		p               Price
		in, cached, out int
		want, wantCache float64
	}{
		{name: "nothing", p: mini, want: 0, wantCache: 0},
		{name: "one million each", p: mini, in: 1_000_000, out: 1_000_000, want: 0.75, wantCache: 0.75},
		// 2,000 in and 100 out: 2000·0.15e-6 + 100·0.60e-6 = 0.00036.
		{name: "typical call", p: mini, in: 2000, out: 100, want: 0.00036, wantCache: 0.00036},
		// 1,000 of the 2,000 from cache: 1000·0.15e-6 + 1000·0.075e-6 + 100·0.60e-6.
		{name: "half cached", p: mini, in: 2000, cached: 1000, out: 100, want: 0.00036, wantCache: 0.000285},
		{name: "cache count clipped to input", p: mini, in: 100, cached: 500, want: 0.000015, wantCache: 0.0000075},
		{name: "no cached price charges full input", p: Price{InputPerM: 2, OutputPerM: 8}, in: 1000, cached: 1000, want: 0.002, wantCache: 0.002},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CallCost(tc.p, tc.in, tc.out); !approx(got, tc.want) {
				t.Errorf("CallCost = %v, want %v", got, tc.want)
			}
			if got := CachedCallCost(tc.p, tc.in, tc.cached, tc.out); !approx(got, tc.wantCache) {
				t.Errorf("CachedCallCost = %v, want %v", got, tc.wantCache)
			}
		})
	}
}

func TestTrainingCost(t *testing.T) {
	ft := FineTunePrice{TrainingPerM: 3}
	tests := []struct {
		name           string
		tokens, epochs int
		want           float64
	}{
		// 500k dataset tokens for 3 epochs = 1.5M training tokens at $3/M.
		{"three epochs", 500_000, 3, 4.5},
		{"one epoch", 1_000_000, 1, 3},
		{"no data", 0, 3, 0},
		{"no epochs", 1000, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := TrainingCost(ft, tc.tokens, tc.epochs); !approx(got, tc.want) {
				t.Fatalf("TrainingCost = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLocalCost(t *testing.T) {
	tests := []struct {
		name            string
		seconds, hourly float64
		want            float64
	}{
		{"an hour", 3600, 2.50, 2.50},
		// 1.8 s on a $4/h GPU: 1.8/3600·4 = 0.002.
		{"one call", 1.8, 4, 0.002},
		{"no hourly price", 10, 0, 0},
		{"negative seconds", -5, 3, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := LocalCost(tc.seconds, tc.hourly); !approx(got, tc.want) {
				t.Fatalf("LocalCost(%v, %v) = %v, want %v", tc.seconds, tc.hourly, got, tc.want)
			}
		})
	}
}
