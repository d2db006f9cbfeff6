package stats

import (
	"math"
	"testing"
)

func TestAgreement(t *testing.T) {
	tests := []struct {
		name         string
		groups       [][]string
		wantAll      float64
		wantPairwise float64
	}{
		{name: "empty", groups: nil, wantAll: math.NaN(), wantPairwise: math.NaN()},
		{name: "only single answers", groups: [][]string{{"a"}, {"b"}}, wantAll: math.NaN(), wantPairwise: math.NaN()},
		{name: "all consistent", groups: [][]string{{"a", "a"}, {"b", "b", "b"}}, wantAll: 1, wantPairwise: 1},
		// A,A,B has 3 pairs of which 1 agrees.
		{name: "one stray answer", groups: [][]string{{"A", "A", "B"}}, wantAll: 0, wantPairwise: 1.0 / 3},
		// Case 1 agrees fully (1), case 2 none (0), case 3 is left out.
		{name: "mixed with a single", groups: [][]string{{"x", "x"}, {"x", "y"}, {"z"}}, wantAll: 0.5, wantPairwise: 0.5},
		// Pairwise: (1 + 0 + 6/10) / 3 for {p,p,p,q,q}: C(3,2)+C(2,2) = 4 of 10.
		{name: "unequal repeats weigh cases equally", groups: [][]string{{"a", "a"}, {"a", "b", "c"}, {"p", "p", "p", "q", "q"}}, wantAll: 1.0 / 3, wantPairwise: (1 + 0 + 0.4) / 3},
		{name: "case and spacing count", groups: [][]string{{"Yes", "yes"}, {"no", "no "}}, wantAll: 0, wantPairwise: 0},
		{name: "empty answers agree", groups: [][]string{{"", ""}}, wantAll: 1, wantPairwise: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Agreement(tc.groups); !near(got, tc.wantAll, 1e-12) {
				t.Errorf("Agreement = %v, want %v", got, tc.wantAll)
			}
			if got := PairwiseAgreement(tc.groups); !near(got, tc.wantPairwise, 1e-12) {
				t.Errorf("PairwiseAgreement = %v, want %v", got, tc.wantPairwise)
			}
		})
	}
}
