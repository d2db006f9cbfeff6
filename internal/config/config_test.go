package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/testutil/golden"
)

const validConfig = `task:
  name: routing
  description: Route a ticket.
  labels: [billing, shipping]
  volume: 1000
data:
  train: data/train.jsonl
  test: data/test.jsonl
models:
  - openai-compatible:http://127.0.0.1:9/v1#tiny
  - id: big
    model: openai:gpt-4o-mini
    rpm: 60
prompts:
  - technique: zero-shot
  - name: knn
    technique: few-shot
    few_shot: {k: 3}
  - name: json
    technique: json
    json_schema:
      type: object
      properties:
        intent: {type: string}
    answer_field: intent
timeout: 30s
`

func TestParseValid(t *testing.T) {
	c, err := Parse([]byte(validConfig), "lab/tunelab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"dir", c.Dir, "lab"},
		{"output defaults to label", c.Task.Output, "label"},
		{"bare model string", c.Models[0].Model, "openai-compatible:http://127.0.0.1:9/v1#tiny"},
		{"model id", c.Models[1].ModelID(), "big"},
		{"rpm", c.Models[1].RPM, 60},
		{"prompt named by technique", c.Prompts[0].Name, "zero-shot"},
		{"few-shot select default", c.Prompts[1].FewShot.Select, "nearest"},
		{"schema as JSON", string(c.Prompts[2].JSONSchema), `{"properties":{"intent":{"type":"string"}},"type":"object"}`},
		{"default scorer", c.Scorers[0].Type, "label"},
		{"default scorer primary", c.Scorers[0].Primary, true},
		{"repeats default", c.Repeats, 1},
		{"timeout", c.Timeout, 30 * time.Second},
		{"store default", c.Store, DefaultStore},
		{"max tokens default", c.Params.MaxTokens, DefaultMaxTokens},
		{"retrieval mode default", c.Retrieval.Mode, "bm25"},
		{"retrieval k default", c.Retrieval.K, DefaultRetrievalK},
		{"question scorer default", c.Retrieval.Scorer, "contains"},
		{"retrieval off by default", c.Prompts[0].Retrieval.On(), false},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

// TestParseErrors checks that every bad config gives one line naming the
// file, line and field. The messages are kept in testdata/errors.golden.
func TestParseErrors(t *testing.T) {
	base := validConfig
	cases := []struct {
		name string
		text string
	}{
		{"unknown top-level key", base + "concurency: 3\n"},
		{"unknown key in model entry", strings.Replace(base, "    rpm: 60", "    rpm: 60\n    tmp: 5", 1)},
		{"unknown key in task", strings.Replace(base, "  volume: 1000", "  volume: 1000\n  colour: red", 1)},
		{"wrong type", base + "repeats: lots\n"},
		{"bad model ref", strings.Replace(base, "openai:gpt-4o-mini", "gpt-4o-mini", 1)},
		{"compatible without model", strings.Replace(base, "#tiny", "", 1)},
		{"label task without labels", strings.Replace(base, "  labels: [billing, shipping]\n", "  output: label\n", 1)},
		{"unknown technique", strings.Replace(base, "technique: zero-shot", "technique: telepathy", 1)},
		{"bad few-shot select", strings.Replace(base, "few_shot: {k: 3}", "few_shot: {k: 3, select: best}", 1)},
		{"no test data", strings.Replace(base, "  test: data/test.jsonl\n", "", 1)},
		{"two primaries", base + "scorers:\n  - type: label\n    primary: true\n  - type: f1\n    primary: true\n"},
		{"unknown scorer", base + "scorers:\n  - type: vibes\n"},
		{"bad answer pattern", strings.Replace(base, "    answer_field: intent", "    answer_pattern: 'Answer: .*'", 1)},
		{"duplicate model", strings.Replace(base, "prompts:", "  - openai:gpt-4o\n  - openai:gpt-4o\nprompts:", 1)},
		{"retrieval without knowledge", strings.Replace(base, "  - technique: zero-shot\n", "  - technique: zero-shot\n    retrieval: true\n", 1)},
		{"unknown retrieval mode", base + "knowledge: [docs/]\nretrieval:\n  mode: telepathy\n"},
		{"hybrid without embedding model", strings.Replace(base, "  - technique: zero-shot\n", "  - technique: zero-shot\n    retrieval: {mode: hybrid}\n", 1) + "knowledge: [docs/]\n"},
		{"prompt retrieval not a bool", strings.Replace(base, "  - technique: zero-shot\n", "  - technique: zero-shot\n    retrieval: maybe\n", 1) + "knowledge: [docs/]\n"},
		{"overlap as large as chunks", base + "knowledge: [docs/]\nretrieval:\n  chunk_tokens: 50\n  overlap: 50\n"},
		{"questions without knowledge", base + "retrieval:\n  questions: data/q.jsonl\n"},
		{"judge scores questions", base + "knowledge: [docs/]\nretrieval:\n  scorer: judge\n"},
		{"unknown retrieval prompt", base + "knowledge: [docs/]\nretrieval:\n  prompt: nope\n"},
		{"reserved scorer name", base + "scorers:\n  - type: label\n    name: retrieval.recall\n"},
		{"not yaml", "task: [unclosed\n"},
		{"empty", ""},
	}
	var got strings.Builder
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.text), "tunelab.yaml")
			if err == nil {
				t.Fatalf("no error for %s", tc.name)
			}
			if !strings.HasPrefix(err.Error(), "tunelab.yaml") {
				t.Errorf("error does not name the file: %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			fmt.Fprintf(&got, "%s: %v\n", tc.name, err)
		})
	}
	golden.Check(t, filepath.Join("testdata", "errors.golden"), got.String())
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(validConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Dir != dir {
		t.Errorf("Dir = %s, want %s", c.Dir, dir)
	}
	_, err = Load(filepath.Join(dir, "missing"))
	if err == nil || !strings.Contains(err.Error(), "tunelab init") {
		t.Errorf("missing config error should point at tunelab init, got %v", err)
	}
}

