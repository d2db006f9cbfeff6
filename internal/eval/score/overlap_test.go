package score

import (
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
)

func TestTokenF1(t *testing.T) {
	tests := []struct {
		name, answer, ref string
		want              float64
	}{
		{"identical", "Denver Broncos", "Denver Broncos", 1},
		{"normalised identical", "the Denver Broncos!", "denver broncos", 1},
		// 2 shared tokens: P = 2/3, R = 1, F1 = 2·(2/3)/(5/3) = 0.8.
		{"partial overlap", "Broncos of Denver", "Denver Broncos", 0.8},
		{"one of three", "Carolina Panthers win", "Panthers", 0.5},
		{"disjoint", "Carolina", "Denver", 0},
		// Multiset: one "cat" in the reference matches one in the answer:
		// P = 1/3, R = 1/2, F1 = 2·(1/6)/(5/6) = 0.4.
		{"repeated tokens count once each", "cat cat cat", "cat dog", 0.4},
		{"both empty", "", "", 1},
		{"empty answer", "", "Denver", 0},
		{"empty reference", "Denver", "", 0},
		{"only articles is empty", "the", "a", 1},
		{"unicode", "Ελένη Παπαδοπούλου", "ελένη", 2.0 / 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := TokenF1(tc.answer, tc.ref); !approx(got, tc.want) {
				t.Fatalf("TokenF1(%q, %q) = %v, want %v", tc.answer, tc.ref, got, tc.want)
			}
		})
	}
}

func TestRougeL(t *testing.T) {
	tests := []struct {
		name, answer, ref string
		want              float64
	}{
		{"identical", "police killed the gunman", "police killed the gunman", 1},
		// Lin (2004): reference "police killed the gunman" (articles dropped
		// here: police killed gunman), candidate "police kill the gunman":
		// LCS = police, gunman = 2; P = 2/3, R = 2/3.
		{"Lin example 1", "police kill the gunman", "police killed the gunman", 2.0 / 3},
		// "the gunman kill police": LCS = 1 (gunman or police).
		{"Lin example 2 order matters", "the gunman kill police", "police killed the gunman", 1.0 / 3},
		// LCS of a b c d e / a x c y e is a c e = 3 of 5 each side.
		{"gapped subsequence", "a1 b1 c1 d1 e1", "a1 x1 c1 y1 e1", 0.6},
		// P = 2/2, R = 2/4: F = 2·0.5/1.5.
		{"short answer", "alpha beta", "alpha beta gamma delta", 2.0 / 3},
		{"disjoint", "up", "down", 0},
		{"both empty", "", "", 1},
		{"empty answer", "", "x", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := RougeL(tc.answer, tc.ref); !approx(got, tc.want) {
				t.Fatalf("RougeL(%q, %q) = %v, want %v", tc.answer, tc.ref, got, tc.want)
			}
		})
	}
}

func TestOverlapScorers(t *testing.T) {
	t.Run("f1 default threshold", func(t *testing.T) {
		runCases(t, lab.ScorerSpec{Type: "f1"}, Deps{}, []scoreCase{
			{name: "half passes", expected: "Panthers", answer: "Carolina Panthers win", pass: true, value: 0.5, reason: "token F1 0.500 (pass at 0.50)"},
			{name: "below fails", expected: "Denver Broncos team", answer: "Broncos lost badly today", pass: false, value: 2 * (0.25 * (1.0 / 3)) / (0.25 + 1.0/3)},
			{name: "empty answer", expected: "x", answer: "", pass: false, value: 0},
		}, true)
	})
	t.Run("f1 custom threshold", func(t *testing.T) {
		runCases(t, lab.ScorerSpec{Type: "f1", Threshold: 0.9}, Deps{}, []scoreCase{
			{name: "0.8 fails at 0.9", expected: "Denver Broncos", answer: "Broncos of Denver", pass: false, value: 0.8},
		}, true)
	})
	t.Run("rouge-l", func(t *testing.T) {
		runCases(t, lab.ScorerSpec{Type: "rouge-l"}, Deps{}, []scoreCase{
			{name: "Lin example passes", expected: "police killed the gunman", answer: "police kill the gunman", pass: true, value: 2.0 / 3, reason: "ROUGE-L F 0.667"},
			{name: "reordered fails", expected: "police killed the gunman", answer: "the gunman kill police", pass: false, value: 1.0 / 3},
		}, true)
	})
}
