package score

import (
	"context"
	"fmt"

	"github.com/tunelab/tunelab/internal/lab"
)

func newF1(spec lab.ScorerSpec, _ Deps) (scoreFunc, error) {
	th := threshold(spec, DefaultOverlapThreshold)
	return func(_ context.Context, ex lab.Example, answer string) (lab.Score, error) {
		v := TokenF1(answer, ex.Expected)
		return graded(v, th, fmt.Sprintf("token F1 %.3f", v)), nil
	}, nil
}

func newRougeL(spec lab.ScorerSpec, _ Deps) (scoreFunc, error) {
	th := threshold(spec, DefaultOverlapThreshold)
	return func(_ context.Context, ex lab.Example, answer string) (lab.Score, error) {
		v := RougeL(answer, ex.Expected)
		return graded(v, th, fmt.Sprintf("ROUGE-L F %.3f", v)), nil
	}, nil
}

func graded(v, th float64, reason string) lab.Score {
	return lab.Score{Value: v, Pass: v >= th, Reason: fmt.Sprintf("%s (pass at %.2f)", reason, th)}
}

// TokenF1 is the SQuAD token-level F1 between an answer and a reference:
// both are normalised (Normalize), the shared tokens counted as a multiset,
// and F1 = 2PR/(P+R) with precision over the answer's tokens and recall
// over the reference's. If either side has no tokens it is 1 when both are
// empty and 0 otherwise, as SQuAD 2.0 scores "no answer".
func TokenF1(answer, reference string) float64 {
	pred, gold := Tokens(answer), Tokens(reference)
	if len(pred) == 0 || len(gold) == 0 {
		if len(pred) == len(gold) {
			return 1
		}
		return 0
	}
	counts := make(map[string]int, len(gold))
	for _, t := range gold {
		counts[t]++
	}
	common := 0
	for _, t := range pred {
		if counts[t] > 0 {
			counts[t]--
			common++
		}
	}
	if common == 0 {
		return 0
	}
	p := float64(common) / float64(len(pred))
	r := float64(common) / float64(len(gold))
	return 2 * p * r / (p + r)
}

// RougeL is the ROUGE-L F-measure (Lin, 2004) between an answer and a
// reference over normalised tokens: with L the length of their longest
// common subsequence, P = L/len(answer), R = L/len(reference) and
// F = 2PR/(P+R), the β = 1 form that common ROUGE packages report as
// "fmeasure". Empty sides score as in TokenF1.
func RougeL(answer, reference string) float64 {
	cand, ref := Tokens(answer), Tokens(reference)
	if len(cand) == 0 || len(ref) == 0 {
		if len(cand) == len(ref) {
			return 1
		}
		return 0
	}
	l := lcs(cand, ref)
	if l == 0 {
		return 0
	}
	p := float64(l) / float64(len(cand))
	r := float64(l) / float64(len(ref))
	return 2 * p * r / (p + r)
}

// lcs is the length of the longest common subsequence, by dynamic
// programming over two rows: O(len(a)·len(b)) time, O(len(b)) memory.
func lcs(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			switch {
			case a[i-1] == b[j-1]:
				cur[j] = prev[j-1] + 1
			case prev[j] >= cur[j-1]:
				cur[j] = prev[j]
			default:
				cur[j] = cur[j-1]
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
