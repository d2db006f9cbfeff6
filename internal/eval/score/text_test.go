package score

import (
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"case and punctuation", "Paris!", "paris"},
		{"articles dropped", "The  Eiffel Tower, a landmark", "eiffel tower landmark"},
		{"article inside word kept", "theatre another", "theatre another"},
		{"underscores and dashes fold to spaces", "not_spam / not-spam", "not spam not spam"},
		{"en dash", "1990–1995", "1990 1995"},
		{"abbreviation", "U.S.A.", "usa"},
		{"apostrophe", "don't", "dont"},
		{"full-width letters", "ＰＡＲＩＳ", "paris"},
		{"decomposed accent composes", "cafe\u0301", "café"},
		{"accents kept", "Résumé", "résumé"},
		{"non-Latin script", "Москва.", "москва"},
		{"symbols dropped", "$5 + 3%", "5 3"},
		{"newlines and tabs", "a\tb\nc", "b c"},
		{"empty", "", ""},
		{"only punctuation", "?!...", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Normalize(tc.in); got != tc.want {
				t.Fatalf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestExact(t *testing.T) {
	runCases(t, lab.ScorerSpec{Type: "exact"}, Deps{}, []scoreCase{
		{name: "equal", expected: "Paris", answer: "Paris", pass: true},
		{name: "surrounding whitespace ignored", expected: "Paris", answer: "  Paris\n", pass: true},
		{name: "case matters", expected: "Paris", answer: "paris", pass: false, reason: `answer "paris" is not "Paris"`},
		{name: "punctuation matters", expected: "Paris", answer: "Paris.", pass: false},
		{name: "empty answer", expected: "Paris", answer: "", pass: false},
		{name: "empty expected wants empty answer", expected: "", answer: "  ", pass: true},
		{name: "unicode equal", expected: "東京", answer: "東京", pass: true},
	}, false)
}

func TestNormalized(t *testing.T) {
	runCases(t, lab.ScorerSpec{Type: "normalized"}, Deps{}, []scoreCase{
		{name: "case, punctuation and article", expected: "The Nile", answer: "nile.", pass: true},
		{name: "inner whitespace", expected: "New York", answer: "New   York", pass: true},
		{name: "different words", expected: "New York", answer: "New Jersey", pass: false, reason: `"new jersey" is not "new york"`},
		{name: "extra words fail", expected: "Paris", answer: "It is Paris", pass: false},
		{name: "full-width digits", expected: "42", answer: "４２", pass: true},
		{name: "empty answer", expected: "Paris", answer: "", pass: false},
	}, false)
}

func TestContains(t *testing.T) {
	runCases(t, lab.ScorerSpec{Type: "contains"}, Deps{}, []scoreCase{
		{name: "inside a sentence", expected: "Paris", answer: "The capital is Paris.", pass: true},
		{name: "multi-word, normalised", expected: "the Eiffel Tower", answer: "I'd visit EIFFEL-tower first", pass: true},
		{name: "multi-word phrase", expected: "Eiffel Tower", answer: "Visit the eiffel  tower, then rest.", pass: true},
		{name: "not a partial word", expected: "art", answer: "Mozart", pass: false, reason: `does not contain "art"`},
		{name: "number not inside another number", expected: "4", answer: "14", pass: false},
		{name: "mentioned twice", expected: "yes", answer: "Yes. yes!", pass: true},
		{name: "empty answer", expected: "Paris", answer: "", pass: false},
		{name: "empty expected is an error naming the case", expected: "", answer: "x", wantErr: `case "c1" (test.jsonl:3) has no expected answer`},
		{name: "expected only an article", expected: "the", answer: "the", wantErr: "empty once normalised"},
	}, false)
}

func TestRegex(t *testing.T) {
	runCases(t, lab.ScorerSpec{Type: "regex", Pattern: `^\d{3}-\d{4}$`}, Deps{}, []scoreCase{
		{name: "matches", answer: "555-1234", pass: true},
		{name: "anchored", answer: "call 555-1234", pass: false, reason: `does not match /^\d{3}-\d{4}$/`},
		{name: "empty answer", answer: "", pass: false},
	}, false)
	runCases(t, lab.ScorerSpec{Type: "regex", Pattern: `(?i)^café`}, Deps{}, []scoreCase{
		{name: "unicode case-insensitive", answer: "CAFÉ au lait", pass: true},
		{name: "unicode no match", answer: "cafe", pass: false},
	}, false)
}
