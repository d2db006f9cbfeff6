package stats

import "math"

// Agreement measures consistency across repeats as the share of cases whose
// repeats all gave the same answer. Each group is one case's answers, one
// per repeat, compared as exact strings (normalise them first if case or
// spacing should not count). Groups with fewer than two answers say nothing
// about consistency and are left out; if none has two, it returns NaN.
//
// This is the strict reading: one stray answer in ten repeats makes the
// whole case inconsistent. PairwiseAgreement is the graded one.
func Agreement(groups [][]string) float64 {
	agree, counted := 0, 0
	for _, g := range groups {
		if len(g) < 2 {
			continue
		}
		counted++
		all := true
		for _, s := range g[1:] {
			if s != g[0] {
				all = false
				break
			}
		}
		if all {
			agree++
		}
	}
	if counted == 0 {
		return math.NaN()
	}
	return float64(agree) / float64(counted)
}

// PairwiseAgreement is the graded variant of Agreement: for each case, the
// share of unordered pairs of repeats that gave the same answer (the chance
// that two repeats picked at random agree), averaged over cases so that
// every case weighs the same whatever its number of repeats. A case with
// answers A, A, B scores 1/3 here and 0 in Agreement. Groups with fewer
// than two answers are left out; if none has two, it returns NaN.
func PairwiseAgreement(groups [][]string) float64 {
	var sum float64
	counted := 0
	counts := map[string]int{}
	for _, g := range groups {
		if len(g) < 2 {
			continue
		}
		clear(counts)
		for _, s := range g {
			counts[s]++
		}
		same := 0
		for _, c := range counts {
			same += c * (c - 1) / 2
		}
		n := len(g)
		sum += float64(same) / float64(n*(n-1)/2)
		counted++
	}
	if counted == 0 {
		return math.NaN()
	}
	return sum / float64(counted)
}
