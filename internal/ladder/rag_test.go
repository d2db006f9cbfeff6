package ladder

import (
	"fmt"
	"math"
	"testing"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
)

// TestMeasure pairs each model's answers without and with retrieval case
// by case: a model that retrieval helps on 12 of 20 questions is a
// significant gain, one it never helps is not.
func TestMeasure(t *testing.T) {
	rag := &lab.Retrieval{Index: "i", Mode: "bm25", K: 3}
	run := lab.RunInfo{ID: "r", Cases: 20, Repeats: 1, PrimaryScorer: "contains", Candidates: []lab.Candidate{
		{ID: "a/zs", Model: "local:a"}, {ID: "a/zs+rag", Model: "local:a", Retrieval: rag},
		{ID: "b/zs", Model: "local:b"}, {ID: "b/zs+rag", Model: "local:b", Retrieval: rag},
	}}
	var results []lab.CallResult
	for i := 0; i < 20; i++ {
		id := fmt.Sprintf("q%02d", i)
		found := i%4 != 0 // retrieval finds the source for 15 of 20
		rec := 0.0
		if found {
			rec = 1
		}
		sc := func(pass bool) map[string]lab.Score {
			return map[string]lab.Score{
				"contains": {Pass: pass}, eval.ScoreRecall: {Value: rec}, eval.ScoreMRR: {Value: rec},
				eval.ScoreGrounded: {Value: 1, Pass: true},
			}
		}
		results = append(results,
			lab.CallResult{CandidateID: "a/zs", CaseID: id, Pass: i < 2},
			lab.CallResult{CandidateID: "a/zs+rag", CaseID: id, Pass: i < 14, Scores: sc(i < 14)},
			lab.CallResult{CandidateID: "b/zs", CaseID: id},
			lab.CallResult{CandidateID: "b/zs+rag", CaseID: id, Scores: sc(false)},
		)
	}
	k := measure(run, eval.Summarize(run, results), results, "zs", "contains")
	if k.Mode != "bm25" || k.K != 3 || k.Recall != 0.75 || k.MRR != 0.75 || len(k.Models) != 2 {
		t.Fatalf("evidence %+v", k)
	}
	cases := []struct {
		name              string
		i                 int
		model             string
		without, with     float64
		significant       bool
		hallucinationRate float64
	}{
		{"helped", 0, "local:a", 0.1, 0.7, true, 0},
		{"not helped", 1, "local:b", 0, 0, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := k.Models[tc.i]
			if m.Model != tc.model || m.Accuracy != tc.without || math.Abs(m.RAG-tc.with) > 1e-9 || m.Significant != tc.significant {
				t.Errorf("got %+v", m)
			}
			if math.Abs(m.Diff-(tc.with-tc.without)) > 1e-9 || m.HallucinationRate != tc.hallucinationRate {
				t.Errorf("diff %v, hallucination %v", m.Diff, m.HallucinationRate)
			}
		})
	}
}
