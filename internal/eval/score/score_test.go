package score

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
)

// scoreCase is one answer to score against one expected text.
type scoreCase struct {
	name     string
	expected string
	answer   string
	pass     bool
	value    float64 // checked when checkValue is set
	reason   string  // substring the reason must contain, if set
	wantErr  string  // substring of the error, if an error is expected
}

func runCases(t *testing.T, spec lab.ScorerSpec, deps Deps, cases []scoreCase, checkValue bool) {
	t.Helper()
	sc, err := New(spec, deps)
	if err != nil {
		t.Fatalf("New(%+v): %v", spec, err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ex := lab.Example{ID: "c1", Input: "q", Expected: tc.expected, Source: "test.jsonl", Line: 3}
			got, err := sc.Score(context.Background(), ex, tc.answer)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Score: %v", err)
			}
			if got.Pass != tc.pass {
				t.Fatalf("Pass = %v, want %v (score %+v)", got.Pass, tc.pass, got)
			}
			if checkValue && !approx(got.Value, tc.value) {
				t.Fatalf("Value = %v, want %v (score %+v)", got.Value, tc.value, got)
			}
			if !checkValue && got.Value != map[bool]float64{true: 1, false: 0}[tc.pass] {
				t.Fatalf("Value = %v for Pass %v: binary scorers give 1 or 0", got.Value, got.Pass)
			}
			if tc.reason != "" && !strings.Contains(got.Reason, tc.reason) {
				t.Fatalf("Reason = %q, want it to contain %q", got.Reason, tc.reason)
			}
		})
	}
}

func approx(a, b float64) bool {
	d := a - b
	return d < 1e-9 && d > -1e-9
}

func TestNew(t *testing.T) {
	tests := []struct {
		name     string
		spec     lab.ScorerSpec
		deps     Deps
		wantName string
		wantErr  string
	}{
		{name: "name defaults to type", spec: lab.ScorerSpec{Type: "exact"}, wantName: "exact"},
		{name: "explicit name", spec: lab.ScorerSpec{Type: "f1", Name: "overlap"}, wantName: "overlap"},
		{name: "unknown type lists known ones", spec: lab.ScorerSpec{Type: "bleu"}, wantErr: `unknown scorer type "bleu": known types are contains, embedding, exact, f1, json-field, json-schema, judge, label, normalized, regex, rouge-l`},
		{name: "missing type", spec: lab.ScorerSpec{}, wantErr: "scorer has no type"},
		{name: "threshold above 1", spec: lab.ScorerSpec{Type: "f1", Threshold: 1.5}, wantErr: "threshold 1.5 is outside [0, 1]"},
		{name: "label without labels", spec: lab.ScorerSpec{Type: "label"}, wantErr: "label scorer: the task lists no labels"},
		{name: "labels that fold together", spec: lab.ScorerSpec{Type: "label"}, deps: Deps{Labels: []string{"not_spam", "Not-Spam"}}, wantErr: `labels "not_spam" and "Not-Spam" are the same`},
		{name: "label of punctuation only", spec: lab.ScorerSpec{Type: "label"}, deps: Deps{Labels: []string{"ok", "?!"}}, wantErr: `label "?!" is empty once punctuation is removed`},
		{name: "regex without pattern", spec: lab.ScorerSpec{Type: "regex"}, wantErr: "regex scorer: pattern is empty"},
		{name: "regex that does not compile names it", spec: lab.ScorerSpec{Type: "regex", Pattern: "(a|b"}, wantErr: `pattern "(a|b" does not compile`},
		{name: "json-schema without schema", spec: lab.ScorerSpec{Type: "json-schema"}, wantErr: "schema is empty"},
		{name: "json-schema not JSON", spec: lab.ScorerSpec{Type: "json-schema", Schema: json.RawMessage(`{type: object}`)}, wantErr: "schema is not valid JSON"},
		{name: "json-schema invalid schema", spec: lab.ScorerSpec{Type: "json-schema", Schema: json.RawMessage(`{"type": "objekt"}`)}, wantErr: "schema does not compile"},
		{name: "json-schema external ref refused", spec: lab.ScorerSpec{Type: "json-schema", Schema: json.RawMessage(`{"$ref": "http://example.com/s.json"}`)}, wantErr: "external references are not loaded"},
		{name: "json-field without field", spec: lab.ScorerSpec{Type: "json-field"}, wantErr: "field is empty"},
		{name: "json-field empty segment", spec: lab.ScorerSpec{Type: "json-field", Field: "a..b"}, wantErr: `field "a..b" has an empty segment`},
		{name: "judge without model", spec: lab.ScorerSpec{Type: "judge"}, deps: Deps{Judge: &fakeJudge{}}, wantErr: "judge scorer: model is empty"},
		{name: "judge without provider", spec: lab.ScorerSpec{Type: "judge", Model: "openai:gpt-4.1"}, wantErr: "no provider for judge model openai:gpt-4.1"},
		{name: "embedding without model", spec: lab.ScorerSpec{Type: "embedding"}, deps: Deps{Embedder: fakeEmbedder{}}, wantErr: "embedding scorer: model is empty"},
		{name: "embedding without embedder", spec: lab.ScorerSpec{Type: "embedding", Model: "anthropic:claude-x"}, wantErr: "model anthropic:claude-x cannot compute embeddings"},
		{name: "judge ready", spec: lab.ScorerSpec{Type: "judge", Model: "openai:gpt-4.1"}, deps: Deps{Judge: &fakeJudge{}}, wantName: "judge"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := New(tc.spec, tc.deps)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if sc.Name() != tc.wantName {
				t.Fatalf("Name() = %q, want %q", sc.Name(), tc.wantName)
			}
		})
	}
}

func TestTypesCoverSpecComment(t *testing.T) {
	// lab.ScorerSpec documents these types; every one must build.
	want := "exact, normalized, label, contains, regex, json-schema, json-field, f1, rouge-l, embedding, judge"
	for _, typ := range strings.Split(want, ", ") {
		t.Run(typ, func(t *testing.T) {
			if _, ok := builders[typ]; !ok {
				t.Fatalf("type %q has no builder", typ)
			}
		})
	}
	if len(Types()) != len(strings.Split(want, ", ")) {
		t.Fatalf("Types() = %v, want exactly %s", Types(), want)
	}
}
