package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
)

func TestAddPrompt(t *testing.T) {
	const base = `# my lab
task:
  name: t
  output: label
  labels: [a, b]
data:
  train: train.jsonl
  test: test.jsonl
models:
  - openai:gpt-4o-mini
prompts:
  - technique: zero-shot   # the baseline
scorers:
  - type: label
`
	tests := []struct {
		name    string
		variant lab.Variant
		err     string
	}{
		{"new variant", lab.Variant{Name: "mine", Technique: "instructions", Instructions: "Say a or b.\nOnly that.",
			FewShot: &lab.FewShot{K: 2, Select: lab.SelectNearest}, JSONSchema: []byte(`{"type":"object"}`)}, ""},
		{"name taken", lab.Variant{Name: "zero-shot", Instructions: "x"}, "exists"},
		{"no name", lab.Variant{Instructions: "x"}, "needs a name"},
		{"invalid variant", lab.Variant{Name: "bad", FewShot: &lab.FewShot{K: 2, Select: "psychic"}}, "would make the config invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			if err := os.WriteFile(path, []byte(base), 0o644); err != nil {
				t.Fatal(err)
			}
			err := AddPrompt(path, tc.variant)
			after, _ := os.ReadFile(path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				if string(after) != base {
					t.Errorf("a refused prompt changed the file:\n%s", after)
				}
				if tc.name == "name taken" && !errors.Is(err, ErrPromptExists) {
					t.Errorf("error %v does not match ErrPromptExists", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := Parse(after, path)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Prompts) != 2 || cfg.Prompts[1].Name != "mine" || cfg.Prompts[1].Instructions != "Say a or b.\nOnly that." ||
				cfg.Prompts[1].FewShot == nil || cfg.Prompts[1].FewShot.K != 2 || len(cfg.Prompts[1].JSONSchema) == 0 {
				t.Errorf("prompts after adding = %+v", cfg.Prompts)
			}
			if !strings.Contains(string(after), "# my lab") || !strings.Contains(string(after), "# the baseline") {
				t.Errorf("comments lost:\n%s", after)
			}
		})
	}
}