// TestExampleLabConfig keeps the example that `tunelab init` writes valid.
func TestExampleLabConfig(t *testing.T) {
	c, err := Load(filepath.Join("..", "example", FileName))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Task.Labels) != 10 || len(c.Prompts) < 6 || c.Data.Split.Validation == 0 {
		t.Errorf("example lab lost its labels, prompts or validation split: %d labels, %d prompts", len(c.Task.Labels), len(c.Prompts))
	}
}

// TestPromptRetrieval checks the forms a prompt's retrieval setting takes
// and how it combines with the lab's settings.
func TestPromptRetrieval(t *testing.T) {
	cases := []struct {
		name    string
		setting string
		lab     string // more of the lab's retrieval section
		want    string // fmt of the resulting lab.Retrieval, "<nil>" when off
	}{
		{"true takes the lab's settings", "true", "", "&{idx bm25 4 0   0}"},
		{"false is off", "false", "", "<nil>"},
		{"mapping overrides k", "{k: 2}", "", "&{idx bm25 2 0   0}"},
		{"hybrid brings the embedding model", "{mode: hybrid, weight: 0.3}", "", "&{idx hybrid 4 0.3 local:base  0}"},
		{"the lab's reranker reads 4 x k", "true", "  rerank: local:base\n", "&{idx bm25 4 0  local:base 16}"},
		{"none turns the lab's reranker off", "{rerank: none}", "  rerank: local:base\n", "&{idx bm25 4 0   0}"},
		{"a prompt's own reranker, the lab's candidates", "{rerank: openai:gpt-4.1-mini, k: 2}", "  rerank_candidates: 10\n", "&{idx bm25 2 0  openai:gpt-4.1-mini 10}"},
		{"candidates never fewer than k", "{rerank: local:base, k: 12}", "  rerank_candidates: 5\n", "&{idx bm25 12 0  local:base 12}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(validConfig, "  - technique: zero-shot\n", "  - technique: zero-shot\n    retrieval: "+tc.setting+"\n", 1) +
				"knowledge: [docs/]\nretrieval:\n  k: 4\n  embed: local:base\n" + tc.lab
			c, err := Parse([]byte(text), "tunelab.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(c.Search(c.Prompts[0].Retrieval, "idx")); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
