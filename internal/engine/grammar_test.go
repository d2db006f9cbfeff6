package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/testutil/golden"
)

// schemas used both for the golden grammar text and for generation.
// Strings are bounded so a random model must finish within the budget.
var schemas = []struct {
	name   string
	schema string
	check  func(v any) error
}{
	{"ticket", `{"type":"object","properties":{"label":{"enum":["billing","login","feature","other"]},"priority":{"type":"integer"},"urgent":{"type":"boolean"}},"required":["label","priority"]}`,
		func(v any) error {
			o, _ := v.(map[string]any)
			if !slices.Contains([]any{"billing", "login", "feature", "other"}, o["label"]) {
				return fmt.Errorf("label %v", o["label"])
			}
			if p, ok := o["priority"].(float64); !ok || p != float64(int64(p)) {
				return fmt.Errorf("priority %v", o["priority"])
			}
			if _, ok := o["urgent"].(bool); !ok {
				return fmt.Errorf("urgent %v", o["urgent"])
			}
			return nil
		}},
	{"tags", `{"type":"array","items":{"type":"string","maxLength":6},"minItems":1,"maxItems":3}`,
		func(v any) error {
			a, ok := v.([]any)
			if !ok || len(a) < 1 || len(a) > 3 {
				return fmt.Errorf("want 1 to 3 items, got %v", v)
			}
			for _, e := range a {
				if s, ok := e.(string); !ok || len([]rune(s)) > 6 {
					return fmt.Errorf("item %v", e)
				}
			}
			return nil
		}},
	{"nested refs", `{"$defs":{"point":{"type":"object","properties":{"x":{"type":"number"},"y":{"type":"number"}}}},"type":"object","properties":{"name":{"type":"string","maxLength":8},"at":{"$ref":"#/$defs/point"},"note":{"type":["string","null"],"maxLength":4}}}`,
		func(v any) error {
			o, _ := v.(map[string]any)
			at, _ := o["at"].(map[string]any)
			if _, ok := at["x"].(float64); !ok {
				return fmt.Errorf("at %v", o["at"])
			}
			if _, ok := o["name"].(string); !ok {
				return fmt.Errorf("name %v", o["name"])
			}
			if n := o["note"]; n != nil {
				if _, ok := n.(string); !ok {
					return fmt.Errorf("note %v", n)
				}
			}
			return nil
		}},
	{"const and anyOf", `{"anyOf":[{"const":{"ok":true}},{"type":"integer"}]}`,
		func(v any) error {
			if o, ok := v.(map[string]any); ok && o["ok"] == true {
				return nil
			}
			if f, ok := v.(float64); ok && f == float64(int64(f)) {
				return nil
			}
			return fmt.Errorf("got %v", v)
		}},
}

func TestGrammarFromJSONSchema(t *testing.T) {
	var all strings.Builder
	for _, s := range schemas {
		g, err := GrammarFromJSONSchema([]byte(s.schema))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		fmt.Fprintf(&all, "## %s\n%s\n", s.name, strings.TrimSuffix(g, baseRules))
	}
	golden.Check(t, filepath.Join("testdata", "grammar.golden"), all.String())

	bad := []struct{ name, schema, want string }{
		{"not json", `{"type":`, "JSON schema"},
		{"false schema", `false`, "admits nothing"},
		{"unknown type", `{"type":"date"}`, `unknown type "date"`},
		{"external ref", `{"$ref":"https://example.com/s.json"}`, "only #/$defs"},
		{"dangling ref", `{"$ref":"#/$defs/missing"}`, "no $defs"},
		{"max below min", `{"type":"array","minItems":3,"maxItems":1}`, "below"},
		{"several allOf", `{"allOf":[{},{}]}`, "allOf"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := GrammarFromJSONSchema([]byte(tc.schema))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// TestGrammarConstrainedGeneration runs a random model under each schema's
// grammar: whatever it would have said, the output must parse and fit.
func TestGrammarConstrainedGeneration(t *testing.T) {
	m := loadTiny(t, Options{})
	ctx := context.Background()
	for _, s := range schemas {
		for _, temp := range []float64{0, 1} {
			t.Run(fmt.Sprintf("%s/temperature %g", s.name, temp), func(t *testing.T) {
				g, err := GrammarFromJSONSchema([]byte(s.schema))
				if err != nil {
					t.Fatal(err)
				}
				r, err := m.Chat(ctx, []Message{{Role: "user", Content: "Reply in JSON."}}, GenerateOptions{MaxTokens: 200, Grammar: g, Temperature: temp, Seed: 5}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if r.FinishReason != "stop" {
					t.Fatalf("finish %s after %d tokens: %q", r.FinishReason, r.OutputTokens, r.Text)
				}
				var v any
				if err := json.Unmarshal([]byte(r.Text), &v); err != nil {
					t.Fatalf("output %q is not JSON: %v", r.Text, err)
				}
				if err := s.check(v); err != nil {
					t.Errorf("output %q does not fit the schema: %v", r.Text, err)
				}
			})
		}
	}
	t.Run("grammar that does not parse", func(t *testing.T) {
		_, err := m.Generate(ctx, "x", GenerateOptions{Grammar: "root ::= ("}, nil)
		if err == nil || !strings.Contains(err.Error(), "grammar") {
			t.Fatalf("error %v, want a grammar error", err)
		}
	})
}
