package advisor

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/cost"
	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/testutil/golden"
)

func cand(id string, acc, lo, hi, p95 float64, vs *eval.Comparison) eval.CandidateSummary {
	return eval.CandidateSummary{ID: id, Accuracy: acc, CILow: lo, CIHigh: hi, LatencyP95: p95, VsBest: vs}
}

func vs(diff, p float64) *eval.Comparison {
	return &eval.Comparison{Against: "best", Method: "mcnemar", Diff: diff, DiffLow: diff - 0.08, DiffHigh: diff + 0.08, P: p, Significant: p < 0.05}
}

// ladder is a typical result: a tuned local model, a few-shot prompt on the
// same base, and a hosted model.
func ladder() Input {
	return Input{
		Summary: eval.Summary{Cases: 88, Best: "local:base-tuned/zero-shot", Candidates: []eval.CandidateSummary{
			cand("local:base-tuned/zero-shot", 0.86, 0.78, 0.93, 300, nil),
			cand("openai:gpt-4o-mini/few-shot", 0.80, 0.72, 0.88, 900, vs(-0.06, 0.2)),
			cand("local:base/few-shot-nearest", 0.55, 0.45, 0.65, 500, vs(-0.31, 0.0001)),
			cand("local:base/zero-shot", 0.10, 0.05, 0.17, 200, vs(-0.76, 1e-9)),
		}},
		Volume:      50000,
		Constraints: Constraints{MinQuality: 0.5, MaxLatencyMS: 2000, MonthlyBudget: 500},
		Profiles: map[string]cost.Profile{
			"local:base-tuned/zero-shot":  {PerCallUSD: 2e-6, TrainingUSD: 0.02},
			"openai:gpt-4o-mini/few-shot": {PerCallUSD: 1.5e-4},
			"local:base/few-shot-nearest": {PerCallUSD: 5e-6},
			"local:base/zero-shot":        {PerCallUSD: 1e-6},
		},
		Local: map[string]bool{"local:base-tuned/zero-shot": true, "local:base/few-shot-nearest": true, "local:base/zero-shot": true},
		Tuned: map[string]bool{"local:base-tuned/zero-shot": true},
	}
}

func TestDecide(t *testing.T) {
	cases := []struct {
		name      string
		in        func() Input
		wantPick  string
		wantBasis string
		wantText  string
	}{
		{"tied with a hosted model, the cheaper wins on cost", ladder, "local:base-tuned/zero-shot", "cost", "does not separate"},
		{"significantly best", func() Input {
			in := ladder()
			in.Summary.Candidates[1].VsBest = vs(-0.12, 0.004)
			return in
		}, "local:base-tuned/zero-shot", "quality", "more accurate than the best candidate without fine-tuning"},
		{"the data must stay local", func() Input {
			in := ladder()
			in.Summary.Best = "openai:gpt-4o-mini/few-shot"
			in.Summary.Candidates[0].VsBest = vs(-0.02, 0.6)
			in.Summary.Candidates[1].VsBest = nil
			in.Constraints.LocalOnly = true
			return in
		}, "local:base-tuned/zero-shot", "quality", "scores 86.0%"},
		{"the best is over the latency budget", func() Input {
			in := ladder()
			in.Summary.Candidates[1].VsBest = vs(-0.12, 0.004)
			in.Constraints.MaxLatencyMS = 250
			return in
		}, "local:base-tuned/zero-shot", "none-meets", "No candidate meets"},
		{"only a weaker one meets the constraints", func() Input {
			in := ladder()
			in.Summary.Candidates[1].VsBest = vs(-0.12, 0.004)
			in.Constraints.MaxLatencyMS = 600
			in.Constraints.MinQuality = 0.5
			in.Summary.Candidates[0].LatencyP95 = 700
			return in
		}, "local:base/few-shot-nearest", "constraints", "fails your constraints"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := Decide(tc.in())
			if v.Pick != tc.wantPick || v.Basis != tc.wantBasis {
				t.Fatalf("pick %s on %s, want %s on %s\n%s", v.Pick, v.Basis, tc.wantPick, tc.wantBasis, strings.Join(v.Reasons, "\n"))
			}
			if text := strings.Join(v.Reasons, " "); !strings.Contains(text, tc.wantText) {
				t.Errorf("reasons do not say %q:\n%s", tc.wantText, text)
			}
		})
	}
}

func TestVerdictGolden(t *testing.T) {
	in := ladder()
	in.Summary.Candidates[1].VsBest = vs(-0.12, 0.004)
	got, err := json.MarshalIndent(Decide(in), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "verdict.golden.json")
	golden.Check(t, path, got)
}

func TestNoResults(t *testing.T) {
	if v := Decide(Input{}); v.Pick != "" || v.Basis != "none-meets" {
		t.Errorf("pick %q on %s from no results", v.Pick, v.Basis)
	}
}
