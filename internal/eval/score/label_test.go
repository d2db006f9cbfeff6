package score

import (
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
)

func TestLabel(t *testing.T) {
	sentiment := Deps{Labels: []string{"positive", "negative", "neutral"}}
	runCases(t, lab.ScorerSpec{Type: "label"}, sentiment, []scoreCase{
		{name: "exact label", expected: "positive", answer: "positive", pass: true, reason: `predicted "positive"`},
		{name: "case and punctuation", expected: "positive", answer: "Positive.", pass: true},
		{name: "label inside a sentence", expected: "negative", answer: "The sentiment is negative.", pass: true, reason: `predicted "negative"`},
		{name: "wrong label says both", expected: "negative", answer: "positive", pass: false, reason: `predicted "positive", expected "negative"`},
		{name: "same label twice", expected: "neutral", answer: "Neutral. Final answer: neutral", pass: true},
		{name: "two labels is ambiguous", expected: "positive", answer: "Either positive or negative.", pass: false, reason: `ambiguous: answer mentions "positive" and "negative"`},
		{name: "no label", expected: "positive", answer: "I cannot tell.", pass: false, reason: "no label found"},
		{name: "partial word is not a label", expected: "positive", answer: "positively", pass: false, reason: "no label found"},
		{name: "empty answer", expected: "positive", answer: "", pass: false, reason: "empty answer"},
		{name: "expected missing", expected: "", answer: "positive", wantErr: "has no expected answer"},
	}, false)

	spam := Deps{Labels: []string{"spam", "not_spam"}}
	runCases(t, lab.ScorerSpec{Type: "label"}, spam, []scoreCase{
		{name: "underscore label written with a space", expected: "not_spam", answer: "not spam", pass: true, reason: `predicted "not_spam"`},
		{name: "underscore label written with a dash", expected: "not_spam", answer: "Not-Spam", pass: true},
		{name: "shorter label inside longer one", expected: "not_spam", answer: "This message is not spam.", pass: true, reason: `predicted "not_spam"`},
		{name: "shorter label on its own", expected: "spam", answer: "This is spam, clearly.", pass: true, reason: `predicted "spam"`},
		{name: "both labels separately is ambiguous", expected: "spam", answer: "spam, or maybe not spam", pass: false, reason: "ambiguous"},
		{name: "expected written differently", expected: "Not Spam", answer: "not_spam", pass: true},
	}, false)

	choice := Deps{Labels: []string{"A", "B", "C", "D"}}
	runCases(t, lab.ScorerSpec{Type: "label"}, choice, []scoreCase{
		{name: "letter alone", expected: "A", answer: "A", pass: true, reason: `predicted "A"`},
		{name: "lowercase letter alone", expected: "A", answer: "a", pass: true},
		{name: "letter in parentheses", expected: "C", answer: "(C)", pass: true},
		{name: "letter in a sentence", expected: "A", answer: "The answer is A.", pass: true, reason: `predicted "A"`},
		{name: "article a is not label A", expected: "B", answer: "This is a hard one; the answer is B.", pass: true, reason: `predicted "B"`},
		{name: "two letters is ambiguous", expected: "A", answer: "A or B", pass: false, reason: `ambiguous: answer mentions "A" and "B"`},
		{name: "wrong letter", expected: "D", answer: "Answer: C", pass: false, reason: `predicted "C", expected "D"`},
	}, false)

	unicode := Deps{Labels: []string{"Grün", "Rot", "日本"}}
	runCases(t, lab.ScorerSpec{Type: "label"}, unicode, []scoreCase{
		{name: "umlaut with case", expected: "Grün", answer: "GRÜN", pass: true},
		{name: "decomposed umlaut", expected: "Grün", answer: "Gru\u0308n", pass: true},
		{name: "CJK label alone", expected: "日本", answer: "日本", pass: true},
		{name: "CJK label in unsegmented text", expected: "日本", answer: "日本です", pass: false, reason: "no label found"},
	}, false)
}
