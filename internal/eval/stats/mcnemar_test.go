package stats

import (
	"math"
	"math/big"
	"testing"
)

// pairs builds two pass/fail slices with the given counts of each
// combination: both pass, a fails and b passes, a passes and b fails, both
// fail.
func pairs(both, b01, b10, neither int) (a, b []bool) {
	add := func(n int, x, y bool) {
		for range n {
			a = append(a, x)
			b = append(b, y)
		}
	}
	add(both, true, true)
	add(b01, false, true)
	add(b10, true, false)
	add(neither, false, false)
	return a, b
}

// binomTwoSided computes the exact two-sided sign test with big integers,
// independently of the float recurrence under test.
func binomTwoSided(b01, b10 int) float64 {
	n := int64(b01 + b10)
	k := int64(min(b01, b10))
	tail := new(big.Int)
	for i := int64(0); i <= k; i++ {
		tail.Add(tail, new(big.Int).Binomial(n, i))
	}
	num := new(big.Float).SetInt(tail.Lsh(tail, 1))
	den := new(big.Float).SetInt(new(big.Int).Lsh(big.NewInt(1), uint(n)))
	p, _ := new(big.Float).Quo(num, den).Float64()
	return math.Min(1, p)
}

func TestMcNemar(t *testing.T) {
	tests := []struct {
		name                  string
		both, b01, b10, none  int
		wantP                 float64
		wantB01, wantB10      int
		checkAgainstBigBinom  bool
		wantUndefinedForEmpty bool
	}{
		// 2·(C(10,0)+C(10,1)+C(10,2))/2^10 = 2·56/1024.
		{name: "exact 2 vs 8", both: 30, b01: 2, b10: 8, none: 5, wantP: 112.0 / 1024, wantB01: 2, wantB10: 8},
		// 2·C(5,0)/2^5.
		{name: "exact 0 vs 5", b01: 0, b10: 5, none: 3, wantP: 2.0 / 32, wantB01: 0, wantB10: 5},
		{name: "exact balanced caps at 1", b01: 3, b10: 3, wantP: 1, wantB01: 3, wantB10: 3},
		{name: "no discordant pairs", both: 10, none: 4, wantP: 1},
		{name: "exact at 24 discordant", b01: 7, b10: 17, checkAgainstBigBinom: true, wantB01: 7, wantB10: 17},
		{name: "exact one-sided lopsided", b01: 1, b10: 20, checkAgainstBigBinom: true, wantB01: 1, wantB10: 20},
		// (|10-25|-1)²/35 = 5.6; P(χ²₁ > 5.6) = 0.0179605 (chi-square table).
		{name: "chi-square 10 vs 25", b01: 10, b10: 25, wantP: 0.0179605, wantB01: 10, wantB10: 25},
		// (|20-20|-1)² clamps to 0: no evidence, p = 1.
		{name: "chi-square balanced", b01: 20, b10: 20, wantP: 1, wantB01: 20, wantB10: 20},
		// (|30-10|-1)²/40 = 9.025; P(χ²₁ > 9.025) = 0.0026631.
		{name: "chi-square 30 vs 10", b01: 30, b10: 10, wantP: 0.0026631, wantB01: 30, wantB10: 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := pairs(tc.both, tc.b01, tc.b10, tc.none)
			b01, b10, p := McNemar(a, b)
			if b01 != tc.wantB01 || b10 != tc.wantB10 {
				t.Fatalf("counts = (%d, %d), want (%d, %d)", b01, b10, tc.wantB01, tc.wantB10)
			}
			want := tc.wantP
			if tc.checkAgainstBigBinom {
				want = binomTwoSided(tc.b01, tc.b10)
			}
			if !near(p, want, 1e-6) {
				t.Fatalf("p = %.7f, want %.7f", p, want)
			}
		})
	}
}

func TestMcNemarExactAndChiSquareAgreeNearSwitch(t *testing.T) {
	// At the switch point the two methods should tell the same story; a
	// large gap would mean one of them is wrong.
	for _, tc := range []struct {
		name     string
		b01, b10 int
	}{
		{"lopsided", 6, 19},
		{"close", 10, 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exact := binomTwoSided(tc.b01, tc.b10)
			_, _, chi := McNemar(pairs(0, tc.b01, tc.b10, 0))
			if math.Abs(exact-chi) > 0.02 {
				t.Fatalf("exact %.4f vs chi-square %.4f differ by more than 0.02", exact, chi)
			}
		})
	}
}

func TestMcNemarInvalid(t *testing.T) {
	tests := []struct {
		name string
		a, b []bool
	}{
		{"empty", nil, nil},
		{"different lengths", []bool{true, false}, []bool{true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b01, b10, p := McNemar(tc.a, tc.b)
			if b01 != 0 || b10 != 0 || !math.IsNaN(p) {
				t.Fatalf("McNemar = (%d, %d, %v), want (0, 0, NaN)", b01, b10, p)
			}
		})
	}
}
