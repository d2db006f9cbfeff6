package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/tunelab/tunelab/internal/lab"
)

// Ratios are the shares of train, validation and test. They need not sum
// to one: they are normalised.
type Ratios struct {
	Train, Validation, Test float64
}

// Splits are a dataset cut three ways. Each split keeps the dataset's order.
type Splits struct {
	Train, Validation, Test []lab.Example
}

// Assignment maps each example id to its split.
func (s Splits) Assignment() map[string]lab.Split {
	out := make(map[string]lab.Split, len(s.Train)+len(s.Validation)+len(s.Test))
	for _, part := range []struct {
		name lab.Split
		exs  []lab.Example
	}{{lab.Train, s.Train}, {lab.Validation, s.Validation}, {lab.Test, s.Test}} {
		for _, ex := range part.exs {
			out[ex.ID] = part.name
		}
	}
	return out
}

// Split cuts examples into train, validation and test, stratified by
// expected output so every label keeps its share in every split. Labels
// too rare to appear in the smallest split are pooled and split together,
// which also makes free-text tasks (every expected output unique) a plain
// random split. The result depends only on the examples' ids and
// contents, the ratios and the seed: not on file order, and not on the
// other labels' examples.
func Split(exs []lab.Example, r Ratios, seed int64) (Splits, error) {
	ratios := []float64{r.Train, r.Validation, r.Test}
	var sum, smallest float64
	for _, x := range ratios {
		if x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
			return Splits{}, fmt.Errorf("split ratios %v/%v/%v: each must be a number from 0 up", r.Train, r.Validation, r.Test)
		}
		sum += x
	}
	if sum == 0 {
		return Splits{}, fmt.Errorf("split ratios are all zero: give train, validation and test shares such as 0.7, 0.1, 0.2")
	}
	for i := range ratios {
		ratios[i] /= sum
		if ratios[i] > 0 && (smallest == 0 || ratios[i] < smallest) {
			smallest = ratios[i]
		}
	}
	byLabel := map[string][]int{}
	for i, ex := range exs {
		byLabel[ex.Expected] = append(byLabel[ex.Expected], i)
	}
	const pooled = "\x00pooled" // cannot collide with a label read from a file key
	strata := map[string][]int{}
	for label, idx := range byLabel {
		if float64(len(idx))*smallest < 1 {
			strata[pooled] = append(strata[pooled], idx...)
		} else {
			strata[label] = idx
		}
	}
	keys := make([]string, 0, len(strata))
	for k := range strata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	part := make([]int, len(exs)) // 0 train, 1 validation, 2 test
	for _, k := range keys {
		idx := strata[k]
		sort.Slice(idx, func(a, b int) bool { return less(exs[idx[a]], exs[idx[b]]) })
		rng := rand.New(rand.NewPCG(uint64(seed), hashWords([]string{k})))
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		counts := apportion(len(idx), ratios)
		at := 0
		for p, c := range counts {
			for _, i := range idx[at : at+c] {
				part[i] = p
			}
			at += c
		}
	}
	var s Splits
	for i, ex := range exs {
		switch part[i] {
		case 0:
			s.Train = append(s.Train, ex)
		case 1:
			s.Validation = append(s.Validation, ex)
		default:
			s.Test = append(s.Test, ex)
		}
	}
	return s, nil
}

// less orders examples by content so that shuffling starts from the same
// order however the file was sorted.
func less(a, b lab.Example) bool {
	if a.ID != b.ID {
		return a.ID < b.ID
	}
	if a.Input != b.Input {
		return a.Input < b.Input
	}
	return a.Expected < b.Expected
}

// apportion divides n items by ratios with the largest-remainder method,
// so the counts always sum to n and each is within one of its exact share.
// Ties go to the later share (test before validation before train): the
// test split's size decides how precise every reported score is.
func apportion(n int, ratios []float64) []int {
	counts := make([]int, len(ratios))
	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, len(ratios))
	total := 0
	for i, x := range ratios {
		exact := float64(n) * x
		counts[i] = int(math.Floor(exact))
		total += counts[i]
		rems[i] = rem{i, exact - float64(counts[i])}
	}
	sort.SliceStable(rems, func(a, b int) bool {
		if rems[a].r != rems[b].r {
			return rems[a].r > rems[b].r
		}
		return rems[a].i > rems[b].i
	})
	for k := 0; total < n; k++ {
		counts[rems[k%len(rems)].i]++
		total++
	}
	return counts
}
