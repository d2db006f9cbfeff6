package score

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
)

func TestCosine(t *testing.T) {
	tests := []struct {
		name    string
		a, b    []float32
		want    float64
		wantErr string
	}{
		{name: "same direction", a: []float32{1, 2, 3}, b: []float32{2, 4, 6}, want: 1},
		{name: "orthogonal", a: []float32{1, 0}, b: []float32{0, 5}, want: 0},
		{name: "opposite", a: []float32{1, 1}, b: []float32{-1, -1}, want: -1},
		{name: "45 degrees", a: []float32{1, 0}, b: []float32{1, 1}, want: 1 / math.Sqrt2},
		{name: "length mismatch", a: []float32{1}, b: []float32{1, 2}, wantErr: "length 1 and 2"},
		{name: "empty", a: nil, b: nil, wantErr: "length 0 and 0"},
		{name: "zero vector", a: []float32{0, 0}, b: []float32{1, 0}, wantErr: "zero vector"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Cosine(tc.a, tc.b)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || math.Abs(got-tc.want) > 1e-6 {
				t.Fatalf("Cosine = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestEmbeddingScorer(t *testing.T) {
	var asked string
	emb := fakeEmbedder{vecs: map[string][]float32{
		"Paris": {1, 0, 0},
		// Small integers keep float32 exact, so the expected values are too.
		"It's Paris":       {12, 5, 0}, // cos 12/13
		"The capital city": {1, 1, 0},  // cos 1/√2
		"Bananas":          {0, 0, 1},  // cos 0
		"Anti-Paris":       {-1, 0, 0}, // cos -1
		"Zero":             {0, 0, 0},  // no direction
		"Ελληνικά":         {4, 0, 3},  // cos 0.8 exactly
		"xxx":              {1, 0, 1},  // cos 1/√2
	}, model: &asked}
	runCases(t, lab.ScorerSpec{Type: "embedding", Model: "openai:text-embedding-3-small"}, Deps{Embedder: emb}, []scoreCase{
		{name: "paraphrase passes", expected: "Paris", answer: "It's Paris", pass: true, value: 12.0 / 13, reason: "cosine similarity 0.923"},
		{name: "at the threshold passes", expected: "Paris", answer: "Ελληνικά", pass: true, value: 0.8},
		{name: "below default 0.8 fails", expected: "Paris", answer: "The capital city", pass: false, value: 1 / math.Sqrt2},
		{name: "unrelated is zero", expected: "Paris", answer: "Bananas", pass: false, value: 0},
		{name: "opposed clamps to zero", expected: "Paris", answer: "Anti-Paris", pass: false, value: 0, reason: "cosine similarity -1.000"},
		{name: "empty answer scores zero without a call", expected: "Paris", answer: "  ", pass: false, value: 0, reason: "empty answer"},
		{name: "zero vector is an error", expected: "Paris", answer: "Zero", wantErr: "zero vector"},
		{name: "missing expected is an error", expected: "", answer: "Paris", wantErr: "has no expected answer"},
	}, true)
	if asked != "text-embedding-3-small" {
		t.Errorf("embedder was asked for model %q, want the API name text-embedding-3-small", asked)
	}

	t.Run("custom threshold", func(t *testing.T) {
		runCases(t, lab.ScorerSpec{Type: "embedding", Model: "m", Threshold: 0.7}, Deps{Embedder: emb}, []scoreCase{
			{name: "0.707 passes at 0.7", expected: "Paris", answer: "xxx", pass: true, value: 1 / math.Sqrt2},
		}, true)
	})
	t.Run("backend errors", func(t *testing.T) {
		runCases(t, lab.ScorerSpec{Type: "embedding", Model: "m"}, Deps{Embedder: fakeEmbedder{err: errors.New("quota exceeded")}}, []scoreCase{
			{name: "error wrapped with model", expected: "Paris", answer: "Paris", wantErr: "embed with m: quota exceeded"},
		}, true)
		runCases(t, lab.ScorerSpec{Type: "embedding", Model: "m"}, Deps{Embedder: fakeEmbedder{vecs: emb.vecs, short: true}}, []scoreCase{
			{name: "wrong vector count", expected: "Paris", answer: "Paris", wantErr: "asked for 2 vectors, got 1"},
		}, true)
	})
}
