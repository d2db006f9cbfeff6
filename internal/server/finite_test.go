package server

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/tunelab/tunelab/internal/eval"
)

func TestFinite(t *testing.T) {
	tests := []struct {
		name string
		in   eval.Summary
	}{
		{"nan accuracy and scores", eval.Summary{Candidates: []eval.CandidateSummary{{ID: "a", Accuracy: math.NaN(), CILow: math.NaN(),
			CIHigh: math.Inf(1), Scores: map[string]float64{"label": math.NaN(), "f1": 0.5}}}}},
		{"nothing to fix", eval.Summary{Candidates: []eval.CandidateSummary{{ID: "a", Accuracy: 0.5}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.in
			finite(&s)
			if _, err := json.Marshal(s); err != nil {
				t.Fatalf("still not JSON: %v", err)
			}
			c := s.Candidates[0]
			if math.IsNaN(c.Accuracy) || c.CIHigh != -1 && math.IsInf(tc.in.Candidates[0].CIHigh, 0) {
				t.Errorf("candidate = %+v", c)
			}
			if tc.name == "nothing to fix" && c.Accuracy != 0.5 {
				t.Errorf("a finite value changed: %v", c.Accuracy)
			}
			if v, ok := c.Scores["label"]; ok && v != -1 {
				t.Errorf("NaN score became %v, want -1", v)
			}
			if v, ok := c.Scores["f1"]; ok && v != 0.5 {
				t.Errorf("finite score changed to %v", v)
			}
		})
	}
}
