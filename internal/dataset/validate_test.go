package dataset

import (
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
)

func TestValidate(t *testing.T) {
	labels := []string{"billing", "shipping", "account_login"}
	ex := func(id, in, exp string) lab.Example {
		return lab.Example{ID: id, Input: in, Expected: exp, Source: "t.jsonl", Line: 3}
	}
	cases := []struct {
		name  string
		exs   []lab.Example
		rules Rules
		want  []string
	}{
		{name: "clean rows", exs: []lab.Example{ex("a", "charged twice", "billing"), ex("b", "late parcel", "shipping")},
			rules: Rules{Labels: labels}},
		{name: "empty input and expected", exs: []lab.Example{ex("a", "  ", "")},
			want: []string{`t.jsonl:3: id a: field "input": empty`, `t.jsonl:3: id a: field "expected": empty`}},
		{name: "empty expected allowed", exs: []lab.Example{ex("a", "hi", "")}, rules: Rules{AllowEmptyExpected: true}},
		{name: "label typo suggests the closest", exs: []lab.Example{ex("a", "x", "biling")}, rules: Rules{Labels: labels},
			want: []string{`t.jsonl:3: id a: field "expected": "biling" is not a label; did you mean "billing"?`}},
		{name: "label case slip", exs: []lab.Example{ex("a", "x", "Shipping ")}, rules: Rules{Labels: labels},
			want: []string{`t.jsonl:3: id a: field "expected": "Shipping " is not a label; it differs from "shipping" only in case or spacing`}},
		{name: "label far from any", exs: []lab.Example{ex("a", "x", "refund")}, rules: Rules{Labels: labels},
			want: []string{`t.jsonl:3: id a: field "expected": "refund" is not a label (labels: billing, shipping, account_login)`}},
		{name: "over the token limit", exs: []lab.Example{ex("a", "one two three four five", "six")},
			rules: Rules{MaxTokens: 5, CountTokens: func(s string) int { return len(strings.Fields(s)) }},
			want:  []string{`t.jsonl:3: id a: about 6 tokens (input 5 + expected 1), over the limit of 5; shorten the row or raise the limit`}},
		{name: "at the token limit", exs: []lab.Example{ex("a", "one two three four", "five")},
			rules: Rules{MaxTokens: 5, CountTokens: func(s string) int { return len(strings.Fields(s)) }}},
		{name: "same input two labels", exs: []lab.Example{ex("a", "Where is my refund", "billing"), {ID: "b", Input: "where is  my REFUND", Expected: "shipping"}},
			want: []string{`id b: field "expected": "shipping", but id a (line 3) has the same input with "billing"; decide which is right`}},
		{name: "same input same label is not a conflict", exs: []lab.Example{ex("a", "refund", "billing"), ex("b", "Refund", "billing")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			issues := Validate(tc.exs, tc.rules)
			var got []string
			for _, is := range issues {
				got = append(got, is.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("issues:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	cases := []struct {
		name string
		a, b string
		want int
	}{
		{"equal", "billing", "billing", 0},
		{"one deletion", "biling", "billing", 1},
		{"empty", "", "abc", 3},
		{"substitution and insertion", "kitten", "sitting", 3},
		{"runes not bytes", "café", "cafe", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := editDistance(tc.a, tc.b); got != tc.want {
				t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}
